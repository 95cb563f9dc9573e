"""What only history can tell the Monday meeting, and the odds the worklist learns from it.

`history(engine, as_of)` returns plain numbers for the triage report: this week's denial reasons
against the four weeks before (new or repeating), the aging of denials nobody has worked yet,
denial rates (denied lines over adjudicated lines) by payer, rendering clinician and procedure
code, overturn rates and dollars recovered by payer and category, and days from denial to
decision. Every figure is one GROUP BY in the database, so a year of lines stays quick.

`outcome_counts(engine)` gives, per payer and category, how many decided cases were won: the
worklist's Beta-binomial update of its prior odds.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Engine, case, func, select

from appeals.store.lifecycle import BEFORE_SENDING, DECIDED, WON
from appeals.store.schema import cases, lines

WEEKS_BEFORE = 4
#: Cases won (overturned in full or in part), counted in a GROUP BY; the decided ones.
_WON = func.sum(case((cases.c.status.in_([s.value for s in WON]), 1), else_=0))
_DECIDED = cases.c.status.in_([s.value for s in DECIDED])
AGING = ((0, 30, "0-30 days"), (31, 60, "31-60 days"), (61, 90, "61-90 days"),
         (91, None, "over 90 days"))
TOP = 12


def history(engine: Engine, as_of: date) -> dict:
    """The history section of the triage report (plain data, usable from Python)."""
    with engine.connect() as conn:
        return {"weeks": _weeks(conn, as_of), "aging": _aging(conn, as_of),
                "rates_basis": conn.execute(select(func.count()).select_from(
                    _PAID_SOURCES.subquery())).scalar_one(),
                "rates": {"payer": _rates(conn, lines.c.payer, lines.c.payer_name),
                          "clinician": _rates(conn, func.lower(lines.c.provider_name),
                                              lines.c.provider_name),
                          "procedure": _rates(conn, lines.c.cpt_code)},
                "outcomes": {"payer": _outcomes(conn, cases.c.payer, cases.c.payer_name),
                             "category": _outcomes(conn, cases.c.category)},
                "decision_days": _decision_days(conn)}


def _weeks(conn, as_of: date) -> dict:
    """Denied lines by reason, this week (the 7 days to as_of) against the four weeks before; a
    denial report seen again (an unchanged re-export of an open denial) is not a new denial."""
    start = as_of - timedelta(days=6)
    earlier = start - timedelta(weeks=WEEKS_BEFORE)
    this_week = func.sum(case((lines.c.recorded_on >= start, 1), else_=0))
    before = func.sum(case((lines.c.recorded_on < start, 1), else_=0))
    rows = conn.execute(
        select(lines.c.reason, this_week, before)
        .where(lines.c.denied.is_(True), lines.c.seen_before.is_(False),
               lines.c.recorded_on >= earlier, lines.c.recorded_on <= as_of)
        .group_by(lines.c.reason)).all()
    reasons = [{"reason": reason, "this_week": int(now or 0), "before": int(then or 0),
                "weekly_before": round(int(then or 0) / WEEKS_BEFORE, 1),
                "repeat": bool(then)}
               for reason, now, then in rows if now]
    reasons.sort(key=lambda r: (-r["this_week"], r["reason"]))
    return {"from": start, "to": as_of, "before_from": earlier, "reasons": reasons[:TOP],
            "reason_count": len(reasons), "new": sum(1 for r in reasons if not r["repeat"]),
            "repeating": sum(1 for r in reasons if r["repeat"]),
            "denied_this_week": sum(r["this_week"] for r in reasons)}


def _aging(conn, as_of: date) -> list[dict]:
    """Denials not yet worked (to work, waiting on the clinician, ready to send), by days since
    the denial notice (or since first seen, when the notice is undated)."""
    since = func.coalesce(cases.c.denial_date, cases.c.first_seen)
    rows = conn.execute(select(since, func.count(), func.sum(cases.c.at_stake))
                        .where(cases.c.status.in_([s.value for s in BEFORE_SENDING]))
                        .group_by(since)).all()
    buckets = [{"label": label, "count": 0, "at_stake": Decimal(0)} for *_, label in AGING]
    for day, n, stake in rows:
        age = (as_of - day).days
        for bucket, (low, high, _) in zip(buckets, AGING, strict=True):
            if age >= low and (high is None or age <= high) or (low == 0 and age < 0):
                bucket["count"] += n
                bucket["at_stake"] += Decimal(stake or 0)
                break
    return buckets


#: The inputs that hold paid lines as well as denied ones (remittances): a denied-claims export
#: lists only denials, so over it every rate would read 100 %.
_PAID_SOURCES = select(lines.c.source_sha).where(lines.c.denied.is_(False)).distinct()


def _rates(conn, key, name=None) -> list[dict]:
    """Denied lines over adjudicated lines (a report seen again counted once), for the groups
    with the most denials, over the inputs that hold paid lines (a remittance says what was
    adjudicated; a denied-claims export only what was denied). Names that
    differ only in case ("TAR HEEL MEDICAID PLAN" in the 835) are one group, shown in the
    spelling that sorts last (the mixed-case one)."""
    denied = func.sum(case((lines.c.denied.is_(True), 1), else_=0))
    shown = func.max(name) if name is not None else key
    rows = conn.execute(select(shown, func.count(), denied)
                        .where(lines.c.seen_before.is_(False),
                               lines.c.source_sha.in_(_PAID_SOURCES)).group_by(key)
                        .order_by(denied.desc(), shown).limit(TOP)).all()
    return [{"name": name or "(blank)", "lines": n, "denied": int(d or 0),
             "rate": int(d or 0) / n if n else 0.0} for name, n, d in rows]


def _outcomes(conn, key, name=None) -> list[dict]:
    """Decided cases: won (overturned in full or in part) over decided, and dollars recovered."""
    shown = func.max(name) if name is not None else key
    rows = conn.execute(select(shown, func.count(), _WON, func.sum(cases.c.recovered))
                        .where(_DECIDED)
                        .group_by(key).order_by(func.count().desc(), shown).limit(TOP)).all()
    return [{"name": name or "(blank)", "decided": n, "won": int(w or 0),
             "rate": int(w or 0) / n, "recovered": Decimal(r or 0)} for name, n, w, r in rows]


def _decision_days(conn) -> dict:
    """Days from the denial notice to the decision, over decided cases with both dates."""
    days = [(decided - denied).days for denied, decided in conn.execute(
        select(cases.c.denial_date, cases.c.decided_on).where(
            cases.c.decided_on.is_not(None), cases.c.denial_date.is_not(None)))]
    if not days:
        return {"cases": 0, "median": None, "mean": None}
    days.sort()
    mid = len(days) // 2
    median = days[mid] if len(days) % 2 else (days[mid - 1] + days[mid]) / 2
    return {"cases": len(days), "median": median, "mean": round(sum(days) / len(days), 1)}


def outcome_counts(engine: Engine) -> dict[tuple[str, str], tuple[int, int]]:
    """(payer key, category) -> (won, decided) over every decided case in the store."""
    with engine.connect() as conn:
        return {(payer, category): (int(w or 0), n) for payer, category, w, n in conn.execute(
            select(cases.c.payer, cases.c.category, _WON, func.count())
            .where(_DECIDED)
            .group_by(cases.c.payer, cases.c.category))}
