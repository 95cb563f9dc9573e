"""Which law reaches a plan: from a record's plan facts to a registry plan type and a parity decision.

The practice's `plan_type` column is coarse (employer_group, medicaid_mco, ...); parity law turns on
facts beside it (employer size, funding, grandfathered status). `plan_facts` resolves those into one
registry plan type and keeps what it could not tell, so the decision can say what to check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from pydantic import BaseModel

from appeals.law.registry import Registry, load_registry
from appeals.models import DenialRecord, LevelOfCare, PlanType

SMALL_EMPLOYER_MAX = 50  # MHPAEA small-employer exemption: 50 or fewer employees
URGENT_LEVELS = {LevelOfCare.residential, LevelOfCare.inpatient, LevelOfCare.php}
_TRUE = {"1", "true", "yes", "y"}

# Practice plan types that map onto one registry plan type whatever the other facts say.
_DIRECT = {
    PlanType.individual: "individual_market",
    PlanType.medicare: "medicare_ffs",
}


@dataclass(frozen=True)
class _Sponsor:
    """Registry plan types of one kind of employer plan, by size and funding. The small-employer
    exemption (29 U.S.C. 1185a(c)(1), 26 U.S.C. 9812(c)(1), PHS Act 2726(c)(1)) reaches every
    kind; insured, non-grandfathered small coverage is still reached through the EHB rule."""

    large: str
    large_grandfathered: str
    small_insured: str
    small_exempt: str       # self-funded, or grandfathered
    small_grandfathered: str
    unresolved: str


_SPONSORS = {
    PlanType.employer_group: _Sponsor("erisa_group", "grandfathered_group", "small_group_insured",
                                      "erisa_group_small_selffunded", "grandfathered_small_group",
                                      "employer_group_unresolved"),
    PlanType.government_group: _Sponsor("nonfed_gov_plan", "nonfed_gov_plan",
                                        "nonfed_gov_small_insured", "nonfed_gov_small_exempt",
                                        "nonfed_gov_small_exempt", "nonfed_gov_unresolved"),
    PlanType.church_group: _Sponsor("church_plan", "church_plan", "church_plan_small_insured",
                                    "church_plan_small_exempt", "church_plan_small_exempt",
                                    "church_plan_unresolved"),
}


@dataclass(frozen=True)
class PlanFacts:
    """What the law stage needs to know about one denial, whatever the input was."""

    plan: str                      # registry plan type id
    funding: str | None = None     # fully_insured | self_funded
    state: str | None = None
    employer_size: int | None = None
    denial_date: date | None = None
    service_date: date | None = None
    level_of_care: LevelOfCare | None = None
    review_type: str | None = None  # pre_service | concurrent | post_service, when the input says
    unknowns: tuple[str, ...] = field(default=())
    said_urgent: bool = False  # the input (a denial letter, an export's `urgent` column) says so

    @property
    def post_service(self) -> bool | None:
        """True for care already given; None when the input does not say."""
        if self.review_type:
            return self.review_type == "post_service"
        if self.service_date and self.denial_date:
            return self.service_date <= self.denial_date
        return None

    @property
    def urgent(self) -> bool:
        """Care not yet given (pre-service or concurrent) that is residential, inpatient or PHP,
        an intensive outpatient program under concurrent review (a course of treatment being
        cut short), or that the payer's own notice calls urgent: expedited review applies."""
        if self.post_service is True:
            return False
        return (self.level_of_care in URGENT_LEVELS or self.said_urgent
                or (self.review_type == "concurrent" and self.level_of_care is LevelOfCare.iop))


def _flag(extra: dict[str, str], *names: str) -> bool:
    return any(str(extra.get(n, "")).strip().lower() in _TRUE for n in names)


def resolve_plan(plan_type: PlanType | str, *, funding: str | None = None,
                 employer_size: int | None = None, grandfathered: bool = False,
                 retiree_only: bool = False) -> tuple[str, tuple[str, ...]]:
    """Registry plan type for a practice plan type and the facts beside it, with what is unknown."""
    pt = PlanType(plan_type)
    if pt in _DIRECT:
        return _DIRECT[pt], ()
    sponsor = _SPONSORS.get(pt)
    if sponsor is None:
        return pt.value, (("plan type",) if pt is PlanType.unknown else ())
    if retiree_only and pt is PlanType.employer_group:
        return "retiree_only_plan", ()
    if employer_size is None:
        return sponsor.unresolved, ("employer size",) + (() if funding else ("funding",))
    small = employer_size <= SMALL_EMPLOYER_MAX
    if grandfathered:
        return (sponsor.small_grandfathered if small else sponsor.large_grandfathered), ()
    if not small:
        return sponsor.large, ()
    if funding == "fully_insured":
        return sponsor.small_insured, ()
    if funding == "self_funded":
        return sponsor.small_exempt, ()
    return sponsor.unresolved, ("funding",)


