"""Answers given for one case outside a filled checklist (the review desk, `appeals facts set`):
merged into the runs' facts file, noted on the case, and its packet built again and recorded, as
a run would."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, select

from appeals.answers.importer import merge_facts
from appeals.models import DenialRecord
from appeals.packet import Settings, file_hashes, make_packet, state, stored, write
from appeals.precedent import tally, with_precedent
from appeals.store.cases import appeal_of_case, note_facts
from appeals.store.record import packet_rebuilt
from appeals.store.schema import cases


def save(engine: Engine, case: dict, record: DenialRecord, answers: dict[str, str], *,
         facts_file: Path, settings_files: dict, as_of: date, who: str,
         where: str = "on the review desk") -> Path | None:
    """Merge the answers into the facts file, note them on the case, build the packet again in
    its folder and record it. Returns the packet folder (None: the case has no packet yet; the
    next run builds it with the answers)."""
    key = f"{record.claim_id}-{record.line_number}"
    given = {k: v for k, v in answers.items() if v.strip()}
    merge_facts(facts_file, {key: given})
    note_facts(engine, str(case["case_id"]), on=as_of, who=who,
               note=f"{len(given)} answers {where}: {', '.join(sorted(given))}")
    if not case.get("packet"):
        return None
    settings = Settings.load(**settings_files, facts=facts_file, as_of=as_of)
    appeal = with_precedent(appeal_of_case(engine, case["case_id"], settings),
                            tally(engine, as_of))
    packet = make_packet(appeal, settings)
    folder = Path(case["packet"])
    written = write(packet, folder.parent, folder.name)
    packet_rebuilt(engine, case["case_id"], stored(written, file_hashes(packet, written),
                                                   state(packet.summary),
                                                   packet.summary["versions"],
                                                   appeal.parity_section),
                   on=as_of, who=who)
    return written


def stored_record(engine: Engine, case_id: int) -> DenialRecord:
    """The latest denial the store keeps for the case."""
    with engine.connect() as conn:
        raw = conn.execute(select(cases.c.record).where(cases.c.id == case_id)).scalar_one()
    return DenialRecord.model_validate(json.loads(raw))
