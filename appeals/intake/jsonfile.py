"""JSON exports: an array of objects, or JSON Lines (one object per line)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from appeals.intake.columns import ColumnMap
from appeals.intake.errors import InputError
from appeals.intake.source import detect_encoding
from appeals.intake.tabular import to_record
from appeals.models import DenialRecord, Reject


def read_json(path: Path, columns: ColumnMap | None = None,
              require_reason: bool = True) -> Iterator[DenialRecord | Reject]:
    source = str(path)
    try:
        data = json.loads(path.read_text(encoding=detect_encoding(path)))
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    if isinstance(data, dict) and isinstance(data.get("records"), list):
        data = data["records"]
    if not isinstance(data, list):
        raise InputError("JSON input must be an array of objects (or {\"records\": [...]})")
    for i, obj in enumerate(data, start=1):
        location = f"item {i}"
        if not isinstance(obj, dict):
            yield Reject(source=source, location=location, field="record",
                         message="not a JSON object", raw=json.dumps(obj)[:500])
            continue
        yield to_record(obj, columns, source, location, json.dumps(obj)[:500], require_reason)


def read_jsonl(path: Path, columns: ColumnMap | None = None,
               require_reason: bool = True) -> Iterator[DenialRecord | Reject]:
    source = str(path)
    with path.open(encoding=detect_encoding(path)) as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            location = f"line {number}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield Reject(source=source, location=location, field="record",
                             message=f"not valid JSON: {exc.msg}", raw=line[:500])
                continue
            if not isinstance(obj, dict):
                yield Reject(source=source, location=location, field="record",
                             message="not a JSON object", raw=line[:500])
                continue
            yield to_record(obj, columns, source, location, line.strip()[:500], require_reason)