def plan_facts(record: DenialRecord) -> PlanFacts:
    """Law-relevant facts of a record. Flags from the export: grandfathered, retiree_only,
    urgent, review_type (pre_service, concurrent, post_service)."""
    extra = record.extra
    funding = record.plan_funding.value if record.plan_funding else None
    plan, unknowns = resolve_plan(record.plan_type, funding=funding,
                                  employer_size=record.employer_size,
                                  grandfathered=_flag(extra, "grandfathered", "plan_grandfathered"),
                                  retiree_only=_flag(extra, "retiree_only"))
    review = record.review_type
    return PlanFacts(plan=plan, funding=funding, state=record.plan_state,
                     employer_size=record.employer_size, denial_date=record.denial_date,
                     service_date=record.service_date, level_of_care=record.level_of_care,
                     review_type=review, unknowns=unknowns, said_urgent=_flag(extra, "urgent"))


class OptionError(ValueError):
    """A plan fact given by hand (`appeals law --plan-type ...`) that is not one: names the
    option."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option}: {message}")
        self.option = option


def given_plan_facts(registry: Registry, plan_type: str, *, funding: str | None = None,
                     employer_size: int | None = None, state: str | None = None,
                     denial_date: date | None = None, service_date: date | None = None,
                     level_of_care: str | None = None, review_type: str | None = None,
                     grandfathered: bool = False, retiree_only: bool = False) -> PlanFacts:
    """The facts of a plan given by hand: a registry plan type as it is (erisa_group...), or a
    plan type of the input schema (employer_group...) resolved with its funding and size, as a
    record's would be. OptionError names the option that is not a value."""
    from appeals.models import level_of_care_value, plan_funding_value, plan_type_value

    def parsed(option: str, parse, value, hint: str = ""):
        try:
            return parse(value)
        except ValueError as exc:
            raise OptionError(option, f"{exc}{hint}") from None

    fund = parsed("--funding", plan_funding_value, funding)
    care = parsed("--level-of-care", level_of_care_value, level_of_care)
    key = plan_type.strip().lower().replace("-", "_")
    if key in registry.plan_types:
        plan, unknowns = key, ()
    else:
        kind = parsed("--plan-type", plan_type_value, plan_type,
                      "; known registry plan types: " + ", ".join(registry.plan_types))
        plan, unknowns = resolve_plan(kind, funding=fund, employer_size=employer_size,
                                      grandfathered=grandfathered, retiree_only=retiree_only)
    return PlanFacts(plan=plan, funding=fund, state=state.upper() if state else None,
                     employer_size=employer_size, denial_date=denial_date,
                     service_date=service_date, level_of_care=care, review_type=review_type,
                     unknowns=unknowns)


class CitationRef(BaseModel):
    """A citation as a letter or a reviewer sees it."""

    id: str
    cite: str
    title: str
    verification: str


class ParityDecision(BaseModel):
    """Whether parity law reaches the plan, under which regime, why, and what a letter may cite."""

    plan: str
    plan_label: str
    applies: bool | None
    regime: str
    reasons: list[str]
    citations: list[CitationRef]
    decision_basis: list[str]
    unknowns: list[str]


def ref(c) -> CitationRef:
    return CitationRef(id=c.id, cite=c.cite, title=c.provides, verification=c.verification)


def parity_for(subject: DenialRecord | PlanFacts, registry: Registry | None = None, *,
               on: date | None = None, as_of: date | None = None) -> ParityDecision:
    """Decide parity for a record (or resolved facts).

    `citations` lists what a letter cites for "the federal parity law that reaches this plan": the
    plan type's `basis` in the registry (never an exemption, an opt-out or a state law), empty
    unless parity applies, and only entries that reach this plan, its funding and state, in force
    on `on` (default the service date) and enforced as of `as_of`. `decision_basis` lists the ids the reasons rest on.
    """
    reg = registry or load_registry()
    facts = subject if isinstance(subject, PlanFacts) else plan_facts(subject)
    entry = reg.plan(facts.plan)
    p = entry.parity
    reasons = list(p.reasons)
    if facts.funding == "fully_insured":
        reasons += p.if_insured
    elif facts.funding == "self_funded":
        reasons += p.if_self_funded
    else:
        reasons += p.if_funding_unknown
    day = on or facts.service_date or facts.denial_date or date.today()
    cites = []
    if p.applies:
        basis = p.basis + (p.basis_if_insured if facts.funding == "fully_insured" else ())
        cites = [ref(c) for c in reg.allowed(basis, facts.plan, day, funding=facts.funding,
                                             state=facts.state, as_of=as_of)]
    basis = list(dict.fromkeys(r for text in [p.regime, *reasons] for r in reg.refs(text)))
    return ParityDecision(plan=facts.plan, plan_label=entry.label, applies=p.applies,
                          regime=reg.expand(p.regime), reasons=[reg.expand(r) for r in reasons],
                          citations=cites, decision_basis=basis, unknowns=list(facts.unknowns))
