"""What `appeals run --db` writes: every line it read, the appeal (case) each denial belongs to,
repeats, reprocessed claims, and the decisions read off later remittances: a payment is an
overturn; a line denied again after its appeal was sent is that level's decision, upheld, and the
appeal moves to the next level with its window (never a fresh first-level letter).

Lines are recorded a chunk at a time, each chunk one transaction under the store's write lock
(SQLite's BEGIN IMMEDIATE, a PostgreSQL advisory lock), so two runs at once queue chunk by chunk
and a killed run leaves whole chunks only. A line is known by its input file's sha256 and its
place in the file: a line already recorded (a re-run, the other run) is passed over, so the next
run completes what a killed one began and nothing is counted twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, any_, bindparam, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import SQLAlchemyError

from appeals import __version__
from appeals.appeal import Appeal, Line, with_only
from appeals.law import Registry, next_levels
from appeals.models import DenialRecord, name_key
from appeals.store.engine import write_lock
from appeals.store.history import history, outcome_counts
from appeals.store.keys import (
    adjudication,
    case_key,
    payer_key,
    provider_key,
    service_key,
    service_of,
)
from appeals.store.lifecycle import (
    AWAITING_MONEY,
    BEFORE_SENDING,
    REMITTANCE,
    RUN,
    Status,
    approved,
    decide_level,
    event,
    insert_events,
    needs_approval,
    now,
    packet_digest,
)
from appeals.store.schema import appeal_lines, cases, lines, runs

if TYPE_CHECKING:
    from appeals.packet import Stored  # appeals.packet loads the renderers: only for the types

#: Lines per transaction: large enough for bulk inserts, small enough that a killed run loses
#: little work and a second run waits little.
CHUNK = 2000
#: The case columns a chunk may change (one executemany for all touched cases).
_MUTABLE = ("status", "category", "action", "owner", "reason", "plan", "denial_date", "deadline",
            "deadline_rule", "at_stake", "billed", "paid", "recovered", "repeat_count",
            "linked_case_id", "last_seen", "last_fingerprint", "record", "decided_on", "score",
            "levels_upheld", "next_level", "next_deadline", "patient_key")


@dataclass
class _Item:
    """One input line on its way into the store."""

    line: Line
    sha: str
    location: str
    key: str  # the line's key (keys.case_key): which appeal line it is
    fingerprint: str = ""
    json: str = ""
    case: dict | None = None
    seen_before: bool = False

    @property
    def record(self) -> DenialRecord:
        return self.line.record


@dataclass
class Recorded:
    """What the store says of an appeal of this run: its case, where it stands, and whether this
    run read the payer's decision on its filed level off a remittance (no new letter then)."""

    case_id: int
    status: Status
    level: int = 1
    level_name: str = ""
    deadline: date | None = None
    decided: bool = False
    checklist_due: date | None = None  # set by an earlier run: it does not slide
    #: The appeal's other lines the store holds (still denied, not in this run's input): their
    #: latest denials (JSON), so the packet covers the whole appeal.
    other_lines: tuple[str, ...] = ()
    #: Lines of the run's appeal (their places in `Appeal.lines`) that the letter already sent on
    #: this case did not cover: they became an appeal of their own, `apart`.
    apart_lines: tuple[int, ...] = ()
    apart: Recorded | None = None


