"""What comes due before denials happen: authorizations ending or running out of units,
concurrent reviews, enrolments and licences ending (from the practice's files), and open appeal
deadlines and clinician checklists (from the case store); as a list and as an iCalendar file.

Calendar entries name authorization numbers, case and claim ids and clinicians, never patients
or member ids: a calendar is often synced to a cloud service.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.engine import Engine

if TYPE_CHECKING:  # the files' readers (pydantic models): only when a file is given
    from appeals.scrub.files import Authorization, Enrollment

#: Units left at or under this share of the authorized units is "running out".
LOW_SHARE = Decimal("0.2")


@dataclass(frozen=True)
class WatchItem:
    due: date
    kind: str  # authorization_ends, units_low, review_due, enrolment_ends, license_expires,
    # appeal_deadline, deadline_passed, checklist_due, checklist_overdue, decision_due,
    # decision_overdue
    title: str
    detail: str
    key: str  # what the item is about, stable across runs (for the calendar's UID)

    def row(self) -> dict[str, str]:
        return {"due": self.due.isoformat(), "kind": self.kind, "title": self.title,
                "detail": self.detail}

    @property
    def uid(self) -> str:
        digest = hashlib.sha256(f"{self.kind}|{self.key}".encode()).hexdigest()[:24]
        return f"{digest}@appeals"


def from_files(auths: list[Authorization], roster: list[Enrollment], as_of: date,
               days: int) -> list[WatchItem]:
    until = as_of + timedelta(days=days)
    items: list[WatchItem] = []
    for a in auths:
        codes = ", ".join(a.cpt_codes)
        if as_of <= a.end <= until:
            items.append(WatchItem(a.end, "authorization_ends",
                                   f"Authorization {a.auth_number} ends ({codes})",
                                   f"{a.payer_name}: last authorized day {a.end.isoformat()}; "
                                   "request the extension by concurrent review before it",
                                   a.auth_number))
        left = a.left
        if left is not None and a.units and a.end >= as_of and (
                left <= 0 or left <= a.units * LOW_SHARE):
            items.append(WatchItem(as_of, "units_low",
                                   f"Authorization {a.auth_number}: {left:g} of {a.units:g} "
                                   "units left", f"{a.payer_name} ({codes}): ask for more units "
                                   "before the next visit", a.auth_number))
        if a.next_review and as_of <= a.next_review <= until:
            items.append(WatchItem(a.next_review, "review_due",
                                   f"Concurrent review due: {a.auth_number}",
                                   f"{a.payer_name} ({codes}): send the clinical update",
                                   f"{a.auth_number}|{a.next_review.isoformat()}"))
    for r in roster:
        who = r.provider_name or r.provider_npi
        if r.effective_to and as_of <= r.effective_to <= until:
            items.append(WatchItem(r.effective_to, "enrolment_ends",
                                   f"{who}: enrolment with {r.payer_name} ends",
                                   "renew or re-credential before the last day",
                                   f"{r.provider_npi}|{r.payer_name}|{r.effective_to}"))
        if r.license_expires and as_of <= r.license_expires <= until:
            items.append(WatchItem(r.license_expires, "license_expires",
                                   f"{who}: {r.license_type or 'license'} expires",
                                   "send the renewal to every payer's credentialing",
                                   f"{r.provider_npi}|{r.license_type}|{r.license_expires}"))
    return items


def from_store(engine: Engine, as_of: date, days: int) -> list[WatchItem]:
    """Open appeal deadlines within `days` (and those already passed, until the appeal is sent
    or closed), the payer's decisions due on filed levels (and overdue ones, until the decision
    is recorded), and the clinician checklists the open appeals wait on: one item per clinician
    and due date, listed from the day they are due until they are answered, overdue included."""
    import json

    from appeals.store.cases import list_cases
    from appeals.store.lifecycle import Status
    from appeals.store.schema import cases

    items = []
    for c in list_cases(engine, due_within=days, as_of=as_of, redact=True):
        if c["days_left"] is None:
            continue
        due = date.fromisoformat(c["deadline"])
        where = f"{c['payer_name']}, {c['category'].replace('_', ' ')}, status " \
                f"{c['status'].replace('_', ' ')}"
        if c["days_left"] >= 0:
            items.append(WatchItem(due, "appeal_deadline", f"Appeal due: case {c['case_id']} "
                                   f"(claim {c['claim_id']})", where, f"case {c['case_id']}"))
        elif c["status"] in (Status.to_work, Status.waiting_on_clinician,
                             Status.ready_to_send, Status.upheld):
            items.append(WatchItem(due, "deadline_passed",
                                   f"Appeal deadline passed {-c['days_left']} days ago: case "
                                   f"{c['case_id']} (claim {c['claim_id']})",
                                   f"{where}: file it with the reason it is late (good cause)",
                                   f"case {c['case_id']}"))
    for row in _decisions(engine, as_of, days):
        late = (as_of - row.decision_due).days
        items.append(WatchItem(
            row.decision_due, "decision_overdue" if late > 0 else "decision_due",
            f"Payer's decision {'overdue by ' + str(late) + ' days' if late > 0 else 'due'}: "
            f"case {row.id} (claim {row.claim_id}), level {row.level}",
            f"{row.payer_name}: {row.decision_rule}"
            + (": ask for the status (log the call: appeals call), then escalate"
               + _offered(row.decision_clock, row.id) if late > 0 else ""),
            f"case {row.id} level {row.level} decision"))
    query = select(cases.c.id, cases.c.provider, cases.c.record, cases.c.checklist_due).where(
        cases.c.status == Status.waiting_on_clinician.value, cases.c.checklist_due.is_not(None),
        cases.c.checklist_due <= as_of + timedelta(days=days)).order_by(cases.c.id)
    waiting: dict[tuple[str, date], tuple[str, list[int]]] = {}
    with engine.connect() as conn:
        for row in conn.execute(query):
            name = json.loads(row.record).get("provider_name") or row.provider or "unnamed"
            waiting.setdefault((row.provider, row.checklist_due), (name, []))[1].append(row.id)
    for (provider, due), (name, ids) in waiting.items():
        numbers = ", ".join(str(i) for i in ids)
        late = (as_of - due).days
        items.append(WatchItem(
            due, "checklist_overdue" if late > 0 else "checklist_due",
            f"{name}: {len(ids)} checklist{'s' if len(ids) > 1 else ''} "
            + (f"overdue by {late} days" if late > 0 else "due"),
            f"cases {numbers}: the answers their appeals wait on", f"{provider}|{due}"))
    return items


def _offered(clock_id: str | None, case_id: int) -> str:
    """What the registry's clock gives once it has run out, as commands to run."""
    from appeals.law import load_registry

    clock = next((c for c in load_registry().clocks if c.id == clock_id), None)
    if clock is None:
        return ""
    return " (" + "; ".join(f"appeals escalate {case_id} --kind {k}"
                            for k in clock.escalations) + ")"


