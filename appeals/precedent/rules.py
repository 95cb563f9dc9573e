"""appeals/data/precedent.yaml: how a source's file is read and how a case finds its decided
reviews. Validated on load; every pattern compiles, every label is there."""

from __future__ import annotations

import re
from functools import cached_property, lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from appeals.models import DenialRecord
from appeals.overlay import data_model

FIELDS = ("reference_id", "year", "diagnosis", "treatment", "determination", "review_type",
          "age_range", "findings")
REQUIRED = ("reference_id", "year", "determination")
REVIEW_TYPES = ("medical_necessity", "experimental")


class PrecedentError(ValueError):
    """A precedent file or map that cannot be read; the message names the file and the field."""


def header_key(text: str) -> str:
    """A header as a key: "Reference ID", "ReferenceID" and "reference_id" are one."""
    return re.sub(r"[\s_]+", "", text).casefold()


class Source(BaseModel):
    """How one publisher's file is read (a `sources:` entry, or a user's --columns map)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    state: str | None = None
    title: str
    reviews: str
    columns: dict[str, str | list[str]]
    overturned: list[str]
    partly: list[str] = Field(default_factory=list)
    upheld: list[str]
    review_types: dict[str, str] = Field(default_factory=dict)

    @field_validator("columns")
    @classmethod
    def _fields(cls, value: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        unknown = set(value) - set(FIELDS)
        if unknown:
            raise ValueError(f"columns: {', '.join(sorted(unknown))}: not one of "
                             f"{', '.join(FIELDS)}")
        missing = [f for f in REQUIRED if f not in value]
        if missing or not ({"diagnosis", "treatment"} & set(value)):
            raise ValueError(f"columns: needs {', '.join(REQUIRED)} and diagnosis or treatment")
        return value

    @field_validator("review_types")
    @classmethod
    def _types(cls, value: dict[str, str]) -> dict[str, str]:
        for word, kind in value.items():
            if kind not in REVIEW_TYPES:
                raise ValueError(f"review_types: {word!r}: {kind!r} is not one of "
                                 f"{', '.join(REVIEW_TYPES)}")
        return {header_key(k): v for k, v in value.items()}

    def headers(self, name: str) -> list[str]:
        given = self.columns.get(name, [])
        return [given] if isinstance(given, str) else list(given)

    def outcome(self, words: str) -> str | None:
        """overturned, partly (overturned in part) or upheld; None for words it does not know."""
        key = header_key(words)
        for outcome, said in (("overturned", self.overturned), ("partly", self.partly),
                              ("upheld", self.upheld)):
            if key in {header_key(w) for w in said}:
                return outcome
        return None


class _Kind(BaseModel):
    """A treatment, diagnosis group or family: its label, its source words, how a case is placed."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    label: str
    words: str
    family: str | None = None
    levels: list[str] = Field(default_factory=list)
    codes: list[str] = Field(default_factory=list)
    icd: list[str] = Field(default_factory=list)

    @field_validator("words")
    @classmethod
    def _compiles(cls, value: str) -> str:
        re.compile(value)
        return value

    @cached_property
    def regex(self) -> re.Pattern[str]:
        return re.compile(self.words, re.IGNORECASE)


class Rules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_version: int
    minimum: int = Field(ge=1)
    prior_minimum: int = Field(ge=1)
    years: int = Field(ge=1)
    quotes: int = Field(default=0, ge=0, le=10)
    quote_chars: int = Field(default=600, ge=100, le=5000)
    sources: dict[str, Source]
    treatments: dict[str, _Kind]
    diagnoses: dict[str, _Kind]
    families: dict[str, _Kind]

    @model_validator(mode="after")
    def _families_known(self) -> Rules:
        for name, kind in self.diagnoses.items():
            if kind.family not in self.families:
                raise ValueError(f"diagnoses: {name}: family {kind.family!r} is not one of "
                                 f"{', '.join(self.families)}")
        return self

    # --- what a source's words are -------------------------------------------------------------
    def treatment_of(self, words: str) -> str | None:
        return next((k for k, t in self.treatments.items() if t.regex.search(words)), None)

    def group_of(self, words: str) -> str | None:
        return next((k for k, d in self.diagnoses.items() if d.regex.search(words)), None)

    def family_of(self, words: str, group: str | None) -> str | None:
        if group is not None:
            return self.diagnoses[group].family
        return next((k for k, f in self.families.items() if f.regex.search(words)), None)

    # --- where a case stands -------------------------------------------------------------------
    def case_treatment(self, record: DenialRecord) -> str | None:
        code = (record.cpt_code or "").upper()
        for key, t in self.treatments.items():
            if code and code in t.codes:
                return key
        level = record.level_of_care.value if record.level_of_care else None
        return next((k for k, t in self.treatments.items() if level and level in t.levels), None)

    def case_group(self, record: DenialRecord) -> tuple[str | None, str | None]:
        """(diagnosis group, family) of the case's first diagnosis that has one."""
        for code in record.diagnosis_codes:
            for key, d in self.diagnoses.items():
                if code.startswith(tuple(d.icd)):
                    return key, d.family
        for code in record.diagnosis_codes:
            for key, f in self.families.items():
                if code.startswith(tuple(f.icd)):
                    return None, key
        return None, None


@lru_cache(maxsize=4)
def load_rules(path: Path | None = None) -> Rules:
    return data_model(Rules, "precedent.yaml", PrecedentError, path)


def load_source_map(path: Path) -> Source:
    """A user's --columns map for `--source csv` (the keys of a `sources:` entry)."""
    return data_model(Source, path.name, PrecedentError, path)