@dataclass
class Recorder:
    """Write a run's appeals and lines a chunk at a time; then the packets' results.

    `record(units)` takes the grouping's units (an Appeal, or a line that needs no work) and says,
    for each appeal, which case it is and where it stands."""

    engine: Engine
    as_of: date
    registry: Registry | None = None
    inputs: dict[Path, str | None] = field(default_factory=dict)  # sha256 as intake read it
    run_id: int = 0
    recorded: int = 0
    _source: tuple[str, str] = ("\0", "")  # the last record's source and its sha256

    def start(self, inputs: dict[Path, str | None]) -> None:
        """A run begins; `inputs` is intake's digest map, filled as each file is read."""
        self.inputs = inputs
        host = socket.gethostname()[:255]
        with self.engine.begin() as conn:
            self.run_id = conn.execute(insert(runs).returning(runs.c.id), {
                "started_at": now(), "as_of": self.as_of, "toolkit_version": __version__,
                "inputs": "[]", "lines": 0, "pid": os.getpid(), "host": host}).scalar_one()
            close_abandoned(conn, f"run {self.run_id}")

    def _item(self, line: Line) -> _Item:
        record = line.record
        source = record.source or ""
        if source != self._source[0]:
            self._source = (source, self.inputs.get(Path(source)) or source)
        location = record.location or f"claim {record.claim_id} line {record.line_number}"
        return _Item(line, self._source[1], location, case_key(record))

    def record(self, units: list[Appeal | Line]) -> list[Recorded | None]:
        """Record one chunk of units in one transaction: a Recorded per appeal, None per line."""
        chunk = [(u, [self._item(ln) for ln in (u.lines if isinstance(u, Appeal) else (u,))])
                 for u in units]
        with self.engine.begin() as conn:
            write_lock(conn)
            results, fresh = _record(conn, chunk, self.as_of, self.run_id, self.registry)
        self.recorded += fresh
        return results

    def packets(self, results: list[tuple[int, Stored]]) -> None:
        """Each packet's path, hashes and versions on its case (case id, stored()); a case not
        yet sent becomes ready_to_send (the packet passed the readiness checks),
        waiting_on_clinician (checklist items unanswered) or stays to_work (the biller's part is
        missing)."""
        for start in range(0, len(results), CHUNK):
            with self.engine.begin() as conn:
                write_lock(conn)
                _packets(conn, results[start:start + CHUNK], self.as_of, self.run_id)

    def scores(self, scores: list[tuple[int, float, bool]]) -> None:
        """The worklist's priority score of each appeal of this run, and whether it called it
        urgent (the desk puts urgent cases first, then orders by the score)."""
        for start in range(0, len(scores), CHUNK):
            with self.engine.begin() as conn:
                write_lock(conn)
                conn.execute(update(cases).where(cases.c.id == bindparam("_id")).values(
                    score=bindparam("score"), urgent=bindparam("urgent")),
                    [{"_id": i, "score": v, "urgent": u}
                     for i, v, u in scores[start:start + CHUNK]])

    def outcomes(self) -> dict[tuple[str, str], tuple[int, int]]:
        """(payer key, category) -> (won, decided) so far: the worklist's learned odds."""
        return outcome_counts(self.engine)

    def history(self) -> dict:
        """The triage report's history section, this run included."""
        return history(self.engine, self.as_of)

    def finish(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(runs).where(runs.c.id == self.run_id).values(
                finished_at=now(), lines=self.recorded, outcome="finished", inputs=json.dumps(
                    [{"path": str(p), "sha256": s} for p, s in self.inputs.items()])))

    def fail(self, why: str) -> None:
        """The run stops: said on its row (best effort: the store may be what failed)."""
        if not self.run_id:
            return
        with contextlib.suppress(SQLAlchemyError), self.engine.begin() as conn:
            # unwritable now (the store is what failed): the next run closes it as abandoned
            conn.execute(update(runs).where(runs.c.id == self.run_id).values(
                finished_at=now(), lines=self.recorded, outcome=f"failed: {why}"[:300]))


def unfinished_runs(engine: Engine, by: str) -> tuple[list[int], list[tuple[int, str | None]]]:
    """(the runs of this machine whose process is gone, closed as abandoned now by `by`; the
    runs still going, as (id, host)): a crash never blocks the next run for good."""
    with engine.begin() as conn:
        closed = close_abandoned(conn, by)
        going = conn.execute(select(runs.c.id, runs.c.host).where(
            runs.c.finished_at.is_(None))).all()
    return closed, [(i, h) for i, h in going]


def close_abandoned(conn, by: str) -> list[int]:
    """Runs of this machine whose process is gone never finish: say so on their rows, once.
    Returns their ids. (A run of another machine cannot be judged from here.)"""
    host, closed = socket.gethostname()[:255], []
    for run_id, pid in conn.execute(select(runs.c.id, runs.c.pid).where(
            runs.c.finished_at.is_(None), runs.c.host == host,
            or_(runs.c.pid.is_(None), runs.c.pid != os.getpid()))).all():
        if pid is None or not _alive(pid):
            conn.execute(update(runs).where(runs.c.id == run_id).values(
                finished_at=now(), outcome=f"abandoned: its process ended without finishing "
                f"(closed by {by})"))
            closed.append(run_id)
    return closed


