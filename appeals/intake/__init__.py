"""Intake: files in, `DenialRecord`s and `Reject`s out, one at a time.

    from appeals.intake import read
    for item in read(Path("remit.835")):
        ...  # DenialRecord, or Reject with the reason

The format is read from the content. A file that cannot be used at all raises `InputError`;
anything smaller is a `Reject` and the rest of the batch goes on.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path

from appeals.intake.columns import ColumnMap, load_column_map
from appeals.intake.errors import InputError
from appeals.intake.jsonfile import read_json, read_jsonl
from appeals.intake.source import detect_format
from appeals.intake.tabular import read_csv
from appeals.intake.x12 import read_835
from appeals.models import DenialRecord, Reject

__all__ = ["ColumnMap", "InputError", "read", "load_column_map", "write_rejects",
           "REJECT_COLUMNS", "detect_format"]

REJECT_COLUMNS = ("source", "location", "field", "message", "raw")


def read(path: Path | str, columns: ColumnMap | Path | str | None = None,
         fmt: str | None = None) -> Iterator[DenialRecord | Reject]:
    """Records and rejects of one input file, lazily, in file order."""
    path = Path(path)
    if columns is not None and not isinstance(columns, ColumnMap):
        columns = load_column_map(Path(columns))
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        fmt = fmt or detect_format(path)
        if fmt == "x12":
            yield from read_835(path)
        elif fmt == "csv":
            yield from read_csv(path, columns)
        elif fmt == "json":
            yield from read_json(path, columns)
        elif fmt == "jsonl":
            yield from read_jsonl(path, columns)
        else:
            raise InputError(f"unknown format {fmt!r}")
    except InputError as exc:
        message = str(exc)
        raise InputError(message if message.startswith(str(path)) else f"{path}: {message}") \
            from None


def write_rejects(rejects: Iterable[Reject], path: Path) -> int:
    """CSV with source, location, field, message, raw; returns how many were written."""
    n = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(REJECT_COLUMNS)
        for r in rejects:
            writer.writerow([r.source, r.location, r.field, r.message, r.raw])
            n += 1
    return n
