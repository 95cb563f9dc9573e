"""The unit of work: an appeal, the denied lines of one claim (or one episode of care) that one
letter argues together.

    line = assess(record, settings)          # typed, frozen: what every stage decided, once
    for unit in Grouper(settings.org.group_by).add_all(lines).units(): ...  # Appeal | Line

A payer decides one appeal per claim, and a clinician fills one checklist for it: a four-day IOP
claim denied for missing authorization is one letter listing the four dates and their total, not
four letters. The grouping rule is data (appeals/data/grouping.yaml): which facts the lines of one
appeal share. Lines of one claim that disagree on the payer, the member or the patient never
share an appeal, and the claim is named in a warning. The lines wait in a temporary SQLite file,
not in memory, so grouping a million lines costs the same memory as grouping ten.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import sqlite3
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from appeals.classify import classify
from appeals.classify.rules import load_code_table
from appeals.compose.letters import (
    DOC_REQUEST,
    authorization_status,
    has_parity_section,
    letter_types,
)
from appeals.compose.limits import limit_at_issue
from appeals.law import LawResult, plan_facts
from appeals.models import (
    Action,
    Category,
    Classification,
    DenialRecord,
    Precedent,
    payer_key,
)
from appeals.overlay import data_model
from appeals.settings import Settings

GroupBy = Literal["claim", "episode"]


@dataclass(frozen=True)
class Line:
    """One service line as the stages decided it, made once by `assess` and never recomputed."""

    record: DenialRecord
    classification: Classification
    law: LawResult
    letter_kinds: tuple[str, ...]
    #: The limit at issue (limit_types.yaml id) of a parity-related line, else "".
    limit: str
    #: What the record's dates say of its authorization (compose.letters.authorization_status).
    authorization: str
    #: The denial reason a person groups by (`reason`): the code behind the category in words.
    reason: str

    @property
    def actionable(self) -> bool:
        """Work for the practice (a packet): an appeal or a corrected claim."""
        return self.classification.action is not Action.no_action

    @property
    def deadline(self) -> date | None:
        """The date to file by: an urgent case's expedited window where the program sets one,
        else the first level's (corrected claims are dated by the same window)."""
        first = self.law.filing_deadline if self.actionable else None
        return first.file_by if first else None

    @property
    def at_stake(self) -> Decimal:
        return self.record.amount_at_stake if self.actionable else Decimal(0)


def assess(record: DenialRecord, settings: Settings,
           clock: dict[str, float] | None = None) -> Line:
    """Classify one (enriched) line and work out its law, letters and limit at issue; the
    seconds spent go into `clock` ("classify", "law") when given."""
    t1 = time.perf_counter()
    verdict = classify(record, settings.rules)
    t2 = time.perf_counter()
    law = settings.law(plan_facts(record))
    if clock is not None:
        clock["classify"] = clock.get("classify", 0.0) + t2 - t1
        clock["law"] = clock.get("law", 0.0) + time.perf_counter() - t2
    return line_of(record, verdict, law, settings.rules.table)


def line_of(record: DenialRecord, verdict: Classification, law: LawResult,
            codes: dict | None = None) -> Line:
    """The line a classification and a law result make: its letters, limit, authorization and
    reason (`codes`: the run's CARC/RARC table)."""
    actionable = verdict.action is not Action.no_action
    kinds = tuple(letter_types(verdict, law, record.review_type)) if actionable else ()
    parity_related = verdict.category is Category.parity_nqtl or DOC_REQUEST in kinds
    limit = limit_at_issue(record, verdict) if parity_related else None
    return Line(record, verdict, law, kinds, limit.id if limit else "",
                authorization_status(record, verdict), reason(record, verdict, codes))


def reason(record: DenialRecord, classification: Classification,
           table: dict | None = None) -> str:
    """The denial reason a person would group by: the adjustment code behind the category, in
    words; else the first code that is not the patient's share; else the payer's own words."""
    table = load_code_table() if table is None else table
    codes = [(c, table.get(("CARC", c.partition("-")[2]))) for c in record.adjustment_codes]
    pick = next((c for c in codes if c[1] and c[1].category == classification.category.value),
                None) or next((c for c in codes if not c[0].startswith("PR-")), None)
    if pick is not None:
        return f"{pick[0]}: {pick[1].short_meaning}" if pick[1] else pick[0]
    text = " ".join((record.denial_reason or "").split())
    if text:
        return f'"{text[:70]}..."' if len(text) > 70 else f'"{text}"'
    return "no code or reason given"