def _alive(pid: int) -> bool:
    """Whether a process of this machine still runs (signal 0 checks without touching it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class _Chunk:
    """What one chunk found in the store and changes there."""

    conn: object
    as_of: date
    run_id: int
    cases: dict[int, dict] = field(default_factory=dict)
    by_key: dict[str, dict] = field(default_factory=dict)  # case_key -> case
    open_claims: dict[str, dict] = field(default_factory=dict)  # claim_group -> unsent case
    lines_of: dict[int, list[dict]] = field(default_factory=lambda: defaultdict(list))
    line_by_key: dict[str, dict] = field(default_factory=dict)  # line_key -> appeal line
    by_service: dict[tuple, list[dict]] = field(default_factory=lambda: defaultdict(list))
    created: list[dict] = field(default_factory=list)
    touched: dict[int, dict] = field(default_factory=dict)
    new_lines: list[dict] = field(default_factory=list)
    changed_lines: dict[int, dict] = field(default_factory=dict)
    decisions: list[tuple[dict, str, date, Decimal | None]] = field(default_factory=list)
    events: list[tuple[dict, dict]] = field(default_factory=list)

    def note(self, case: dict, on: date | None = None, **kw) -> None:
        self.events.append((case, event(None, on=on or self.as_of, run_id=self.run_id, **kw)))

    def touch(self, case: dict) -> None:
        self.touched[id(case)] = case

    def add_line(self, case: dict, item: _Item) -> dict:
        """An appeal line for `item` on `case`."""
        rec = item.record
        if not item.fingerprint:
            item.fingerprint, item.json = adjudication(rec)
        row = {"case": case, "line_key": item.key, "payer": payer_key(rec.payer_name),
               "payer_name": rec.payer_name or "", "claim_id": rec.claim_id,
               "line_number": rec.line_number, "service_date": rec.service_date,
               "cpt_code": rec.cpt_code or "", "member_id": rec.member_id or "",
               "provider": provider_key(rec), "billed": rec.billed_amount or Decimal(0),
               "paid": rec.paid_amount or Decimal(0), "at_stake": item.line.at_stake,
               "recovered": Decimal(0), "last_fingerprint": item.fingerprint,
               "record": item.json, "id": None}
        self.new_lines.append(row)
        self.line_by_key[item.key] = row
        self.lines_of[id(case)].append(row)
        service = service_key(rec)
        if service:
            self.by_service[service].append(row)
        return row


def _record(conn, chunk: list[tuple[Appeal | Line, list[_Item]]], as_of: date, run_id: int,
            registry: Registry | None) -> tuple[list[Recorded | None], int]:
    """Record the chunk's new lines and what they mean for their appeals."""
    items = [i for _, group in chunk for i in group]
    places: dict[str, list[str]] = defaultdict(list)  # a chunk is mostly one file's lines
    for i in items:
        places[i.sha].append(i.location)
    known = {(sha, where): case_id for sha, spots in places.items()
             for where, case_id in conn.execute(
                 select(lines.c.location, lines.c.case_id).where(
                     lines.c.source_sha == sha, _among(conn, lines.c.location, spots)))}
    state = _Chunk(conn, as_of, run_id)
    _load(conn, state, chunk, {c for c in known.values() if c is not None})
    fresh: list[_Item] = []
    results: list[tuple[dict, bool, tuple | None] | None] = []
    for unit, group in chunk:
        new = []
        for item in group:
            place = (item.sha, item.location)
            if place in known:  # recorded before (a re-run, a killed run, the other run)
                if known[place] is not None:
                    item.case = state.cases.get(known[place])
                continue
            known[place] = None
            if item.line.actionable:
                item.fingerprint, item.json = adjudication(item.record)
            new.append(item)
        fresh.extend(new)
        if isinstance(unit, Appeal):
            results.append(_appeal(state, unit, group, new, registry))
        else:
            results.append(None)
            for item in new:
                _paid_line(state, item)
    _write(conn, state, fresh)
    return [None if r is None else _recorded(r[0], r[1], state=state, unit=u, apart=r[2])
            for (u, _), r in zip(chunk, results, strict=True)], len(fresh)


