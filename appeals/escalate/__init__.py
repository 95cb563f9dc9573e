"""After the letter went out, when the payer is slow or late: the letters a practice sends about
a filed level (`appeals escalate CASE --kind KIND`).

A kind is offered only where the registry's decision clock for the plan and level names it (a
status inquiry any time after filing; deemed exhaustion for ERISA and a Medicaid fair hearing
request once the payer's time has run out), and every legal sentence comes from the registry
through the same citation gate as the appeal letters. The files are written in the case's packet
folder, under the level they belong to (`level-1/status_inquiry.docx` and `.pdf`), and the case's
history records each one with its sha256.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine

from appeals.answers.rebuild import stored_record
from appeals.compose.document import from_markdown
from appeals.compose.letters import (
    EXTERNAL_LEVELS,
    LEVEL_WORDS,
    biller_blank,
    biller_value,
    citation_gate,
    cites_precedent,
    money,
    service_context,
    shown_record,
    when,
)
from appeals.compose.markup import Md, environment, md_escape
from appeals.compose.settings import load_biller_fields
from appeals.law import LawResult, decision_due, law_for, next_levels
from appeals.models import Category, Precedent
from appeals.overlay import data_model
from appeals.packet import write_atomic
from appeals.render.docx import to_docx
from appeals.render.pdf import to_pdf
from appeals.settings import Settings
from appeals.store import CaseError, case_history
from appeals.store.cases import note_event

KINDS = {"status_inquiry": "Status inquiry",
         "deemed_exhaustion": "Notice of deemed exhaustion and request for external review",
         "fair_hearing_request": "Request for a State fair hearing",
         "next_level": "Request for the next level of review",
         "regulator_complaint": "Complaint: the plan did not decide the appeal in time"}
#: The next level, as a request's Re: line names it (store.cases.next_level values).
NEXT_WORDS = {"second_internal_appeal": "a second-level internal appeal",
              "external_review": "an independent external review",
              "expedited_external_review": "an expedited independent external review",
              "state_fair_hearing": "a State fair hearing",
              "qic_reconsideration": "reconsideration by the Qualified Independent Contractor",
              "second_reconsideration": "a second-level reconsideration",
              "opm_review": "review by the Office of Personnel Management",
              "ire_review": "review by the independent review entity, to which the plan sends "
                            "the case"}


class EscalationError(ValueError):
    """The escalation cannot be built; the message names the case and what is wrong."""


class Regulators(BaseModel):
    """appeals/data/regulators.yaml: who oversees each plan type, by funding or `any`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_version: int
    regulators: dict[str, dict[Literal["insured", "self_funded", "any"], str]]

    def of(self, plan: str, funding: str | None) -> str | None:
        named = self.regulators.get(plan, {})
        key = {"fully_insured": "insured", "self_funded": "self_funded"}.get(funding or "")
        return named.get("any") or (named.get(key) if key else None)


@lru_cache(maxsize=4)
def load_regulators(path: Path | None = None) -> Regulators:
    return data_model(Regulators, "regulators.yaml", EscalationError, path)


@dataclass(frozen=True)
class Escalation:
    case_id: int
    kind: str
    level: int
    folder: Path
    hashes: dict[str, str]


