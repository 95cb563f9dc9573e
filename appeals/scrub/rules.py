"""The scrub edits as data: appeals/data/scrub_rules.yaml, a reviewer's file laid over it, and
each payer's own values from its payer directory entry (`scrub:`). Malformed data is an error
naming the file, the entry and the field."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from appeals.models import Category, validation_problem
from appeals.overlay import builtin, by_id
from appeals.overlay import user_file as read_user_file


class ScrubRulesError(ValueError):
    """A scrub rules file or a payer's `scrub:` entry is malformed."""


class ScrubRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    severity: Literal["error", "warning"]
    prevents: Category
    carc: str
    rarc: str = ""
    fix: str
    enabled: bool = True  # a reviewer may turn a rule off ("on" is a YAML boolean)


class Telehealth(BaseModel):
    model_config = ConfigDict(extra="forbid")
    places_of_service: list[str]
    modifiers: list[str]
    required: list[str]


def _codes(v: list[str]) -> list[str]:
    return [str(c).strip().upper() for c in v]


class PayerScrub(BaseModel):
    """What a payer's directory entry may set under `scrub:`; unset values take the defaults."""

    model_config = ConfigDict(extra="forbid")
    telehealth_modifiers: list[str] | None = None
    required_modifiers: dict[str, list[str]] = Field(default_factory=dict)
    authorization_required: list[str] | None = None
    filing_limit_days: int | None = Field(default=None, ge=1, le=3650)
    daily_max_units: dict[str, float] = Field(default_factory=dict)
    off: list[str] = Field(default_factory=list)


class ScrubRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_version: int = 1
    rules: list[ScrubRule]
    telehealth: Telehealth
    add_ons: dict[str, list[str]]
    daily_max_units: dict[str, float]
    authorization_required: list[str]
    filing_limit_days: int = Field(ge=1, le=3650)
    filing_warning_days: int = Field(ge=0, le=365)

    _upper = field_validator("authorization_required")(lambda cls, v: _codes(v))

    @cached_property
    def by_id(self) -> dict[str, ScrubRule]:
        return {r.id: r for r in self.rules}

    def rule(self, rule_id: str) -> ScrubRule:
        return self.by_id[rule_id]


def _merge(base: dict, user: dict) -> dict:
    merged = dict(base)
    for key, value in user.items():
        if key == "rules":
            merged["rules"] = by_id(merged.get("rules", []), value)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def load_scrub_rules(user_file: Path | None = None) -> ScrubRules:
    """The built-in edits, with a reviewer's file laid over them."""
    data = builtin("scrub_rules.yaml")
    name = "appeals/data/scrub_rules.yaml"
    if user_file is not None:
        name = str(user_file)
        data = _merge(data, read_user_file(user_file, ScrubRulesError,
                                           "a scrub rules file is a mapping (rules:, ...)"))
    try:
        rules = ScrubRules.model_validate(data)
    except ValidationError as exc:
        raise ScrubRulesError(f"{name}: {validation_problem(exc)}") from None
    missing = set(RULE_IDS) - set(rules.by_id)
    if missing:
        raise ScrubRulesError(f"{name}: rules missing: {', '.join(sorted(missing))}")
    return rules


def payer_scrub(entry: dict, where: str) -> PayerScrub:
    """A payer's `scrub:` entry, validated (its codes upper-cased)."""
    try:
        found = PayerScrub.model_validate(entry or {})
    except ValidationError as exc:
        raise ScrubRulesError(f"{where}: scrub: {validation_problem(exc)}") from None
    return found.model_copy(update={
        "required_modifiers": {k.upper(): _codes(v) for k, v in found.required_modifiers.items()},
        "authorization_required": None if found.authorization_required is None
        else _codes(found.authorization_required),
        "daily_max_units": {k.upper(): v for k, v in found.daily_max_units.items()}})


#: Every rule the checks know; the data must describe each (severity, category, CARC, fix).
RULE_IDS = (
    "telehealth_modifier_missing", "telehealth_modifier_without_telehealth_place",
    "required_modifier_missing", "add_on_without_primary", "units_over_daily_max",
    "diagnosis_missing", "diagnosis_invalid", "diagnosis_not_billable", "authorization_missing",
    "authorization_dates", "authorization_units", "authorization_number_unknown",
    "provider_not_enrolled", "license_expired", "timely_filing", "timely_filing_soon",
    "duplicate_line")
