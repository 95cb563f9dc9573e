"""Column maps: rename a practice system's export headers to the canonical field names.

A map is a small YAML file a biller can write:

    name: Example PM export
    columns:            # export header -> canonical field
      Claim #: claim_id
      DOS: service_date
    defaults:           # values for canonical fields the export does not carry
      plan_state: NC
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from appeals.intake.errors import InputError
from appeals.models import CANONICAL_FIELDS, validation_problem


class ColumnMap(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = ""
    columns: dict[str, str] = Field(default_factory=dict)
    defaults: dict[str, str] = Field(default_factory=dict)

    @field_validator("columns")
    @classmethod
    def _targets_are_canonical(cls, value: dict[str, str]) -> dict[str, str]:
        for header, target in value.items():
            if target not in CANONICAL_FIELDS:
                raise ValueError(f"entry {header!r}: {target!r} is not a canonical field")
        return value

    @field_validator("defaults")
    @classmethod
    def _defaults_are_canonical(cls, value: dict[str, str]) -> dict[str, str]:
        for target in value:
            if target not in CANONICAL_FIELDS:
                raise ValueError(f"entry {target!r}: not a canonical field")
        return {k: "" if v is None else str(v) for k, v in value.items()}

    def rename(self, header: str) -> str:
        return self.columns.get(header, self.columns.get(header.strip(), header.strip()))


def load_column_map(path: Path) -> ColumnMap:
    """Read and validate a column map; errors name the file and the entry."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot read column map: {exc}") from exc
    try:
        return ColumnMap.model_validate(data or {})
    except ValidationError as exc:
        raise InputError(f"{path}: {validation_problem(exc)}") from exc
