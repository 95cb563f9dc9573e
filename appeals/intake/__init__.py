"""Intake: files in, `DenialRecord`s and `Reject`s out, one at a time.

    from appeals.intake import read
    for item in read(Path("remit.835")):
        ...  # DenialRecord, or Reject with the reason

The format is read from the content. A file that cannot be used at all raises `InputError`;
anything smaller is a `Reject` and the rest of the batch goes on.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from appeals.intake.columns import ColumnMap, load_column_map
from appeals.intake.errors import InputError
from appeals.intake.source import detect_format, x12_kind
from appeals.models import (
    CANONICAL_FIELDS,
    PHI_FIELDS,
    DenialRecord,
    PlanType,
    Reject,
    name_key,
)

__all__ = [
    "INPUT_SUFFIXES",
    "REJECT_COLUMNS",
    "Batch",
    "ColumnMap",
    "InputError",
    "detect_format",
    "expand_inputs",
    "file_sha256",
    "load_column_map",
    "read",
    "rejects_csv",
    "write_rejects",
]

REJECT_COLUMNS = ("source", "location", "field", "message", "raw", "level")


def read(path: Path | str, columns: ColumnMap | Path | str | None = None,
         fmt: str | None = None, plan_type: str | None = None, claims: bool = False
         ) -> Iterator[DenialRecord | Reject]:
    """Records and rejects of one input file, lazily, in file order. `plan_type` is the plan
    type of a denial letter (its words never decide it); tables and 835s carry their own.
    `claims`: the file holds claims about to be sent (an 837P, or a table without denial
    columns), for `appeals scrub`."""
    # The readers load when a file is read: a command that only names an InputError (the store's,
    # the watch's) does not pay for them.
    from appeals.intake.jsonfile import read_json, read_jsonl
    from appeals.intake.letter import read_letter
    from appeals.intake.tabular import read_csv
    from appeals.intake.x12 import read_835
    from appeals.intake.x837 import read_837

    path = Path(path)
    if columns is not None and not isinstance(columns, ColumnMap):
        columns = load_column_map(Path(columns))
    if path.is_dir():
        raise InputError(f"{path}: a folder, not a file (give the folder to Batch or "
                         "`appeals run`, which read its input files)")
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        fmt = fmt or detect_format(path)
        if fmt == "x12":
            kind = x12_kind(path)
            if claims and kind != "837":
                raise InputError(f"an X12 {kind or 'file'} and not an 837 claim file: scrub "
                                 "reads claims about to be sent (837P, CSV or JSON)")
            if kind == "837" and not claims:
                raise InputError("an 837 claim file, not a remittance: check it before it goes "
                                 "out with `appeals scrub`")
            yield from read_837(path) if claims else read_835(path)
        elif fmt == "csv":
            yield from read_csv(path, columns, require_reason=not claims)
        elif fmt == "json":
            yield from read_json(path, columns, require_reason=not claims)
        elif fmt == "jsonl":
            yield from read_jsonl(path, columns, require_reason=not claims)
        elif fmt == "fhir" and not claims:
            from appeals.intake.fhir import read_fhir  # the FHIR models: loaded when used

            yield from read_fhir(path)
        elif fmt == "pdf" and not claims:
            # Not imported at the top: the worker runs that module as its main (`-m`).
            from appeals.intake.worker import read_letter_isolated

            yield from read_letter_isolated(path, plan_type)
        elif fmt == "letter" and not claims:
            yield from read_letter(path, plan_type)
        else:
            raise InputError(f"unknown format {fmt!r}")
    except InputError as exc:
        message = str(exc)
        raise InputError(message if message.startswith(str(path)) else f"{path}: {message}") \
            from None


#: What a folder given as input stands for: its files with these endings, sorted by name.
INPUT_SUFFIXES = (".835", ".837", ".x12", ".edi", ".txt", ".dat", ".csv", ".json", ".jsonl",
                  ".ndjson", ".pdf")


def expand_inputs(paths: Iterable[Path | str]) -> list[Path]:
    """The input files: a folder stands for its input files (not its subfolders), sorted."""
    out: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir()
                              if p.is_file() and p.suffix.lower() in INPUT_SUFFIXES))
        else:
            out.append(path)
    return out


class Batch:
    """Records of several inputs in order; rejects and unusable inputs are kept, never raised.

    An input that cannot be used at all (InputError), or of which no record could be read, is
    listed in `unusable` and the batch goes on with the next one; `on_error` hears of it at once.
    A file given twice (same bytes) is read once, and a record that repeats an earlier one
    field for field (the same export row in two files, or twice in one) is read once; each
    repeat is a warning naming the file it was first read from, or the claim and line.
    """

    def __init__(self, paths: Iterable[Path], columns: ColumnMap | Path | None = None,
                 on_error: Callable[[str], None] | None = None,
                 plan_type: str | None = None, claims: bool = False,
                 enrich: Callable[[DenialRecord], DenialRecord] | None = None) -> None:
        self.paths = expand_inputs(paths)
        self.columns = columns
        self.plan_type = plan_type  # of denial letters
        self.claims = claims  # claims about to be sent (appeals scrub), not denials
        self.on_error = on_error
        # The plan facts a record lacks, from the payer directory (Settings.enrich): given
        # here, so a line whose export's word for its plan type the map does not translate is
        # read when the directory knows the plan, and rejected only when nothing does.
        self.enrich = enrich
        # (field, export's word as a map matches it) -> [its first spelling, lines read with
        # the directory's value, lines rejected]
        self.unknown_values: dict[tuple[str, str], list] = {}
        self.rejects: list[Reject] = []
        self.records = 0
        self.unusable: list[str] = []
        # Each input's sha256 as read (None: unreadable), for the manifest to reuse.
        self.digests: dict[Path, str | None] = {}

    def __iter__(self) -> Iterator[DenialRecord]:
        files: dict[str, Path] = {}  # sha256 -> the first path with those bytes
        seen: set[int] = set()  # record fingerprints (a number a line: memory stays small)
        for path in self.paths:
            try:
                digest = file_sha256(path)
            except OSError:
                digest = None  # `read` says why
            self.digests[path] = digest
            if digest is not None and digest in files:
                self.rejects.append(Reject(
                    source=str(path), location="file", field="file",
                    message=f"the same bytes as {files[digest]}: read once", level="warning"))
                continue
            if digest is not None:
                files[digest] = path
            before, errors_before = self.records, self.errors
            try:
                for item in read(path, self.columns, plan_type=self.plan_type,
                                 claims=self.claims):
                    if isinstance(item, Reject):
                        self._count(item.field, item.value, rejected=True)
                        self.rejects.append(item)
                        continue
                    item = self._settled(item)
                    if item is None:
                        continue
                    # A claims batch keeps its repeats: the scrub reports them as duplicates.
                    key = None if self.claims else _fingerprint(item)
                    if key is not None and key in seen:
                        self.rejects.append(Reject(
                            source=item.source or str(path), location=item.location or "",
                            field="record", level="warning",
                            message=f"claim {item.claim_id!r} line {item.line_number} repeats an "
                                    "earlier line of this run field for field: read once"))
                        continue
                    seen.add(key)
                    self.records += 1
                    yield item
            except InputError as exc:
                self._unusable(str(exc))
                # and one line in the rejects file, so the week's list names every input
                self.rejects.append(Reject(source=str(path), location="file", field="file",
                                           message=str(exc).removeprefix(f"{path}: "),
                                           level="fatal"))
                continue
            if self.records == before and self.errors > errors_before:
                self._unusable(f"{path}: no record could be read")
        self.rejects.extend(self.value_report())

    def _settled(self, record: DenialRecord) -> DenialRecord | None:
        """The record with the directory's plan facts; None (and a reject) when a plan fact
        the export gave in words nobody knows is one the directory cannot supply either."""
        if self.enrich is not None:
            record = self.enrich(record)
        if not record.unread:
            return record
        missing = {name: raw for name, raw in record.unread.items()
                   if getattr(record, name) in (None, PlanType.unknown)}
        for name, raw in record.unread.items():
            self._count(name, raw, rejected=name in missing)
        if missing:
            name, raw = next(iter(missing.items()))
            self.rejects.append(Reject(
                source=record.source or "", location=record.location or "", field=name,
                message=f"{raw!r} is not a {name} the toolkit knows, and the payer directory "
                        f"has no {name} for payer {record.payer_name or '(none)'!r}: a value "
                        "map entry reads it (the run's list of unknown values suggests one)"))
            return None
        return record.model_copy(update={"unread": {}})

    def _count(self, name: str, value: str | None, rejected: bool) -> None:
        if value:
            self.unknown_values.setdefault((name, name_key(value)), [value, 0, 0])[
                1 + rejected] += 1

    def value_report(self) -> list[Reject]:
        """The export's words a field with a fixed list of values did not take, once each
        with how many lines said it and the column map entry that reads it."""
        if not self.unknown_values:
            return []
        from appeals.intake.propose import quoted, suggest  # rapidfuzz, only when needed

        out = []
        for (name, _key), (raw, kept, lost) in sorted(self.unknown_values.items()):
            said = [f"{kept} read with the payer directory's {name}" if kept else "",
                    f"{lost} rejected" if lost else ""]
            entry = f"values: {{{name}: {{{quoted(raw)}: {suggest(name, raw)}}}}}"
            out.append(Reject(
                source="(all inputs)", location=f"{kept + lost} lines", field=name,
                level="warning",
                message=f"{raw!r} is not a {name} the toolkit knows "
                        f"({'; '.join(s for s in said if s)}); to read it, add to the column "
                        f"map: {entry}"))
        return out

    @property
    def errors(self) -> int:
        return sum(r.level != "warning" for r in self.rejects)

    @property
    def failed(self) -> bool:
        """An input was unusable or damaged: the batch is incomplete (exit code 2)."""
        return bool(self.unusable) or any(r.level == "fatal" for r in self.rejects)

    def _unusable(self, message: str) -> None:
        self.unusable.append(message)
        if self.on_error is not None:
            self.on_error(message)


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in 1 MB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _fingerprint(record: DenialRecord) -> int:
    """The record's canonical fields as one number (where it was read is not part of it)."""
    return hash(tuple(getattr(record, name) if not isinstance(getattr(record, name), list)
                      else tuple(getattr(record, name)) for name in CANONICAL_FIELDS))


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula (`=HYPERLINK(...)` in a payer's
    reason) gets a leading apostrophe, so it opens as text; numbers are left alone."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


WITHHELD = "(withheld: --redact)"


def rejects_csv(rejects: Iterable[Reject], redact: bool = False) -> bytes:
    """The rejects as CSV (source, location, field, message, raw, level), UTF-8. `redact` drops
    the raw rows (they hold names, member ids, birth dates) and the message of a rejected
    person field (it quotes the value)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(REJECT_COLUMNS)
    for r in rejects:
        message, raw = r.message, r.raw
        if redact:
            raw = WITHHELD if raw else ""
            if r.field in PHI_FIELDS:
                message = f"not a valid {r.field} {WITHHELD}"
        writer.writerow([spreadsheet_cell(v) for v in
                         (r.source, r.location, r.field, message, raw, r.level)])
    return buf.getvalue().encode("utf-8")


def write_rejects(rejects: Iterable[Reject], path: Path) -> int:
    """Write the rejects CSV; returns how many were written."""
    rejects = list(rejects)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(rejects_csv(rejects))
    return len(rejects)
