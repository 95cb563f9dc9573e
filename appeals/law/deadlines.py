"""Appeal filing deadlines from the registry's deadline rules.

The date shown is the conservative one: counted from the date printed on the notice, with no
mailing days added, even where the law counts from receipt. Only the ACA external-review window
moves off a weekend or federal holiday, because only its regulation says so; every other deadline
stays put (file earlier instead).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from functools import lru_cache

import holidays
from pydantic import BaseModel

from appeals.law.plans import PlanFacts, plan_facts
from appeals.law.registry import DeadlineRule, Period, Registry, load_registry
from appeals.models import DenialRecord

EVENT_WORDS = {
    "notice_date": "the date on the denial notice",
    "notice_sent_date": "the date the plan sent the denial notice",
    "notice_mailed_date": "the date the denial notice was mailed",
    "receipt_of_notice": "receipt of the denial notice",
    "decision_on_previous_level": "the date of the decision on the previous level",
}


class Deadline(BaseModel):
    """One filing window, with the date to show and where it comes from."""

    level: str
    rule: str
    file_by: date | None
    legal_deadline: date | None  # by the rule's own start event, where a presumption fixes it
    days: int | None
    period: str
    counted_from: str
    start_date: date | None
    basis: str
    citation: str | None
    citation_ids: list[str]
    decision_time: str | None
    notes: list[str]
    flags: list[str]
    verification: str
    late: str = "plan_discretion"  # what a request after file_by can ask: see DeadlineRule.late

    @property
    def confirmed(self) -> bool:
        """False when the window is a placeholder to confirm (unknown plan type, policy terms)."""
        return not {"confirm_plan_type", "confirm_window"} & set(self.flags)


@lru_cache(maxsize=64)
def _federal_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.US(years=year))  # includes observed days


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _federal_holidays(day.year)


def next_business_day(day: date) -> date:
    while not is_business_day(day):
        day += timedelta(days=1)
    return day


def add_months(start: date, months: int, missing_day: str | None = None) -> date:
    """Same day `months` later. When that month is too short: the 1st of the next month
    (`first_of_next_month`, the ACA external-review rule) or its last day (the default, which
    never lands later than a shorter month allows)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    if start.day <= last:
        return date(year, month, start.day)
    if missing_day == "first_of_next_month":
        return date(year, month, last) + timedelta(days=1)
    return date(year, month, last)


def add_period(start: date, period: Period) -> date:
    if period.unit == "calendar_months":
        end = add_months(start, period.amount, period.missing_day)
    else:
        end = start + timedelta(days=period.amount)
    if period.roll == "next_business_day":
        end = next_business_day(end)
    return end


def _period_words(period: Period | None) -> str:
    if period is None:
        return "set by the plan"
    if period.amount == 0:
        return "immediately"
    unit = period.unit.replace("_", " ")
    if period.amount == 1:
        unit = unit[:-1]
    return f"{period.amount} {unit}"


def _applies(rule: DeadlineRule, facts: PlanFacts) -> bool:
    if facts.plan not in rule.plan_types:
        return False
    if rule.when == "urgent":
        return facts.urgent
    if rule.when == "not_post_service":
        return facts.post_service is not True
    return True


def _compute(rule: DeadlineRule, facts: PlanFacts, reg: Registry, previous_decision: date | None,
             as_of: date | None) -> Deadline:
    notes = [rule.note] if rule.note else []
    flags: list[str] = []
    later_level = rule.from_ == "decision_on_previous_level"
    start = previous_decision if later_level else facts.denial_date
    file_by = legal = None
    if rule.period is not None and start is not None:
        file_by = add_period(start, rule.period)
        if rule.receipt_presumed_days:
            legal = add_period(start + timedelta(days=rule.receipt_presumed_days), rule.period)
    elif start is None and not later_level:
        flags.append("missing_denial_date")
        notes.append("Enter the date printed on the denial notice to get a file-by date.")
    elif start is None and rule.period is not None:
        notes.append("The file-by date is counted from the previous level's decision; add its date "
                     "when it comes.")
    words = EVENT_WORDS[rule.from_]
    basis = f"{_period_words(rule.period)} from {words}"
    if rule.conservative_from and rule.from_ != rule.conservative_from and not later_level:
        basis += ("; the date shown counts from the date on the notice, with no mailing days "
                  "added, so it is the earliest the period can end")
    if rule.period is not None and rule.period.range:
        basis += f" ({rule.period.range})"
    if rule.period is not None and rule.period.roll:
        basis += "; a weekend or federal holiday moves it to the next business day"
    day = facts.denial_date or as_of or date.today()
    allowed = reg.allowed(rule.citation_ids, facts.plan, day, funding=facts.funding,
                          state=facts.state, as_of=as_of)
    withheld = [cid for cid in rule.citation_ids
                if not reg.get(cid).letter_ok and facts.plan in reg.get(cid).plans]
    if withheld and not allowed:
        flags.append("unverified_citation_withheld")
        notes.append("A citation for this rule is not verified, so none is printed; confirm the "
                     "window on the plan's notice.")
    if rule.confirm:
        flags.append("confirm_plan_type" if facts.plan in ("unknown", "va") else "confirm_window")
    if rule.when == "urgent":
        flags.append("urgent")
    return Deadline(level=rule.level, rule=rule.id, file_by=file_by, legal_deadline=legal,
                    days=(file_by - start).days if file_by and start else
                    (rule.period.amount if rule.period and rule.period.unit == "calendar_days"
                     else None),
                    period=_period_words(rule.period), counted_from=words, start_date=start,
                    basis=basis, citation=allowed[0].cite if allowed else None,
                    citation_ids=[c.id for c in allowed], decision_time=rule.decision or None,
                    notes=notes, flags=flags, verification=rule.verification, late=rule.late)


def deadlines_for(subject: DenialRecord | PlanFacts, registry: Registry | None = None, *,
                  previous_decision: date | None = None,
                  as_of: date | None = None) -> list[Deadline]:
    """Every filing window for the plan, first level first, in the registry's order."""
    reg = registry or load_registry()
    facts = subject if isinstance(subject, PlanFacts) else plan_facts(subject)
    reg.plan(facts.plan)
    return [_compute(rule, facts, reg, previous_decision, as_of)
            for rule in reg.rules if _applies(rule, facts)]


def deadline_for(subject: DenialRecord | PlanFacts, level: str = "internal_appeal",
                 registry: Registry | None = None, **kwargs) -> Deadline | None:
    """The window for one level (`internal_appeal`, `external_review`, `state_fair_hearing`, ...),
    or None when the plan has no such level."""
    return next((d for d in deadlines_for(subject, registry, **kwargs) if d.level == level), None)