@dataclass(frozen=True)
class Appeal:
    """The lines one letter argues, in claim and line order; the lead line is the one whose
    window closes first (its law dates the letter), the first line names the folder."""

    key: str
    lines: tuple[Line, ...]
    #: The grouping's unit (the index of its first line in input order); -1 outside a Grouper.
    unit: int = -1
    #: The clinician checklist's due date the case store set when it was first asked for: a
    #: re-export of the same denial never moves it later.
    checklist_due: date | None = None
    #: sha256 of what the claim rule compares, of its first line (`claim_group`); "" outside a
    #: Grouper. The case store finds the open appeal a later line of the same claim joins by it.
    claim_group: str = ""
    #: What independent reviewers decided in reviews like this one (the case store's imported
    #: decisions, appeals/precedent/): its letter cites the count where external review applies.
    precedent: Precedent | None = None

    @property
    def first(self) -> Line:
        return self.lines[0]

    @property
    def lead(self) -> Line:
        return min(self.lines, key=lambda ln: (ln.deadline is None, ln.deadline or date.min,
                                               ln.record.claim_id, ln.record.line_number))

    @property
    def records(self) -> list[DenialRecord]:
        return [ln.record for ln in self.lines]

    @property
    def claims(self) -> list[str]:
        return list(dict.fromkeys(ln.record.claim_id for ln in self.lines))

    @property
    def deadline(self) -> date | None:
        """The earliest of the lines' deadlines."""
        return self.lead.deadline

    @property
    def deadlines_differ(self) -> bool:
        return len({ln.deadline for ln in self.lines}) > 1

    @property
    def parity_section(self) -> bool:
        """Its letter carries a parity section (the composer's own condition, on the same
        line and law): a compliance reviewer approves it before it is sent."""
        first = self.first
        return has_parity_section(self.lead.law,
                                  limit_at_issue(first.record, first.classification))

    @property
    def billed(self) -> Decimal:
        return sum((ln.record.billed_amount or Decimal(0) for ln in self.lines), Decimal(0))

    @property
    def paid(self) -> Decimal:
        return sum((ln.record.paid_amount or Decimal(0) for ln in self.lines), Decimal(0))

    @property
    def at_stake(self) -> Decimal:
        return sum((ln.at_stake for ln in self.lines), Decimal(0))


def with_lines(appeal: Appeal, more: Iterable[Line]) -> Appeal:
    """The appeal with more of its lines (those an earlier week's input carried), in the same
    order as the grouping gives them; its key and unit stay."""
    return replace(appeal, lines=_ordered([*appeal.lines, *more]))


def with_only(appeal: Appeal, lines: Iterable[Line]) -> Appeal:
    """Some of the appeal's lines as an appeal (named by its own first line), same unit."""
    kept = _ordered(list(lines))
    return replace(appeal, key=appeal_key(kept), lines=kept)


def single(line: Line) -> Appeal:
    """A line as an appeal of its own (`appeals packet` on one record, tests)."""
    return Appeal(appeal_key([line]), (line,))


def appeal_key(lines: list[Line] | tuple[Line, ...]) -> str:
    """The appeal's name in the case store, stable across weeks: payer, the first line's claim and
    line, and the category (an episode is named by its first claim line too)."""
    first = lines[0].record
    return "|".join(("appeal", payer_key(first.payer_name), first.claim_id,
                     str(first.line_number), lines[0].classification.category.value))


# --------------------------------------------------------------------------- the grouping rule

class GroupingError(ValueError):
    """grouping.yaml is malformed; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


FACETS = ("payer", "claim_id", "member_id", "patient", "provider", "plan", "category",
          "level_of_care", "authorization", "review_type")


class _Rule(_Strict):
    same: list[Literal[FACETS]] = Field(min_length=1)  # type: ignore[valid-type]


class _Episode(_Rule):
    gap_days: int = Field(ge=0, le=60)
    same_authorization: bool = True


class GroupingRules(_Strict):
    schema_version: int
    #: Facts that identify the person and the payer: lines of one claim that disagree on them are
    #: kept apart and the claim is named in a warning.
    identity: list[Literal[FACETS]]  # type: ignore[valid-type]
    claim: _Rule
    episode: _Episode


@lru_cache(maxsize=4)
def load_grouping(path: Path | None = None) -> GroupingRules:
    return data_model(GroupingRules, "grouping.yaml", GroupingError, path)


def _person(name: str | None) -> str:
    """A patient's name compared in any order and case: "SAMPLE, CLIENT" is "Client Sample"."""
    words = "".join(ch if ch.isalnum() else " " for ch in (name or "").casefold()).split()
    return " ".join(sorted(words))


def claim_group(line: Line, rules: GroupingRules) -> str:
    """The claim rule's facts of a line, hashed: equal for lines one claim appeal may hold."""
    return hashlib.sha256("\x1f".join(facet(line, f) for f in rules.claim.same).encode()
                          ).hexdigest()


