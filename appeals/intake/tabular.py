"""CSV exports in the canonical schema, or renamed through a column map."""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from appeals.intake.columns import ColumnMap
from appeals.intake.errors import InputError, reject_from_validation
from appeals.models import CANONICAL_FIELDS, PLAN_FIELDS, DenialRecord, Reject

# A denial needs an identity and at least one statement of why it was denied.
REQUIRED = ("claim_id",)
ANY_OF = ("adjustment_codes", "remark_codes", "denial_reason")


def check_columns(headers: list[str], where: str, require_reason: bool = True) -> None:
    missing = [c for c in REQUIRED if c not in headers]
    if missing:
        raise InputError(f"{where}: missing required column {', '.join(missing)}"
                         " (use --columns MAP to rename an export's headers)")
    if require_reason and not any(c in headers for c in ANY_OF):
        raise InputError(f"{where}: needs at least one of the columns {', '.join(ANY_OF)}")


def to_record(row: dict, columns: ColumnMap | None, source: str, location: str,
              raw: str, require_reason: bool = True, renamed: bool = False
              ) -> DenialRecord | Reject:
    """Map one row (renamed, unknown columns kept in `extra`) to a record or a reject; a claim
    about to be sent (`require_reason=False`) needs no denial statement. `renamed`: the row's
    keys are the field names already (a CSV renames its header once, not every row)."""
    data: dict = dict(columns.defaults) if columns else {}
    extra: dict[str, str] = {}
    for key, value in row.items():
        if key is None:  # more cells than headers: an unquoted comma shifted the row
            return Reject(source=source, location=location, field="row",
                          message=f"{len(row) - 1 + len(value)} cells but {len(row) - 1} "
                                  "headers (an unquoted comma or delimiter in a value?)",
                          raw=raw)
        name = key if renamed else columns.rename(key) if columns else key.strip()
        if isinstance(value, str) and "\x00" in value:  # not text: a damaged cell, its row only
            return Reject(source=source, location=location, field=name,
                          message="a NUL byte in the value (a damaged or binary cell)",
                          raw=raw.replace("\x00", "\\0"))
        if columns is not None and name in columns.values:
            value = columns.value(name, value)
            if value is None:  # from_directory: the payer directory says
                data.pop(name, None)
                continue
        if name in CANONICAL_FIELDS:
            if value not in (None, "") or name not in data:
                data[name] = value
        elif name in ("extra", "source", "location", "warnings"):
            continue
        elif value not in (None, ""):
            extra[name] = value if isinstance(value, str) else str(value)
    if require_reason and not any(str(data.get(name) or "").strip() for name in ANY_OF):
        return Reject(source=source, location=location, field=ANY_OF[0],
                      message=f"{', '.join(ANY_OF)} are all empty: a denial needs at least one",
                      raw=raw[:500])
    data["extra"] = extra
    data["source"] = source
    data["location"] = location
    try:
        return DenialRecord.model_validate(data)
    except ValidationError as exc:
        failed = sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]} & set(PLAN_FIELDS))
        if failed:
            # The export's word for a plan fact the directory may supply: read the line without
            # it (Batch rejects the line if the directory has nothing either); what else is
            # wrong with the row is its reject.
            unread = {name: str(data.pop(name)) for name in failed}
            try:
                return DenialRecord.model_validate({**data, "unread": unread})
            except ValidationError as again:
                exc = again
        reject = reject_from_validation(exc, source, location, raw)
        if reject.field in VALUE_LISTS and isinstance(data.get(reject.field), str):
            reject.value = data[reject.field].strip()
        return reject


#: Fields whose values are a fixed list: an export's other words for them are counted once a
#: run, with the value-map entry that reads them (Batch.value_report).
VALUE_LISTS = ("plan_type", "plan_funding", "level_of_care")


# A row is bounded: a quoted field may span lines (a reason with line breaks), but not without
# limit. Past these, or when a line inside a quoted field reads as a whole row of its own (the
# signature of a lost closing quote), the row is rejected with its line number and reading
# starts again on the line after the row's first: no later row is swallowed.
MAX_ROW_LINES = 20
MAX_ROW_CHARS = 1_000_000


class _DecodedLines:
    """A CSV's lines decoded one by one: UTF-8, else Windows-1252, else Latin-1. One row saved by
    a Windows tool in an otherwise UTF-8 export is read right, and only that row; reading the
    whole file as Latin-1 garbled every other patient's name. The rows that needed a fallback
    are named in a warning."""

    def __init__(self, fh) -> None:
        self._fh = fh
        self._number = 0
        self.fallbacks: dict[str, list[int]] = {}

    def readline(self) -> str:
        data = self._fh.readline()
        self._number += 1
        if self._number == 1:
            data = data.removeprefix(b"\xef\xbb\xbf")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        for encoding in ("cp1252", "latin-1"):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                continue
            self.fallbacks.setdefault(encoding, []).append(self._number)
            return text
        raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


