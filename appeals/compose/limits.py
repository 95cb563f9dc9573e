"""Which treatment limitation a denial applies: the table in appeals/data/limit_types.yaml.

The letter names the limit and asks for what parity law lets the provider ask for, and the two
kinds differ: a day or visit limit is a quantitative limitation (the "predominant / substantially
all" test), everything else a nonquantitative one (comparable processes and standards, and the
comparative analysis). The classifier's own evidence decides first (the text rule that matched),
then the payer's words, then the reason code, then the category.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from appeals.models import Category, Classification, DenialRecord, LevelOfCare, validation_problem
from appeals.yamltext import parse_yaml


class LimitTypesError(ValueError):
    pass


class LimitType(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    kind: Literal["quantitative", "nonquantitative"] = "nonquantitative"
    label: str
    rules: tuple[str, ...] = ()  # classifier text rules whose match means this limit
    carcs: tuple[str, ...] = ()  # reason codes that name this limit
    keywords: tuple[str, ...] = ()  # lower-case words of the payer's reason
    # The categories whose denials may name this limit from rules, words or codes. A plain
    # medical-necessity denial names only its criteria; a word like "residential" in it is the
    # setting, not a facility-type restriction.
    categories: tuple[Category, ...] = (Category.parity_nqtl,)
    request: str
    #: What to ask for when the care denied is outpatient, where the general request would speak
    #: of levels of care the denial has nothing to do with (None: `request` fits every level).
    request_outpatient: str | None = None

    def request_for(self, level_of_care: LevelOfCare | None) -> str:
        if level_of_care is LevelOfCare.outpatient and self.request_outpatient:
            return self.request_outpatient
        return self.request


class LimitTypes(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    types: tuple[LimitType, ...]
    by_category: dict[Category, str]

    @model_validator(mode="after")
    def _ids_exist(self) -> LimitTypes:
        known = {t.id for t in self.types}
        for name, target in self.by_category.items():
            if target not in known:
                raise ValueError(f"{getattr(name, 'value', name)}: {target!r} is not a type id")
        return self

    def get(self, type_id: str) -> LimitType:
        return next(t for t in self.types if t.id == type_id)


@lru_cache(maxsize=1)
def limit_types() -> LimitTypes:
    name = "appeals/data/limit_types.yaml"
    data = parse_yaml(resources.files("appeals.data").joinpath("limit_types.yaml")
                          .read_text(encoding="utf-8"))
    try:
        return LimitTypes.model_validate(data)
    except ValidationError as exc:
        raise LimitTypesError(f"{name}: {validation_problem(exc)}") from None


def limit_at_issue(record: DenialRecord, classification: Classification) -> LimitType | None:
    """The limit this denial applies: the classifier's matching rule, else the payer's words,
    else the reason code, else the category's usual limit; None for a category that applies no
    treatment limitation (timely filing, coding, eligibility...), which gets no parity section."""
    table = limit_types()
    if classification.category not in table.by_category:
        return None
    matched = set(classification.rules)
    carcs = {code.partition("-")[2] for code in record.adjustment_codes}
    text = (record.denial_reason or "").lower()
    for says in (lambda t: matched.intersection(t.rules),
                 lambda t: any(k in text for k in t.keywords),
                 lambda t: carcs.intersection(t.carcs)):
        for t in table.types:
            if classification.category in t.categories and says(t):
                return t
    return table.get(table.by_category[classification.category])
