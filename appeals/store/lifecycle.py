"""A case's one status, the moves between them, and the events that record each move.

    to_work -> waiting_on_clinician -> ready_to_send -> sent -> overturned | partially_overturned
                                                             -> upheld -> sent (next level) ...
    any open status -> closed (written off, no action, duplicate)

A run moves a case forward on its own (a packet built, the clinician's answers in, a payment on a
later remittance); people mark what only they know (sent, closed, a decision by letter).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import select

from appeals.store.schema import events, filings


class Status(StrEnum):
    to_work = "to_work"
    waiting_on_clinician = "waiting_on_clinician"
    ready_to_send = "ready_to_send"
    sent = "sent"
    overturned = "overturned"
    partially_overturned = "partially_overturned"
    upheld = "upheld"
    closed = "closed"

    @property
    def before_sending(self) -> bool:
        """Not yet sent: the run still builds (and rebuilds) its packet."""
        return self in BEFORE_SENDING


class CloseReason(StrEnum):
    written_off = "written_off"
    no_action = "no_action"
    duplicate = "duplicate"


#: Not yet sent: a run may still move these (packet built, answers in).
BEFORE_SENDING = (Status.to_work, Status.waiting_on_clinician, Status.ready_to_send)
#: A payment on a later remittance decides these.
AWAITING_MONEY = (*BEFORE_SENDING, Status.sent, Status.upheld)
DECIDED = (Status.overturned, Status.partially_overturned, Status.upheld)
WON = (Status.overturned, Status.partially_overturned)
#: What a person may mark, and from where.
MARKS: dict[Status, tuple[Status, ...]] = {
    Status.sent: (*BEFORE_SENDING, Status.upheld),
    Status.closed: (*AWAITING_MONEY, Status.partially_overturned),
    Status.overturned: (Status.sent, Status.upheld),
    Status.partially_overturned: (Status.sent, Status.upheld),
    Status.upheld: (Status.sent,),
}
#: Categories whose letter a compliance reviewer approves before it is ready to send (the
#: parity argument: a claim of rights the plan must owe).
NEEDS_APPROVAL = ("parity_nqtl",)
RUN = "appeals run"
REMITTANCE = "remittance"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def event(case_id: int | None, kind: str, on: date, who: str, *, before: str | None = None,
          after: str | None = None, amount: Decimal | None = None, method: str | None = None,
          note: str | None = None, run_id: int | None = None,
          packet_sha256: str | None = None) -> dict:
    """One row of `events` (the case id may be filled in once a new case has one)."""
    return {"case_id": case_id, "at": now(), "on_date": on, "who": who, "kind": kind,
            "from_status": before, "to_status": after, "amount": amount, "method": method,
            "note": note, "run_id": run_id, "packet_sha256": packet_sha256}


def insert_events(conn, rows: list[dict]) -> None:
    if rows:
        conn.execute(events.insert(), rows)


def packet_digest(hashes: dict[str, str] | str | None) -> str | None:
    """One sha256 over a packet's documents (packet.json aside: it records dates of its own
    making): what an approval approves. None without a packet."""
    if isinstance(hashes, str):
        hashes = json.loads(hashes or "{}")
    docs = sorted((n, h) for n, h in (hashes or {}).items() if n != "packet.json")
    if not docs:
        return None
    return hashlib.sha256("".join(f"{n}\0{h}\n" for n, h in docs).encode()).hexdigest()


def needs_approval(case: dict) -> bool:
    """A letter that claims parity rights (a parity section, or the parity category) is sent
    only after a compliance reviewer approves it."""
    return bool(case.get("parity_letter")) or case["category"] in NEEDS_APPROVAL


def approval(conn, case_id: int, digest: str | None) -> str | None:
    """Who approved this exact packet (its digest), or None: an approval of an earlier build of
    the packet has lapsed."""
    if digest is None:
        return None
    return conn.execute(select(events.c.who).where(
        events.c.case_id == case_id, events.c.kind == "approved",
        events.c.packet_sha256 == digest).order_by(events.c.id.desc())).scalar()


def approved(conn, case_id: int, digest: str | None) -> bool:
    return approval(conn, case_id, digest) is not None


def file_level(conn, case: dict, on: date, method: str | None, name: str,
               letter_sha256: str | None, due=None, rule: str | None = None) -> int:
    """A level filed (the case marked sent): its number, from 1, with the payer's decision clock
    (`due`: appeals.law.DecisionDue, or None; `rule`: what is said instead when no date is set).
    A level still open (sent again before any decision, a resend) is that same level."""
    open_level = conn.execute(select(filings.c.level).where(
        filings.c.case_id == case["id"], filings.c.decision.is_(None))).scalar()
    if open_level is not None:
        return open_level
    level = case["levels_upheld"] + 1
    done = conn.execute(select(filings.c.level).where(filings.c.case_id == case["id"])
                        .order_by(filings.c.level.desc())).scalar()
    level = max(level, (done or 0) + 1)
    conn.execute(filings.insert(), {"case_id": case["id"], "level": level, "name": name,
                                    "filed_on": on, "method": method,
                                    "letter_sha256": letter_sha256,
                                    "decision_due": due.due if due else None,
                                    "decision_rule": due.words if due else rule,
                                    "decision_clock": due.clock if due else None})
    return level


def decide_level(conn, case_id: int, decision: str, on: date,
                 amount: Decimal | None = None) -> None:
    """The payer's decision on the case's open level (if one is filed)."""
    conn.execute(filings.update().where(filings.c.case_id == case_id,
                                        filings.c.decision.is_(None))
                 .values(decision=decision, decided_on=on, amount=amount))
