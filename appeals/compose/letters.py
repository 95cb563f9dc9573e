"""Compose the documents of one packet: which letters, their context, the checklist.

Citations reach templates only through `CitationGate`, bound to this plan, funding, state and dates:
`cite(id)` raises for an entry that does not apply (the packet fails and is reported, it never
prints a wrong citation), and `cite_for(claim)` prints the applicable entries that the registry says
support that sentence's claim, so a sentence never borrows the citation of another rule.

Every factual sentence is conditioned on the facts that make it true: an authorization is said to
cover the service only when the dates show it, a letter claims timeliness only before the deadline,
and a parity section appears only for a denial that applies a treatment limitation.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from jinja2 import TemplateError
from nameparser import HumanName

from appeals import __version__
from appeals.classify.authorization import authorization_of
from appeals.classify.rules import load_code_table
from appeals.compose.checklists import Item, age_on, is_sud, load_items, select
from appeals.compose.document import Document, from_markdown
from appeals.compose.limits import limit_at_issue
from appeals.compose.markup import Md, environment, md_escape
from appeals.compose.measures import dated_scores
from appeals.compose.settings import Org, Payer, load_biller_fields, network_of
from appeals.law import Deadline, LawResult, PlanFacts, Registry, load_registry, plan_facts
from appeals.models import (
    CATEGORY_WORDS,
    Action,
    Category,
    Classification,
    DenialRecord,
    LevelOfCare,
    Owner,
    Precedent,
    review_words,
)

APPEAL_LETTER = "appeal_letter"
MN_LETTER = "medical_necessity_letter"
DOC_REQUEST = "documentation_request"
CORRECTED_COVER = "corrected_claim_cover"
CHECKLIST = "clinician_checklist"
COVER = "biller_cover"
CONTINUATION = "continuation_request"
CRITERIA_CATEGORIES = {Category.medical_necessity, Category.authorization}
HIGHER_LEVELS = {LevelOfCare.iop, LevelOfCare.php, LevelOfCare.residential, LevelOfCare.inpatient}
CARE_WORDS = {LevelOfCare.iop: "intensive outpatient (IOP)",
              LevelOfCare.php: "partial hospitalization (PHP)",
              LevelOfCare.residential: "residential", LevelOfCare.inpatient: "inpatient",
              LevelOfCare.mat: "medication for addiction treatment"}
# Denials argued on the patient's clinical need: the treating clinician's own letter goes with them.
CLINICAL_CATEGORIES = CRITERIA_CATEGORIES | {Category.parity_nqtl}
# A corrected claim cannot fix these: enrollment is fixed upstream, a limit is argued.
NO_CORRECTED_CLAIM = {Category.credentialing, Category.parity_nqtl}
TITLES = {APPEAL_LETTER: "Appeal letter", MN_LETTER: "Letter of medical necessity",
          DOC_REQUEST: "Request for plan documents",
          CORRECTED_COVER: "Corrected claim cover letter", CHECKLIST: "Clinician checklist",
          COVER: "Biller cover sheet", CONTINUATION: "Enrollee's request to continue benefits"}
ROUTE_NAMES = {"medicare_reopening": "Reopening to correct a clerical error",
               "ma_contract_dispute": "Provider payment dispute under the participation "
                                      "agreement (not the patient's reconsideration)",
               "medicare_timely_filing_exception": "Exception to the Medicare time limit for "
                                                   "filing (no appeal rights on late filing)"}


class CitationNotAllowed(LookupError):
    """A template asked for a citation that does not apply to this plan on this date."""


class ComposeError(ValueError):
    """A template failed for one record; the message names the template and the claim."""


class CitationGate:
    """The only way a template reaches the registry."""

    def __init__(self, reg: Registry, facts: PlanFacts, on: date, as_of: date) -> None:
        self._allowed = {c.id: c for c in reg.citations(
            facts.plan, None, on, funding=facts.funding, state=facts.state, as_of=as_of)}
        self._claims = reg.claims
        self.claimed: dict[str, list[str]] = {}  # claim -> ids printed behind it
        self.plan = facts.plan
        self.printed: list[str] = []

    def has(self, cid: str) -> bool:
        return cid in self._allowed

    def cite(self, cid: str) -> Md:
        if cid not in self._allowed:
            raise CitationNotAllowed(f"citation {cid!r} does not apply to plan type {self.plan!r} "
                                     "on this date (or is unverified)")
        if cid not in self.printed:
            self.printed.append(cid)
        return Md(md_escape(self._allowed[cid].cite))

    def supporting(self, claim: str) -> list[str]:
        """Ids of the applicable entries that support `claim` (a claim the registry lists)."""
        if claim not in self._claims:
            raise CitationNotAllowed(f"claim {claim!r} is not listed under 'claims' in the "
                                     "registry")
        return [cid for cid, c in self._allowed.items() if claim in c.supports]

    def provisions(self, ids: list[str]) -> list[str]:
        """`ids` without whole subparts or section ranges: an argument cites the provision it
        rests on (Medicaid's § 438.910, not "Subpart K, §§ 438.900-438.930")."""
        return [cid for cid in ids if not (cid in self._allowed and self._allowed[cid].span)]

    def _backing(self, claim: str) -> list[str]:
        """`supporting(claim)`, recorded in `claimed` as printed behind that claim."""
        ids = self.supporting(claim)
        printed = self.claimed.setdefault(claim, [])
        printed.extend(cid for cid in ids if cid not in printed)
        return ids

    def cite_for(self, *claims: str) -> Md:
        """The cites behind one sentence's claims, '; '-joined; empty when none applies."""
        return self.cite_ids(list(dict.fromkeys(cid for claim in claims
                                                for cid in self._backing(claim))))

    def says(self, claim: str) -> list[Md]:
        """The registry's own sentence for each applicable entry behind `claim`, with its cite."""
        return [Md(f"{md_escape(self._allowed[cid].letter_text.rstrip('.'))} ({self.cite(cid)}).")
                for cid in self._backing(claim) if self._allowed[cid].letter_text]

    def says_plainly(self, claim: str) -> list[str]:
        """`says(claim)` as plain text, for the biller's notes (packet.json, the cover sheet)."""
        return [f"{self._allowed[cid].letter_text.rstrip('.')} ({self._allowed[cid].cite})."
                for cid in self._backing(claim) if self._allowed[cid].letter_text]

    def cite_ids(self, ids: list[str]) -> Md:
        return Md("; ".join(self.cite(cid) for cid in ids))


def citation_gate(record: DenialRecord, law: LawResult, reg: Registry, as_of: date
                  ) -> CitationGate:
    """The gate for a letter about `record` written on `as_of`: its plan as the law stage read
    it, its law as of the service (else the denial) date."""
    return CitationGate(reg, replace(plan_facts(record), plan=law.plan),
                        record.service_date or record.denial_date or as_of, as_of)


def shown_record(record: DenialRecord) -> DenialRecord:
    """The record as a letter names it: patient and provider as people write them."""
    return record.model_copy(update={"patient_name": display_name(record.patient_name),
                                     "provider_name": display_name(record.provider_name)})


def biller_value(field_id: str, facts: dict[str, str], record: DenialRecord) -> str | None:
    """A biller fact (biller_fields.yaml) given for the case, else carried by the record (payer
    directory, remittance); None when neither gives one."""
    value = facts.get(field_id) or record.extra.get(field_id)
    return str(value) if value and str(value).strip() else None


def biller_blank(label: str) -> Md:
    """The marked placeholder a biller fills before the letter is sent."""
    return Md(f"**\\[BILLER: {md_escape(label)}\\]**")


def letter_types(classification: Classification, law: LawResult,
                 review_type: str | None = None) -> list[str]:
    """Which letters this denial gets; the checklist is decided separately (by its items). Where
    the program lets the enrollee keep care under way going during the appeal (Medicaid managed
    care), the enrollee's own request goes with it, for the enrollee to sign."""
    types: list[str] = []
    if classification.action is Action.appeal and classification.appealable:
        types.append(APPEAL_LETTER)
        cont = law.level("continuation_of_benefits")
        if review_type == "concurrent" and cont is not None and cont.confirmed:
            types.append(CONTINUATION)
        if classification.category in CLINICAL_CATEGORIES:
            types.append(MN_LETTER)
        if classification.category is Category.parity_nqtl or (
                classification.category in CRITERIA_CATEGORIES and law.parity.applies is True):
            types.append(DOC_REQUEST)
    elif (classification.action in (Action.correct_and_resubmit, Action.verify_and_resubmit)
          and classification.category not in NO_CORRECTED_CLAIM):
        types.append(CORRECTED_COVER)
    return types


def article(phrase: str) -> str:
    return ("an " if phrase[:1].lower() in "aeiou" else "a ") + phrase


def money(value: Decimal | None) -> str:
    return "" if value is None else f"${value:,.2f}"


def when(value: date | None) -> str:
    return "" if value is None else f"{value:%B} {value.day}, {value.year}"


#: What follows the comma in a practice's name, never a given name.
_COMPANY = {"llc", "inc", "pc", "pllc", "ltd", "corp", "co", "pa", "llp", "lp", "psc", "sc", "plc"}


def display_name(name: str | None) -> str | None:
    """A name as a letter prints it, given name first whatever order the export used: remittances
    send names in capitals and last name first (GRANT, OLIVIA), which nameparser reads and puts
    in ordinary case (Olivia Grant); a mixed-case name keeps its own case ("Grant, Olivia" is
    "Olivia Grant", "McDonald, Jordan" keeps its capital D)."""
    if not name:
        return name
    mixed = any(ch.islower() for ch in name)
    tail = name.rpartition(",")[2].replace(".", "").strip().casefold()
    if tail in _COMPANY:  # "LAKESIDE COUNSELING GROUP, LLC" is a practice, not Llc Lakeside
        return name if mixed else " ".join(
            w.capitalize() if w.strip(",.").isalpha() and len(w.strip(",.")) > 3 else w
            for w in name.split())
    if mixed and "," not in name:
        return name
    parsed = HumanName(name)
    if not mixed:
        parsed.capitalize(force=True)
    return " ".join(str(parsed).split()) or name


def code_meanings(record: DenialRecord, table: dict | None = None) -> list[str]:
    """Each code with its meaning from `table` (the run's rules, with a user's overrides; the
    built-in table when none is given)."""
    table = load_code_table() if table is None else table
    out = []
    for code in record.adjustment_codes:
        _group, _, reason = code.partition("-")
        row = table.get(("CARC", reason))
        out.append(f"{code}: {row.short_meaning}" if row else code)
    for code in record.remark_codes:
        row = table.get(("RARC", code))
        out.append(f"{code}: {row.short_meaning}" if row else code)
    return out


def code_meanings_of(records: list[DenialRecord], table: dict | None = None) -> list[str]:
    """`code_meanings` of every line an appeal covers, each code once, in order."""
    return list(dict.fromkeys(m for r in records for m in code_meanings(r, table)))


def _span(days: list[date]) -> str:
    """Dates of service as a letter says them: one date, "June 1, 2, 3 and 4, 2026" when they fall
    in one month, else each date in full."""
    days = sorted(set(days))
    if len(days) == 1:
        return when(days[0])
    if len({(d.year, d.month) for d in days}) == 1:
        numbers = [str(d.day) for d in days]
        return f"{days[0]:%B} {', '.join(numbers[:-1])} and {numbers[-1]}, {days[0].year}"
    shown = [when(d) for d in days]
    return f"{', '.join(shown[:-1])} and {shown[-1]}"


def _lines_of(services: list[DenialRecord]) -> str:
    """"C1, lines 1, 2 and 3" (one claim's lines)."""
    numbers = [str(r.line_number) for r in services]
    if len(numbers) == 1:
        return f"{services[0].claim_id}, line {numbers[0]}"
    return f"{services[0].claim_id}, lines {', '.join(numbers[:-1])} and {numbers[-1]}"


def service_context(services: list[DenialRecord]) -> dict:
    """What templates know of the lines one appeal covers: `many` when it is more than one line,
    then a row per line (date, code, units, billed, denied) and the totals. One line gives exactly
    what its own fields say, so a single-line letter reads as it always did."""
    first = services[0]
    many = len(services) > 1
    dated = [r.service_date for r in services if r.service_date]
    claims = list(dict.fromkeys(r.claim_id for r in services))
    return {
        "many": many,
        "services": [{"claim_id": r.claim_id, "line_number": r.line_number,
                      "date": when(r.service_date), "code": r.cpt_code or "",
                      "modifiers": ", ".join(r.modifiers), "units": r.units,
                      "billed": r.billed_amount or Decimal(0), "denied": r.amount_at_stake}
                     for r in services],
        "service_dates": _span(dated) if many and dated else when(first.service_date),
        "line_words": f"claim {_lines_of(services)}" if many and len(claims) == 1
        else "claims " + ", ".join(claims) if many
        else f"claim {first.claim_id}, line {first.line_number}",
        "claim_lines": _lines_of(services) if len(claims) == 1 else ", ".join(claims),
        "one_claim": len(claims) == 1,
        "codes_billed": ", ".join(dict.fromkeys(r.cpt_code for r in services if r.cpt_code)),
        "the_services": "the services" if many else "the service",
        "total_billed": sum((r.billed_amount or Decimal(0) for r in services), Decimal(0)),
        "total_denied": sum((r.amount_at_stake for r in services), Decimal(0)),
    }


def standard_for(record: DenialRecord, as_of: date) -> str | None:
    """The generally accepted criteria set for this level of care (named, never cited), by the
    patient's age on the date of service (birthday-aware): ECSII under 6, CALOCUS-CASII to 18."""
    if record.level_of_care in (None, LevelOfCare.outpatient) and not is_sud(record):
        return None
    if is_sud(record):
        return "ASAM"
    age = age_on(record, record.service_date or as_of)
    if age is not None and age < 6:
        return "ECSII"
    if age is not None and age < 18:
        return "CALOCUS-CASII"
    return "LOCUS"


#: The rules (appeals/data/rules.yaml) that find an exceeded authorization in the payer's words.
EXCEEDED_RULE = "auth_covering_but_exceeded"


def authorization_status(record: DenialRecord,
                         classification: Classification | None = None) -> str:
    """What the record's own dates say about its authorization: none, undated, covers,
    not_started (service before the first authorized day) or expired (after the last); and
    exceeded when it covers the date but the payer says the approved units, visits or days ran
    out (CARC 198, more units billed than authorized, or a rule of rules.yaml whose id starts
    with EXCEEDED_RULE said so from the payer's words)."""
    auth = authorization_of(record)
    if auth.status != "covers":
        return auth.status
    exceeded = (any(c.endswith("-198") for c in record.adjustment_codes) or auth.units_over
                or (classification is not None and any(
                    r.startswith(EXCEEDED_RULE) for r in classification.rules)))
    return "exceeded" if exceeded else "covers"


@dataclass(frozen=True)
class Filing:
    """Where this appeal stands against its window on the letter date.

    state: on_time | late | confirm (the window is a placeholder: never printed as the deadline)
    | undated (no date to count from, or the program sets the window) | none (no appeal level).
    """

    state: str
    deadline: Deadline | None
    days_late: int = 0


def filing_status(law: LawResult, as_of: date) -> Filing:
    first = law.first_deadline
    if first is None:
        return Filing("none", None)
    if not first.confirmed:
        return Filing("confirm", first)
    if first.file_by is None:
        return Filing("undated", first)
    if as_of > first.file_by:
        return Filing("late", first, (as_of - first.file_by).days)
    return Filing("on_time", first)


def route_for(category: Category, law: LawResult, network: str | None = None,
              review_type: str | None = None) -> str:
    """The procedure a letter uses when it is not the plan's ordinary appeal."""
    if law.plan == "medicare_ffs" and category is Category.timely_filing:
        return "medicare_timely_filing_exception"
    if law.plan == "medicare_ffs" and category is Category.coding:
        return "medicare_reopening"
    if (law.plan == "medicare_advantage" and network == "contracted"
            and review_type not in ("pre_service", "concurrent")):
        return "ma_contract_dispute"  # a contracted provider's payment denial: its agreement
    return "appeal"


def criteria_named(record: DenialRecord) -> list[tuple[str, bool]]:
    """The criteria sets the payer's own words name (a denial letter's `criteria`, else the
    reason), each with whether its specialty's nonprofit professional association publishes it
    (appeals/data/letter_fields.yaml `criteria`)."""
    from appeals.intake.letter import load_letter_spec

    text = "; ".join(t for t in (record.extra.get("criteria"), record.denial_reason) if t)
    named: dict[str, bool] = {}
    for criterion in load_letter_spec().criteria if text else ():
        for m in criterion.regex.finditer(text):
            named.setdefault(criterion.name or m.group(0).strip(), criterion.association)
    return list(named.items())


def reviewer_specialty(record: DenialRecord, age: int | None) -> str:
    """The specialty of a like reviewer (age on the date of service), for a peer reviewer."""
    if age is not None and age < 18:
        return "child and adolescent psychiatry"
    if is_sud(record):
        return "addiction medicine"
    return "psychiatry or the treating clinician's own discipline"


@dataclass
class Composed:
    """The documents of one packet and what the reviewer should know about them."""

    documents: list[Document]
    letter_types: list[str]
    checklist_items: list[Item]
    billing_items: list[Item]
    citations_printed: list[str]
    checklist_due: date | None
    placeholders: list[str] = field(default_factory=list)
    filing: Filing | None = None
    notes: list[str] = field(default_factory=list)  # for the biller, never in a letter
    claims: dict[str, list[str]] = field(default_factory=dict)  # claim -> citation ids printed


def has_parity_section(law: LawResult, nqtl: object | None) -> bool:
    """A letter argues parity only where parity law reaches the plan and the denial applies a
    treatment limitation (`limit_at_issue`); such a letter is approved before it is sent."""
    return bool(law.parity.applies) and nqtl is not None


def checklist_due(law: LawResult, as_of: date, lead_days: int) -> date:
    """The earlier of (letter date + lead days) and (deadline - lead days), never before the
    letter date nor after the deadline; the next day when the care is urgent."""
    if law.expedited is not None:
        return as_of + timedelta(days=1)
    due = as_of + timedelta(days=lead_days)
    first = law.first_deadline
    if first is not None and first.file_by is not None:
        due = min(due, first.file_by - timedelta(days=lead_days))
        due = min(max(due, as_of), max(first.file_by, as_of))
    return due


def compose(record: DenialRecord, classification: Classification, law: LawResult, *,
            as_of: date, org: Org | None = None, payer: Payer | None = None,
            facts: dict[str, str] | None = None, templates: Path | None = None,
            checklists: Path | None = None, registry: Registry | None = None,
            codes: dict | None = None, services: list[DenialRecord] | None = None,
            deadlines_differ: bool = False, due_by: date | None = None,
            precedent: Precedent | None = None) -> Composed:
    """Build the packet's documents for one appeal (no files are written here): `record` is its
    first line, `services` every line it covers (None: that line alone), `law` the law of the line
    whose window closes first (`deadlines_differ`: the others close later, which the biller is
    told), `due_by` the checklist's due date set on an earlier run (never moved later). `codes` is the run's CARC/RARC table (`Rules.table`, a user's
    overrides included). `precedent`: what independent reviewers decided in reviews like this
    one (the case store's imported decisions), printed where external review is this denial's
    next step."""
    reg = registry or load_registry()
    org = org or Org()
    facts = facts or {}
    category = classification.category
    gate = citation_gate(record, law, reg, as_of)
    types = letter_types(classification, law, record.review_type)
    items = load_items(checklists)
    auth = authorization_status(record, classification)
    # A credentialing denial gets no letter (enrollment is fixed upstream) but is never an empty
    # packet: the biller's cover lists the enrollment tasks.
    tasks_only = not types and category is Category.credentialing
    nqtl = limit_at_issue(record, classification)
    needed = (select(record, category, items, owner=None, authorization=auth,
                     limit=nqtl.id if nqtl else None) if types or tasks_only else [])
    clinician_items = [i for i in needed if i.owner is Owner.clinician]
    billing_items = [i for i in needed if i.owner is not Owner.clinician]
    due = checklist_due(law, as_of, org.checklist_lead_days)
    if due_by is not None:  # asked for on an earlier run: it does not move later
        due = min(due, due_by)
    filing = filing_status(law, as_of)
    placeholders: list[str] = []
    used: set[str] = set()  # fact ids this document has woven into its sentences
    prompts = {i.id: i.prompt for i in items}
    biller_fields = load_biller_fields()
    labels = {i.id: i.letter_label or i.prompt for i in items}

    stand_ins = {i.stands_for: i.id for i in clinician_items if i.stands_for}

    def fact(item_id: str, label: str) -> Md:
        """The clinician's answer to `item_id` (or to the item standing in for it for this
        patient, CALOCUS-CASII for LOCUS), else a marked placeholder."""
        item_id = stand_ins.get(item_id, item_id)
        used.add(item_id)
        answer = facts.get(item_id)
        if answer and answer.strip():
            return Md(md_escape(answer))
        placeholders.append(item_id)
        return Md(f"**\\[CLINICIAN: {md_escape(label)}\\]**")

    def scores(item_id: str, label: str) -> Md:
        """The clinician's measures answer; as a short table (measure, score, date) when it is
        several dated scores and nothing else, so the trend reads at a glance."""
        text = facts.get(stand_ins.get(item_id, item_id)) or ""
        rows = dated_scores(text) if text.strip() else None
        if not rows or len(rows) < 2:
            return fact(item_id, label)
        used.add(stand_ins.get(item_id, item_id))
        lines = ["", "", "| Measure | Score | Date |", "|---|---|---|"]
        lines += [f"| {md_escape(r.measure)} | {md_escape(r.score)} | {when(r.day)} |"
                  for r in rows]
        return Md("\n".join(lines) + "\n\n")

    def answer(item_id: str) -> Md | None:
        """An answer the document prints only when given (billing's plan documents), else None."""
        text = facts.get(item_id)
        if not (text and text.strip()):
            return None
        used.add(item_id)
        return Md(md_escape(text))

    def other_facts() -> list[tuple[str, Md]]:
        """The clinician's answers this document has not used yet, so none is dropped."""
        return [(labels[k], Md(md_escape(v))) for k, v in facts.items()
                if k in labels and k not in used and v and v.strip()]

    def blank(label: str) -> Md:
        placeholders.append(label)
        return biller_blank(label)

    def biller(field_id: str) -> Md:
        """A fact the biller gives for this case (biller_fields.yaml: `appeals facts set`, or the
        payer directory and the remittance through the record), else its placeholder."""
        label = biller_fields.fields[field_id]  # a template naming no known field fails
        value = biller_value(field_id, facts, record)
        if value is None:
            return blank(label)
        used.add(field_id)
        return Md(md_escape(value))

    network = network_of(record, payer)
    route = route_for(category, law, network, record.review_type)
    notes = _biller_notes(record, law, filing, route, gate) + _state_law_note(record, law, reg)
    age = age_on(record, record.service_date or as_of)
    shown = shown_record(record)
    services = services or [record]
    context = {
        **service_context(services), "codes": code_meanings_of(services, codes),
        "claim": shown, "cls": classification, "law": law, "org": org, "payer": payer,
        "category": category.value,
        "denied_for": nqtl.label if nqtl and category is Category.parity_nqtl
        else CATEGORY_WORDS[category],
        "as_of": as_of, "letter_date": when(as_of),
        "nqtl": nqtl,
        "parity_section": has_parity_section(law, nqtl),
        "standard": standard_for(record, as_of), "sud": is_sud(record),
        "age": age, "auth": auth, "filing": filing,
        "route": route, "network": network, "specialty": reviewer_specialty(record, age),
        "own_right": law.own_right or route == "ma_contract_dispute" or (
            law.plan == "medicare_advantage" and network == "non_contracted"),
        "letters": types,
        "review_type": record.review_type,
        "proprietary": [name for name, association in criteria_named(record) if not association],
        "items": clinician_items, "due": when(due), "facts": facts,
        "telehealth": any(i.id == "telehealth_modality" for i in clinician_items),
        "higher_level": record.level_of_care in HIGHER_LEVELS,
        "php_certified": record.level_of_care is LevelOfCare.php and bool(
            gate.supporting("php_coverage")),
        "level_words": CARE_WORDS.get(record.level_of_care, ""),
        "cite": gate.cite, "has": gate.has, "cite_for": gate.cite_for, "says": gate.says,
        "supports": gate.supporting,
        "cite_ids": gate.cite_ids, "parity_ids": gate.provisions([c.id for c in law.parity.citations]),
        "fact": fact, "scores": scores, "answer": answer, "other_facts": other_facts, "blank": blank,
        "biller": biller,
        "article": article,
        "money": money, "when": when, "box": lambda item_id: Md(f"[ ] ({item_id}) "),
        "deadline": law.first_deadline,
        "next_levels": _next_levels(law, reg, category.value, record.review_type),
        "patient_levels": reg.patient_levels.reach("external_review", category.value,
                                                   record.review_type),
        "precedent": precedent if cites_precedent(precedent, law, reg, category,
                                                  record.review_type) else None,
    }
    env = environment(templates)
    meta = {"org": org, "letter_date": as_of, "claim_id": record.claim_id,
            "line_number": record.line_number}
    if len(services) > 1:
        meta["lines"] = context["line_words"]
        notes = notes + [(f"One appeal for {len(services)} lines ({context['line_words']}); "
                         f"the letter asks for all of them, {money(context['total_denied'])} "
                         "denied in all.")]
        first = law.filing_deadline
        if deadlines_differ and first is not None and first.file_by is not None:
            notes.append(f"The lines' filing windows differ: the appeal is filed by the earliest "
                         f"of them, {first.file_by.isoformat()}, for all its lines.")
    names = types + ([CHECKLIST] if clinician_items else [])

    def render(name: str) -> Document:
        used.clear()
        try:
            source = env.get_template(f"{name}.md.j2").render(context)
            shown = {**meta, "identity": checklist_identity(record, clinician_items)} \
                if name == CHECKLIST else meta
            if name == CONTINUATION:  # the enrollee's own request: not on the practice's letterhead
                shown = {k: v for k, v in meta.items() if k != "org"}
            return from_markdown(source, name, TITLES[name], shown)
        except (TemplateError, CitationNotAllowed, AttributeError, TypeError, ValueError) as exc:
            raise ComposeError(f"template {name}.md.j2 failed for claim {record.claim_id} line "
                               f"{record.line_number}: {type(exc).__name__}: {exc}") from exc

    documents = [render(name) for name in names]
    if documents or tasks_only:  # the biller's page last: what the others left to fill in
        context.update(
            titles=[TITLES[name] for name in names],
            to_fill=[f"{prompts[p]} (clinician)" if p in prompts else p
                     for p in dict.fromkeys(placeholders)],
            plan_label=reg.plan(law.plan).label, plan_source=record.extra.get("plan_facts_from"),
            checklist_due=due if clinician_items else None, notes=notes,
            billing_items=billing_items,
            route_name=ROUTE_NAMES.get(route) or (
                "Enrollment correction, then resubmission (no letter)" if tasks_only else
                "Corrected claim (replacement, frequency code 7)" if types == [CORRECTED_COVER]
                else f"{law.appeal_name[:1].upper()}{law.appeal_name[1:]}, decided by "
                     f"{law.reviewer}"))
        documents.append(render(COVER))
    return Composed(documents=documents, letter_types=types, checklist_items=clinician_items,
                    billing_items=billing_items, citations_printed=list(gate.printed),
                    checklist_due=due if clinician_items else None,
                    placeholders=list(dict.fromkeys(placeholders)), filing=filing, notes=notes,
                    claims=gate.claimed)


#: What a returned checklist says of itself (PDF Subject, DOCX subject property), so a filled
#: file needs no file-name convention: the case, the toolkit that made it, and a digest of its
#: item ids (the items themselves are the PDF's field names and the DOCX's content-control tags).
#: A DOCX core property holds at most 255 characters: this stays well under for any claim id.
IDENTITY_PREFIX = "appeals-checklist "


def checklist_identity(record: DenialRecord, items: list[Item]) -> str:
    digest = hashlib.sha256(" ".join(i.id for i in items).encode()).hexdigest()[:12]
    return IDENTITY_PREFIX + json.dumps(
        {"claim_id": record.claim_id[:100], "line_number": record.line_number,
         "service_date": record.service_date.isoformat() if record.service_date else "",
         "denial_date": record.denial_date.isoformat() if record.denial_date else "",
         "items": digest, "toolkit": __version__}, sort_keys=True)


LEVEL_WORDS = {
    "second_internal_appeal": "a second internal appeal, if the plan has one",
    "external_review": "an independent external review",
    "state_fair_hearing": "a state fair hearing, which the patient requests",
    "qic_reconsideration": "reconsideration by a Qualified Independent Contractor",
    "second_reconsideration": "a second-level reconsideration",
    "opm_review": "review by the Office of Personnel Management",
}


#: The share of overturned decisions below which a letter does not cite them: the letter is
#: the provider's argument (the biller still sees the count in `appeals precedent show`).
PRECEDENT_SHARE = 0.25
EXTERNAL_LEVELS = ("external_review", "expedited_external_review")


def precedent_words(precedent: Precedent, templates: Path | None = None) -> str:
    """The letter's sentence on decided external reviews (parts/precedent.md.j2), as Markdown."""
    part = environment(templates).get_template("parts/precedent.md.j2")
    return part.render(precedent=precedent, when=when).strip()


def cites_precedent(precedent: Precedent | None, law: LawResult, reg: Registry,
                    category: Category, review_type: str | None) -> bool:
    """Decided external reviews are cited only in a medical-necessity appeal whose plan gives
    this denial an external review, and only when they favour the appeal."""
    return (precedent is not None and category is Category.medical_necessity
            and precedent.share >= PRECEDENT_SHARE
            and any(d.level in EXTERNAL_LEVELS
                    and reg.patient_levels.reach(d.level, category.value, review_type)
                    for d in law.deadlines))


def _next_levels(law: LawResult, reg: Registry, category: str, review_type: str | None
                 ) -> list[str]:
    """The review levels after this one, in the registry's order, as a letter names them: the
    patient's own levels only for a denial they take up (`Registry.patient_levels`)."""
    return [LEVEL_WORDS[d.level] for d in law.deadlines if d.level in LEVEL_WORDS
            and reg.patient_levels.reach(d.level, category, review_type)]


def _state_law_note(record: DenialRecord, law: LawResult, reg: Registry) -> list[str]:
    """Where state law could reach this kind of coverage but the registry holds none for the
    plan's state (or the state is not known), the letter argues federal law only: the biller is
    told state law was not checked, never left to think it was."""
    funding = record.plan_funding.value if record.plan_funding else None
    states = reg.state_laws(law.plan, funding)
    if not states or law.plan == "unknown":
        return []
    if record.plan_state is None:
        note = ("The plan's state is not on the record: state mental health coverage law was not "
                "checked, and the letter argues federal law only. Add plan_state (the record or "
                "the payer directory) and build again.")
        return [note]
    if record.plan_state not in states:
        note = (f"State mental health coverage law was not checked: the registry holds no "
                f"{record.plan_state} law for this coverage, so the letter argues federal law "
                f"only (the registry covers {', '.join(sorted(states))}).")
        return [note]
    return []


def _biller_notes(record: DenialRecord, law: LawResult, filing: Filing, route: str,
                  gate: CitationGate) -> list[str]:
    """What the biller must do that no letter can say for them (what they say of the law is the
    registry's own text)."""
    notes = []
    if route == "ma_contract_dispute":
        notes.append("Contracted with this Medicare Advantage plan: the letter disputes the payment "
                     "under the participation agreement (its provider manual gives the window and "
                     "address; the worklist's window is the patient's reconsideration's, the outer "
                     "bound). Care not yet given is asked for as the patient's reconsideration.")
    if (law.plan == "medicare_advantage" and record.level_of_care is LevelOfCare.inpatient
            and record.review_type == "concurrent"):
        fallback = ("the patient may ask the Quality Improvement Organization for an immediate "
                    "review; the deadline and the number are on the Important Message from "
                    "Medicare the hospital gave (the registry holds no verified text of today's "
                    "rule, so no deadline is stated here).")
        said = gate.says_plainly("qio_discharge_review") or [fallback]
        notes.extend(f"Inpatient discharge: {line}" for line in said)
    if filing.state == "late":
        notes.append(f"Past the filing deadline ({filing.deadline.file_by.isoformat()}, "
                     f"{filing.days_late} days ago): the letter asks for a late filing to be "
                     "accepted; give the reason and its evidence.")
    if filing.state == "confirm":
        group = record.extra.get("group_number")
        notes.append("Confirm the plan type: neither the record nor the payer directory says "
                     f"which kind of plan this is{f' (group {group})' if group else ''}, and "
                     "whether parity law reaches it and how long there is to appeal both depend "
                     "on it. Add plan_type (for an employer plan also funding and size) to the "
                     "payer directory or the record and build again; until then the worklist's "
                     "window is a placeholder and no letter states a deadline.")
    cont = law.level("continuation_of_benefits")
    if cont is not None and cont.file_by is not None and law.plan.startswith("medicaid"):
        notes.append(f"Only the enrollee can ask for benefits to continue during the appeal "
                     f"(by {cont.file_by.isoformat()}, or the date the cut takes effect if "
                     "later); have the enrollee ask, and tell them they may have to repay if "
                     "the denial is upheld.")
    if law.expedited is None and record.review_type is None and review_words(record.denial_reason):
        notes.append("The payer's words speak of a concurrent or pre-service review, but the "
                     "service is dated before the denial, so the letter treats it as a claim for "
                     "care already given. If the patient is still in care, set review_type to "
                     "concurrent and rebuild to file an expedited appeal.")
    if law.expedited is not None:
        notes.append("Urgent: file the expedited appeal now (it may be made by phone) and have the "
                     "treating clinician certify the urgency.")
    return notes + letter_notes(record, law)


def letter_notes(record: DenialRecord, law: LawResult) -> list[str]:
    """What the payer's denial letter stated (appeals.intake.letter), set against the law stage:
    its own appeal window, the criteria and the reviewer it names."""
    extra, notes = record.extra, []
    found = dict(part.split(" ", 1) for part in extra.get("found_at", "").split("; ")
                 if " " in part)  # field -> "p1 l39"
    stated = re.match(r"(\d+) (calendar |business |working )?days", extra.get("appeal_window", ""))
    first = law.first_deadline
    if stated and record.denial_date:
        days = int(stated[1])
        by = record.denial_date + timedelta(days=days)
        kind = "" if not stated[2] or stated[2].startswith("calendar") else \
            f" ({stated[2].strip()} days: count them on the calendar)"
        where = f" ({found['appeal_window']})" if "appeal_window" in found else ""
        if first is None or first.file_by is None:
            notes.append(f"The denial letter gives {days} days to appeal{where}: by "
                         f"{by.isoformat()} counted from its date{kind}. No registry rule dates "
                         "this appeal; file within the letter's window.")
        elif by < first.file_by:
            notes.append(f"The denial letter gives {days} days to appeal{where}: by "
                         f"{by.isoformat()} counted from its date{kind}, earlier than the "
                         f"{first.file_by.isoformat()} the law stage computed "
                         f"({first.citation or 'registry'}). File by the earlier date.")
    if extra.get("criteria"):
        notes.append(f"The denial letter names the criteria it applied: {extra['criteria']}. The "
                     "appeal asks for the guideline itself and its edition; have the clinician "
                     "answer it point by point.")
    if extra.get("reviewer"):
        notes.append(f"Reviewer named in the denial letter: {extra['reviewer']}. The appeal asks "
                     "for a reviewer with training and experience in the field of medicine involved and a "
                     "peer-to-peer.")
    elif "found_at" in extra and record.level_of_care not in (None, LevelOfCare.outpatient):
        notes.append("The denial letter names no reviewer or credentials; ask for them at the "
                     "peer-to-peer.")
    return notes
