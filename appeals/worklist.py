"""The worklist: one row per open appeal, in the order a billing team should work them.

An appeal of this run's input, or one carried over from earlier weeks in the case store; the
triage report reads the same row shape for each input line (`line_row`).

The priority score and its parts come from appeals/data/priority.yaml (a reviewer can change the
weights without a code release); every row carries `score_basis`, the score explained in words.
"""

from __future__ import annotations

import csv
import hashlib
import heapq
import io
import math
import os
import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from appeals.appeal import Appeal, Line
from appeals.compose.letters import filing_status
from appeals.intake import spreadsheet_cell
from appeals.law import LawResult
from appeals.models import Action, Classification, DenialRecord, payer_key
from appeals.overlay import data_model

#: Worklist columns, in order. PATIENT_COLUMNS are left out with --redact.
COLUMNS = (
    "priority", "urgent", "score", "score_basis", "status", "level", "readiness", "claim_id",
    "line_number", "lines", "patient_name",
    "member_id", "payer_name", "plan", "parity_applies", "service_date", "cpt_code",
    "level_of_care", "provider_name", "category", "reason", "adjustment_codes", "remark_codes",
    "denial_reason", "secondary", "confidence", "action", "owner",
    "fix_now", "fix_cause", "appeal_name", "filing", "deadline", "days_left", "decision_due",
    "deadline_rule", "billed",
    "paid", "at_stake", "letter_types", "nqtl", "checklist_due", "packet", "error", "source",
    "location",
)
PATIENT_COLUMNS = ("patient_name", "member_id")


@dataclass(slots=True)
class Row:
    """One row of the worklist (an appeal) or of the triage report (an input line): the columns,
    typed, made from the typed lines by `line_row`/`appeal_row` (or `failed_row`, or the store's
    `carried_over`), never parsed back; the run fills in status, packet and readiness."""

    claim_id: str = ""
    line_number: int = 1
    priority: int | None = None
    urgent: str = ""
    score: float = 0.0
    score_basis: str = ""
    status: str = ""
    level: str = ""
    readiness: str = ""
    lines: int = 1
    patient_name: str = ""
    member_id: str = ""
    payer_name: str = ""
    plan: str = ""
    plan_label: str = ""
    parity_applies: str = ""
    service_date: str = ""
    cpt_code: str = ""
    level_of_care: str = ""
    provider_name: str = ""
    category: str = ""
    reason: str = ""
    adjustment_codes: str = ""
    remark_codes: str = ""
    denial_reason: str = ""
    secondary: str = ""
    confidence: float | str = ""
    action: str = ""
    owner: str = ""
    fix_now: str = ""
    fix_cause: str = ""
    appeal_name: str = ""
    filing: str = ""
    deadline: date | None = None
    days_left: int | None = None
    decision_due: date | None = None
    deadline_rule: str = ""
    billed: Decimal = Decimal(0)
    paid: Decimal = Decimal(0)
    at_stake: Decimal = Decimal(0)
    letter_types: str = ""
    nqtl: str = ""
    nqtl_label: str = ""  # the report's words for the limit
    checklist_due: date | None = None
    packet: str = ""
    error: str = ""
    source: str = ""
    location: str = ""
    # The run's bookkeeping, never written to a file.
    line_index: int | None = None  # the line's index in the grouping (report rows)
    unit: int = -1  # the appeal's unit in the grouping (worklist rows)
    case_id: int | None = None  # the case store's case
    parity: bool = False  # its letter carries a parity section


class RowStatus(StrEnum):
    """What the run did for a row (the words are the worklist's and the report's); a case
    carried over from the store shows its case status (`store.lifecycle.Status`) instead."""

    written = "packet written"
    unchanged = "unchanged"
    failed = "failed"
    no_action = "no packet (no action)"


