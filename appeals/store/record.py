"""What `appeals run --db` writes: every line it read, the case each denial belongs to, repeats,
reprocessed claims, and outcomes read off later remittances.

Lines are recorded a chunk at a time, each chunk one transaction under the store's write lock
(SQLite's BEGIN IMMEDIATE, a PostgreSQL advisory lock), so two runs at once queue chunk by chunk
and a killed run leaves whole chunks only. A line is known by its input file's sha256 and its
place in the file: a line already recorded (a re-run, the other run) is passed over, so the next
run completes what a killed one began and nothing is counted twice.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, any_, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from appeals import __version__
from appeals.models import Action, Classification, DenialRecord
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
    NEEDS_APPROVAL,
    REMITTANCE,
    RUN,
    Status,
    approved,
    event,
    insert_events,
    now,
)
from appeals.store.schema import cases, lines, runs

#: Lines per transaction: large enough for bulk inserts, small enough that a killed run loses
#: little work and a second run waits little.
CHUNK = 2000
#: The case columns a chunk may change (one executemany for all touched cases).
_MUTABLE = ("status", "category", "action", "owner", "reason", "plan", "denial_date", "deadline",
            "deadline_rule", "at_stake", "billed", "paid", "recovered", "repeat_count",
            "linked_case_id", "last_seen", "last_fingerprint", "record", "decided_on", "score")


@dataclass
class _Line:
    index: int
    record: DenialRecord
    verdict: Classification
    row: dict
    sha: str
    location: str
    key: str  # the case key
    fingerprint: str = ""
    json: str = ""
    case: dict | None = None


@dataclass
class Recorder:
    """Buffer a run's lines and write them a chunk at a time; then the packets' results.

    `case_ids` maps a worklist row index to its case id, for the packet step."""

    engine: Engine
    as_of: date
    inputs: dict[Path, str | None] = field(default_factory=dict)  # sha256 as intake read it
    run_id: int = 0
    case_ids: dict[int, int] = field(default_factory=dict)
    recorded: int = 0
    _pending: list[_Line] = field(default_factory=list)
    _source: tuple[str, str] = ("\0", "")  # the last record's source and its sha256

    def start(self, inputs: dict[Path, str | None]) -> None:
        """A run begins; `inputs` is intake's digest map, filled as each file is read."""
        self.inputs = inputs
        with self.engine.begin() as conn:
            self.run_id = conn.execute(insert(runs).returning(runs.c.id), {
                "started_at": now(), "as_of": self.as_of, "toolkit_version": __version__,
                "inputs": "[]", "lines": 0}).scalar_one()

    def add(self, index: int, record: DenialRecord, verdict: Classification, row: dict) -> None:
        """One line as the run assessed it (its worklist row carries the law's deadline)."""
        source = record.source or ""
        if source != self._source[0]:
            self._source = (source, self.inputs.get(Path(source)) or source)
        location = record.location or f"claim {record.claim_id} line {record.line_number}"
        self._pending.append(_Line(index, record, verdict, row, self._source[1], location,
                                   case_key(record)))
        if len(self._pending) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        chunk, self._pending = self._pending, []
        with self.engine.begin() as conn:
            write_lock(conn)
            self.recorded += _record(conn, chunk, self.as_of, self.run_id)
        for item in chunk:
            if item.case is not None:
                self.case_ids[item.index] = item.case["id"]

    def packets(self, results: list[tuple[int, dict]]) -> None:
        """Each packet's path, hashes and versions on its case; a case not yet sent becomes
        ready_to_send (the packet passed the readiness checks), waiting_on_clinician (checklist
        items unanswered) or stays to_work (the biller's part is missing)."""
        self.flush()
        todo = [(self.case_ids[i], r) for i, r in results if i in self.case_ids]
        for start in range(0, len(todo), CHUNK):
            with self.engine.begin() as conn:
                write_lock(conn)
                _packets(conn, todo[start:start + CHUNK], self.as_of, self.run_id)

    def outcomes(self) -> dict[tuple[str, str], tuple[int, int]]:
        """(payer key, category) -> (won, decided) so far: the worklist's learned odds."""
        return outcome_counts(self.engine)

    def history(self) -> dict:
        """The triage report's history section, this run included."""
        return history(self.engine, self.as_of)

    def finish(self) -> None:
        self.flush()
        with self.engine.begin() as conn:
            conn.execute(update(runs).where(runs.c.id == self.run_id).values(
                finished_at=now(), lines=self.recorded, inputs=json.dumps(
                    [{"path": str(p), "sha256": s} for p, s in self.inputs.items()])))