def escalate(engine: Engine, ref: str, kind: str, *, on: date, settings: Settings,
             who: str) -> Escalation:
    """Build `kind` for the case's current level, as of `on`; write it under the case's packet
    folder and record it. Nothing is written when it cannot be built (EscalationError)."""
    if kind not in KINDS:
        raise EscalationError(f"--kind: {kind!r} is not one of {', '.join(KINDS)}")
    try:
        case = case_history(engine, ref, as_of=on)
    except CaseError as exc:
        raise EscalationError(str(exc)) from None
    if not case["packet"]:
        raise EscalationError(f"case {case['case_id']} has no packet folder to keep the letter in")
    record = stored_record(engine, case["case_id"])
    law = law_for(record, settings.registry, as_of=on)
    if case["status"] == "upheld":
        filing, due, clock = _after_upheld(case, record, kind, on)
    else:
        filing, due, clock = _while_waiting(case, record, law, kind, on, settings)
    document = _compose(case, filing, record, law, kind, on, due, clock, settings,
                        _reviewed(engine, case, record, law, kind, on, settings))
    templates = settings.templates
    files = {f"{kind}.docx": to_docx(document, templates),
             f"{kind}.pdf": to_pdf(document, templates)}
    folder = Path(case["packet"]) / f"level-{filing['level']}"
    folder.mkdir(parents=True, exist_ok=True)
    hashes = {}
    for file_name, data in files.items():
        write_atomic(folder / file_name, data)
        hashes[file_name] = hashlib.sha256(data).hexdigest()
    note_event(engine, str(case["case_id"]), "escalation", on=on, who=who,
               note=f"{KINDS[kind]} (level {filing['level']}) in {folder}: {kind}.pdf sha256 "
                    f"{hashes[f'{kind}.pdf']}")
    return Escalation(case["case_id"], kind, filing["level"], folder, hashes)


def _while_waiting(case: dict, record, law: LawResult, kind: str, on: date,
                   settings: Settings):
    """A filed level the payer has not decided: its clock says what may be sent, and when."""
    name = f"case {case['case_id']}"
    open_levels = [f for f in case["filings"] if not f["decision"]]
    if case["status"] != "sent" or not open_levels:
        raise EscalationError(f"{name} is {case['status']}, not sent: no filed level waits for "
                              "the payer's decision")
    filing = open_levels[-1]
    filed_on = date.fromisoformat(filing["filed_on"])
    if on < filed_on:
        raise EscalationError(f"--on {on.isoformat()}: before the level was filed "
                              f"({filed_on.isoformat()})")
    reg = settings.registry
    due = decision_due(record, filing["name"], filed_on=filed_on,
                       method=filing["method"] or None, registry=reg)
    clock = next((c for c in reg.clocks if due is not None and c.id == due.clock), None)
    if due is None or clock is None:
        raise EscalationError(f"{name}: " + (
            f"{filing['decision_rule']} No escalation is built for it" if filing["decision_rule"]
            else "the registry has no verified decision clock for this plan and level, so no "
                 "escalation states one"))
    if kind not in clock.escalations:
        raise EscalationError(f"--kind {kind}: no such route for this plan's "
                              f"{filing['name'].replace('_', ' ')} (offered: "
                              f"{', '.join(clock.escalations)})")
    if kind != "status_inquiry" and on <= due.due:
        raise EscalationError(f"{name}: the payer's decision is due {due.due.isoformat()}; a "
                              f"{kind.replace('_', ' ')} is built only after that day")
    if kind == "regulator_complaint" and _regulator(record, law) is None:
        raise EscalationError(f"{name}: regulators.yaml names no regulator for this plan type "
                              "and funding: no complaint is addressed by guess")
    return filing, due, clock


def _regulator(record, law: LawResult) -> str | None:
    funding = record.plan_funding.value if record.plan_funding else None
    return load_regulators().of(law.plan, funding)


def _after_upheld(case: dict, record, kind: str, on: date):
    """An upheld level: the next level's request, for the route the law stage gave the case
    (the Medicaid fair hearing is the enrollee's own request)."""
    name = f"case {case['case_id']}"
    nxt = case["next_level"]
    decided = [f for f in case["filings"] if f["decision"] == "upheld"]
    if not decided:
        raise EscalationError(f"{name}: no upheld level is recorded (appeals outcome ... upheld)")
    filing = decided[-1]
    if on < date.fromisoformat(filing["decided_on"]):
        raise EscalationError(f"--on {on.isoformat()}: before the decision of "
                              f"{filing['decided_on']}")
    if record.plan_type and record.plan_type.value == "medicare_advantage":
        raise EscalationError(f"{name}: a Medicare Advantage plan sends an upheld "
                              "reconsideration to the independent review entity itself: no "
                              "letter is sent")
    wanted = "fair_hearing_request" if nxt == "state_fair_hearing" else "next_level"
    if not nxt or kind != wanted:
        raise EscalationError(f"--kind {kind}: after the upheld decision of "
                              f"{filing['decided_on']} the next step is "
                              + (f"{NEXT_WORDS.get(nxt, nxt)}: --kind {wanted}" if nxt else
                                 "not one the registry knows (read the decision notice)"))
    return filing, None, None