class _RowOverrun(Exception):
    """The row being read ran past a bound; `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Lines:
    """Physical lines for csv.reader, numbered, with the current row's lines kept so a bad row
    can be rejected whole and the lines after its first read again."""

    def __init__(self, fh: TextIO, delimiter: str, width: int, lines_before: int) -> None:
        self._fh = fh
        self._replay: deque[tuple[int, str]] = deque()
        self._number = lines_before  # lines already read (the header)
        self._row_delims = max(width - 1, 2)  # a line with this many delimiters is a whole row
        self._delimiter = delimiter
        self.row: list[tuple[int, str]] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self._replay:
            number, line = self._replay.popleft()
        else:
            line = self._fh.readline()
            if not line:
                raise StopIteration
            self._number += 1
            number = self._number
        self.row.append((number, line))
        if len(self.row) > 1:
            if len(self.row) > MAX_ROW_LINES:
                raise _RowOverrun(f"a quoted value runs over more than {MAX_ROW_LINES} lines "
                                  "(a closing quote missing?)")
            if sum(len(text) for _, text in self.row) > MAX_ROW_CHARS:
                raise _RowOverrun(f"the row is longer than {MAX_ROW_CHARS:,} characters")
            # A line that closes the open quote (an odd count of quotes) is the end of the value,
            # however many delimiters follow; one that does not, with a row's worth of them, is
            # a row of its own that a lost closing quote swallowed.
            if line.count('"') % 2 == 0 and line.count(self._delimiter) >= self._row_delims:
                raise _RowOverrun(f"a quoted value opened on line {self.row[0][0]} takes in "
                                  f"line {number}, which reads as a row of its own (a closing "
                                  "quote missing?)")
        return line

    def take_row(self) -> list[tuple[int, str]]:
        row, self.row = self.row, []
        return row

    def resume_after_first(self, row: list[tuple[int, str]]) -> None:
        """Read again every line of a rejected row but its first."""
        self._replay.extendleft(reversed(row[1:]))


def _header(fh: _DecodedLines) -> tuple[str, list[str]]:
    """The delimiter and the header row's cells. Only the delimiter is sniffed; quoting stays
    standard (RFC 4180 doubling)."""
    first = fh.readline()
    try:
        delimiter = csv.Sniffer().sniff(first, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    return delimiter, next(csv.reader([first], delimiter=delimiter), [])


def sample_csv(path: Path, rows: int) -> tuple[list[str], list[list[str]]]:
    """An export's header cells and its first `rows` rows' cells, decoded and split as
    read_csv does (`appeals columns` proposes a map from them)."""
    with path.open("rb") as raw_fh:
        fh = _DecodedLines(raw_fh)
        delimiter, fieldnames = _header(fh)
        reader = csv.reader(iter(fh.readline, ""), delimiter=delimiter)
        return fieldnames, [cells for _, cells in zip(range(rows), reader, strict=False)]


def read_csv(path: Path, columns: ColumnMap | None = None,
             require_reason: bool = True) -> Iterator[DenialRecord | Reject]:
    """Every data row ends as one record or one reject, in file order.

    Raw rows are kept whole in rejects (for the rejects file); a row with more cells than headers
    is rejected rather than shifted; a bounded row (see MAX_ROW_LINES) never swallows the next.
    """
    source = str(path)
    csv.field_size_limit(max(csv.field_size_limit(), MAX_ROW_CHARS + 1))
    with path.open("rb") as raw_fh:
        fh = _DecodedLines(raw_fh)
        delimiter, fieldnames = _header(fh)
        headers = [columns.rename(h) if columns else h.strip() for h in fieldnames]
        if not any(headers):
            raise InputError("the file is empty")
        present = headers + (list(columns.defaults) if columns else [])
        check_columns(present, "header row", require_reason)
        once = len(set(headers)) == len(headers)
        lines = _Lines(fh, delimiter, len(fieldnames), lines_before=1)
        while True:
            reader = csv.reader(lines, delimiter=delimiter)
            try:
                for cells in reader:
                    row = lines.take_row()
                    if not any(cell.strip() for cell in cells):
                        continue  # a blank line is not a row
                    location = f"row {row[0][0]}" if len(row) == 1 else \
                        f"rows {row[0][0]}-{row[-1][0]}"
                    raw = "".join(text for _, text in row).rstrip("\r\n")
                    if once:
                        yield to_record(dict(_pairs(headers, cells)), columns, source,
                                        location, raw, require_reason, renamed=True)
                    else:  # two headers for one field: the row's own rule picks the value
                        yield to_record(dict(_pairs(fieldnames, cells)), columns, source,
                                        location, raw, require_reason)
            except (_RowOverrun, csv.Error) as exc:
                row = lines.take_row()
                reason = exc.reason if isinstance(exc, _RowOverrun) else f"unreadable row: {exc}"
                yield Reject(source=source, location=f"row {row[0][0]}", field="row",
                             message=reason, raw=row[0][1].rstrip("\r\n")[:500])
                lines.resume_after_first(row)
                continue
            break
        names = {"cp1252": "Windows-1252", "latin-1": "Latin-1"}
        for encoding, numbers in fh.fallbacks.items():
            shown = ", ".join(map(str, numbers[:20])) + (" ..." if len(numbers) > 20 else "")
            where = f"line {shown}" if len(numbers) == 1 else f"lines {shown}"
            yield Reject(source=source, location=where, field="encoding",
                         message=f"not UTF-8: read as {names[encoding]}; check the names on "
                                 f"{'it' if len(numbers) == 1 else 'them'}", level="warning")


def _pairs(fieldnames: list[str], cells: list[str]) -> Iterator[tuple[str | None, object]]:
    """Header -> cell pairs as csv.DictReader makes them: missing cells are None, extra cells
    are listed under the key None."""
    for i, name in enumerate(fieldnames):
        yield name, cells[i] if i < len(cells) else None
    if len(cells) > len(fieldnames):
        yield None, cells[len(fieldnames):]