def _load(conn, state: _Chunk, chunk, known_cases: set[int]) -> None:
    """The stored appeals the chunk may touch: by appeal key, by line key, by member (for the
    reprocessed-claim match, filtered in Python), and those its recorded lines point at."""
    keys = sorted({u.key for u, _ in chunk if isinstance(u, Appeal)})
    line_keys = sorted({i.key for _, group in chunk for i in group})
    members = sorted({i.record.member_id for _, group in chunk for i in group
                      if i.record.member_id})
    where = _among(conn, appeal_lines.c.line_key, line_keys)
    if members:
        where = where | _among(conn, appeal_lines.c.member_id, members)
    ids = set(known_cases)
    ids.update(c for (c,) in conn.execute(select(appeal_lines.c.case_id).where(where)))
    case_where = _among(conn, cases.c.case_key, keys) if keys else None
    if ids:
        by_id = _among(conn, cases.c.id, sorted(ids))
        case_where = by_id if case_where is None else case_where | by_id
    if case_where is None:
        return
    for row in conn.execute(select(cases).where(case_where)).mappings():
        case = dict(row)
        state.cases[case["id"]] = case
        state.by_key[case["case_key"]] = case
        if case["claim_group"] and Status(case["status"]).before_sending:
            state.open_claims.setdefault(case["claim_group"], case)
    if not state.cases:
        return
    for row in conn.execute(select(appeal_lines).where(
            _among(conn, appeal_lines.c.case_id, sorted(state.cases)))).mappings():
        line = dict(row)
        line["case"] = state.cases[line.pop("case_id")]
        state.line_by_key[line["line_key"]] = line
        state.lines_of[id(line["case"])].append(line)
        service = service_of(line["payer"], line["member_id"], line["service_date"],
                             line["cpt_code"], line["provider"])
        if service:
            state.by_service[service].append(line)


def _appeal(state: _Chunk, appeal: Appeal, group: list[_Item], new: list[_Item],
            registry: Registry | None) -> tuple[dict, bool, tuple[dict, tuple[int, ...]] | None]:
    """An appeal of this run: found by its lines or its key, or (a later line of a claim whose
    appeal is not yet sent) by its claim, or opened; a line denied again after the appeal was
    sent is the payer's decision on that level, and a line that letter did not cover becomes an
    appeal of its own (returned as the case and the lines' places)."""
    case = next((state.line_by_key[i.key]["case"] for i in group if i.key in state.line_by_key),
                None) or state.by_key.get(appeal.key) or next(
        (i.case for i in group if i.case is not None), None) or (
        state.open_claims.get(appeal.claim_group) if appeal.claim_group else None)
    decided = False
    if case is None:
        return _open(state, appeal, group, new), False, None
    apart = None
    if not Status(case["status"]).before_sending:
        places = tuple(n for n, i in enumerate(group) if i.key not in state.line_by_key)
        if places:
            moved = [group[n] for n in places]
            split = with_only(appeal, [i.line for i in moved])
            apart = (_open(state, split, moved, [i for i in new if i in moved]), places)
            words = ", ".join(f"claim {i.record.claim_id} line {i.record.line_number}"
                              for i in moved)
            state.note(case, kind="line", who=RUN,
                       note=f"{words}: denied after this appeal's letter went out, so not in "
                            "it; an appeal of its own")
            new = [i for i in new if i not in moved]
    repeats: list[str] = []
    for item in new:
        item.case = case
        line = state.line_by_key.get(item.key)
        if line is None:
            state.add_line(case, item)
            state.note(case, kind="line", who=RUN, note=f"claim {item.record.claim_id} line "
                       f"{item.record.line_number} joins this appeal")
            continue
        rec = item.record
        if item.fingerprint == line["last_fingerprint"]:
            item.seen_before = True
            continue
        paid = rec.paid_amount or Decimal(0)
        later = _later(rec, line, case)
        if paid > line["paid"] and case["status"] in AWAITING_MONEY and later:
            _overturned(state, case, line, item, paid, still_denied=True)
            continue
        line.update(last_fingerprint=item.fingerprint, record=item.json, paid=paid,
                    billed=rec.billed_amount or Decimal(0), at_stake=item.line.at_stake)
        _changed(state, line)
        if case["status"] == Status.sent and not decided and later:
            decided = _upheld(state, case, rec, registry)
            continue
        if not decided:
            repeats.append(f"line {rec.line_number}")
    if repeats:
        case["repeat_count"] += 1
        when = appeal.first.record.denial_date
        state.note(case, kind="repeat", who=RUN,
                   note=f"denied again ({appeal.first.classification.category.value}, "
                        f"{appeal.first.reason}) on "
                        f"{when.isoformat() if when else 'an undated notice'}: "
                        + ", ".join(repeats))
    if case["status"] in BEFORE_SENDING:
        _latest(case, appeal, state, state.as_of)
    case["last_seen"] = state.as_of
    state.touch(case)
    return case, decided, apart


