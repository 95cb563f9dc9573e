"""What one document may ask of the machine, checked before any parser sees it.

A 438-byte PDF can ask for a 14 GB page, 1 MB of compressed stream can inflate to gigabytes and
abort PDFium, a 1.5 MB DOCX can hold gigabytes of XML. The caps live in appeals/data/limits.yaml
(`documents:`); a file over one is an InputError naming the cap, so the run rejects that file and
goes on. The checks only count: a stream is inflated in small steps and thrown away, a zip's
sizes are read from its directory (Python's zipfile never inflates a part past its declared size).
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from appeals.intake.errors import InputError

MB = 1024 * 1024
#: Inflate in steps this big: what the check holds in memory at once.
_STEP = MB
_STREAM = re.compile(rb"stream\r?\n")
_END = b"endstream"


class DocumentCaps(BaseModel):
    """limits.yaml `documents:`, each a whole number from 1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file_mb: int = Field(ge=1)
    pdf_pages: int = Field(ge=1)
    ocr_pages: int = Field(ge=0)
    ocr_pixels: int = Field(ge=1)
    stream_mb: int = Field(ge=1)
    streams_mb: int = Field(ge=1)
    zip_members: int = Field(ge=1)
    zip_mb: int = Field(ge=1)
    worker_mb: int = Field(ge=256)
    json_depth: int = Field(ge=10)


@lru_cache(maxsize=1)
def caps() -> DocumentCaps:
    import yaml

    from appeals.models import limits_file

    name = "appeals/data/limits.yaml"
    try:
        return DocumentCaps.model_validate(limits_file()["documents"])
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise ValueError(f"{name}: no `documents:` caps ({exc})") from None
    except ValidationError as exc:
        from appeals.models import validation_problem

        raise ValueError(f"{name}: documents: {validation_problem(exc, every=True)}") from None


def check_size(path: Path) -> None:
    """The file itself: no bigger than `file_mb`."""
    most = caps().file_mb
    size = path.stat().st_size
    if size > most * MB:
        raise InputError(f"a file of {size / MB:,.1f} MB: over the {most} MB a document may be "
                         "(appeals/data/limits.yaml, documents.file_mb)")


def check_pdf(path: Path) -> None:
    """Size, then every compressed stream inflated and counted against `stream_mb` and
    `streams_mb`, before PDFium or pypdf is given the file."""
    check_size(path)
    cap = caps()
    data = path.read_bytes()
    total = 0
    for number, size in enumerate(_inflated_sizes(data, cap.stream_mb * MB), start=1):
        if size > cap.stream_mb * MB:
            raise InputError(f"stream {number} of the PDF inflates to over {cap.stream_mb} MB "
                             "(a compression bomb, or not a letter): not read "
                             "(appeals/data/limits.yaml, documents.stream_mb)")
        total += size
        if total > cap.streams_mb * MB:
            raise InputError(f"the PDF's streams inflate to over {cap.streams_mb} MB: not read "
                             "(appeals/data/limits.yaml, documents.streams_mb)")


def _inflated_sizes(data: bytes, most: int) -> Iterator[int]:
    """Each stream's inflated size, counted up to a little past `most` (a stream that is not
    Flate, or is damaged, counts what inflated before the error: PDFium judges the rest)."""
    view, pos = memoryview(data), 0
    while (found := _STREAM.search(data, pos)) is not None:
        start = found.end()
        end = data.find(_END, start)
        end = len(data) if end < 0 else end
        pos = end + len(_END)
        if data[found.start() - 3:found.start()] == b"end":  # the tail of an "endstream"
            continue
        yield _inflate_count(view[start:end], most)


def _inflate_count(chunk: memoryview, most: int) -> int:
    inflater, total = zlib.decompressobj(), 0
    try:
        out = inflater.decompress(chunk, _STEP)
        total += len(out)
        while total <= most and (inflater.unconsumed_tail or len(out) == _STEP):
            out = inflater.decompress(inflater.unconsumed_tail, _STEP)
            total += len(out)
            if not out:
                break
    except zlib.error:
        pass
    return total


def check_zip(path: Path) -> None:
    """A DOCX (a zip): size, number of parts and their declared uncompressed size."""
    check_size(path)
    cap = caps()
    try:
        with zipfile.ZipFile(path) as z:
            parts = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(f"not a readable DOCX (a damaged zip: {exc})") from None
    if len(parts) > cap.zip_members:
        raise InputError(f"a DOCX of {len(parts):,} parts: over the {cap.zip_members} a checklist "
                         "may hold (appeals/data/limits.yaml, documents.zip_members)")
    size = sum(p.file_size for p in parts)
    if size > cap.zip_mb * MB:
        raise InputError(f"a DOCX whose parts unpack to {size / MB:,.0f} MB: over the "
                         f"{cap.zip_mb} MB allowed (a zip bomb?) (appeals/data/limits.yaml, "
                         "documents.zip_mb)")
