"""A column map proposed from an export's own headers and values (`appeals columns FILE`).

Headers are matched against each field's name and the spellings of header_synonyms.yaml with
rapidfuzz (a well-kept fuzzy matcher: token order, punctuation and small misspellings are its
solved problem, not ours to redo); a header matched by nothing is left out and said. For the
fields whose values are a fixed list (plan type, funding, level of care, review type, network
status), each value of the sample the toolkit would refuse gets a suggested `values:` entry. The
proposal is printed as YAML to save and edit; the rows the saved map would still reject are
listed with why.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError
from rapidfuzz import fuzz, process

from appeals.intake.columns import FROM_DIRECTORY, ColumnMap, mappable_fields
from appeals.intake.tabular import VALUE_LISTS, sample_csv
from appeals.models import DenialRecord, Reject
from appeals.overlay import data_model

#: How alike a header and a spelling must be (rapidfuzz's 0-100) to be proposed.
CUTOFF = 86
SAMPLE_ROWS = 500
_PUNCT = re.compile(r"[^0-9a-z]+")


@dataclass
class Proposal:
    columns: dict[str, str] = field(default_factory=dict)  # header -> field
    unmatched: list[str] = field(default_factory=list)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)

    def yaml(self, name: str) -> str:
        lines = [f"# Proposed by `appeals columns` from {name}: check each line, then save it",
                 "# and give it to --columns. Headers with # or : stay in double quotes.",
                 f"name: {quoted(name)}", "columns:"]
        lines += [f"  {quoted(h)}: {f}   # {self.scores[h]:.0f}% alike"
                  for h, f in self.columns.items()]
        lines += [f"  # not matched: {quoted(h)}" for h in self.unmatched]
        if self.values:
            lines.append("values:")
            for fld, table in self.values.items():
                lines.append(f"  {fld}:")
                lines += [f"    {quoted(raw)}: {to}" for raw, to in table.items()]
        return "\n".join(lines) + "\n"


class _Synonyms(BaseModel):
    """appeals/data/header_synonyms.yaml: exports' words for each field, and for the values of
    the fields whose values are a fixed list."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_version: int
    fields: dict[str, list[str]]
    values: dict[str, dict[str, list[str]]] = {}


@lru_cache(maxsize=1)
def _synonyms() -> _Synonyms:
    return data_model(_Synonyms, "header_synonyms.yaml", ValueError)


@lru_cache(maxsize=1)
def _spellings() -> dict[str, str]:
    """Normalized spelling -> field: each field's own name and its synonyms."""
    known = mappable_fields()
    out: dict[str, str] = {}
    for fld, words in _synonyms().fields.items():
        if fld not in known:
            raise ValueError(f"appeals/data/header_synonyms.yaml: {fld!r} is no field a map "
                             "may name")
        for word in [fld.replace("_", " "), *words]:
            out.setdefault(_norm(word), fld)
    return out


def _norm(text: str) -> str:
    return " ".join(_PUNCT.sub(" ", text.casefold()).split())


def quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def propose(path: Path) -> Proposal:
    """The proposal for a CSV export's headers and first rows."""
    headers, rows = sample_csv(path, SAMPLE_ROWS)
    spellings, proposal, taken = _spellings(), Proposal(), set()
    for header in headers:
        found = process.extractOne(_norm(header), list(spellings), scorer=fuzz.token_sort_ratio,
                                   score_cutoff=CUTOFF)
        target = spellings[found[0]] if found else None
        if target is None or target in taken:
            proposal.unmatched.append(header)
            continue
        taken.add(target)
        proposal.columns[header] = target
        proposal.scores[header] = found[1]
    for header, target in proposal.columns.items():
        if target not in VALUE_LISTS:
            continue
        column = headers.index(header)
        seen = Counter(row[column].strip() for row in rows if len(row) > column)
        table = {raw: suggest(target, raw) for raw in sorted(seen)
                 if raw and not _accepted(target, raw)}
        if table:
            proposal.values[target] = table
    return proposal


def trial(path: Path, proposal: Proposal) -> list[Reject]:
    """What reading the file with the proposed map would reject (warnings aside)."""
    from appeals.intake import Batch  # the package reads this module: imported when used

    batch = Batch([path], ColumnMap(columns=proposal.columns, values=proposal.values))
    for _record in batch:
        pass
    return [r for r in batch.rejects if r.level != "warning"]


def _accepted(fld: str, value: str) -> bool:
    """Whether the record takes this value for the field (its own aliases included)."""
    try:
        DenialRecord.model_validate({"claim_id": "X", "denial_reason": "x", fld: value})
    except ValidationError:
        return False
    return True


def suggest(fld: str, raw: str) -> str:
    """A value the toolkit knows for an export's word: the plan type from the payer directory;
    else the field's value whose known spellings (header_synonyms.yaml `values:`) are closest,
    when close enough; else `say_which`, which a run refuses by name until it is edited."""
    if fld == "plan_type":
        return FROM_DIRECTORY
    spellings = _value_spellings().get(fld, {})
    found = process.extractOne(_norm(raw), list(spellings), scorer=fuzz.token_sort_ratio,
                               score_cutoff=CUTOFF)
    return spellings[found[0]] if found else SAY_WHICH


#: The proposal's word for "no guess": not a value of any field, so a run names it.
SAY_WHICH = "say_which"


@lru_cache(maxsize=1)
def _value_spellings() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for fld, table in _synonyms().values.items():
        out[fld] = {}
        for value, words in table.items():
            if not _accepted(fld, value):
                raise ValueError(f"appeals/data/header_synonyms.yaml: values: {fld}: {value!r} "
                                 "is not one of the field's values")
            for word in [value.replace("_", " "), *words]:
                out[fld].setdefault(_norm(word), value)
    return out