def _open(state: _Chunk, appeal: Appeal, group: list[_Item], new: list[_Item]) -> dict:
    """A new appeal for the lines of `group`, linked to the same service under an earlier claim
    number when there is one."""
    first = new[0] if new else group[0]
    linked = _reprocessed(state.by_service.get(service_key(first.record), ()), first.record,
                          state.as_of)
    case = _new_case(appeal, state.as_of, linked["case"] if linked else None)
    state.created.append(case)
    state.by_key[case["case_key"]] = case
    if appeal.claim_group:
        state.open_claims.setdefault(appeal.claim_group, case)
    state.note(case, kind="opened", who=RUN, after=Status.to_work,
               note=f"{appeal.first.classification.category.value}: {appeal.first.reason}"
               + (f" ({len(appeal.lines)} lines)" if len(appeal.lines) > 1 else ""))
    if linked is not None:
        rec = first.record
        words = (f"claim {rec.claim_id} line {rec.line_number} is the same service "
                 f"as claim {linked['claim_id']} line {linked['line_number']} "
                 "(member, service date, code, provider): reprocessed or corrected")
        state.note(case, kind="linked", who=RUN, note=words)
        state.note(linked["case"], kind="linked", who=RUN, note=words)
    for item in group:
        if item.key not in state.line_by_key:
            state.add_line(case, item)
        item.case = case
    state.touch(case)
    return case


def _recorded(case: dict, decided: bool = False, *, state: _Chunk | None = None,
              unit: Appeal | None = None,
              apart: tuple[dict, tuple[int, ...]] | None = None) -> Recorded:
    status = Status(case["status"])
    other: tuple[str, ...] = ()
    if state is not None and unit is not None and status.before_sending:
        here = {case_key(ln.record) for ln in unit.lines}
        other = tuple(ln["record"] for ln in sorted(
            state.lines_of[id(case)], key=lambda ln: (ln["service_date"] or date.min,
                                                      ln["claim_id"], ln["line_number"]))
            if ln["line_key"] not in here and ln["record"]
            and not (ln["recovered"] and ln["at_stake"] <= 0))  # a line paid in full is out
    deadline = case["next_deadline"] if status is Status.upheld else (
        None if status not in BEFORE_SENDING else case["deadline"])
    split = None
    if apart is not None and unit is not None:
        split = _recorded(apart[0], state=state,
                          unit=with_only(unit, [unit.lines[n] for n in apart[1]]))
    return Recorded(case_id=case["id"], status=status, level=case["levels_upheld"] + 1,
                    level_name=case["next_level"] or "" if case["levels_upheld"] else "",
                    deadline=deadline, decided=decided, checklist_due=case["checklist_due"],
                    other_lines=other, apart_lines=apart[1] if apart else (), apart=split)


def _upheld(state: _Chunk, case: dict, record: DenialRecord, registry: Registry | None) -> bool:
    """A later remittance denies again a line whose appeal was sent: the payer's decision on that
    level, upheld, dated by the remittance; the next level's window from the law stage."""
    on = record.denial_date or state.as_of
    done = case["levels_upheld"]
    lead = DenialRecord.model_validate_json(case["record"]) if case["record"] else record
    levels = next_levels(lead, registry, decided_on=on, as_of=on, category=case["category"],
                         review_type=lead.review_type)
    nxt = levels[done] if done < len(levels) else None
    level = f"level {done + 1}"
    state.note(case, on=on, kind="outcome", who=REMITTANCE, before=case["status"],
               after=Status.upheld.value,
               note=f"denied again on the remittance of {on.isoformat()}: the payer's decision "
                    f"on the appeal ({level}), upheld; "
                    + (f"next: {nxt.level}, file by {nxt.file_by.isoformat()}"
                       if nxt is not None and nxt.file_by else
                       f"next: {nxt.level}" if nxt is not None
                       else "no later level in the registry"))
    state.decisions.append((case, Status.upheld.value, on, None))
    case.update(status=Status.upheld.value, decided_on=on, levels_upheld=done + 1,
                next_level=nxt.level if nxt else None,
                next_deadline=nxt.file_by if nxt else None)
    return True


def _changed(state: _Chunk, line: dict) -> None:
    if line.get("id") is not None:
        state.changed_lines[line["id"]] = line


