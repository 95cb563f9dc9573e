"""Clinician checklist items (data in checklists/*.yaml) and their selection for one denial.

An item is chosen only when every condition in its `when` matches the denial, so a clinician sees
what this payer needs for this service and nothing else.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from appeals.compose.markup import builtin_templates
from appeals.models import Category, DenialRecord, LevelOfCare, Owner, PlanType
from appeals.yamltext import parse_yaml

#: The checklist item in which the treating clinician signs (name, credentials, license): who
#: answered, and without which no letter is ready.
ATTESTATION = "clinician_credentials"
SUD_DIAGNOSIS = ("F10", "F11", "F12", "F13", "F14", "F15", "F16", "F18", "F19")
SUD_CODES = {"H0005", "H0015", "H0020", "H0033", "H2036", "H0001", "H0004", "H0047"}


class ChecklistError(ValueError):
    """A checklist file is unusable; the message names the file, item and field."""


class When(BaseModel):
    model_config = ConfigDict(extra="forbid")
    categories: list[Category] = Field(default_factory=list)
    levels_of_care: list[LevelOfCare] = Field(default_factory=list)
    cpt_codes: list[Annotated[str, BeforeValidator(str)]] = Field(default_factory=list)
    diagnosis_prefixes: list[str] = Field(default_factory=list)
    sud: bool | None = None
    age_under: int | None = None  # a known age below this (an unknown age never matches)
    age_from: int | None = None  # a known age at least this, or an unknown age (read as adult)
    # Given together, a listed modifier or a listed place of service matches.
    modifiers: list[Annotated[str, BeforeValidator(str)]] = Field(default_factory=list)
    places_of_service: list[Annotated[str, BeforeValidator(str)]] = Field(default_factory=list)
    plan_types: list[PlanType] = Field(default_factory=list)  # the record's plan_type column
    # What the authorization on file says of the date of service (compose.letters.
    # authorization_status): none, undated, covers, not_started, expired, exceeded.
    authorization: list[Literal["none", "undated", "covers", "not_started", "expired",
                                "exceeded"]] = Field(default_factory=list)
    # The treatment limitation the denial applies (limit_types.yaml ids: experimental, ...).
    limits: list[str] = Field(default_factory=list)


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    prompt: str
    why: str
    note_section: str
    example: str
    owner: Owner
    #: How a letter names the answer when it prints it under a heading of its own (the prompt is
    #: a question to the clinician, never words for the payer); the prompt when not given.
    letter_label: str | None = None
    #: The answer may name days still to come (a treatment plan's target date, an expected
    #: discharge): a future date in it is no error.
    future_dates: bool = False
    when: When = Field(default_factory=When)
    # The item asks the same question as `stands_for` for another group of patients (CALOCUS for
    # a youth where an adult gets LOCUS); a letter's fact("locus_rating") then reads its answer.
    stands_for: str | None = Field(None, pattern=r"^[a-z0-9_]+$")
    source: str = ""


def is_sud(record: DenialRecord) -> bool:
    return (record.level_of_care is LevelOfCare.mat or (record.cpt_code or "") in SUD_CODES
            or any(d.startswith(SUD_DIAGNOSIS) for d in record.diagnosis_codes))


def age_on(record: DenialRecord, day: date) -> int | None:
    dob = record.patient_dob
    if dob is None:
        return None
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


def matches(item: Item, record: DenialRecord, category: Category,
            authorization: str | None = None, limit: str | None = None) -> bool:
    w = item.when
    if w.categories and category not in w.categories:
        return False
    if w.limits and limit not in w.limits:
        return False
    if w.authorization and authorization not in w.authorization:
        return False
    if w.levels_of_care and record.level_of_care not in w.levels_of_care:
        return False
    if w.plan_types and record.plan_type not in w.plan_types:
        return False
    if w.cpt_codes and (record.cpt_code or "") not in {str(c) for c in w.cpt_codes}:
        return False
    if w.diagnosis_prefixes and not any(d.startswith(tuple(w.diagnosis_prefixes))
                                        for d in record.diagnosis_codes):
        return False
    if w.sud is not None and is_sud(record) != w.sud:
        return False
    if (w.modifiers or w.places_of_service) and not (
            set(record.modifiers) & set(w.modifiers)
            or record.place_of_service in w.places_of_service):
        return False  # either marks the service (telehealth: a modifier or a place of service)
    if w.age_under is not None or w.age_from is not None:
        age = age_on(record, record.service_date or record.denial_date or date.today())
        if w.age_under is not None and (age is None or age >= w.age_under):
            return False
        if w.age_from is not None and age is not None and age < w.age_from:
            return False
    return True


def checklist_folders(user_folder: Path | None = None) -> list[Path]:
    """The user's folder first, then the built-in one (beside letter_templates/)."""
    return ([user_folder] if user_folder else []) + [builtin_templates().parent / "checklists"]


@lru_cache(maxsize=8)
def _load(folders: tuple[str, ...]) -> tuple[Item, ...]:
    files: dict[str, Path] = {}
    for folder in reversed(folders):  # a user's file replaces the built-in one of the same name
        for path in sorted(Path(folder).glob("*.yaml")):
            files[path.name] = path
    items: dict[str, Item] = {}
    for name in sorted(files):
        path = files[name]
        try:
            doc = parse_yaml(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ChecklistError(f"{path}: not valid YAML: {exc}") from None
        for i, raw in enumerate(doc.get("items") or []):
            try:
                item = Item.model_validate({**raw, "source": name})
            except (ValidationError, TypeError) as exc:
                ident = raw.get("id") if isinstance(raw, dict) else None
                detail = "; ".join(f"field '{'.'.join(map(str, e['loc']))}': {e['msg']}"
                                   for e in exc.errors()) if isinstance(
                                       exc, ValidationError) else str(exc)
                raise ChecklistError(f"{path}: items[{i}] (id {ident!r}): {detail}") from None
            if item.id in items:
                raise ChecklistError(f"{path}: item id {item.id!r} is also in "
                                     f"{items[item.id].source}")
            items[item.id] = item
    for item in items.values():
        if item.stands_for is not None and item.stands_for not in items:
            raise ChecklistError(f"{files[item.source]}: item {item.id!r}: stands_for "
                                 f"{item.stands_for!r} is not an item id")
    return tuple(items.values())


def load_items(user_folder: Path | None = None) -> tuple[Item, ...]:
    return _load(tuple(str(f) for f in checklist_folders(user_folder)))


def select(record: DenialRecord, category: Category, items: tuple[Item, ...] | None = None,
           owner: Owner | None = Owner.clinician, authorization: str | None = None,
           limit: str | None = None) -> list[Item]:
    """The items this denial needs, in file order; `owner=None` returns every owner's items.
    `authorization` is what the authorization on file says of the date (for `when.authorization`),
    `limit` the treatment limitation the denial applies (for `when.limits`)."""
    pool = items if items is not None else load_items()
    return [i for i in pool if (owner is None or i.owner == owner)
            and matches(i, record, category, authorization, limit)]
