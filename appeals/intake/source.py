"""Opening input files: encoding and format are read from the content, not the extension."""

from __future__ import annotations

import codecs
import json
import re
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


#: A denial letter in plain text: it denies, it speaks of an appeal and it reads as a letter.
_LETTER_WORDS = (re.compile(r"\bden(ied|ial|y)\b|adverse (benefit )?determination|not (been )?"
                            r"(approved|authori[sz]ed|certified|medically necessary)|"
                            r"non-?certif", re.IGNORECASE),
                 re.compile(r"\bappeal", re.IGNORECASE),
                 re.compile(r"\b(dear|sincerely|this (letter|notice)|we (have )?reviewed|"
                            r"your (request|provider)|notice of)\b", re.IGNORECASE))


def looks_like_letter(text: str) -> bool:
    """A denial letter's words, and a first line that is not a header row of columns."""
    first = text.lstrip().splitlines()[0] if text.strip() else ""
    if max(first.count(sep) for sep in ",;\t|") >= 3:
        return False
    return all(words.search(text) for words in _LETTER_WORDS)


_FHIR = re.compile(r'"resourceType"\s*:\s*"')


def detect_format(path: Path) -> str:
    """One of `x12`, `json`, `jsonl`, `fhir`, `csv`, `pdf`, `letter` (a denial letter in plain
    text); InputError for anything else."""
    try:
        head = path.open("rb").read(SNIFF_BYTES)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}") from exc
    text = head.removeprefix(codecs.BOM_UTF8).decode("latin-1").lstrip()
    if not text:
        raise InputError("the file is empty")
    if text.startswith("ISA"):
        return "x12"
    if text.startswith("%PDF-") or path.suffix.lower() == ".pdf":
        return "pdf"  # the PDF reader says what is wrong with a .pdf that is not one
    if text.startswith("["):
        return "json"
    if text.startswith("{"):
        if _FHIR.search(text):  # a FHIR resource (a ClaimResponse, a Bundle), or NDJSON of them
            return "fhir"
        return "jsonl" if _first_line_is_json(path) else "json"
    first = head.split(b"\n", 1)[0]
    if b"\x00" in first or head.count(b"\x00") * 100 > len(head):
        # a binary or UTF-16 file; one stray NUL in one cell of a text export is that row's
        # problem (the reader rejects the row), not the file's
        raise InputError("binary file: not a CSV, JSON, X12 835, PDF or denial letter")
    if looks_like_letter(text):  # its words are ASCII: the head as read is enough
        return "letter"
    first_line = text.splitlines()[0]
    if any(sep in first_line for sep in ",;\t|"):
        return "csv"
    raise InputError("not a CSV, JSON, X12 835 or denial letter (no header row, no ISA, no "
                     "JSON, no denial and appeal wording)")


def x12_kind(path: Path) -> str:
    """The transaction set of an X12 file's first ST ("835", "837"; "" when none is in sight)."""
    head = path.open("rb").read(SNIFF_BYTES).decode("latin-1").lstrip()
    sep = head[3:4] if head.startswith("ISA") else "*"
    match = re.search(r"(?:^|[^A-Za-z0-9])ST" + re.escape(sep) + r"(\d{3})", head)
    return match[1] if match else ""
