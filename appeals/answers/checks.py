"""What a returned answer can be checked for: a standardized measure's score in its range
(appeals/data/measures.yaml), and dates that are not in the future. Each problem names the item
and says what is wrong; a file with any problem is imported not at all (nothing half-imported).
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from appeals.answers.read import Returned
from appeals.models import validation_problem

_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b|\b(\d{1,2})/(\d{1,2})/(\d{4})\b")


class MeasuresError(ValueError):
    """measures.yaml is malformed; names the file and the field."""


class Measure(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    names: tuple[str, ...] = Field(min_length=1)
    min: float
    max: float


class _Measures(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_version: int
    measures: list[Measure]


@lru_cache(maxsize=4)
def load_measures(path: Path | None = None) -> tuple[Measure, ...]:
    source = path or resources.files("appeals.data").joinpath("measures.yaml")
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
        return tuple(_Measures.model_validate(raw).measures)
    except (OSError, yaml.YAMLError) as exc:
        raise MeasuresError(f"{path or 'appeals/data/measures.yaml'}: {exc}") from None
    except ValidationError as exc:
        raise MeasuresError(f"{path or 'appeals/data/measures.yaml'}: "
                            f"{validation_problem(exc)}") from None


@lru_cache(maxsize=4)
def _pattern(measures: tuple[Measure, ...]) -> tuple[re.Pattern, dict[str, Measure]]:
    """One pattern for every spelling, longest first ("AUDIT-C" before "AUDIT"), followed by
    a score (an optional "score", "of", ":" or "=" between)."""
    spelled: dict[str, Measure] = {}
    for m in measures:
        for name in m.names:
            spelled[_key(name)] = m
    names = sorted({n for m in measures for n in m.names}, key=len, reverse=True)
    alternatives = "|".join(re.escape(n).replace(r"\-", "-?") for n in names)
    return re.compile(rf"(?<![\w-])({alternatives})(?![\w-])\s*(?:total|score|of|[:=])?\s*"
                      rf"(-?\d+(?:\.\d+)?)", re.IGNORECASE), spelled


def _key(name: str) -> str:
    return name.replace("-", "").replace(" ", "").casefold()


def problems(returned: Returned, as_of: date, measures: tuple[Measure, ...] | None = None
             ) -> list[str]:
    """Every problem in the returned answers, one line each, naming the item."""
    pattern, spelled = _pattern(measures or load_measures())
    found: list[str] = []
    for item, answer in sorted(returned.answers.items()):
        for match in pattern.finditer(answer.text):
            measure = spelled.get(_key(match.group(1)))
            score = float(match.group(2))
            if measure is not None and not measure.min <= score <= measure.max:
                found.append(f"{item}: {match.group(1)} {match.group(2)} is outside its range "
                             f"{measure.min:g}-{measure.max:g}")
        for match in _DATE.finditer(answer.text):
            day = _date(match)
            if day is None:
                found.append(f"{item}: {match.group(0)} is not a date")
            elif day > as_of:
                found.append(f"{item}: {match.group(0)} is in the future (today is "
                             f"{as_of.isoformat()})")
    return found


def _date(match: re.Match) -> date | None:
    try:
        if match.group(1):
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        return date(int(match.group(6)), int(match.group(4)), int(match.group(5)))
    except ValueError:
        return None