def _paid_line(state: _Chunk, item: _Item) -> None:
    """Paid or adjusted without a denial: does it decide an open appeal? Only a later remittance
    does, and a payment on another claim never decides a duplicate-claim denial (the paid claim
    is the original it duplicated)."""
    rec = item.record
    line = state.line_by_key.get(item.key)
    if line is not None:
        target = line if line["case"]["status"] in AWAITING_MONEY and _later(
            rec, line, line["case"]) else None
    else:
        target = _reprocessed([ln for ln in state.by_service.get(service_key(rec), ())
                               if ln["case"]["status"] in AWAITING_MONEY
                               and ln["case"]["category"] != "duplicate"], rec, state.as_of)
    paid = rec.paid_amount or Decimal(0)
    if target is not None and paid > target["paid"]:
        _overturned(state, target["case"], target, item, paid)
        item.case = target["case"]


def _later(record: DenialRecord, line: dict, case: dict | None = None,
           as_of: date | None = None) -> bool:
    """The line comes from a later remittance than the appeal line's denial: by the remittance
    dates when both are known, else by the run that recorded it. Two claims of one remittance
    are two services (or a duplicate and its original), never one reprocessed."""
    case = case or line["case"]
    stored = json.loads(line["record"]).get("denial_date") if line.get("record") else None
    if record.denial_date and stored:
        return record.denial_date > date.fromisoformat(stored)
    if record.denial_date and case["denial_date"] and not stored:
        return record.denial_date > case["denial_date"]
    return as_of is not None and as_of > case["last_seen"]


def _reprocessed(candidates, record: DenialRecord, as_of: date) -> dict | None:
    """The latest earlier appeal line for the same service under another claim number."""
    matches = [ln for ln in candidates
               if ln["claim_id"] != record.claim_id and _later(record, ln, None, as_of)]
    return max(matches, key=lambda ln: (ln["case"]["last_seen"], ln["case"].get("id") or 0),
               default=None)


def _new_case(appeal: Appeal, as_of: date, linked: dict | None) -> dict:
    rec = appeal.first.record
    case = {
        "case_key": appeal.key, "payer": payer_key(rec.payer_name),
        "payer_name": rec.payer_name or "", "claim_id": rec.claim_id,
        "line_number": rec.line_number, "service_date": rec.service_date,
        "cpt_code": rec.cpt_code or "", "member_id": rec.member_id or "",
        "provider": provider_key(rec), "status": Status.to_work.value, "closed_reason": None,
        "recovered": Decimal(0), "repeat_count": 0, "linked_case_id": None, "first_seen": as_of,
        "decided_on": None, "levels_upheld": 0, "next_level": None, "next_deadline": None,
        "packet_path": None, "packet_hashes": None, "packet_version": None,
        "checklist_due": None, "packet_ready": None, "parity_letter": None, "score": None,
        "urgent": None,
        "claim_group": appeal.claim_group or None, "_linked": linked, "id": None,
    }
    _latest(case, appeal, None, as_of)
    case["last_fingerprint"] = hashlib.sha256(case["record"].encode()).hexdigest()
    return case


def _latest(case: dict, appeal: Appeal, state: _Chunk | None, as_of: date) -> None:
    """The facts of the latest denial of an appeal: what the biller works from (amounts: the
    sums of all its stored lines, this run's included)."""
    first, lead = appeal.first, appeal.lead
    rec = first.record
    stored = state.lines_of[id(case)] if state is not None else []
    deadline = lead.law.filing_deadline
    case.update(
        category=first.classification.category.value, action=first.classification.action.value,
        owner=first.classification.owner.value, reason=first.reason, plan=lead.law.plan,
        denial_date=rec.denial_date, deadline=appeal.deadline,
        deadline_rule=deadline.citation or "" if deadline else "",
        billed=sum((ln["billed"] for ln in stored), Decimal(0)) if stored else appeal.billed,
        paid=sum((ln["paid"] for ln in stored), Decimal(0)) if stored else appeal.paid,
        at_stake=sum((ln["at_stake"] for ln in stored), Decimal(0)) if stored
        else appeal.at_stake, last_seen=as_of, record=adjudication(rec)[1],
        patient_key=name_key(rec.patient_name) or None)