class PriorityError(ValueError):
    """priority.yaml is malformed; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Weights(_Strict):
    deadline: float = Field(ge=0)
    amount: float = Field(ge=0)
    likelihood: float = Field(ge=0)


class _Deadline(_Strict):
    horizon_days: int = Field(gt=0)
    unknown_share: float = Field(ge=0, le=1)


class _Amount(_Strict):
    amount_cap: Decimal = Field(gt=0)


class _Likelihood(_Strict):
    actions: dict[Action, float]
    appeal_categories: dict[str, float]
    default: float = Field(ge=0, le=1)
    prior_cases: int = Field(default=10, ge=1)


class Priority(_Strict):
    schema_version: int
    weights: _Weights
    deadline: _Deadline
    amount: _Amount
    likelihood: _Likelihood


@lru_cache(maxsize=4)
def load_priority(path: Path | None = None) -> Priority:
    return data_model(Priority, "priority.yaml", PriorityError, path)


#: (payer key, category) -> (won, decided): the practice's own outcomes, from the case store.
Outcomes = dict[tuple[str, str], tuple[int, int]]


def likelihood(classification: Classification, priority: Priority,
               learned: tuple[int, int] | None = None,
               reviewed: tuple[float, str] | None = None) -> tuple[float, str]:
    """How likely the work gets paid, and on what basis: the prior share for the action (or the
    appeal's category), updated Beta-binomially by the decided cases of this payer and category
    when the case store has them (the prior counts as `prior_cases` cases). `reviewed` (share,
    what it is), for an appeal at external review: the overturn share of the independent reviews
    like it the store holds (appeals/precedent/), which replaces the category's prior."""
    like = priority.likelihood
    prior = like.actions.get(classification.action)
    if prior is None:
        prior = like.appeal_categories.get(classification.category.value, like.default)
    said = f"prior {reviewed[0]:.0%} from {reviewed[1]}" if reviewed else "prior"
    if reviewed is not None:
        prior = reviewed[0]
    won, decided = learned or (0, 0)
    if not decided:
        if learned is None:
            return prior, f" ({said})" if reviewed else ""
        return prior, f" ({said}{'; ' if reviewed else ': '}no decided cases at this payer yet)"
    k = like.prior_cases
    share = (prior * k + won) / (k + decided)
    said = said if reviewed else f"prior {prior:.0%}"
    return share, f" ({said} as {k} cases + {won} won of {decided} decided here)"


def score(classification: Classification, days_left: int | None, at_stake: Decimal,
          priority: Priority, learned: tuple[int, int] | None = None,
          reviewed: tuple[float, str] | None = None) -> tuple[float, str]:
    """The priority score (0-100) and its parts in words."""
    if classification.action is Action.no_action:
        return 0.0, "no action needed"
    w, parts = priority.weights, []
    if days_left is None:
        urgency, why = priority.deadline.unknown_share, "deadline unknown"
    elif days_left < 0:
        urgency, why = 0.0, f"deadline passed {-days_left} d ago"
    else:
        urgency = max(0.0, 1 - days_left / priority.deadline.horizon_days)
        why = f"{days_left} d left"
    parts.append((w.deadline * urgency, why))
    cap = float(priority.amount.amount_cap)
    parts.append((w.amount * min(1.0, math.log1p(float(at_stake)) / math.log1p(cap)),
                  f"${at_stake:,.2f} at stake"))
    share, basis = likelihood(classification, priority, learned, reviewed)
    what = f"{classification.action.value}/{classification.category.value}"
    parts.append((w.likelihood * share, f"{what} success {share:.0%}{basis}"))
    total = round(sum(p for p, _ in parts), 1)
    return total, " + ".join(f"{why}: {p:.1f}" for p, why in parts)


def short_label(label: str) -> str:
    """A registry plan label short enough for a table cell: up to its first bracket or comma."""
    return label.split(" (")[0].split(",")[0]


FILING_WORDS = {
    "on_time": "on time", "late": "past the deadline: ask for good cause",
    "confirm": "confirm plan type (placeholder window)",
    "undated": "window not dated: read the notice or program rules", "none": "",
}


def filing_words(law: LawResult, as_of: date) -> str:
    """Where the line stands against its window, for the biller: urgent, on time, late, unknown."""
    words = FILING_WORDS[filing_status(law, as_of).state]
    if law.expedited is not None:
        return "URGENT: file the expedited appeal now" + (f"; {words}" if words else "")
    return words


def _row(lines: tuple[Line, ...], law: LawResult, as_of: date, priority: Priority,
         outcomes: Outcomes | None, deadline: date | None,
         reviewed: tuple[float, str] | None = None) -> Row:
    """The row of one line, or of an appeal (its lines summed): what the worklist and the triage
    report show. `law` is the lead line's, `deadline` the earliest of the lines'."""
    first = lines[0]
    record, classification = first.record, first.classification
    actionable = first.actionable
    days_left = (deadline - as_of).days if deadline else None
    stake = sum((ln.at_stake for ln in lines), Decimal(0))
    learned = None if outcomes is None else outcomes.get(
        (payer_key(record.payer_name), classification.category.value), (0, 0))
    total, basis = score(classification, days_left, stake, priority, learned, reviewed)
    dates = sorted({ln.record.service_date for ln in lines if ln.record.service_date})
    first_deadline = law.filing_deadline if actionable else None
    return Row(**{
        **_line_fields(record), "urgent": "yes" if actionable and law.expedited else "",
        "score": total, "score_basis": basis, "status": "",
        "level": first_deadline.level if first_deadline else "", "lines": len(lines),
        "plan": law.plan, "plan_label": short_label(law.parity.plan_label),
        "parity_applies": {True: "yes", False: "no"}.get(law.parity.applies, "unresolved"),
        "service_date": " to ".join(dict.fromkeys((dates[0].isoformat(), dates[-1].isoformat())))
        if dates else "",
        "level_of_care": record.level_of_care.value if record.level_of_care else "",
        "category": classification.category.value, "reason": first.reason,
        "adjustment_codes": ";".join(dict.fromkeys(c for ln in lines
                                                   for c in ln.record.adjustment_codes)),
        "remark_codes": ";".join(dict.fromkeys(c for ln in lines for c in ln.record.remark_codes)),
        "denial_reason": record.denial_reason or "",
        "secondary": ";".join(s.category.value for s in classification.secondary),
        "confidence": classification.confidence, "action": classification.action.value,
        "owner": classification.owner.value, "fix_now": classification.bucket.fix_now,
        "fix_cause": classification.bucket.fix_cause,
        "appeal_name": law.appeal_name if classification.action is Action.appeal else "",
        "filing": filing_words(law, as_of) if actionable else "",
        "deadline": deadline,
        "days_left": days_left,
        "deadline_rule": first_deadline.citation or "" if first_deadline else "",
        "billed": sum((ln.record.billed_amount or Decimal(0) for ln in lines), Decimal(0)),
        "paid": sum((ln.record.paid_amount or Decimal(0) for ln in lines), Decimal(0)),
        "at_stake": stake, "letter_types": ";".join(first.letter_kinds), "nqtl": first.limit,
    })


def line_row(line: Line, as_of: date, priority: Priority, outcomes: Outcomes | None = None
             ) -> Row:
    """The triage report's row of one input line; `outcomes` (from a case store) turn the fixed
    likelihoods into learned ones."""
    return _row((line,), line.law, as_of, priority, outcomes, line.deadline)


def appeal_row(appeal: Appeal, as_of: date, priority: Priority,
               outcomes: Outcomes | None = None, reviewed: tuple[float, str] | None = None
               ) -> Row:
    """The worklist's row of one appeal (status, packet and readiness are filled in by the run):
    its first line's facts, the lines' amounts summed, the earliest deadline; `reviewed`: the
    prior of an appeal at external review (`likelihood`)."""
    return _row(appeal.lines, appeal.lead.law, as_of, priority, outcomes, appeal.deadline,
                reviewed)


def _line_fields(record: DenialRecord) -> dict:
    """The columns that come straight from the record, for classified and failed rows alike."""
    return {"claim_id": record.claim_id, "line_number": record.line_number,
            "patient_name": record.patient_name or "", "member_id": record.member_id or "",
            "payer_name": record.payer_name or "", "cpt_code": record.cpt_code or "",
            "provider_name": record.provider_name or "",
            "billed": record.billed_amount or Decimal(0),
            "paid": record.paid_amount or Decimal(0),
            "source": record.source or "", "location": record.location or ""}


def failed_row(record: DenialRecord, error: str) -> Row:
    """The row of a line that could not be classified: listed, so it is not lost, at the end."""
    return Row(**_line_fields(record), score=0.0, score_basis="not classified",
               status=RowStatus.failed, error=error, category="other", reason=error,
               owner="billing", at_stake=record.amount_at_stake)


def order_key(row: Row) -> tuple:
    """Urgent care first (an expedited appeal is decided in hours: no score outranks it), then
    highest score; ties by nearest deadline, then claim and line (any input order)."""
    days = row.days_left
    return (not row.urgent, -row.score, days is None, days if days is not None else 0,
            row.claim_id, row.line_number, row.source, row.location)


class WorklistFile:
    """worklist.csv written a row at a time (into a temp file renamed at the end, so a reader
    never sees half of it), with its sha256 for the manifest."""

    def __init__(self, path: Path, redact: bool = False) -> None:
        self.path = path
        self._tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        self._file = self._tmp.open("wb")
        self._digest = hashlib.sha256()
        self._columns = [c for c in COLUMNS if not (redact and c in PATIENT_COLUMNS)]
        self._buf = io.StringIO()
        self._csv = csv.writer(self._buf, lineterminator="\n")
        self._emit(self._columns)

    def _emit(self, cells: list) -> None:
        self._csv.writerow(cells)
        data = self._buf.getvalue().encode("utf-8")
        self._buf.seek(0)
        self._buf.truncate()
        self._file.write(data)
        self._digest.update(data)

    def write(self, row: Row) -> None:
        self._emit(["" if (v := getattr(row, c)) is None else spreadsheet_cell(v)
                    for c in self._columns])

    def finish(self) -> str:
        """Rename into place; the file's sha256."""
        self._file.close()
        os.replace(self._tmp, self.path)
        return self._digest.hexdigest()

    def discard(self) -> None:
        self._file.close()
        self._tmp.unlink(missing_ok=True)


def _spool(path: Path, mode: str = "w+b"):
    """A temporary file readable by its user only (it may hold names and member ids)."""
    return os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600), mode)