def _decisions(engine: Engine, as_of: date, days: int) -> list:
    """The filed levels still waiting for the payer's decision, due within `days` or overdue."""
    from appeals.store.lifecycle import Status
    from appeals.store.schema import cases, filings

    query = select(cases.c.id, cases.c.claim_id, cases.c.payer_name, filings.c.level,
                   filings.c.decision_due, filings.c.decision_rule,
                   filings.c.decision_clock).join(
        filings, filings.c.case_id == cases.c.id).where(
        cases.c.status == Status.sent.value, filings.c.decision.is_(None),
        filings.c.decision_due.is_not(None),
        filings.c.decision_due <= as_of + timedelta(days=days)).order_by(cases.c.id)
    with engine.connect() as conn:
        return list(conn.execute(query))


def ordered(items: list[WatchItem]) -> list[WatchItem]:
    return sorted(items, key=lambda i: (i.due, i.kind, i.key))


def watch(as_of: date, days: int, *, auths: Path | None = None, roster: Path | None = None,
          engine: Engine | None = None) -> tuple[list[WatchItem], list]:
    """What comes due in `days` from `as_of`, from every source given (the authorizations and
    roster files, the case store), in order; and the files' rejected rows. InputError for a
    file that cannot be read at all."""
    auth_rows, roster_rows, bad, bad_roster = [], [], [], []
    if auths or roster:
        from appeals.scrub.files import read_auths, read_roster

        auth_rows, bad = read_auths(auths) if auths else ([], [])
        roster_rows, bad_roster = read_roster(roster) if roster else ([], [])
    items = from_files(auth_rows, roster_rows, as_of, days)
    if engine is not None:
        items += from_store(engine, as_of, days)
    return ordered(items), [*bad, *bad_roster]


def to_ics(items: list[WatchItem], as_of: date) -> bytes:
    """One all-day event per item; the UID comes from what the item is about, so importing a
    later file updates the same events instead of adding copies. Byte-stable for the same
    items and day (the stamp is the as-of day, not the clock)."""
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//appeals//watch//EN")
    cal.add("version", "2.0")
    stamp = datetime.combine(as_of, time(0, 0), tzinfo=UTC)
    for item in ordered(items):
        event = Event()
        event.add("uid", item.uid)
        event.add("dtstamp", stamp)
        event.add("dtstart", item.due)
        event.add("dtend", item.due + timedelta(days=1))
        event.add("summary", item.title)
        event.add("description", item.detail)
        event.add("categories", [item.kind])
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    return cal.to_ical()
