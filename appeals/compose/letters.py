"""Compose the documents of one packet: which letters, their context, the checklist.

Citations reach templates only through `CitationGate`, bound to this plan, funding, state and dates:
`cite(id)` raises for an entry that does not apply (the packet fails and is reported, it never
prints a wrong citation), and `cites(topic)` lists only entries that apply. So a template cannot
print a citation the law stage did not allow.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from jinja2 import TemplateError

from appeals.classify.rules import load_code_table
from appeals.compose.checklists import Item, is_sud, load_items, select
from appeals.compose.document import Document, from_markdown
from appeals.compose.limits import limit_at_issue
from appeals.compose.markup import Md, environment, md_escape
from appeals.compose.settings import Org, PayerAddress
from appeals.law import LawResult, PlanFacts, Registry, load_registry, plan_facts
from appeals.models import Action, Category, Classification, DenialRecord, LevelOfCare, Owner

APPEAL_LETTER = "appeal_letter"
DOC_REQUEST = "documentation_request"
CORRECTED_COVER = "corrected_claim_cover"
CHECKLIST = "clinician_checklist"
CRITERIA_CATEGORIES = {Category.medical_necessity, Category.authorization}
TITLES = {APPEAL_LETTER: "Appeal letter", DOC_REQUEST: "Request for plan documents",
          CORRECTED_COVER: "Corrected claim cover letter", CHECKLIST: "Clinician checklist"}


class CitationNotAllowed(LookupError):
    """A template asked for a citation that does not apply to this plan on this date."""


class ComposeError(ValueError):
    """A template failed for one record; the message names the template and the claim."""


class CitationGate:
    """The only way a template reaches the registry."""

    def __init__(self, reg: Registry, facts: PlanFacts, on: date, as_of: date) -> None:
        self._allowed = {c.id: c for c in reg.citations(
            facts.plan, None, on, funding=facts.funding, state=facts.state, as_of=as_of)}
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

    def cites(self, topic: str) -> list[str]:
        return [c.id for c in self._allowed.values() if topic in c.topics]

    def cite_list(self, *topics: str) -> Md:
        ids = list(dict.fromkeys(cid for topic in topics for cid in self.cites(topic)))
        return self.cite_ids(ids)

    def cite_ids(self, ids: list[str]) -> Md:
        return Md("; ".join(self.cite(cid) for cid in ids))


def letter_types(classification: Classification, law: LawResult) -> list[str]:
    """Which letters this denial gets; the checklist is decided separately (by its items)."""
    types: list[str] = []
    if classification.action is Action.appeal and classification.appealable:
        types.append(APPEAL_LETTER)
        if classification.category is Category.parity_nqtl or (
                classification.category in CRITERIA_CATEGORIES and law.parity.applies is True):
            types.append(DOC_REQUEST)
    elif classification.action in (Action.correct_and_resubmit, Action.verify_and_resubmit):
        types.append(CORRECTED_COVER)
    return types


def article(phrase: str) -> str:
    return ("an " if phrase[:1].lower() in "aeiou" else "a ") + phrase


def money(value: Decimal | None) -> str:
    return "" if value is None else f"${value:,.2f}"


def when(value: date | None) -> str:
    return "" if value is None else f"{value:%B} {value.day}, {value.year}"


def code_meanings(record: DenialRecord) -> list[str]:
    table = load_code_table()
    out = []
    for code in record.adjustment_codes:
        _group, _, reason = code.partition("-")
        row = table.get(("CARC", reason))
        out.append(f"{code}: {row.short_meaning}" if row else code)
    for code in record.remark_codes:
        row = table.get(("RARC", code))
        out.append(f"{code}: {row.short_meaning}" if row else code)
    return out


def standard_for(record: DenialRecord, as_of: date) -> str | None:
    """The generally accepted criteria set for this level of care (named, never cited)."""
    if record.level_of_care in (None, LevelOfCare.outpatient) and not is_sud(record):
        return None
    if is_sud(record):
        return "ASAM"
    dob = record.patient_dob
    if dob is not None and (as_of.year - dob.year) < 18:
        return "CALOCUS-CASII"
    return "LOCUS"


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


def checklist_due(law: LawResult, as_of: date, lead_days: int) -> date:
    first = law.first_deadline
    if first is None or first.file_by is None:
        return as_of + timedelta(days=7)
    return max(as_of, first.file_by - timedelta(days=lead_days))


def compose(record: DenialRecord, classification: Classification, law: LawResult, *,
            as_of: date, org: Org | None = None, payer: PayerAddress | None = None,
            facts: dict[str, str] | None = None, templates: Path | None = None,
            checklists: Path | None = None, registry: Registry | None = None) -> Composed:
    """Build the packet's documents for one record (no files are written here)."""
    reg = registry or load_registry()
    org = org or Org()
    facts = facts or {}
    category = classification.category
    gate = CitationGate(reg, replace(plan_facts(record), plan=law.plan),
                        record.service_date or record.denial_date or as_of, as_of)
    types = letter_types(classification, law)
    needed = select(record, category, load_items(checklists), owner=None) if types else []
    clinician_items = [i for i in needed if i.owner is Owner.clinician]
    billing_items = [i for i in needed if i.owner is not Owner.clinician]
    due = checklist_due(law, as_of, org.checklist_lead_days)
    placeholders: list[str] = []

    def fact(item_id: str, label: str) -> Md:
        answer = facts.get(item_id)
        if answer and answer.strip():
            return Md(md_escape(answer))
        placeholders.append(item_id)
        return Md(f"**\\[CLINICIAN: {md_escape(label)}\\]**")

    def blank(label: str) -> Md:
        placeholders.append(label)
        return Md(f"**\\[BILLER: {md_escape(label)}\\]**")

    context = {
        "claim": record, "cls": classification, "law": law, "org": org, "payer": payer,
        "category": category.value, "as_of": as_of, "letter_date": when(as_of),
        "codes": code_meanings(record), "nqtl": limit_at_issue(record, classification),
        "standard": standard_for(record, as_of), "sud": is_sud(record),
        "items": clinician_items, "due": when(due), "facts": facts,
        "cite": gate.cite, "has": gate.has, "cites": gate.cites, "cite_list": gate.cite_list,
        "cite_ids": gate.cite_ids, "parity_ids": [c.id for c in law.parity.citations],
        "fact": fact, "blank": blank, "article": article, "money": money, "when": when,
        "box": lambda item_id: Md(f"[ ] ({item_id}) "),
        "deadline": law.first_deadline,
    }
    env = environment(templates)
    meta = {"org": org, "letter_date": as_of, "claim_id": record.claim_id,
            "line_number": record.line_number}
    documents = []
    names = types + ([CHECKLIST] if clinician_items else [])
    for name in names:
        try:
            source = env.get_template(f"{name}.md.j2").render(context)
        except (TemplateError, CitationNotAllowed, AttributeError, TypeError) as exc:
            raise ComposeError(f"template {name}.md.j2 failed for claim {record.claim_id} line "
                               f"{record.line_number}: {type(exc).__name__}: {exc}") from exc
        documents.append(from_markdown(source, name, TITLES[name], meta))
    return Composed(documents=documents, letter_types=types, checklist_items=clinician_items,
                    billing_items=billing_items, citations_printed=list(gate.printed),
                    checklist_due=due if clinician_items else None,
                    placeholders=list(dict.fromkeys(placeholders)))