class RowStore:
    """Worklist rows on disk, so memory does not grow with the lines of a run.

    A row is kept in memory while it can still change (its packet is being built) and written to
    a spool (readable by its user only; the run sweeps it) once `settle`d; its file offset stays
    in memory, and its order key until KEYS_IN_MEMORY keys are waiting, when they are sorted
    into a run file of their own. `ordered()` merges the runs and reads the rows back in
    worklist order; iterating gives them in arrival order.
    """

    KEYS_IN_MEMORY = 100_000

    def __init__(self, folder: Path, name: str = "rows") -> None:
        self.path = folder / f".{name}.tmp-{os.getpid()}"
        self._file = _spool(self.path)
        self._where: list[int | Row] = []  # an offset in the spool, or the row itself
        self._keys: list[tuple[tuple, int]] = []  # (order key, index) not yet in a run file
        self._runs: list[Path] = []

    def __len__(self) -> int:
        return len(self._where)

    def append(self, row: Row) -> int:
        index = len(self._where)
        self._where.append(row)
        self._keys.append((order_key(row), index))
        if len(self._keys) >= self.KEYS_IN_MEMORY:
            self._spill_keys()
        return index

    def _spill_keys(self) -> None:
        self._keys.sort()
        path = self.path.with_name(f"{self.path.name}.keys{len(self._runs)}")
        with _spool(path, "wb") as fh:
            for item in self._keys:
                pickle.dump(item, fh, protocol=pickle.HIGHEST_PROTOCOL)
        self._runs.append(path)
        self._keys = []

    @staticmethod
    def _read_run(path: Path) -> Iterator[tuple[tuple, int]]:
        with path.open("rb") as fh:
            while True:
                try:
                    yield pickle.load(fh)
                except EOFError:
                    return

    def __getitem__(self, index: int) -> Row:
        where = self._where[index]
        if isinstance(where, Row):
            return where
        self._file.seek(where)
        return pickle.load(self._file)

    def settle(self, index: int) -> None:
        """The row will not change again: to disk."""
        row = self._where[index]
        if isinstance(row, Row):
            self._file.seek(0, os.SEEK_END)
            self._where[index] = self._file.tell()
            pickle.dump(row, self._file, protocol=pickle.HIGHEST_PROTOCOL)

    def __iter__(self) -> Iterator[Row]:
        return (self[i] for i in range(len(self._where)))

    def ordered(self) -> Iterator[Row]:
        self._keys.sort()
        runs = [self._read_run(path) for path in self._runs]
        for n, (_, index) in enumerate(heapq.merge(*runs, self._keys), 1):
            row = self[index]
            row.priority = n
            yield row

    def close(self) -> None:
        self._file.close()
        for path in (self.path, *self._runs):
            path.unlink(missing_ok=True)
