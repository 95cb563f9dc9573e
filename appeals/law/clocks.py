"""The payer's decision clock: once a level is filed, by when the payer must decide it.

    due = decision_due(record, "internal_appeal", filed_on=date(2026, 7, 2), method="fax")
    due.due, due.period_words, due.citation

The time frames are the registry's `decision_clocks` (each with the regulation it comes from);
a clock that is not verified gives None, so no date is shown that the law was not read for. The
day a filing counts as received comes from the registry's `receipt_days` by how it was sent (the
practice's counting, not law); a filing whose method is unknown counts as mailed, the later day,
so nothing is called overdue early.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from appeals.law.plans import PlanFacts, plan_facts
from appeals.law.registry import Registry, load_registry
from appeals.models import DenialRecord

UNKNOWN_METHOD = "mail"


@dataclass(frozen=True)
class DecisionDue:
    due: date
    received: date
    review: str  # urgent | pre_service | post_service | any
    period_words: str  # "60 calendar days", "72 hours"
    citation: str
    clock: str  # the registry's clock id
    receipt_words: str  # how the received day was counted

    @property
    def words(self) -> str:
        """"decided by D (60 calendar days from receipt on R, 29 C.F.R. ...)"."""
        return (f"decision due {self.due.isoformat()} ({self.period_words} from receipt on "
                f"{self.received.isoformat()}: {self.receipt_words}; {self.citation})")


def received_on(filed_on: date, method: str | None, registry: Registry) -> tuple[date, str]:
    """The day a filing counts as received, and how that was counted."""
    how = method if method in registry.receipt_days else UNKNOWN_METHOD
    days = registry.receipt_days.get(how, 0)
    if method is None or method not in registry.receipt_days:
        words = f"sent how is not recorded: counted as mailed, {days} days"
    elif days:
        words = f"sent by {method}: counted as received {days} days after"
    else:
        words = f"sent by {method}: received the day it was sent"
    return filed_on + timedelta(days=days), words


def decision_due(subject: DenialRecord | PlanFacts, level: str, *, filed_on: date,
                 method: str | None = None, registry: Registry | None = None
                 ) -> DecisionDue | None:
    """By when the payer must decide the `level` filed on `filed_on`; None when the registry has
    no verified clock for this plan and level."""
    reg = registry or load_registry()
    facts = subject if isinstance(subject, PlanFacts) else plan_facts(subject)
    clock = next((c for c in reg.clocks if facts.plan in c.plan_types and c.level == level
                  and c.verification == "verified"), None)
    if clock is None:
        return None
    periods = clock.periods
    if "any" in periods:
        review = "any"
    elif facts.urgent and "urgent" in periods:
        review = "urgent"
    elif facts.post_service is True and "post_service" in periods:
        review = "post_service"
    elif facts.post_service is False and "pre_service" in periods:
        review = "pre_service"
    else:  # not known: the longer clock, so nothing is called overdue early
        review = max((k for k in ("pre_service", "post_service") if k in periods),
                     key=lambda k: _days(periods[k]))
    period = periods[review]
    received, how = received_on(filed_on, method, reg)
    return DecisionDue(due=received + timedelta(days=_days(period)), received=received,
                       review=review, period_words=period.words,
                       citation="; ".join(reg.get(c).cite for c in clock.citation_ids),
                       clock=clock.id, receipt_words=how)


@dataclass(frozen=True)
class Forwarded:
    level: str  # the registry's level the payer sends the case on to
    words: str  # who decides it, in what time, and under which rule


def upheld_goes_to(subject: DenialRecord | PlanFacts, level: str, *,
                   registry: Registry | None = None) -> Forwarded | None:
    """Where the payer itself sends `level` when it upholds it (Medicare Advantage: the
    independent review entity), so that no one files the next level; None otherwise."""
    reg = registry or load_registry()
    facts = subject if isinstance(subject, PlanFacts) else plan_facts(subject)
    to = next((c.upheld_to for c in reg.clocks if facts.plan in c.plan_types
               and c.level == level and c.upheld_to is not None), None)
    if to is None:
        return None
    cites = "; ".join(reg.get(c).cite for c in to.citation_ids)
    return Forwarded(to.level, f"{to.decided} ({cites})")


def _days(period) -> int:
    """Whole days: hours are rounded up to the day (the day the payer's time runs out)."""
    return period.amount if period.unit == "calendar_days" else -(-period.amount // 24)