def _record(conn, chunk: list[_Line], as_of: date, run_id: int) -> int:
    """Record the chunk's new lines and what they mean for their cases; the number recorded."""
    places: dict[str, list[str]] = defaultdict(list)  # a chunk is mostly one file's lines
    for i in chunk:
        places[i.sha].append(i.location)
    known = {(sha, where): case_id for sha, spots in places.items()
             for where, case_id in conn.execute(
                 select(lines.c.location, lines.c.case_id).where(
                     lines.c.source_sha == sha, _among(conn, lines.c.location, spots)))}
    fresh: list[_Line] = []
    for item in chunk:
        place = (item.sha, item.location)
        if place in known:  # recorded before (a re-run, a killed run, the other run)
            if known[place] is not None:
                item.case = {"id": known[place]}  # its packet is still this run's to record
            continue
        known[place] = None
        if item.verdict.action is not Action.no_action:  # a payment's, when it decides a case
            item.fingerprint, item.json = adjudication(item.record)
        fresh.append(item)
    old = _cases_for(conn, fresh)
    by_key: dict[str, dict] = {c["case_key"]: c for c in old}
    by_service: dict[tuple, list[dict]] = defaultdict(list)
    for c in old:
        by_service[c["_service"]].append(c)
    touched: dict[int, dict] = {}
    created: list[dict] = []
    new_events: list[tuple[dict, dict]] = []  # (case, event) : the case's id may come later

    def note(case: dict, on: date | None = None, **kw) -> None:
        new_events.append((case, event(None, on=on or as_of, run_id=run_id, **kw)))

    for item in fresh:
        rec, verdict = item.record, item.verdict
        denied = verdict.action is not Action.no_action
        key = item.key
        case = by_key.get(key)
        if denied:
            if case is None:
                linked = _reprocessed(by_service.get(service_key(rec), ()), rec, as_of)
                case = _new_case(item, key, as_of, linked)
                by_key[key] = case
                if case["_service"]:
                    by_service[case["_service"]].append(case)
                created.append(case)
                note(case, kind="opened", who=RUN, after=Status.to_work,
                     note=f"{verdict.category.value}: {item.row['reason']}")
                if linked is not None:
                    words = (f"claim {rec.claim_id} line {rec.line_number} is the same service "
                             f"as claim {linked['claim_id']} line {linked['line_number']} "
                             "(member, service date, code, provider): reprocessed or corrected")
                    note(case, kind="linked", who=RUN, note=words)
                    note(linked, kind="linked", who=RUN, note=words)
            else:
                _denied_again(case, item, as_of, note)
            item.case = case
            touched[id(case)] = case
            continue
        # Paid or adjusted without a denial: does it decide an open case? Only a later
        # remittance does, and a payment on another claim never decides a duplicate-claim
        # denial (the paid claim is the original it duplicated).
        if case is not None:
            target = case if case["status"] in AWAITING_MONEY and _later(rec, case) else None
        else:
            target = _reprocessed([c for c in by_service.get(service_key(rec), ())
                                   if c["status"] in AWAITING_MONEY
                                   and c["category"] != "duplicate"], rec, as_of)
        paid = rec.paid_amount or Decimal(0)
        if target is not None and paid > target["paid"]:
            _overturned(target, item, Status.overturned, paid, as_of, note)
            item.case = target
            touched[id(target)] = target

    new = {id(c) for c in created}
    if created:  # numbered here, under the write lock (no RETURNING: plain, fast executemany)
        last = conn.execute(select(func.coalesce(func.max(cases.c.id), 0))).scalar_one()
        for n, case in enumerate(created, start=last + 1):
            case["id"] = n
        conn.execute(insert(cases), [_columns(c, all_columns=True) for c in created])
    for case in created:  # a link may point at a case made earlier in this chunk
        linked = case.pop("_linked", None)
        case["linked_case_id"] = linked["id"] if linked is not None else None
    changed = [c for c in touched.values() if id(c) not in new or c["linked_case_id"]]
    if changed:
        conn.execute(update(cases).where(cases.c.id == bindparam("_id")).values(
            {name: bindparam(name) for name in _MUTABLE}),
            [{"_id": c["id"], **_columns(c)} for c in changed])
    if fresh:
        _insert_lines(conn, fresh, as_of, run_id)
    insert_events(conn, [{**e, "case_id": c["id"]} for c, e in new_events])
    return len(fresh)


