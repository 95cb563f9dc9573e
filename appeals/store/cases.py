"""Reading and working cases: the list, one case's history, and what people mark.

    from appeals.store import open_store, list_cases, mark, record_outcome
    engine = open_store()
    rows = list_cases(engine, status="to_work", due_within=14)
    mark(engine, "C1001-1", "sent", on=date(2026, 7, 3), method="fax")

Every change is a row in `events` with who, when, from and to; nothing is overwritten.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, and_, func, null, or_, select, update
from sqlalchemy import case as sql_case

if TYPE_CHECKING:
    from appeals.appeal import Appeal
    from appeals.law import DecisionDue, Registry
    from appeals.models import DenialRecord
    from appeals.worklist import Row
from appeals.fields import payer_key
from appeals.store.engine import write_lock
from appeals.store.lifecycle import (
    BEFORE_SENDING,
    MARKS,
    NEEDS_APPROVAL,
    CloseReason,
    Status,
    approval,
    decide_level,
    event,
    file_level,
    insert_events,
    needs_approval,
    packet_digest,
)
from appeals.store.schema import appeal_lines, cases, events, filings, lines

METHODS = ("fax", "mail", "portal", "email", "phone")
PHI = ("patient_name", "member_id")


class CaseError(ValueError):
    """No such case, an ambiguous reference, or a move the lifecycle does not allow."""


def who_am_i() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def _find(conn, ref: str) -> dict:
    """A case by its number, or by CLAIM-LINE of any line of its appeal (the claim id may itself
    hold dashes)."""
    ref = ref.strip()
    if ref.isascii() and ref.isdecimal():
        number = int(ref)  # a case number the database's integers cannot hold is no case
        found = conn.execute(select(cases).where(cases.c.id == number)).mappings().all() \
            if number < 2**63 else []
    else:
        claim, _, line = ref.rpartition("-")
        if not claim or not (line.isascii() and line.isdecimal()) or len(line) > 9:
            raise CaseError(f"case {ref!r}: give a case number or CLAIM-LINE (like C1001-2)")
        ids = select(appeal_lines.c.case_id).where(
            (appeal_lines.c.claim_id == claim) & (appeal_lines.c.line_number == int(line)))
        found = conn.execute(select(cases).where(cases.c.id.in_(ids)).order_by(cases.c.id)
                             ).mappings().all()
    if not found:
        raise CaseError(f"case {ref!r}: not in the store")
    if len(found) > 1:
        raise CaseError(f"case {ref!r} is {len(found)} cases (payers or service dates differ): "
                        f"use a case number ({', '.join(str(c['id']) for c in found)})")
    return dict(found[0])


def case_record(engine: Engine, ref: str) -> tuple[int, DenialRecord, str]:
    """(case number, its first line's record, its category) of a case by number or CLAIM-LINE."""
    from appeals.models import DenialRecord  # the record models: when a record is read

    with engine.connect() as conn:
        case = _find(conn, ref)
    return case["id"], DenialRecord.model_validate_json(case["record"]), case["category"]


def _current_deadline(case: dict) -> date | None:
    """The date the next filing is due: the next level's after an upheld decision."""
    if case["status"] == Status.upheld:
        return case["next_deadline"]
    if case["status"] in (Status.overturned, Status.partially_overturned, Status.closed,
                          Status.sent):
        return None
    return case["deadline"]


def case_row(case: dict, as_of: date, redact: bool = False, lines: int = 1,
             decision: date | None = None) -> dict:
    """The list's row of one case (without names and member ids when `redact`); `lines`: how
    many service lines its appeal covers; `decision`: by when the payer must decide the level
    filed (a sent case)."""
    deadline = _current_deadline(case)
    decision = decision if case["status"] == Status.sent else None
    row = {
        "case_id": case["id"], "claim_id": case["claim_id"], "line_number": case["line_number"],
        "lines": lines,
        "payer_name": case["payer_name"], "service_date": _iso(case["service_date"]),
        "cpt_code": case["cpt_code"], "category": case["category"], "owner": case["owner"],
        "score": case["score"], "urgent": bool(case.get("urgent")),
        "status": case["status"], "needs_approval": needs_approval(case),
        "closed_reason": case["closed_reason"] or "", "deadline": _iso(deadline),
        "days_left": (deadline - as_of).days if deadline else None,
        "next_level": case["next_level"] or "", "level": case["levels_upheld"] + 1,
        "decision_due": _iso(decision),
        "decision_days_left": (decision - as_of).days if decision else None,
        "at_stake": str(case["at_stake"]), "recovered": str(case["recovered"]),
        "repeat_count": case["repeat_count"], "linked_case_id": case["linked_case_id"],
        "first_seen": _iso(case["first_seen"]), "last_seen": _iso(case["last_seen"]),
        "packet": case["packet_path"] or "",
    }
    if not redact:
        record = json.loads(case["record"])
        row["patient_name"] = record.get("patient_name") or ""
        row["member_id"] = case["member_id"]
    return row


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def list_cases(engine: Engine, *, status: str | None = None, payer: str | None = None,
               category: str | None = None, due_within: int | None = None,
               as_of: date | None = None, redact: bool = False,
               providers: frozenset[str] | None = None) -> list[dict]:
    """Cases, nearest deadline first (undated last), then by case number; `providers`: only
    the cases of these rendering providers (a clinician's own)."""
    statuses = (Status(status).value,) if status else tuple(s.value for s in Status)
    return worklist_page(engine, WorklistQuery(
        as_of=as_of or date.today(), statuses=statuses, category=category, payer=payer,
        due_within=due_within, providers=providers, order="deadline", limit=None,
        redact=redact))[1]


def _line_counts(conn, ids: list[int] | None = None) -> dict[int, int]:
    """Case id -> how many service lines its appeal covers (one GROUP BY; `ids`: only those)."""
    query = select(appeal_lines.c.case_id, func.count()).group_by(appeal_lines.c.case_id)
    if ids is not None:
        query = query.where(appeal_lines.c.case_id.in_(ids))
    return dict(conn.execute(query).all())


def _decisions_due(conn, ids: list[int] | None = None) -> dict[int, date]:
    """Case id -> by when the payer must decide its open filed level (one query)."""
    query = select(filings.c.case_id, filings.c.decision_due).where(
        filings.c.decision.is_(None), filings.c.decision_due.is_not(None))
    if ids is not None:
        query = query.where(filings.c.case_id.in_(ids))
    return dict(conn.execute(query).all())


#: The deadline a case shows, in SQL (as _current_deadline): the next level's after an upheld
#: decision, none once sent or decided, else the first level's.
_SHOWN_DEADLINE = sql_case(
    (cases.c.status == Status.upheld.value, cases.c.next_deadline),
    (cases.c.status.in_([Status.overturned.value, Status.partially_overturned.value,
                         Status.closed.value, Status.sent.value]), null()),
    else_=cases.c.deadline)
_ORDERS = {
    "priority": (cases.c.urgent.desc().nulls_last(), cases.c.score.desc().nulls_last()),
    "deadline": (_SHOWN_DEADLINE.asc().nulls_last(),),
    "at_stake": (cases.c.at_stake.desc(),),
    "status": (cases.c.status,),
}


@dataclass(frozen=True)
class WorklistQuery:
    """What the desk's worklist asks for; filtering, ordering and paging happen in the store,
    so a page of 200 costs the same over 1,000 or 100,000 appeals."""

    as_of: date
    statuses: tuple[str, ...]
    category: str | None = None
    payer: str | None = None
    owner: str | None = None
    level: int | None = None  # 1: the first appeal, 2: the level after an upheld decision...
    due_within: int | None = None
    search: str = ""  # a claim number, a member id, or words of the patient's name
    providers: frozenset[str] | None = None
    needs_approval: bool = False
    order: str = "priority"
    offset: int = 0
    limit: int | None = 200  # None: every match
    redact: bool = False  # without patient names and member ids


def worklist_page(engine: Engine, q: WorklistQuery) -> tuple[int, list[dict]]:
    """(how many cases match, the page's rows)."""
    where = [cases.c.status.in_(q.statuses)]
    if q.category:
        where.append(cases.c.category == q.category)
    if q.payer:
        where.append(cases.c.payer.contains(payer_key(q.payer), autoescape=True))
    if q.owner:
        where.append(cases.c.owner == q.owner)
    if q.level is not None:
        where.append(cases.c.levels_upheld == q.level - 1)
    if q.providers is not None:
        where.append(cases.c.provider.in_(sorted(q.providers)))
    if q.due_within is not None:
        where.append(_SHOWN_DEADLINE <= q.as_of + timedelta(days=q.due_within))
    if q.needs_approval:
        where.append(or_(cases.c.parity_letter.is_(True),
                         cases.c.category.in_(NEEDS_APPROVAL)))
    words = q.search.casefold().split()
    with engine.connect() as conn:
        if words:  # a claim number, a member id, or every word in the patient's name: the
            # matches found once (a scan), then counted and paged by their ids
            text = " ".join(words)
            ids = [i for (i,) in conn.execute(select(cases.c.id).where(*where, or_(
                func.lower(cases.c.claim_id).contains(text, autoescape=True),
                func.lower(cases.c.member_id).contains(text, autoescape=True),
                and_(*(cases.c.patient_key.contains(w, autoescape=True) for w in words)))))]
            where = [cases.c.id.in_(ids)]
        total = conn.execute(select(func.count()).select_from(cases).where(*where)).scalar_one()
        # the record (the denial as JSON, the biggest column) only for names and member ids
        skip = ("packet_hashes", "record") if q.redact else ("packet_hashes",)
        shown = [dict(r) for r in conn.execute(
            select(*(c for c in cases.c if c.name not in skip)).where(*where).order_by(
                *_ORDERS.get(q.order, _ORDERS["priority"]), cases.c.id).offset(q.offset).limit(
                q.limit)).mappings()]
        ids = [c["id"] for c in shown]
        counts, due = _line_counts(conn, ids), _decisions_due(conn, ids)
    return total, [case_row(c, q.as_of, q.redact, counts.get(c["id"], 1), due.get(c["id"]))
                   for c in shown]


def status_counts(engine: Engine) -> dict[str, int]:
    """Cases by status (one GROUP BY)."""
    with engine.connect() as conn:
        return dict(conn.execute(select(cases.c.status, func.count()).group_by(
            cases.c.status)).all())


def approved_cases(engine: Engine, ids: list[int]) -> set[int]:
    """Which of these cases a compliance reviewer approved as their packet now stands."""
    with engine.connect() as conn:
        rows = conn.execute(select(cases.c.id, cases.c.packet_hashes).where(
            cases.c.id.in_(ids))).all()
        return {i for i, hashes in rows
                if approval(conn, i, packet_digest(json.loads(hashes or "{}"))) is not None}


def case_history(engine: Engine, ref: str, *, as_of: date | None = None,
                 redact: bool = False) -> dict:
    """One case: its row, every event in order, and every input line recorded for it."""
    with engine.connect() as conn:
        case = _find(conn, ref)
        history = [_event_row(e) for e in conn.execute(
            select(events).where(events.c.case_id == case["id"]).order_by(events.c.id)).mappings()]
        covered = [{"claim_id": r["claim_id"], "line_number": r["line_number"],
                    "service_date": _iso(r["service_date"]), "cpt_code": r["cpt_code"],
                    "billed": str(r["billed"]), "at_stake": str(r["at_stake"]),
                    "recovered": str(r["recovered"])}
                   for r in conn.execute(select(appeal_lines).where(
                       appeal_lines.c.case_id == case["id"]).order_by(
                       appeal_lines.c.service_date, appeal_lines.c.claim_id,
                       appeal_lines.c.line_number)).mappings()]
        levels = [{"level": f["level"], "name": f["name"], "filed_on": _iso(f["filed_on"]),
                   "decision_due": _iso(f["decision_due"]), "decision_rule": f["decision_rule"]
                   or "",
                   "method": f["method"] or "", "letter_sha256": f["letter_sha256"] or "",
                   "decision": f["decision"] or "", "decided_on": _iso(f["decided_on"]),
                   "amount": str(f["amount"]) if f["amount"] is not None else ""}
                  for f in conn.execute(select(filings).where(
                      filings.c.case_id == case["id"]).order_by(filings.c.level)).mappings()]
        seen = [{"recorded_on": _iso(r["recorded_on"]), "source_sha256": r["source_sha"],
                 "location": r["location"], "claim_id": r["claim_id"],
                 "line_number": r["line_number"], "denied": r["denied"],
                 "category": r["category"], "paid": str(r["paid"]),
                 "remittance_date": _iso(r["denial_date"])}
                for r in conn.execute(select(lines).where(lines.c.case_id == case["id"])
                                      .order_by(lines.c.id)).mappings()]
        linked = [c for (c,) in conn.execute(select(cases.c.id).where(
            cases.c.linked_case_id == case["id"]))]
        problems = send_problems(conn, case, who="")
        approved = approval(conn, case["id"], packet_digest(case["packet_hashes"])) is not None
    said = None if redact else json.loads(case["record"]).get("denial_reason")
    open_due = next((date.fromisoformat(f["decision_due"]) for f in levels
                     if not f["decision"] and f["decision_due"]), None)
    return {**case_row(case, as_of or date.today(), redact, len(covered) or 1, open_due),
            "reason": case["reason"],
            "denial_reason": said or "",
            "plan": case["plan"], "deadline_rule": case["deadline_rule"] or "",
            "provider": case["provider"],
            "packet_version": case["packet_version"] or "",
            "packet_hashes": json.loads(case["packet_hashes"] or "{}"),
            "linked_from": linked, "appeal_lines": covered, "filings": levels,
            "approved": approved,
            "send_problems": problems if case["status"] in (
                Status.to_work, Status.waiting_on_clinician, Status.ready_to_send,
                Status.upheld) else [],
            "events": history, "lines": seen}


def _event_row(e) -> dict:
    return {"at": e["at"], "on": _iso(e["on_date"]), "who": e["who"], "kind": e["kind"],
            "from": e["from_status"] or "", "to": e["to_status"] or "",
            "amount": str(e["amount"]) if e["amount"] is not None else "",
            "method": e["method"] or "", "note": e["note"] or ""}


def note_facts(engine: Engine, ref: str, *, on: date, who: str, note: str) -> None:
    """The clinician's answers came back (appeals facts import): an event, no status change
    (the next run rebuilds the packet with them and moves the case to ready_to_send)."""
    note_event(engine, ref, "facts", on=on, who=who, note=note)


def note_event(engine: Engine, ref: str, kind: str, *, on: date, who: str, note: str) -> None:
    """An event in the case's history that changes no status (answers in, a letter built)."""
    with engine.begin() as conn:
        write_lock(conn)
        case = _find(conn, ref)
        insert_events(conn, [event(case["id"], kind, on, who, note=note)])


def _move(engine: Engine, ref: str, to: Status, on: date, who: str | None, *,
          kind: str, note: str | None = None, method: str | None = None,
          amount: Decimal | None = None, changes=None, override: str | None = None,
          separate: bool = False, then=None) -> dict:
    """Check the move against the lifecycle (and a send against the send gate), then write the
    change and its event together (and `then(conn, case)`'s, in the same transaction)."""
    with engine.begin() as conn:
        write_lock(conn)
        case = _find(conn, ref)
        allowed = MARKS[to]
        if case["status"] not in allowed:
            raise CaseError(f"case {case['id']} ({case['claim_id']}-{case['line_number']}) is "
                            f"{case['status']}: it cannot become {to.value} (only from "
                            f"{', '.join(s.value for s in allowed)})")
        if to is Status.sent:
            problems = send_problems(conn, case, who=who or who_am_i(), separate=separate)
            if problems and not override:
                raise CaseError(f"case {case['id']} ({case['claim_id']}-{case['line_number']}) "
                                f"is not ready to send: {'; '.join(problems)}. Fix it, or mark "
                                "it sent with --override REASON")
            if problems:
                why = f"sent with override: {override} (not ready: {'; '.join(problems)})"
                note = f"{why}; {note}" if note else why
        values = {"status": to.value, **(changes(case) if changes else {})}
        conn.execute(update(cases).where(cases.c.id == case["id"]).values(values))
        if to is Status.sent:
            name, clock = _level_filed(case, on, method)
            level = file_level(conn, case, on, method, name,
                               json.loads(case["packet_hashes"] or "{}").get(
                                   "appeal_letter.pdf"), clock)
            note = f"level {level}" + (f": {note}" if note else "")
        elif to in (Status.overturned, Status.partially_overturned, Status.upheld):
            decide_level(conn, case["id"], to.value, on, amount)
        insert_events(conn, [event(case["id"], kind, on, who or who_am_i(),
                                   before=case["status"], after=to.value, amount=amount,
                                   method=method, note=note)])
        case.update(values)
        if then is not None:
            then(conn, case)
    return case


def send_problems(conn, case: dict, *, who: str, separate: bool = False) -> list[str]:
    """Why the case's packet may not go out yet ([]: it may): no packet, a draft (what is left),
    a letter that argues parity without a compliance approval of this exact packet, or, when the
    practice separates the duties (`separate`), an approval by the person now sending it. The
    one gate of `appeals mark` and the review desk."""
    problems = []
    hashes = json.loads(case["packet_hashes"] or "{}")
    if not case["packet_path"] or not hashes:
        problems.append("no packet has been built for it")
    elif not case["packet_ready"]:
        problems.append(f"its packet is a {_draft(case['packet_path'])}")
    if needs_approval(case):
        approver = approval(conn, case["id"], packet_digest(hashes))
        if approver is None:
            problems.append("its letter argues parity: a compliance reviewer approves this "
                            "packet first (`appeals approve`, or the review desk); an approval "
                            "of an earlier build of the packet has lapsed")
        elif separate and approver == who:
            problems.append(f"{approver} approved it and may not also send it (the practice "
                            "separates approving and sending)")
    return problems


def _draft(folder: str) -> str:
    """What keeps a packet a draft, in the worklist's words (from its packet.json)."""
    from appeals.packet import state

    try:
        return state(json.loads((Path(folder) / "packet.json").read_text(encoding="utf-8"))).words
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return "draft (its packet.json cannot be read)"


def log_call(engine: Engine, ref: str, *, on: date, rep: str, reference: str | None = None,
             note: str | None = None, who: str | None = None) -> dict:
    """A call with the payer about the case (a receipt confirmed, a status asked): who answered,
    the call's reference and what was said, as an event in the case's history (the dated facts
    an escalation letter quotes). No status changes."""
    rep = " ".join((rep or "").split())
    if not rep:
        raise CaseError("a call needs --rep: the name (or id) of the payer's representative")
    words = f"call with the payer's representative {rep}" + (
        f", reference {reference.strip()}" if reference and reference.strip() else "") + (
        f": {note.strip()}" if note and note.strip() else "")
    with engine.begin() as conn:
        write_lock(conn)
        case = _find(conn, ref)
        insert_events(conn, [event(case["id"], "call", on, who or who_am_i(), note=words)])
    return case


def _level_filed(case: dict, on: date, method: str | None) -> tuple[str, DecisionDue | None]:
    """The registry's name of the level being filed (the first, the plan's appeal, or the next
    one an upheld decision opened) and the payer's decision clock for it (None: no verified
    clock), from the case's record read once."""
    from appeals.law import decision_due, law_for  # the law stage: only when a level is filed
    from appeals.models import DenialRecord  # the record models: when a record is read

    try:
        record = DenialRecord.model_validate_json(case["record"])
    except ValueError:
        return case["next_level"] or "first_level", None
    if case["levels_upheld"] and case["next_level"]:
        name = case["next_level"]
    else:
        first = law_for(record, as_of=record.denial_date).first_deadline
        name = first.level if first else "first_level"
    return name, decision_due(record, name, filed_on=on, method=method)


def approve(engine: Engine, ref: str, *, on: date, who: str, note: str | None = None) -> dict:
    """A compliance reviewer's approval of the case's letter, in its history, for this exact
    packet (its digest: a rebuilt packet needs a new approval); a case whose packet passed the
    readiness checks becomes ready to send with it."""
    with engine.begin() as conn:
        write_lock(conn)
        case = _find(conn, ref)
        if case["status"] not in (Status.to_work, Status.waiting_on_clinician,
                                  Status.ready_to_send, Status.upheld):
            raise CaseError(f"case {case['id']} is {case['status']}: nothing to approve")
        digest = packet_digest(case["packet_hashes"])
        if digest is None:
            raise CaseError(f"case {case['id']}: no packet has been built to approve")
        after = Status.ready_to_send.value if case["packet_ready"] and case["status"] in (
            Status.to_work, Status.waiting_on_clinician) else case["status"]
        if after != case["status"]:
            conn.execute(update(cases).where(cases.c.id == case["id"]).values(status=after))
        insert_events(conn, [event(case["id"], "approved", on, who, note=note,
                                   before=case["status"] if after != case["status"] else None,
                                   after=after if after != case["status"] else None,
                                   packet_sha256=digest)])
        case["status"] = after
    return case


def mark(engine: Engine, ref: str, to: str, *, on: date, method: str | None = None,
         note: str | None = None, reason: str | None = None, who: str | None = None,
         override: str | None = None, separate: bool = False) -> dict:
    """`sent` (by fax, mail, portal...) or `closed` (written off, no action, duplicate). Sent
    passes the send gate (`send_problems`) or, with `override` (the reason, kept in the
    history), goes out anyway; `separate`: the approver may not be the sender."""
    status = Status(to)
    if status not in (Status.sent, Status.closed):
        raise CaseError(f"mark: {to!r} is not sent or closed (decisions go to `outcome`)")
    if method is not None and method not in METHODS:
        raise CaseError(f"--method: {method!r} is not one of {', '.join(METHODS)}")
    if status is Status.closed:
        if reason is None:
            raise CaseError("closing a case needs --reason: "
                            + ", ".join(r.value for r in CloseReason))
        reason = CloseReason(reason).value
    if override is not None and not override.strip():
        raise CaseError("--override needs the reason the packet goes out as it is")
    return _move(engine, ref, status, on, who, kind="mark", method=method, note=note,
                 changes=lambda _case: {"closed_reason": reason}, override=override,
                 separate=separate)


def record_outcome(engine: Engine, ref: str, decision: str, *, on: date,
                   amount: Decimal | None = None, note: str | None = None,
                   who: str | None = None, registry: Registry | None = None) -> dict:
    """The payer's decision by letter. Upheld: the next level's window, from the law stage with
    the decision's date, is put on the case (or none, when the registry knows no later level);
    where the payer sends the upheld level on itself (Medicare Advantage: to the independent
    review entity), the case is filed at that level on the decision's date, by the plan."""
    status = Status(decision)
    if status not in (Status.overturned, Status.partially_overturned, Status.upheld):
        raise CaseError(f"outcome: {decision!r} is not overturned, partially_overturned or upheld")
    if status is Status.partially_overturned and amount is None:
        raise CaseError("a partial overturn needs --amount (what was recovered)")
    if amount is not None and amount < 0:
        raise CaseError("--amount: negative")

    def changes(case: dict) -> dict:
        values: dict = {"decided_on": on}
        if status is Status.upheld:  # the law stage and the record models: only then
            from appeals.law import next_levels
            from appeals.models import DenialRecord

            record = DenialRecord.model_validate_json(case["record"])
            levels = next_levels(record, registry, decided_on=on, as_of=on,
                                 category=case["category"], review_type=record.review_type)
            done = case["levels_upheld"]
            nxt = levels[done] if done < len(levels) else None
            values.update(levels_upheld=done + 1, next_level=nxt.level if nxt else None,
                          next_deadline=nxt.file_by if nxt else None)
        else:
            got = amount if amount is not None else case["at_stake"]
            values["recovered"] = case["recovered"] + got
        return values

    def forwarded(conn, case: dict) -> None:
        from appeals.law import upheld_goes_to
        from appeals.models import DenialRecord

        decided = conn.execute(select(filings.c.name).where(
            filings.c.case_id == case["id"], filings.c.decided_on == on).order_by(
            filings.c.level.desc())).scalar()
        record = DenialRecord.model_validate_json(case["record"])
        to = upheld_goes_to(record, decided, registry=registry) if decided else None
        if to is None or case["next_level"]:
            return
        conn.execute(update(cases).where(cases.c.id == case["id"]).values(
            status=Status.sent.value, next_level=to.level))
        level = file_level(conn, case, on, "the plan", to.level, None, rule=to.words)
        insert_events(conn, [event(case["id"], "forwarded", on, who or who_am_i(),
                                   before=Status.upheld.value, after=Status.sent.value,
                                   note=f"level {level}: sent on by the plan itself, no letter. "
                                        f"{to.words}")])
        case.update(status=Status.sent.value, next_level=to.level)

    return _move(engine, ref, status, on, who, kind="outcome", note=note,
                 amount=amount if status is not Status.upheld else None, changes=changes,
                 then=forwarded if status is Status.upheld else None)


def carried_over(engine: Engine, seen: set[int], as_of: date) -> list[Row]:
    """The open appeals a run's input did not touch, as worklist rows: the list a biller works
    from is the open work, not only this week's lines. Their score is the last run's."""
    from appeals.worklist import Row  # the run's rows: only for a run

    open_statuses = [s.value for s in (*BEFORE_SENDING, Status.sent, Status.upheld)]
    with engine.connect() as conn:
        counts, due = _line_counts(conn), _decisions_due(conn)
        found = [dict(c) for c in conn.execute(select(cases).where(
            cases.c.status.in_(open_statuses)).order_by(cases.c.id)).mappings()
            if c["id"] not in seen]
    rows = []
    for case in found:
        deadline = _current_deadline(case)
        record = json.loads(case["record"])
        values = {
            "case_id": case["id"], "urgent": "", "score": case["score"] or 0.0,
            "score_basis": f"carried over from the case store (last seen "
                           f"{case['last_seen'].isoformat()})",
            "status": case["status"], "level": _shown_level(case), "readiness": (
                "" if case["packet_ready"] is None else
                "ready" if case["packet_ready"] else "draft"),
            "claim_id": case["claim_id"], "line_number": case["line_number"],
            "lines": counts.get(case["id"], 1), "patient_name": record.get("patient_name") or "",
            "member_id": case["member_id"], "payer_name": case["payer_name"],
            "plan": case["plan"], "parity_applies": "", "service_date": _iso(case["service_date"]),
            "cpt_code": case["cpt_code"], "level_of_care": record.get("level_of_care") or "",
            "provider_name": record.get("provider_name") or "", "category": case["category"],
            "reason": case["reason"], "adjustment_codes": ";".join(
                record.get("adjustment_codes") or []),
            "remark_codes": ";".join(record.get("remark_codes") or []),
            "denial_reason": record.get("denial_reason") or "", "secondary": "",
            "confidence": "", "action": case["action"], "owner": case["owner"], "fix_now": "",
            "fix_cause": "", "appeal_name": "", "filing": "", "deadline": deadline,
            "days_left": (deadline - as_of).days if deadline else None,
            "decision_due": due.get(case["id"]) if case["status"] == Status.sent else None,
            "deadline_rule": case["deadline_rule"] or "", "billed": case["billed"],
            "paid": case["paid"], "at_stake": case["at_stake"], "letter_types": "", "nqtl": "",
            "checklist_due": case["checklist_due"], "packet": case["packet_path"] or "",
            "error": "", "source": "case store", "location": f"case {case['id']}"}
        rows.append(Row(**values))
    return rows


def _shown_level(case: dict) -> str:
    """The level a case is at: the next level's name after an upheld decision."""
    if case["levels_upheld"]:
        return case["next_level"] or f"after level {case['levels_upheld']}"
    return ""


def appeal_of_case(engine: Engine, case_id: int, settings) -> Appeal:
    """The case's appeal as the stages see it: each of its lines' latest denial assessed again
    with today's settings (the review desk rebuilds its packet from it)."""
    from appeals.appeal import Appeal, assess  # the stages: only when a packet is rebuilt
    from appeals.models import DenialRecord

    with engine.connect() as conn:
        records = [DenialRecord.model_validate_json(r) for (r,) in conn.execute(
            select(appeal_lines.c.record).where(appeal_lines.c.case_id == case_id).order_by(
                appeal_lines.c.service_date, appeal_lines.c.claim_id,
                appeal_lines.c.line_number))]
        key = conn.execute(select(cases.c.case_key).where(cases.c.id == case_id)).scalar_one()
    lines = tuple(assess(settings.enrich(r), settings) for r in records)
    if not lines:
        raise CaseError(f"case {case_id}: no service lines recorded")
    return Appeal(key, lines)