def _overturned(state: _Chunk, case: dict, line: dict, item: _Item, paid: Decimal,
                still_denied: bool = False) -> None:
    """A later remittance pays an appeal line: the decision, read off the money. Every line of
    the appeal paid: overturned; some, or a line paid in part and denied for the rest: partially
    overturned. Before the appeal is sent, a payment on some of its lines decides nothing: the
    money is recorded and the appeal goes on for what is still denied."""
    rec = item.record
    if not item.fingerprint:
        item.fingerprint, item.json = adjudication(rec)
    recovered = paid - line["paid"]
    on = rec.denial_date or state.as_of
    where = ("" if rec.claim_id == line["claim_id"] else
             f" under claim {rec.claim_id} line {rec.line_number} (reprocessed)")
    line.update(paid=paid, recovered=line["recovered"] + recovered,
                last_fingerprint=item.fingerprint)
    _changed(state, line)
    whole = not still_denied and all(ln["recovered"] > 0 for ln in state.lines_of[id(case)])
    outcome = Status.overturned if whole else Status.partially_overturned
    many = len(state.lines_of[id(case)]) > 1
    paid_words = (f"paid {paid}" + (f" on line {line['line_number']}" if many else "")
                  + f" on the remittance of {on.isoformat()}{where}")
    if not whole and Status(case["status"]).before_sending:
        left = max(line["at_stake"] - recovered, Decimal(0))
        case["at_stake"] = max(case["at_stake"] - (line["at_stake"] - left), Decimal(0))
        line["at_stake"] = left
        state.note(case, on=on, kind="payment", who=REMITTANCE, amount=recovered,
                   note=paid_words + ", before the appeal was sent: the appeal goes on for what "
                   "is still denied (its packet leaves a line paid in full out when it is built "
                   "again)")
        case.update(recovered=case["recovered"] + recovered, paid=case["paid"] + recovered,
                    last_seen=state.as_of)
        state.touch(case)
        return
    state.note(case, on=on, kind="outcome", who=REMITTANCE, before=case["status"],
               after=outcome.value, amount=recovered, note=paid_words)
    if case["status"] == Status.sent:
        state.decisions.append((case, outcome.value, on, recovered))
    case.update(status=outcome.value, recovered=case["recovered"] + recovered, decided_on=on,
                paid=case["paid"] + recovered, last_seen=state.as_of,
                last_fingerprint=item.fingerprint)
    state.touch(case)


def _write(conn, state: _Chunk, fresh: list[_Item]) -> None:
    new = {id(c) for c in state.created}
    if state.created:  # numbered here, under the write lock (no RETURNING: plain executemany)
        last = conn.execute(select(func.coalesce(func.max(cases.c.id), 0))).scalar_one()
        for n, case in enumerate(state.created, start=last + 1):
            case["id"] = n
        conn.execute(insert(cases), [_columns(c, all_columns=True) for c in state.created])
    for case in state.created:  # a link may point at a case made earlier in this chunk
        linked = case.pop("_linked", None)
        case["linked_case_id"] = linked["id"] if linked is not None else None
    changed = [c for c in state.touched.values() if id(c) not in new or c["linked_case_id"]]
    if changed:
        conn.execute(update(cases).where(cases.c.id == bindparam("_id")).values(
            {name: bindparam(name) for name in _MUTABLE}),
            [{"_id": c["id"], **_columns(c)} for c in changed])
    if state.new_lines:
        conn.execute(insert(appeal_lines), [
            {**{k: v for k, v in ln.items() if k not in ("case", "id")},
             "case_id": ln["case"]["id"]} for ln in state.new_lines])
    if state.changed_lines:
        conn.execute(update(appeal_lines).where(appeal_lines.c.id == bindparam("_id")).values(
            {k: bindparam(k) for k in _LINE_MUTABLE}),
            [{"_id": i, **{k: ln[k] for k in _LINE_MUTABLE}}
             for i, ln in state.changed_lines.items()])
    for case, decision, on, amount in state.decisions:
        decide_level(conn, case["id"], decision, on, amount)
    if fresh:
        _insert_lines(conn, fresh, state.as_of, state.run_id)
    insert_events(conn, [{**e, "case_id": c["id"]} for c, e in state.events])


_LINE_MUTABLE = ("paid", "billed", "at_stake", "recovered", "last_fingerprint", "record")


