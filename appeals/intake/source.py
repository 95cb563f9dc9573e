"""Opening input files: encoding and format are read from the content, not the extension."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

from appeals.intake.errors import InputError

SNIFF_BYTES = 8192


def detect_encoding(path: Path) -> str:
    """`utf-8-sig` when every byte decodes as UTF-8 (BOM or not), else `latin-1`.

    A streaming pass, so a large export costs one read and no memory.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as fh:
        try:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "latin-1"
    return "utf-8-sig"


def _first_line_is_json(path: Path) -> bool:
    with path.open("rb") as fh:
        first = fh.readline().removeprefix(codecs.BOM_UTF8)
    try:
        json.loads(first.decode(detect_encoding(path)))
    except ValueError:
        return False
    return True


def detect_format(path: Path) -> str:
    """One of `x12`, `json`, `jsonl`, `csv`; InputError for anything else."""
    try:
        head = path.open("rb").read(SNIFF_BYTES)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}") from exc
    text = head.removeprefix(codecs.BOM_UTF8).decode("latin-1").lstrip()
    if not text:
        raise InputError("the file is empty")
    if text.startswith("ISA"):
        return "x12"
    if text.startswith("["):
        return "json"
    if text.startswith("{"):
        return "jsonl" if _first_line_is_json(path) else "json"
    if b"\x00" in head:
        raise InputError("binary file: not a CSV, JSON or X12 835")
    first_line = text.splitlines()[0]
    if any(sep in first_line for sep in ",;\t|"):
        return "csv"
    raise InputError("not a CSV, JSON or X12 835 file (no header row, no ISA, no JSON)")
