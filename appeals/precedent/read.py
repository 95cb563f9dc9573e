"""A published file of external-review decisions, row by row: a `Decision` or a `Reject` naming the
row and the field. The file is streamed (the California file is tens of megabytes), its cells
kept as text (a formula cell is never run: it is a string here and escaped in every CSV out)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from appeals.intake.source import detect_encoding
from appeals.models import Reject, clean_text
from appeals.precedent.rules import FIELDS, REQUIRED, PrecedentError, Source, header_key

#: The most of a row's texts kept: identifiers, the category words, the reviewer's findings.
MOST = {"reference_id": 100, "diagnosis": 400, "treatment": 400, "age_range": 40,
        "findings": 20_000}
#: The first report year any source publishes (California's program began in 2001).
FIRST_YEAR = 1990
MAX_MB = 200  # a state's whole file with its findings is tens of megabytes


@dataclass(frozen=True)
class Decision:
    reference_id: str
    year: int
    diagnosis: str
    treatment: str
    review_type: str
    outcome: str  # overturned | partly | upheld
    age_range: str | None
    findings: str | None


@dataclass
class Skipped:
    """Rows read but not of a kind counted (an out-of-network appeal): how many, by its words."""

    counts: dict[str, int]


def read_decisions(path: Path, source: Source, as_of: date, skipped: Skipped | None = None
                   ) -> Iterator[Decision | Reject]:
    """Every data row as a Decision or a Reject; PrecedentError for a file that cannot be read
    at all (missing, too big, not a table, a required column missing)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise PrecedentError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if size > MAX_MB * 1_000_000:
        raise PrecedentError(f"{path}: {size / 1e6:,.0f} MB, over the {MAX_MB} MB a decisions "
                             "file may be")
    encoding = "utf-8-sig" if detect_encoding(path) == "utf-8-sig" else "cp1252"
    csv.field_size_limit(max(csv.field_size_limit(), 10_000_000))
    with path.open(encoding=encoding, errors="replace", newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise PrecedentError(f"{path}: the file is empty") from None
        except csv.Error as exc:
            raise PrecedentError(f"{path}: not a CSV file ({exc})") from None
        columns = _columns(path, header, source)
        number = 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                number += 1
                yield Reject(source=str(path), location=f"row {number}", field="row",
                             message=f"unreadable row: {exc}")
                continue
            number += 1
            if not any(cell.strip() for cell in cells):
                continue
            found = _decision(cells, columns, source, as_of, f"row {number}", str(path), skipped)
            if found is not None:
                yield found


def _columns(path: Path, header: list[str], source: Source) -> dict[str, list[int]]:
    """Field -> the indexes of its columns; PrecedentError naming a required column missing."""
    at = {header_key(h): i for i, h in enumerate(header)}
    out: dict[str, list[int]] = {}
    for name in FIELDS:
        wanted = source.headers(name)
        found = [at[header_key(h)] for h in wanted if header_key(h) in at]
        if found:
            out[name] = found
        elif name in REQUIRED and wanted:
            raise PrecedentError(
                f"{path}: no column {' or '.join(repr(h) for h in wanted)} for {name} (the "
                f"file's columns: {', '.join(repr(h) for h in header[:20])}); give "
                "--columns MAP.yaml with --source csv for a file in another shape")
    if "diagnosis" not in out and "treatment" not in out:
        raise PrecedentError(f"{path}: neither a diagnosis nor a treatment column: nothing to "
                             "match a case by")
    return out


def _decision(cells: list[str], columns: dict[str, list[int]], source: Source, as_of: date,
              location: str, name: str, skipped: Skipped | None) -> Decision | Reject | None:
    """The row's decision; a reject naming the field; None for a review of a kind not counted
    (out of network, a formulary exception), which `skipped` counts by its words."""
    def text(field: str) -> str:
        parts = [clean_text(cells[i]).strip() for i in columns.get(field, []) if i < len(cells)]
        return " / ".join(p for p in parts if p)

    def reject(field: str, message: str) -> Reject:
        return Reject(source=name, location=location, field=field, message=message,
                      raw=",".join(cells)[:500])

    reference = text("reference_id")
    if not reference:
        return reject("reference_id", "empty: a decision needs its reference id")
    if len(reference) > MOST["reference_id"]:
        return reject("reference_id", f"{len(reference):,} characters, over "
                                      f"{MOST['reference_id']}")
    year_text = text("year")
    year = int(year_text) if year_text.isdigit() and len(year_text) == 4 else None
    if year is None or not FIRST_YEAR <= year <= as_of.year:
        return reject("year", f"{year_text[:20]!r} is not a report year from {FIRST_YEAR} to "
                              f"{as_of.year}")
    said = text("determination")
    outcome = source.outcome(said)
    if outcome is None:
        known = [*source.overturned, *source.partly, *source.upheld]
        return reject("determination", f"{said[:80]!r} is none of the source's determinations "
                                       f"({'; '.join(known)})")
    kind_words = text("review_type")
    if "review_type" in columns:
        kind = source.review_types.get(header_key(kind_words))
        if kind is None:  # an out-of-network or formulary appeal: read, not counted
            if skipped is not None:
                skipped.counts[kind_words[:60]] = skipped.counts.get(kind_words[:60], 0) + 1
            return None
    else:
        kind = "medical_necessity"
    diagnosis, treatment = text("diagnosis"), text("treatment")
    for field, value in (("diagnosis", diagnosis), ("treatment", treatment),
                         ("age_range", text("age_range"))):
        if len(value) > MOST[field]:
            return reject(field, f"{len(value):,} characters, over {MOST[field]}")
    findings = text("findings")
    if len(findings) > MOST["findings"]:
        findings = findings[:MOST["findings"]] + " [...]"
    return Decision(reference_id=reference, year=year, diagnosis=diagnosis, treatment=treatment,
                    review_type=kind, outcome=outcome, age_range=text("age_range") or None,
                    findings=findings or None)