def _among(conn, column, values: list):
    """`column IN values`; on PostgreSQL as `= ANY(one array parameter)`: psycopg parses a query
    of 2,000 parameters client-side on every chunk, which cost more than the rest of recording."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


#: Every column of `cases`, named once (iterating the table's column collection per case cost
#: more than the rest of writing a new case).
_CASE_COLUMNS = tuple(c.name for c in cases.columns)


def _columns(case: dict, all_columns: bool = False) -> dict:
    return {name: case[name] for name in (_CASE_COLUMNS if all_columns else _MUTABLE)}


#: The columns of `lines` a run writes, in the order `_line_values` gives them.
_LINE_COLUMNS = ("run_id", "source_sha", "location", "fingerprint", "case_id", "recorded_on",
                 "payer", "payer_name", "claim_id", "line_number", "service_date", "cpt_code",
                 "provider_name", "denied", "category", "reason", "billed", "paid", "at_stake",
                 "denial_date", "seen_before")


def _insert_lines(conn, items: list[_Item], as_of: date, run_id: int) -> None:
    """executemany straight to the driver, for the one table that takes every line: SQLAlchemy's
    per-row parameter processing was a third of the recording time (benchmarks/bench_store.py).
    SQLite gets the values as SQLAlchemy's own types store them (ISO dates, 0/1, amounts as text
    in NUMERIC columns); psycopg adapts dates and decimals itself."""
    sqlite = conn.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    sql = (f"INSERT INTO {lines.name} ({', '.join(_LINE_COLUMNS)}) "
           f"VALUES ({', '.join([mark] * len(_LINE_COLUMNS))})")
    conn.exec_driver_sql(sql, [_line_values(i, as_of, run_id, sqlite) for i in items])


def _line_values(item: _Item, as_of: date, run_id: int, sqlite: bool) -> tuple:
    rec, line = item.record, item.line
    day = (lambda d: d.isoformat() if d else None) if sqlite else (lambda d: d)
    money = str if sqlite else (lambda m: m)
    flag = (lambda b: int(b)) if sqlite else (lambda b: b)
    return (run_id, item.sha, item.location, item.fingerprint,
            item.case["id"] if item.case else None, day(as_of), payer_key(rec.payer_name),
            rec.payer_name or "", rec.claim_id, rec.line_number, day(rec.service_date),
            rec.cpt_code or "", rec.provider_name or "", flag(line.actionable),
            line.classification.category.value, line.reason,
            money(rec.billed_amount or Decimal(0)), money(rec.paid_amount or Decimal(0)),
            money(line.at_stake), day(rec.denial_date), flag(item.seen_before))


def packet_rebuilt(engine: Engine, case_id: int, info: Stored, *, on: date, who: str) -> None:
    """A packet built again outside a run (the review desk, after the clinician's answers): its
    path, hashes and the status it earns, as a run would record them, the event by `who`."""
    with engine.begin() as conn:
        write_lock(conn)
        _packets(conn, [(case_id, info)], on, None, who)


def _earliest(was: date | None, now: date | None) -> date | None:
    """A checklist's due date once set never moves later (the same denial exported again a week
    later would move it a week each time); an earlier one (a nearer deadline) is taken."""
    return min(d for d in (was, now) if d is not None) if (was or now) else None


def _packets(conn, todo: list[tuple[int, Stored]], as_of: date, run_id: int | None,
             who: str = RUN) -> None:
    ids = [case_id for case_id, _ in todo]
    status, category, due = {}, {}, {}
    for case_id, now_status, now_category, was_due in conn.execute(select(
            cases.c.id, cases.c.status, cases.c.category, cases.c.checklist_due).where(
            _among(conn, cases.c.id, ids))):
        status[case_id], category[case_id], due[case_id] = now_status, now_category, was_due
    rows, notes = [], []
    for case_id, info in todo:
        before = status[case_id]
        after = before
        # Ready only when nothing is left to fill or fix, and a letter that argues parity once
        # this exact packet is approved (an approval of an earlier build has lapsed).
        parity = info.parity
        ready = info.built.ready and (
            not needs_approval({"parity_letter": parity, "category": category[case_id]})
            or approved(conn, case_id, packet_digest(info.hashes)))
        if before in BEFORE_SENDING:
            after = (Status.ready_to_send if ready else Status.waiting_on_clinician
                     if info.built.checklist_open else Status.to_work).value
        if after != before:
            notes.append(event(case_id, "packet", as_of, who, before=before, after=after,
                               run_id=run_id, note=info.path))
        rows.append({"_id": case_id, "status": after, "packet_ready": info.built.ready,
                     "parity_letter": parity,
                     "packet_path": info.path,
                     "packet_hashes": json.dumps(info.hashes, sort_keys=True),
                     "packet_version": info.version,
                     "checklist_due": _earliest(due[case_id], info.built.checklist_due)})
    if rows:
        conn.execute(update(cases).where(cases.c.id == bindparam("_id")).values(
            {k: bindparam(k) for k in rows[0] if k != "_id"}), rows)
    insert_events(conn, notes)

