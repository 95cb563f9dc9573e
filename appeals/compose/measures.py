"""Standardized measures and instruments' levels (appeals/data/measures.yaml): how a clinician
writes them ("PHQ-9 19 (2026-04-02)"), the range of each score and the levels each instrument
has. The letters tabulate dated scores with it; `appeals facts import` checks answers with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from appeals.models import validation_problem
from appeals.yamltext import parse_yaml


class MeasuresError(ValueError):
    """measures.yaml is malformed; names the file and the field."""


class Measure(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    names: tuple[str, ...] = Field(min_length=1)
    min: float
    max: float


class Level(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    names: tuple[str, ...] = Field(min_length=1)
    values: tuple[str, ...] = Field(min_length=1)


class _Measures(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_version: int
    measures: list[Measure]
    levels: list[Level] = []
    categories: list[Level] = []  # the same shape, with words for values


@lru_cache(maxsize=4)
def load_measures(path: Path | None = None) -> tuple[tuple[Measure, ...], tuple[Level, ...]]:
    """(measures with score ranges, instruments' levels and word categories) from
    appeals/data/measures.yaml."""
    source = path or resources.files("appeals.data").joinpath("measures.yaml")
    try:
        raw = _Measures.model_validate(parse_yaml(source.read_text(encoding="utf-8")))
        return tuple(raw.measures), tuple(raw.levels) + tuple(raw.categories)
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


@lru_cache(maxsize=4)
def _level_pattern(levels: tuple[Level, ...]) -> tuple[re.Pattern, dict[str, Level]]:
    """"ASAM level 3.7", "LOCUS level of care: 4": a level named, with its value."""
    spelled = {_key(n): lv for lv in levels for n in lv.names}
    names = sorted({n for lv in levels for n in lv.names}, key=len, reverse=True)
    alternatives = "|".join(re.escape(n).replace(r"\-", "-?").replace(r"\ ", r"\s+")
                            for n in names)
    return re.compile(rf"(?<![\w-])({alternatives})\s*(?:level)?\s*[:=]?\s*"
                      rf"(\d+(?:\.\d+)?(?:-WM)?(?![\d.])|[a-z]+\b)", re.IGNORECASE), spelled


def _key(name: str) -> str:
    return name.replace("-", "").replace(" ", "").casefold()



_DATED = re.compile(r"^(?:and\s+|then\s+)?(?:(?P<name>.+?)\s+)?(?P<score>\d+(?:\.\d+)?)\s*"
                    r"(?:\((?P<d1>\d{4}-\d{2}-\d{2})\)|on\s+(?P<d2>\d{4}-\d{2}-\d{2}))$",
                    re.IGNORECASE)


@dataclass(frozen=True)
class Score:
    measure: str
    score: str
    day: date


def dated_scores(text: str, measures: tuple[Measure, ...] | None = None) -> list[Score] | None:
    """The answer as dated scores, when that is all it is ("PHQ-9 19 (2026-04-02) and 17
    (2026-05-01); GAD-7 16 (2026-04-02)"); None when any part is something else, so a table never
    drops or guesses a word of the clinician's."""
    _, spelled = _pattern(measures or load_measures()[0])
    parts = [p.strip() for p in re.split(r"[;\n]|,\s+(?=[A-Za-z])|\s+and\s+(?=[A-Za-z])",
                                         text) if p.strip()]
    rows: list[Score] = []
    for part in parts:
        for piece in re.split(r"\s+(?=and\s+\d)|,\s+(?=\d)", part):
            match = _DATED.match(piece.strip().rstrip("."))
            if match is None:
                return None
            name = match.group("name")
            if name is None:
                if not rows:
                    return None
                name = rows[-1].measure
            elif _key(name) not in spelled:
                return None
            try:
                day = date.fromisoformat(match.group("d1") or match.group("d2"))
            except ValueError:
                return None
            rows.append(Score(name, match.group("score"), day))
    return rows or None
