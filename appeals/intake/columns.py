"""Column maps: rename a practice system's export headers to the canonical field names.

A map is a small YAML file a biller can write:

    name: Example PM export
    columns:            # export header -> canonical field
      "Claim #": claim_id   # a header with # or : in double quotes
      DOS: service_date
    defaults:           # values for canonical fields the export does not carry
      plan_state: NC
    values:             # an export's own words for a field's values
      plan_type: {Commercial: from_directory, Medicaid: medicaid_mco}
      level_of_care: {"Med Management": outpatient}

`from_directory` leaves the field empty for the payer directory (--payers) to fill. Values are
matched without regard to case or spacing; a value the map does not list is read as it is.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from appeals.intake.errors import InputError
from appeals.models import CANONICAL_FIELDS, name_key, validation_problem
from appeals.overlay import data_model
from appeals.yamltext import parse_yaml


class ColumnMap(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = ""
    columns: dict[str, str] = Field(default_factory=dict)
    defaults: dict[str, str] = Field(default_factory=dict)
    values: dict[str, dict[str, str]] = Field(default_factory=dict)

    @field_validator("columns")
    @classmethod
    def _targets_are_known(cls, value: dict[str, str]) -> dict[str, str]:
        known = mappable_fields()
        for header, target in value.items():
            if target not in known:
                raise ValueError(f"entry {header!r}: {target!r} is not a canonical field nor one "
                                 "the toolkit reads (`appeals columns --fields` lists them)")
        return value

    @field_validator("defaults")
    @classmethod
    def _defaults_are_canonical(cls, value: dict[str, str]) -> dict[str, str]:
        for target in value:
            if target not in CANONICAL_FIELDS:
                raise ValueError(f"entry {target!r}: not a canonical field")
        return {k: "" if v is None else str(v) for k, v in value.items()}

    @field_validator("values")
    @classmethod
    def _values_are_of_canonical_fields(cls, value: dict[str, dict[str, str]]
                                        ) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        known = mappable_fields()
        for field, table in value.items():
            if field not in known:
                raise ValueError(f"entry {field!r}: not a canonical field nor one the toolkit "
                                 "reads")
            out[field] = {_key(str(k)): v for k, v in table.items()}
        return out

    def value(self, field: str, raw: object) -> object:
        """The export's value as the toolkit reads it: the map's own word for it, or None for
        `from_directory`; anything the map does not list, as it is."""
        table = self.values.get(field)
        if not table or not isinstance(raw, str):
            return raw
        mapped = table.get(_key(raw))
        if mapped is None:
            return raw
        return None if mapped in (FROM_DIRECTORY, "") else mapped

    def rename(self, header: str) -> str:
        return self.columns.get(header, self.columns.get(header.strip(), header.strip()))


class _FieldTable(BaseModel):
    """A data file of fields by id, each with what it is (extra_fields.yaml, biller_fields.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_version: int
    fields: dict[str, str]


@lru_cache(maxsize=1)
def extra_fields() -> dict[str, str]:
    """appeals/data/extra_fields.yaml: the fields beyond the canonical ones the toolkit reads,
    and what it does with each."""
    fields = data_model(_FieldTable, "extra_fields.yaml", ValueError).fields
    clash = set(fields) & set(CANONICAL_FIELDS)
    if clash:
        raise ValueError(f"appeals/data/extra_fields.yaml: {', '.join(sorted(clash))}: "
                         "canonical fields already")
    return fields


@lru_cache(maxsize=1)
def mappable_fields() -> dict[str, str]:
    """Every field a column map may name: canonical, the extras the toolkit reads, and the
    biller's facts of biller_fields.yaml (the letters take them from the record when an export
    carries them; read here as data: intake does not import the compose stage)."""
    facts = data_model(_FieldTable, "biller_fields.yaml", ValueError).fields
    return {**{f: "canonical" for f in CANONICAL_FIELDS}, **extra_fields(),
            **{k: f"biller's fact: {v}" for k, v in facts.items()}}


#: A value map's word for "leave it to the payer directory".
FROM_DIRECTORY = "from_directory"


@lru_cache(maxsize=4096)  # an export repeats a few words on every row
def _key(value: str) -> str:
    return name_key(value)


#: `  Claim #: claim_id`: an entry whose header YAML would cut at " #" or read as a key.
_ENTRY = re.compile(r"^\s+(?P<header>[^\s\"'#][^\"']*?)\s*:\s+(?P<field>[a-z_]+)\s*(?:#.*)?$")


def _unquoted_header(text: str) -> tuple[int, str, str] | None:
    """(line, header, field) of the first entry whose unquoted header holds '#' or ': '."""
    for number, line in enumerate(text.splitlines(), start=1):
        found = _ENTRY.match(line)
        if found and found["field"] in mappable_fields() and (
                " #" in found["header"] or ":" in found["header"]):
            return number, found["header"], found["field"]
    return None


def load_column_map(path: Path) -> ColumnMap:
    """Read and validate a column map; errors name the file and the entry."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"{path}: cannot read column map: {exc}") from exc
    unquoted = _unquoted_header(text)
    if unquoted is not None:
        line, header, field = unquoted
        raise InputError(f"{path}: line {line}: the header {header!r} holds '#' or ':', which "
                         f"YAML reads as a comment or a key: write it in double quotes, "
                         f"\"{header}\": {field}")
    try:
        data = parse_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise InputError(f"{path}: {where}not a column map YAML can read "
                         f"({getattr(exc, 'problem', None) or exc}); a header with #, :, "
                         "quotes or a leading space goes in double quotes") from None
    try:
        return ColumnMap.model_validate(data or {})
    except ValidationError as exc:
        raise InputError(f"{path}: {validation_problem(exc)}") from exc