def facet(line: Line, name: str) -> str:
    """One fact of a line as the grouping rule compares it."""
    rec = line.record
    match name:
        case "payer":
            return payer_key(rec.payer_name)
        case "claim_id":
            return rec.claim_id
        case "member_id":
            return (rec.member_id or "").strip().casefold()
        case "patient":
            return _person(rec.patient_name)
        case "provider":
            return rec.provider_npi or " ".join((rec.provider_name or "").split()).casefold()
        case "plan":
            return line.law.plan
        case "category":
            return line.classification.category.value
        case "level_of_care":
            return rec.level_of_care.value if rec.level_of_care else ""
        case "authorization":
            return line.authorization
        case "review_type":
            return rec.review_type or ""
    raise KeyError(name)


# --------------------------------------------------------------------------- grouping

#: Law results the grouper recognises by identity at once (a run's lines share far fewer).
LAWS_HELD = 1024

_SCHEMA = """
CREATE TABLE lines (idx INTEGER PRIMARY KEY, unit INTEGER, gkey TEXT, claim TEXT, ident TEXT,
                    day INTEGER, auth TEXT, rec TEXT, cls TEXT, rest TEXT, law INTEGER,
                    status TEXT, packet TEXT);
CREATE TABLE laws (id INTEGER PRIMARY KEY, payload BLOB);
"""


