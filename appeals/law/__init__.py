"""Law stage: which parity law reaches a plan, what a letter may cite, and when to file.

    >>> from appeals.law import law_for
    >>> result = law_for(record)          # a DenialRecord
    >>> result.parity.applies, result.parity.regime, result.first_deadline.file_by
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from pydantic import BaseModel

from appeals.law.clocks import DecisionDue, Forwarded, decision_due, upheld_goes_to
from appeals.law.deadlines import (
    EVENT_WORDS,
    Deadline,
    add_months,
    deadline_for,
    deadlines_for,
)
from appeals.law.plans import (
    CitationRef,
    OptionError,
    ParityDecision,
    PlanFacts,
    given_plan_facts,
    parity_for,
    plan_facts,
    resolve_plan,
)
from appeals.law.registry import Citation, Registry, RegistryError, load_registry
from appeals.models import DenialRecord

__all__ = [
    "Citation",
    "CitationRef",
    "Deadline",
    "DecisionDue",
    "Forwarded",
    "LawResult",
    "OptionError",
    "ParityDecision",
    "PlanFacts",
    "Registry",
    "RegistryError",
    "add_months",
    "deadline_for",
    "deadlines_for",
    "decision_due",
    "given_plan_facts",
    "law_for",
    "load_registry",
    "next_levels",
    "parity_for",
    "plan_facts",
    "resolve_plan",
    "upheld_goes_to",
]

# Levels that are not "the" appeal to file: side windows and urgent variants.
_SIDE_LEVELS = {"continuation_of_benefits", "expedited_internal_appeal", "expedited_external_review"}


class LawResult(BaseModel):
    """Everything the composer needs from the law stage for one denial."""

    plan: str
    appeal_name: str
    reviewer: str = "the plan"
    own_right: bool = False
    representative: str = ""
    urgent: bool
    parity: ParityDecision
    deadlines: list[Deadline]
    registry_version: str
    as_of: date | None = None  # the day the law was worked out for (windows open or passed)

    @property
    def first_deadline(self) -> Deadline | None:
        """The first-level filing window (the one a letter states)."""
        return next((d for d in self.deadlines if d.level not in _SIDE_LEVELS), None)

    @property
    def expedited(self) -> Deadline | None:
        """The expedited internal appeal window, when the care is urgent and the program has one."""
        if not self.urgent:
            return None
        return self.level("expedited_internal_appeal")

    @property
    def urgent_window(self) -> Deadline | None:
        """An urgent case's expedited filing window where the program sets one of its own that
        closes before the standard one (TRICARE: 3 days from receipt of the denial). Where the
        expedited appeal only means "file now" (ERISA, Medicaid: a window of 0 days) there is
        none, and the standard window is the date to show. Once it has closed (by its own start
        event, on the day the law was worked out for) the standard window is the date again."""
        exp, first = self.expedited, self.first_deadline
        if exp is None or not exp.days or exp.file_by is None:
            return None
        if self.as_of is not None and self.as_of > (exp.legal_deadline or exp.file_by):
            return None
        if first is not None and first.file_by is not None and first.file_by <= exp.file_by:
            return None
        return exp

    @property
    def filing_deadline(self) -> Deadline | None:
        """The window a biller files by: the urgent window where there is one, else the first
        level's. Every date the practice is shown (worklist, case store, cover, letter) is this."""
        return self.urgent_window or self.first_deadline

    def level(self, name: str) -> Deadline | None:
        return next((d for d in self.deadlines if d.level == name), None)


def law_for(subject: DenialRecord | PlanFacts, registry: Registry | None = None, *,
            as_of: date | None = None, previous_decision: date | None = None) -> LawResult:
    """Parity decision and deadlines for one record (or resolved facts)."""
    reg = registry or load_registry()
    facts = subject if isinstance(subject, PlanFacts) else plan_facts(subject)
    entry = reg.plan(facts.plan)
    return LawResult(plan=facts.plan, appeal_name=entry.appeal_name, reviewer=entry.reviewer,
                     own_right=entry.own_right, representative=entry.representative,
                     urgent=facts.urgent, parity=parity_for(facts, reg, as_of=as_of),
                     deadlines=deadlines_for(facts, reg, previous_decision=previous_decision,
                                             as_of=as_of),
                     registry_version=reg.version, as_of=as_of)


def next_levels(subject: DenialRecord | PlanFacts, registry: Registry | None = None, *,
                decided_on: date, as_of: date | None = None, category: str | None = None,
                review_type: str | None = None) -> list[Deadline]:
    """The windows that open when the plan upholds the denial on `decided_on`, in order: the
    program's later levels (second internal appeal, QIC, fair hearing, OPM review), counted from
    that decision, then external review, whose notice is the final internal decision's. With the
    denial's `category`, the patient's own levels only where they take it up
    (`Registry.patient_levels`: a timely-filing denial goes to no external review)."""
    reg = registry or load_registry()
    facts = subject if isinstance(subject, PlanFacts) else plan_facts(subject)
    later = [d for d in deadlines_for(facts, reg, previous_decision=decided_on, as_of=as_of)
             if d.counted_from == EVENT_WORDS["decision_on_previous_level"]
             and d.level not in _SIDE_LEVELS]
    after = deadlines_for(replace(facts, denial_date=decided_on), reg, as_of=as_of)
    external = [d for d in after if d.level == "external_review"]
    # Urgent care upheld: expedited external review can be asked for at once, before (or beside)
    # any later internal level, so it is the next level the case shows.
    urgent = [d for d in after if d.level == "expedited_external_review"]
    return [d for d in urgent + later + external
            if reg.patient_levels.reach(d.level, category, review_type)]
