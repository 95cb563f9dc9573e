"""The citation registry: dated, sourced legal citations, plan types and deadline rules.

Letters cite by id through `Registry.citations`, which returns only entries that reach the plan,
are in force on the date, are enforced, and are verified (or partly verified). An entry tagged
unverified stays in the file for reviewers and never reaches a letter.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from appeals.models import Category, validation_problem
from appeals.yamltext import parse_yaml

Verification = Literal["verified", "partial", "unverified", "derived"]
Funding = Literal["insured", "self_funded"]
FUNDING_OF = {"fully_insured": "insured", "insured": "insured", "self_funded": "self_funded"}
REF = re.compile(r"\[\[([a-z0-9_]+)\]\]")  # [[citation_id]] inside reviewer text


class RegistryError(ValueError):
    """The registry file is unusable; the message names the entry and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Enforcement(_Strict):
    status: Literal["enforced", "not_enforced", "guidance", "not_for_letters"]
    since: date | None = None
    note: str = ""


class Citation(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    cite: str = Field(min_length=3)
    provides: str = Field(min_length=3)
    applies_to: tuple[str, ...] = Field(min_length=1)
    states: tuple[str, ...] = ()
    topics: tuple[str, ...] = Field(min_length=1)
    effective_from: date
    effective_to: date | None = None
    text_version: str | None = None
    enforcement: Enforcement
    source: str
    verification: Literal["verified", "partial", "unverified"]
    verified_via: str = ""
    supports: tuple[str, ...] = ()  # the claims (sentences) of a letter this entry may back
    letter_text: str = ""  # where a letter states what the entry provides: the sentence, our words
    # A whole subpart or a range of sections: a letter's argument cites the provision it rests
    # on (a `supports` entry) instead; the plan's explanation may still name the span.
    span: bool = False


    @field_validator("applies_to")
    @classmethod
    def _qualifiers(cls, items: tuple[str, ...]) -> tuple[str, ...]:
        for item in items:
            _, _, funding = item.partition(":")
            if funding and funding not in ("insured", "self_funded"):
                raise ValueError(f"{item!r}: the qualifier after ':' must be insured or self_funded")
        return items

    @property
    def plans(self) -> set[str]:
        """The plan type ids in applies_to, without their funding qualifiers."""
        return {item.partition(":")[0] for item in self.applies_to}

    def reaches(self, plan: str, funding: str | None = None, state: str | None = None) -> bool:
        """True when the entry applies to this plan type (and funding and state, where it says)."""
        if self.states and state not in self.states:
            return False
        for item in self.applies_to:
            key, _, needs = item.partition(":")
            if key == plan and (not needs or needs == FUNDING_OF.get(funding or "")):
                return True
        return False

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on < self.effective_to)

    def enforced(self, on: date) -> bool:
        e = self.enforcement
        if e.status == "not_for_letters":
            return False
        return not (e.status == "not_enforced" and (e.since is None or on >= e.since))

    @property
    def letter_ok(self) -> bool:
        """Unverified text never reaches a letter, whatever the date."""
        return self.verification != "unverified" and self.enforcement.status != "not_for_letters"


class Parity(_Strict):
    applies: bool | None
    regime: str
    reasons: tuple[str, ...]
    if_insured: tuple[str, ...] = ()
    if_self_funded: tuple[str, ...] = ()
    if_funding_unknown: tuple[str, ...] = ()
    basis: tuple[str, ...] = ()  # what a letter cites for "the parity law that reaches this plan"
    basis_if_insured: tuple[str, ...] = ()