def _among(conn, column, values: list):
    """`column IN values`; on PostgreSQL as `= ANY(one array parameter)`: psycopg parses a query
    of 2,000 parameters client-side on every chunk, which cost more than the rest of recording."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def _cases_for(conn, items: list[_Line]) -> list[dict]:
    """The stored cases the chunk's lines may belong to: by case key, or by member (for the
    reprocessed-claim match, filtered in Python)."""
    if not items:
        return []
    keys = {i.key for i in items}
    members = {i.record.member_id for i in items if i.record.member_id}
    where = _among(conn, cases.c.case_key, sorted(keys))
    if members:
        where = where | _among(conn, cases.c.member_id, sorted(members))
    found = []
    for row in conn.execute(select(cases).where(where)).mappings():
        case = dict(row)
        case["_service"] = service_of(case["payer"], case["member_id"], case["service_date"],
                                      case["cpt_code"], case["provider"])
        found.append(case)
    return found


def _later(record: DenialRecord, case: dict, as_of: date | None = None) -> bool:
    """The line comes from a later remittance than the case's denial: by the remittance dates
    when both are known, else by the run that recorded it. Two claims of one remittance are two
    services (or a duplicate and its original), never one reprocessed."""
    if record.denial_date and case["denial_date"]:
        return record.denial_date > case["denial_date"]
    return as_of is not None and as_of > case["last_seen"]


def _reprocessed(candidates, record: DenialRecord, as_of: date) -> dict | None:
    """The latest earlier case for the same service under another claim number."""
    matches = [c for c in candidates
               if c["claim_id"] != record.claim_id and _later(record, c, as_of)]
    return max(matches, key=lambda c: (c["last_seen"], c.get("id") or 0), default=None)


def _new_case(item: _Line, key: str, as_of: date, linked: dict | None) -> dict:
    rec = item.record
    case = {
        "case_key": key, "payer": payer_key(rec.payer_name), "payer_name": rec.payer_name or "",
        "claim_id": rec.claim_id, "line_number": rec.line_number,
        "service_date": rec.service_date, "cpt_code": rec.cpt_code or "",
        "member_id": rec.member_id or "", "provider": provider_key(rec),
        "status": Status.to_work.value, "closed_reason": None, "recovered": Decimal(0),
        "repeat_count": 0, "linked_case_id": None, "first_seen": as_of, "decided_on": None,
        "levels_upheld": 0, "next_level": None, "next_deadline": None, "packet_path": None,
        "packet_hashes": None, "packet_version": None, "checklist_due": None,
        "packet_ready": None, "score": None,
        "_service": service_key(rec), "_linked": linked, "id": None,
    }
    _latest(case, item, as_of)
    return case


def _latest(case: dict, item: _Line, as_of: date) -> None:
    """The facts of the latest denial of a case: what the biller works from."""
    rec, verdict, row = item.record, item.verdict, item.row
    case.update(
        category=verdict.category.value, action=verdict.action.value, owner=verdict.owner.value,
        reason=row["reason"], plan=row["plan"], denial_date=rec.denial_date,
        deadline=date.fromisoformat(row["deadline"]) if row["deadline"] else None,
        deadline_rule=row["deadline_rule"], billed=rec.billed_amount or Decimal(0),
        paid=rec.paid_amount or Decimal(0), at_stake=row["at_stake"], last_seen=as_of,
        last_fingerprint=item.fingerprint, score=row.get("score"),
        record=item.json)


def _denied_again(case: dict, item: _Line, as_of: date, note) -> None:
    """A later line of a known case that is still denied: the same report seen again, a partial
    payment, or a repeat denial."""
    rec = item.record
    paid = rec.paid_amount or Decimal(0)
    if item.fingerprint == case["last_fingerprint"]:
        case["last_seen"], case["score"] = as_of, item.row.get("score")
        return
    if paid > case["paid"] and case["status"] in AWAITING_MONEY and _later(rec, case, as_of):
        _overturned(case, item, Status.partially_overturned, paid, as_of, note)
        return
    case["repeat_count"] += 1
    when = rec.denial_date.isoformat() if rec.denial_date else "an undated notice"
    note(case, kind="repeat", who=RUN,
         note=f"denied again ({item.verdict.category.value}, {item.row['reason']}) on {when}")
    if case["status"] in BEFORE_SENDING:
        _latest(case, item, as_of)
    else:
        case["last_seen"], case["last_fingerprint"] = as_of, item.fingerprint


def _overturned(case: dict, item: _Line, outcome: Status, paid: Decimal, as_of: date,
                note) -> None:
    """A later remittance pays the line: the decision, read off the money."""
    rec = item.record
    if not item.fingerprint:
        item.fingerprint, item.json = adjudication(rec)
    recovered = paid - case["paid"]
    on = rec.denial_date or as_of
    where = ("" if rec.claim_id == case["claim_id"] else
             f" under claim {rec.claim_id} line {rec.line_number} (reprocessed)")
    note(case, on=on, kind="outcome", who=REMITTANCE, before=case["status"], after=outcome.value,
         amount=recovered, note=f"paid {paid} on the remittance of {on.isoformat()}{where}")
    case.update(status=outcome.value, recovered=case["recovered"] + recovered, decided_on=on,
                paid=paid, last_seen=as_of, last_fingerprint=item.fingerprint)


def _columns(case: dict, all_columns: bool = False) -> dict:
    if all_columns:
        return {c.name: case[c.name] for c in cases.columns}
    return {name: case[name] for name in _MUTABLE}


#: The columns of `lines` a run writes, in the order `_line_values` gives them.
_LINE_COLUMNS = ("run_id", "source_sha", "location", "fingerprint", "case_id", "recorded_on",
                 "payer", "payer_name", "claim_id", "line_number", "service_date", "cpt_code",
                 "provider_name", "denied", "category", "reason", "billed", "paid", "at_stake",
                 "denial_date")


def _insert_lines(conn, items: list[_Line], as_of: date, run_id: int) -> None:
    """executemany straight to the driver, for the one table that takes every line: SQLAlchemy's
    per-row parameter processing was a third of the recording time (benchmarks/bench_store.py).
    SQLite gets the values as SQLAlchemy's own types store them (ISO dates, 0/1, amounts as text
    in NUMERIC columns); psycopg adapts dates and decimals itself."""
    sqlite = conn.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    sql = (f"INSERT INTO {lines.name} ({', '.join(_LINE_COLUMNS)}) "
           f"VALUES ({', '.join([mark] * len(_LINE_COLUMNS))})")
    conn.exec_driver_sql(sql, [_line_values(i, as_of, run_id, sqlite) for i in items])


def _line_values(item: _Line, as_of: date, run_id: int, sqlite: bool) -> tuple:
    rec, verdict = item.record, item.verdict
    day = (lambda d: d.isoformat() if d else None) if sqlite else (lambda d: d)
    money = str if sqlite else (lambda m: m)
    denied = verdict.action is not Action.no_action
    return (run_id, item.sha, item.location, item.fingerprint,
            item.case["id"] if item.case else None, day(as_of), payer_key(rec.payer_name),
            rec.payer_name or "", rec.claim_id, rec.line_number, day(rec.service_date),
            rec.cpt_code or "", rec.provider_name or "", int(denied) if sqlite else denied,
            verdict.category.value, item.row["reason"], money(rec.billed_amount or Decimal(0)),
            money(rec.paid_amount or Decimal(0)), money(item.row["at_stake"]),
            day(rec.denial_date))


def packet_rebuilt(engine: Engine, case_id: int, info: dict, *, on: date, who: str) -> None:
    """A packet built again outside a run (the review desk, after the clinician's answers): its
    path, hashes and the status it earns, as a run would record them, the event by `who`."""
    with engine.begin() as conn:
        write_lock(conn)
        _packets(conn, [(case_id, info)], on, None, who)


def _packets(conn, todo: list[tuple[int, dict]], as_of: date, run_id: int | None,
             who: str = RUN) -> None:
    ids = [case_id for case_id, _ in todo]
    status, category = {}, {}
    for case_id, now_status, now_category in conn.execute(select(
            cases.c.id, cases.c.status, cases.c.category).where(_among(conn, cases.c.id, ids))):
        status[case_id], category[case_id] = now_status, now_category
    rows, notes = [], []
    for case_id, info in todo:
        before = status[case_id]
        after = before
        # Ready only when nothing is left to fill or fix, and a parity letter once approved.
        ready = info["ready"] and (category[case_id] not in NEEDS_APPROVAL
                                   or approved(conn, case_id))
        if before in BEFORE_SENDING:
            after = (Status.ready_to_send if ready else Status.waiting_on_clinician
                     if info["checklist_open"] else Status.to_work).value
        if after != before:
            notes.append(event(case_id, "packet", as_of, who, before=before, after=after,
                               run_id=run_id, note=info["path"]))
        rows.append({"_id": case_id, "status": after, "packet_ready": info["ready"],
                     "packet_path": info["path"],
                     "packet_hashes": json.dumps(info["hashes"], sort_keys=True),
                     "packet_version": info["version"],
                     "checklist_due": date.fromisoformat(info["checklist_due"])
                     if info["checklist_due"] else None})
    if rows:
        conn.execute(update(cases).where(cases.c.id == bindparam("_id")).values(
            {k: bindparam(k) for k in rows[0] if k != "_id"}), rows)
    insert_events(conn, notes)