def _reviewed(engine: Engine, case: dict, record, law: LawResult, kind: str, on: date,
              settings: Settings) -> Precedent | None:
    """The decided external reviews a request for external review cites, by the letters' own
    rule (`cites_precedent`); None for any other document."""
    if kind != "next_level" or case["next_level"] not in EXTERNAL_LEVELS:
        return None
    from appeals.classify import classify
    from appeals.precedent import review_type_for, tally

    matched = tally(engine, on).precedent(
        record, review_type_for(record, classify(record, settings.rules)))
    cited = cites_precedent(matched, law, settings.registry, Category(case["category"]),
                            record.review_type)
    return matched if cited else None


def _compose(case: dict, filing: dict, record, law: LawResult, kind: str, on: date, due,
             clock, settings: Settings, precedent: Precedent | None = None):
    reg = settings.registry
    gate = citation_gate(record, law, reg, on)
    calls = [(when(date.fromisoformat(e["on"])), e["note"]) for e in case["events"]
             if e["kind"] == "call"]
    decided_on = date.fromisoformat(filing["decided_on"]) if filing["decided_on"] else None
    later = next_levels(record, reg, decided_on=decided_on or due.due, as_of=on,
                        category=case["category"], review_type=record.review_type)
    external = next((d for d in later if d.level == "external_review"), None)
    nxt = next((d for d in later if d.level == case["next_level"]), None) if decided_on else None

    def cited(ids) -> Md:
        return gate.cite_ids([c for c in ids if gate.has(c)])

    def stated(claim: str | None) -> Md:
        """The registry's own sentence for `claim` with the entries behind it for this plan;
        nothing where none applies (a sentence is never printed without its citation)."""
        behind = gate.cite_for(claim) if claim else ""
        return Md(f"{md_escape(reg.claims[claim].rstrip('.'))} ({behind}).") if behind else Md("")

    fields = load_biller_fields().fields
    given = settings.facts_for(record)

    def biller(field_id: str) -> Md:
        value = biller_value(field_id, given, record)
        return Md(md_escape(value)) if value is not None else biller_blank(fields[field_id])

    context = {
        **service_context([record]), "claim": shown_record(record), "law": law, "org": settings.org,
        "payer": settings.payer_for(record), "case": case, "filing": filing,
        "level_words": LEVEL_WORDS.get(filing["name"], law.appeal_name),
        "filed_on": date.fromisoformat(filing["filed_on"]), "method": filing["method"],
        "due": due, "clock": clock, "calls": calls, "external": external,
        "decided_on": decided_on, "next": nxt, "next_name": case["next_level"],
        "regulator": _regulator(record, law) if kind == "regulator_complaint" else None,
        "next_words": NEXT_WORDS.get(case["next_level"] or "", ""),
        "as_of": on, "letter_date": when(on), "when": when, "money": money, "blank": biller_blank,
        "biller": biller, "stated": stated, "precedent": precedent,
        "cite": gate.cite, "cite_for": gate.cite_for, "says": gate.says, "cited": cited,
    }
    source = environment(settings.templates).get_template(
        f"escalations/{kind}.md.j2").render(context)
    meta = {"letter_date": on, "claim_id": record.claim_id, "line_number": record.line_number}
    if kind != "fair_hearing_request":  # the enrollee's own request: not on the letterhead
        meta["org"] = settings.org
    return from_markdown(source, kind, KINDS[kind], meta)
