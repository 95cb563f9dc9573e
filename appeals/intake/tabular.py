"""CSV exports in the canonical schema, or renamed through a column map."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from appeals.intake.columns import ColumnMap
from appeals.intake.errors import InputError, reject_from_validation
from appeals.intake.source import detect_encoding
from appeals.models import CANONICAL_FIELDS, DenialRecord, Reject

# A denial needs an identity and at least one statement of why it was denied.
REQUIRED = ("claim_id",)
ANY_OF = ("adjustment_codes", "remark_codes", "denial_reason")


def check_columns(headers: list[str], where: str) -> None:
    missing = [c for c in REQUIRED if c not in headers]
    if missing:
        raise InputError(f"{where}: missing required column {', '.join(missing)}"
                         " (use --columns MAP to rename an export's headers)")
    if not any(c in headers for c in ANY_OF):
        raise InputError(f"{where}: needs at least one of the columns {', '.join(ANY_OF)}")


def to_record(row: dict, columns: ColumnMap | None, source: str, location: str,
              raw: str) -> DenialRecord | Reject:
    """Map one row (renamed, unknown columns kept in `extra`) to a record or a reject."""
    data: dict = dict(columns.defaults) if columns else {}
    extra: dict[str, str] = {}
    for key, value in row.items():
        if key is None:  # more cells than headers: an unquoted comma shifted the row
            return Reject(source=source, location=location, field="row",
                          message=f"{len(row) - 1 + len(value)} cells but {len(row) - 1} "
                                  "headers (an unquoted comma or delimiter in a value?)",
                          raw=raw)
        name = columns.rename(key) if columns else key.strip()
        if name in CANONICAL_FIELDS:
            if value not in (None, "") or name not in data:
                data[name] = value
        elif name in ("extra", "source", "location", "warnings"):
            continue
        elif value not in (None, ""):
            extra[name] = value if isinstance(value, str) else str(value)
    data["extra"] = extra
    data["source"] = source
    data["location"] = location
    try:
        return DenialRecord.model_validate(data)
    except ValidationError as exc:
        return reject_from_validation(exc, source, location, raw)


def read_csv(path: Path, columns: ColumnMap | None = None) -> Iterator[DenialRecord | Reject]:
    source = str(path)
    encoding = detect_encoding(path)
    with path.open(newline="", encoding=encoding) as fh:
        sample = fh.read(8192)
        fh.seek(0)
        try:  # only the delimiter is sniffed; quoting stays standard (RFC 4180 doubling)
            delimiter = csv.Sniffer().sniff(sample.splitlines()[0], delimiters=",;\t|").delimiter
        except (csv.Error, IndexError):
            delimiter = ","
        reader = csv.DictReader(fh, delimiter=delimiter)
        headers = [columns.rename(h) if columns else h.strip() for h in reader.fieldnames or []]
        if not headers:
            raise InputError("the file is empty")
        present = headers + (list(columns.defaults) if columns else [])
        check_columns(present, "header row")
        for row in reader:
            location = f"row {reader.line_num}"
            raw = delimiter.join(
                ";".join(v) if isinstance(v, list) else ("" if v is None else str(v))
                for v in row.values())
            yield to_record(row, columns, source, location, raw)
