"""The practice's own lists the scrub and the watch read: the clinician roster (who is enrolled
with which payer, from when to when, and their licence) and the authorizations on file. One bad
row is a reject naming its row and field; a file without its required columns is unusable."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator

from appeals.intake.errors import InputError, reject_from_validation
from appeals.intake.source import detect_encoding
from appeals.models import Day, Reject, payer_key, split_list
from appeals.models import Money as Units


def _text(v: object) -> str:
    return str(v or "").strip()


Text = Annotated[str, BeforeValidator(_text)]


class Enrollment(BaseModel):
    """One roster row: a clinician enrolled with a payer for a span, and their licence."""

    model_config = ConfigDict(extra="ignore")
    provider_npi: Text
    provider_name: Text = ""
    payer_name: Text
    effective_from: Day = None
    effective_to: Day = None
    license_type: Text = ""
    license_expires: Day = None

    @model_validator(mode="after")
    def _check(self) -> Enrollment:
        if not self.provider_npi and not self.provider_name:
            raise ValueError("provider_npi: empty (and no provider_name either)")
        if not self.payer_name:
            raise ValueError("payer_name: empty")
        if self.effective_from and self.effective_to and self.effective_to < self.effective_from:
            raise ValueError("effective_to: before effective_from")
        return self

    def covers(self, day: date) -> bool:
        return ((self.effective_from is None or self.effective_from <= day)
                and (self.effective_to is None or day <= self.effective_to))


class Authorization(BaseModel):
    """One authorization on file: whose, for which codes, dates and units."""

    model_config = ConfigDict(extra="ignore")
    member_id: Text
    payer_name: Text
    auth_number: Text
    cpt_codes: Annotated[list[str], BeforeValidator(lambda v: [c.upper() for c in
                                                               split_list(v)])]
    start: Day
    end: Day
    units: Units = None
    units_used: Units = None  # billed already, as the practice system reports it
    next_review: Day = None

    @model_validator(mode="after")
    def _check(self) -> Authorization:
        for name in ("member_id", "payer_name", "auth_number"):
            if not getattr(self, name):
                raise ValueError(f"{name}: empty")
        if not self.cpt_codes:
            raise ValueError("cpt_codes: empty (the codes this authorization covers)")
        if self.start is None or self.end is None:
            raise ValueError("start: and end: both needed")
        if self.end < self.start:
            raise ValueError("end: before start")
        return self

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end

    @property
    def left(self) -> Decimal | None:
        if self.units is None:
            return None
        return self.units - (self.units_used or Decimal(0))


M = TypeVar("M", Enrollment, Authorization)
ROSTER_COLUMNS = ("provider_npi", "payer_name")
AUTH_COLUMNS = ("member_id", "payer_name", "auth_number", "cpt_codes", "start", "end")


def _rows(path: Path, model: type[M], required: tuple[str, ...]) -> Iterator[M | Reject]:
    source = str(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    with path.open(newline="", encoding=detect_encoding(path)) as fh:
        reader = csv.DictReader(fh)
        headers = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in required if c not in headers]
        if missing:
            raise InputError(f"{path}: missing column(s) {', '.join(missing)} (a "
                             f"{model.__name__.lower()} file needs {', '.join(required)})")
        for number, row in enumerate(reader, start=2):
            clean = {(k or "").strip(): v for k, v in row.items()}
            raw = ",".join(str(v) for v in row.values() if v is not None)[:500]
            if None in row:
                yield Reject(source=source, location=f"row {number}", field="row",
                             message="more cells than headers (an unquoted comma?)", raw=raw)
                continue
            if not any(str(v or "").strip() for v in clean.values()):
                continue
            try:
                yield model.model_validate(clean)
            except ValidationError as exc:
                yield reject_from_validation(exc, source, f"row {number}", raw)


def read_roster(path: Path) -> tuple[list[Enrollment], list[Reject]]:
    return _split(_rows(path, Enrollment, ROSTER_COLUMNS))


def read_auths(path: Path) -> tuple[list[Authorization], list[Reject]]:
    return _split(_rows(path, Authorization, AUTH_COLUMNS))


def _split(items: Iterator[M | Reject]) -> tuple[list[M], list[Reject]]:
    good: list = []
    bad: list[Reject] = []
    for item in items:
        (bad if isinstance(item, Reject) else good).append(item)
    return good, bad


class Roster:
    """Enrollments by (NPI, payer) and by (name, payer) for lines without an NPI."""

    def __init__(self, rows: list[Enrollment]) -> None:
        self.by_npi: dict[tuple[str, str], list[Enrollment]] = {}
        for row in rows:
            key = row.provider_npi or row.provider_name.casefold()
            self.by_npi.setdefault((key, payer_key(row.payer_name)), []).append(row)

    def spans(self, npi: str | None, name: str | None, payer: str | None) -> list[Enrollment]:
        key = npi or (name or "").casefold()
        return self.by_npi.get((key, payer_key(payer)), [])


class Auths:
    """Authorizations by (member, payer)."""

    def __init__(self, rows: list[Authorization]) -> None:
        self.rows = rows
        self.by_member: dict[tuple[str, str], list[Authorization]] = {}
        for row in rows:
            self.by_member.setdefault((row.member_id, payer_key(row.payer_name)), []).append(row)

    def for_line(self, member_id: str | None, payer: str | None,
                 code: str | None) -> list[Authorization]:
        return [a for a in self.by_member.get((member_id or "", payer_key(payer)), [])
                if (code or "").upper() in a.cpt_codes]

    def numbers(self) -> set[str]:
        return {a.auth_number for a in self.rows}
