"""The clinician's part in a form instead of a PDF: the packet's checklist items, the same checks
as `appeals facts import` (measures in range, levels among their levels, no date in the future
or after a post-service denial, the signed attestation), the answers merged into the desk's
facts file, and the packet built again with them, recorded on the case as a run would."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from appeals.answers.checks import problems
from appeals.answers.read import Answer, Returned
from appeals.compose.checklists import ATTESTATION, Item, load_items
from appeals.models import DenialRecord
from appeals.settings import Settings

#: The most a clinician's answer to one item may hold (a long progress summary fits).
MAX_ANSWER = 8000


@dataclass(frozen=True)
class Field:
    item: Item
    value: str


def fields(case: dict, summary: dict, settings: Settings, record: DenialRecord) -> list[Field]:
    """The packet's checklist items with what the facts file already holds for the case."""
    known = {i.id: i for i in load_items(settings.checklists)}
    have = settings.facts_for(record)
    return [Field(known[i], have.get(i, "")) for i in summary.get("checklist_items", [])
            if i in known]


def check(record: DenialRecord, answers: dict[str, str], as_of: date) -> list[str]:
    """What `appeals facts import` would refuse in these answers, one line an item."""
    found = [f"{item}: longer than {MAX_ANSWER} characters" for item, text in answers.items()
             if len(text) > MAX_ANSWER]
    returned = Returned(
        path=Path("review desk"), sha256="", claim_id=record.claim_id,
        line_number=record.line_number,
        service_date=record.service_date.isoformat() if record.service_date else "",
        items_digest="", denial_date=record.denial_date.isoformat() if record.denial_date
        else "", answers={k: Answer(ticked=bool(v), text=v) for k, v in answers.items()})
    found += problems(returned, as_of)
    if answers and not answers.get(ATTESTATION, "").strip():
        found.append(f"{ATTESTATION}: the clinician's name, credentials and license number "
                     "sign the answers")
    return found