@dataclass
class Grouper:
    """Lines in, units out: an `Appeal` for each group of actionable lines, the other lines one
    by one, ordered by each unit's first line in input order (so the output does not depend on
    how the input was sorted within a claim, and a re-run gives the same units).

    Lines are kept in a temporary SQLite file (readable by its user only: it holds names) that is
    removed on close."""

    group_by: GroupBy = "claim"
    rules: GroupingRules = field(default_factory=load_grouping)
    folder: Path | None = None
    warnings: list[tuple[DenialRecord, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        fd, name = tempfile.mkstemp(prefix=".group.tmp-", suffix=".sqlite",
                                    dir=self.folder)  # mkstemp: mode 0600
        os.close(fd)
        self.path = Path(name)
        self._db = sqlite3.connect(self.path)
        self._db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _SCHEMA)
        self._count = 0
        self._rule = self.rules.claim if self.group_by == "claim" else self.rules.episode
        self._batch: list[tuple] = []
        self._laws: dict[int, int] = {}  # id() of a law result -> its row in `laws`
        self._kept: list[LawResult] = []  # held, so no id() in `_laws` is reused meanwhile
        self._law_rows = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return self._count

    def add(self, line: Line) -> int:
        """Keep one line; its index (input order)."""
        index = self._count
        self._count += 1
        law = self._laws.get(id(line.law))
        if law is None:  # the lines of a remittance share a few law results: each kept once
            if len(self._kept) >= LAWS_HELD:  # forget (ids may then be reused): memory stays flat
                self._laws.clear()
                self._kept.clear()
            law = self._laws[id(line.law)] = self._law_rows
            self._law_rows += 1
            self._kept.append(line.law)
            self._db.execute("INSERT INTO laws VALUES (?, ?)",
                             (law, pickle.dumps(line.law, protocol=pickle.HIGHEST_PROTOCOL)))
        payload = _dump(line)
        if line.actionable:
            rec = line.record
            gkey = "\x1f".join(facet(line, f) for f in self._rule.same)
            claim = f"{rec.claim_id}\x1f{line.classification.category.value}"
            ident = "\x1f".join(facet(line, f) for f in self.rules.identity)
            day = rec.service_date.toordinal() if rec.service_date else None
            self._batch.append((index, None, gkey, claim, ident, day, rec.auth_number or "",
                                *payload, law, None, None))
        else:
            self._batch.append((index, index, None, None, None, None, None, *payload, law, None,
                                None))
        if len(self._batch) >= 5000:
            self._flush()
        return index

    def add_all(self, lines: Iterable[Line]) -> Grouper:
        for line in lines:
            self.add(line)
        return self

    def _flush(self) -> None:
        if self._batch:
            self._db.executemany("INSERT INTO lines VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                 self._batch)
            self._batch = []

    def _assign(self) -> None:
        """Give every actionable line its unit: the index of its group's first line."""
        self._flush()
        db = self._db
        db.execute("CREATE INDEX by_group ON lines (gkey, day, idx) WHERE gkey IS NOT NULL")
        updates: list[tuple[int, int]] = []
        gap = self.rules.episode.gap_days if self.group_by == "episode" else None
        same_auth = self.rules.episode.same_authorization
        current: tuple | None = None  # (gkey, unit, last day, auth)
        order = "gkey, day, idx" if gap is not None else "gkey, idx"
        for idx, gkey, day, auth in db.execute(
                f"SELECT idx, gkey, day, auth FROM lines WHERE gkey IS NOT NULL ORDER BY {order}"):
            joins = current is not None and current[0] == gkey and (
                gap is None or (day is not None and current[2] is not None
                                and day - current[2] <= gap)
                or (same_auth and auth and auth == current[3]))
            if not joins:  # a new group, named for now by its first line in this order
                current = (gkey, idx, day, auth)
            else:
                current = (gkey, current[1], max(day or 0, current[2] or 0) or None,
                           current[3] or auth)
            updates.append((current[1], idx))
            if len(updates) >= 50_000:
                db.executemany("UPDATE lines SET unit = ? WHERE idx = ?", updates)
                updates = []
        db.executemany("UPDATE lines SET unit = ? WHERE idx = ?", updates)
        db.execute("CREATE INDEX by_unit ON lines (unit, idx)")
        if gap is not None:  # an episode (ordered by date) is named by its first line by input
            db.execute("UPDATE lines SET unit = (SELECT MIN(l2.idx) FROM lines l2 "
                       "WHERE l2.unit = lines.unit) WHERE gkey IS NOT NULL")
        self._warn()

    def _warn(self) -> None:
        """Name each claim whose lines of one category disagree on payer, member or patient."""
        for claim, first in self._db.execute(
                "SELECT claim, MIN(idx) FROM lines WHERE claim IS NOT NULL GROUP BY claim "
                "HAVING COUNT(DISTINCT ident) > 1 ORDER BY MIN(idx)"):
            (payload,) = self._db.execute("SELECT rec FROM lines WHERE idx = ?",
                                          (first,)).fetchone()
            rec = DenialRecord.model_validate_json(payload)
            self.warnings.append((rec, (f"claim {rec.claim_id}: its denied lines name different "
                                       "patients, members or payers; they are kept as separate "
                                       "appeals (check the claim's lines)")))

    def units(self) -> Iterator[Appeal | Line]:
        """Appeals and lone lines, by their first line's input order."""
        self._assign()
        group: list[Line] = []
        unit = None
        laws: dict[int, LawResult] = {}
        for this, rec, cls, rest, law in self._db.execute(
                "SELECT unit, rec, cls, rest, law FROM lines ORDER BY unit, idx"):
            if law not in laws:
                laws[law] = pickle.loads(self._db.execute(
                    "SELECT payload FROM laws WHERE id = ?", (law,)).fetchone()[0])
            line = _load(rec, cls, rest, laws[law])
            if not line.actionable:
                if group:
                    yield self._appeal(group, unit)
                    group = []
                yield line
                unit = None
                continue
            if this != unit and group:
                yield self._appeal(group, unit)
                group = []
            unit = this
            group.append(line)
        if group:
            yield self._appeal(group, unit)

    def _appeal(self, lines: list[Line], unit: int | None) -> Appeal:
        ordered = _ordered(lines)
        return Appeal(appeal_key(ordered), ordered, -1 if unit is None else unit,
                      claim_group=claim_group(ordered[0], self.rules))

    def mark(self, unit: int, status: str, packet: str) -> None:
        """What became of an appeal (its status and packet folder), for each of its lines."""
        self._db.execute("UPDATE lines SET status = ?, packet = ? WHERE unit = ?",
                         (status, packet, unit))

    def outcome(self, index: int) -> tuple[str | None, str | None]:
        """(status, packet) of the appeal the line at `index` belongs to (None: not marked)."""
        row = self._db.execute("SELECT status, packet FROM lines WHERE idx = ?",
                               (index,)).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def close(self) -> None:
        self._db.close()
        self.path.unlink(missing_ok=True)


def _dump(line: Line) -> tuple[str, str, str]:
    """A line as the grouper keeps it (its law apart): JSON, which pydantic writes and reads in
    a third of the time pickle takes for these models. The record's warnings travel beside it, so
    reading it back (which checks it again) neither loses nor repeats one."""
    return (line.record.model_dump_json(exclude={"warnings"}),
            line.classification.model_dump_json(),
            json.dumps([line.record.warnings, line.letter_kinds, line.limit, line.authorization,
                        line.reason]))


def _load(rec: str, cls: str, rest: str, law: LawResult) -> Line:
    warnings, kinds, limit, authorization, why = json.loads(rest)
    record = DenialRecord.model_validate_json(rec)
    record.warnings = warnings
    return Line(record, Classification.model_validate_json(cls), law, tuple(kinds), limit,
                authorization, why)


def _ordered(lines: list[Line]) -> tuple[Line, ...]:
    return tuple(sorted(lines, key=lambda ln: (ln.record.service_date or date.min,
                                               ln.record.claim_id, ln.record.line_number)))


def group(lines: Iterable[Line], group_by: GroupBy = "claim",
          folder: Path | None = None) -> list[Appeal | Line]:
    """Lines grouped into appeals (and the lines that need no work, as they are): a list, for a
    Python caller with a few lines; a run streams `Grouper.units()` instead."""
    with Grouper(group_by, folder=folder) as grouper:
        return list(grouper.add_all(lines).units())