class PlanTypeEntry(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    label: str
    parity: Parity
    appeal_name: str
    # Who decides, as a letter names it ("the plan", "the Medicare contractor").
    reviewer: str = "the plan"
    # The provider appeals in its own right (Original Medicare, a state's provider reconsideration);
    # otherwise the letter speaks for the patient and encloses `representative`.
    own_right: bool = False
    representative: str = "The patient's written authorization for our practice to appeal on the patient's behalf"


class Period(_Strict):
    amount: int = Field(ge=0)
    unit: Literal["calendar_days", "calendar_months"]
    missing_day: Literal["first_of_next_month", "last_day_of_month"] | None = None
    roll: Literal["next_business_day"] | None = None
    range: str | None = None


Event = Literal["notice_date", "notice_sent_date", "notice_mailed_date", "receipt_of_notice",
                "decision_on_previous_level"]


class DeadlineRule(_Strict):
    id: str
    plan_types: tuple[str, ...] = Field(min_length=1)
    level: str
    when: Literal["always", "urgent", "not_post_service"] = "always"
    period: Period | None
    from_: Event = Field(alias="from")
    conservative_from: Literal["notice_date"] | None = None
    receipt_presumed_days: int | None = None
    note: str = ""
    decision: str = ""
    citation_ids: tuple[str, ...] = ()
    verification: Verification
    confirm: bool = False
    # After the window: good_cause (the program's rule lets a late request in for good cause),
    # plan_discretion (no rule either way: ask), none (late requests are dismissed).
    late: Literal["good_cause", "plan_discretion", "none"] = "plan_discretion"


class ClockPeriod(_Strict):
    amount: int = Field(gt=0)
    unit: Literal["hours", "calendar_days"]

    @property
    def words(self) -> str:
        return f"{self.amount} {'hours' if self.unit == 'hours' else 'calendar days'}"


class ForwardedLevel(_Strict):
    """The level a payer sends an upheld decision on to itself (Medicare Advantage: the
    independent review entity): nobody files it, so no window opens, and its decision time is
    what the citations say (none printed where they set no number of days)."""

    level: str
    decided: str = Field(min_length=1)  # who decides it, and in what time, in words
    citation_ids: tuple[str, ...] = Field(min_length=1)


class DecisionClock(_Strict):
    """How long the payer has to decide a filed level, from its receipt of the filing."""

    id: str
    plan_types: tuple[str, ...] = Field(min_length=1)
    level: str
    periods: dict[Literal["urgent", "pre_service", "post_service", "any"], ClockPeriod] = Field(
        min_length=1)
    note: str = ""
    citation_ids: tuple[str, ...] = Field(min_length=1)
    verification: Verification
    verified_via: str = ""
    #: What the practice may send about this level (appeals escalate): a status inquiry any time
    #: after filing; the others once the payer's time has run out.
    escalations: tuple[Literal["status_inquiry", "deemed_exhaustion", "fair_hearing_request",
                               "regulator_complaint"], ...] = ("status_inquiry",)
    #: The registry claim whose sentence says what a missed clock means for this program.
    late_claim: str | None = None
    #: Where the payer itself sends the level when it upholds it (no letter from anyone).
    upheld_to: ForwardedLevel | None = None


class PatientLevels(_Strict):
    """Which denials the patient's own later levels (external review, a fair hearing) take up:
    those that turn on medical judgment. The others are the provider's payment dispute."""

    levels: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    review_types: tuple[str, ...] = ()

    @field_validator("categories")
    @classmethod
    def _known(cls, items: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(items) - {c.value for c in Category})
        if unknown:
            raise ValueError(f"not a denial category: {', '.join(unknown)}")
        return items

    def reach(self, level: str, category: str | None, review_type: str | None) -> bool:
        """False when `level` is a patient's level and this denial is not one it takes up (an
        unknown category is not filtered: the registry's routes stand)."""
        if level not in self.levels or category is None:
            return True
        return category in self.categories or review_type in self.review_types


class Registry(BaseModel):
    """The loaded file, with lookups. Build with `load_registry`."""

    model_config = ConfigDict(frozen=True)

    version: str
    plan_types: dict[str, PlanTypeEntry]
    entries: dict[str, Citation]
    rules: tuple[DeadlineRule, ...]
    path: str
    claims: dict[str, str] = Field(default_factory=dict)  # claim id -> the sentence it backs
    clocks: tuple[DecisionClock, ...] = ()
    #: Days after sending that a filing counts as received, by how it was sent (not law).
    receipt_days: dict[str, int] = Field(default_factory=dict)
    patient_levels: PatientLevels = PatientLevels()

    def get(self, citation_id: str) -> Citation:
        try:
            return self.entries[citation_id]
        except KeyError:
            raise KeyError(f"citation {citation_id!r} is not in the registry {self.path}") from None

    def plan(self, plan: str) -> PlanTypeEntry:
        try:
            return self.plan_types[plan]
        except KeyError:
            known = ", ".join(sorted(self.plan_types))
            raise KeyError(f"unknown plan type {plan!r}; known: {known}") from None

    def citations(self, plan: str, topic: str | set[str] | None = None, on: date | None = None, *,
                  funding: str | None = None, state: str | None = None, as_of: date | None = None,
                  for_letter: bool = True) -> list[Citation]:
        """Entries that reach `plan` and are in force on `on` and enforced as of `as_of` (default
        `on`), in file order. `for_letter=False` also lists unverified and not-for-letter entries
        (for reviewers): never use that for text a letter prints."""
        self.plan(plan)
        on = on or date.today()
        as_of = as_of or on
        topics = {topic} if isinstance(topic, str) else topic
        out = []
        for c in self.entries.values():
            if topics and not topics.intersection(c.topics):
                continue
            if not c.reaches(plan, funding, state) or not c.in_force(on):
                continue
            if for_letter and not (c.letter_ok and c.enforced(as_of)):
                continue
            out.append(c)
        return out

    def allowed(self, citation_ids: tuple[str, ...] | list[str], plan: str, on: date, *,
                funding: str | None = None, state: str | None = None,
                as_of: date | None = None) -> list[Citation]:
        """The subset of `citation_ids` a letter for this plan may print on this date."""
        ok = {c.id for c in self.citations(plan, None, on, funding=funding, state=state,
                                           as_of=as_of)}
        return [self.get(i) for i in citation_ids if i in ok]

    def state_laws(self, plan: str, funding: str | None = None) -> dict[str, list[Citation]]:
        """The state-law entries that could reach this plan type and funding, by state: where a
        plan could be reached and its state has none here, state law was not checked."""
        out: dict[str, list[Citation]] = {}
        for c in self.entries.values():
            if "state_law" in c.topics:
                for state in c.states:
                    if c.reaches(plan, funding, state):
                        out.setdefault(state, []).append(c)
        return out

    def expand(self, text: str) -> str:
        """Replace [[id]] with the entry's cite (reviewer text that names a citation)."""
        return REF.sub(lambda m: self.get(m.group(1)).cite, text)

    def refs(self, text: str) -> list[str]:
        return REF.findall(text)


def _where(section: str, index: int, raw: object) -> str:
    ident = raw.get("id") if isinstance(raw, dict) else None
    return f"{section}[{index}]" + (f" (id {ident!r})" if ident else "")


def _parse(model: type[BaseModel], section: str, items: object, path: str) -> list:
    if not isinstance(items, list):
        raise RegistryError(f"{path}: '{section}' must be a list")
    out = []
    for i, raw in enumerate(items):
        try:
            out.append(model.model_validate(raw))
        except ValidationError as exc:
            raise RegistryError(f"{path}: {_where(section, i, raw)}: "
                                f"{validation_problem(exc, every=True)}") from None
    return out


def _check_links(reg: Registry) -> None:
    """Every id a plan, rule or text names must exist; every plan named must be a plan type."""
    where = reg.path
    for c in reg.entries.values():
        for claim in c.supports:
            if claim not in reg.claims:
                raise RegistryError(f"{where}: citation {c.id!r}: field 'supports': unknown claim "
                                    f"{claim!r} (claims are listed under 'claims')")
        for plan in sorted(c.plans - set(reg.plan_types)):
            raise RegistryError(f"{where}: citation {c.id!r}: field 'applies_to': unknown plan "
                                f"type {plan!r}")
    for p in reg.plan_types.values():
        texts = [p.parity.regime, *p.parity.reasons, *p.parity.if_insured,
                 *p.parity.if_self_funded, *p.parity.if_funding_unknown]
        named = [*(r for t in texts for r in reg.refs(t)), *p.parity.basis,
                 *p.parity.basis_if_insured]
        for ref in named:
            if ref not in reg.entries:
                raise RegistryError(f"{where}: plan type {p.id!r}: field 'parity': names "
                                    f"unknown citation [[{ref}]]")
    for kind, items in (("deadline rule", reg.rules), ("decision clock", reg.clocks)):
        for r in items:
            for plan in r.plan_types:
                if plan not in reg.plan_types:
                    raise RegistryError(f"{where}: {kind} {r.id!r}: field 'plan_types': "
                                        f"unknown plan type {plan!r}")
            for cid in r.citation_ids:
                if cid not in reg.entries:
                    raise RegistryError(f"{where}: {kind} {r.id!r}: field 'citation_ids': "
                                        f"unknown citation {cid!r}")
    for c in reg.clocks:
        for cid in c.upheld_to.citation_ids if c.upheld_to else ():
            if cid not in reg.entries:
                raise RegistryError(f"{where}: decision clock {c.id!r}: field 'upheld_to': "
                                    f"unknown citation {cid!r}")
        if c.late_claim is not None and c.late_claim not in reg.claims:
            raise RegistryError(f"{where}: decision clock {c.id!r}: field 'late_claim': unknown "
                                f"claim {c.late_claim!r} (claims are listed under 'claims')")


def default_path() -> Path:
    return Path(str(resources.files("appeals.data").joinpath("citations.yaml")))


@lru_cache(maxsize=8)
def _load(path: str) -> Registry:
    try:
        doc = parse_yaml(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise RegistryError(f"{path}: cannot read the registry: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise RegistryError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise RegistryError(f"{path}: expected a mapping with plan_types, citations and "
                            "deadline_rules")
    plans = _parse(PlanTypeEntry, "plan_types", doc.get("plan_types"), path)
    cites = _parse(Citation, "citations", doc.get("citations"), path)
    rules = _parse(DeadlineRule, "deadline_rules", doc.get("deadline_rules"), path)
    clocks = _parse(DecisionClock, "decision_clocks", doc.get("decision_clocks") or [], path)
    receipt = doc.get("receipt_days") or {}
    if not isinstance(receipt, dict) or not all(
            isinstance(k, str) and isinstance(v, int) and 0 <= v <= 30
            for k, v in receipt.items()):
        raise RegistryError(f"{path}: 'receipt_days' must map a sending method to a number of "
                            "days from 0 to 30")
    for section, items in (("plan_types", plans), ("citations", cites), ("deadline_rules", rules),
                           ("decision_clocks", clocks)):
        seen: set[str] = set()
        for item in items:
            if item.id in seen:
                raise RegistryError(f"{path}: {section}: id {item.id!r} appears twice")
            seen.add(item.id)
    scope = _parse(PatientLevels, "patient_levels", [doc.get("patient_levels") or {}], path)[0]
    claims = doc.get("claims") or {}
    if not isinstance(claims, dict) or not all(isinstance(v, str) for v in claims.values()):
        raise RegistryError(f"{path}: 'claims' must map a claim id to the sentence it backs")
    reg = Registry(version=str(doc.get("registry_version", "unversioned")),
                   plan_types={p.id: p for p in plans}, entries={c.id: c for c in cites},
                   rules=tuple(rules), path=path, claims=claims, clocks=tuple(clocks),
                   receipt_days=receipt, patient_levels=scope)
    _check_links(reg)
    return reg


def load_registry(path: Path | str | None = None) -> Registry:
    """Load and validate a registry file (default: the one shipped in appeals/data)."""
    return _load(str(Path(path).resolve()) if path else str(default_path()))
