"""`appeals facts import`: filled checklists in, facts out (the --facts YAML, the case store).

A file is imported whole or not at all: an invalid value (a measure out of range, a date in the
future) keeps every answer of that file out and is reported by item. An item ticked without the
clinician's words is reported too: the letter needs the words, not the tick.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml

from appeals.answers.checks import problems
from appeals.answers.read import AnswersError, read_returned
from appeals.compose.checklists import ATTESTATION
from appeals.yamltext import parse_yaml

SUFFIXES = (".pdf", ".docx")


@dataclass
class FileResult:
    path: Path
    case: str = ""
    sha256: str = ""
    imported: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # no words yet
    ticked_without_words: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and not self.problems


def expand(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        out.extend(sorted(f for f in p.rglob("*") if f.suffix.lower() in SUFFIXES
                          and not f.name.startswith((".", "~$"))) if p.is_dir() else [p])
    return out


def import_answers(paths: Iterable[Path], *, as_of: date, to: Path | None = None,
                   engine=None, who: str | None = None) -> list[FileResult]:
    """Read, check and import every file; facts merged into `to` and recorded on the store's
    cases. Returns one result per file, in order."""
    results: list[FileResult] = []
    facts: dict[str, dict[str, str]] = {}
    for path in expand(paths):
        result = FileResult(path=path)
        results.append(result)
        try:
            returned = read_returned(path)
        except (AnswersError, OSError) as exc:
            result.error = str(exc)
            continue
        result.case, result.sha256 = returned.case, returned.sha256
        result.problems = problems(returned, as_of)
        for item, answer in sorted(returned.answers.items()):
            if answer.text:
                result.imported[item] = answer.text
            else:
                result.missing.append(item)
                if answer.ticked:
                    result.ticked_without_words.append(item)
        if result.problems:
            result.imported = {}
            continue
        facts.setdefault(result.case, {}).update(result.imported)
    if to is not None and facts:
        merge_facts(to, facts)
    if engine is not None:
        _record(engine, [r for r in results if r.ok and r.imported], as_of, who)
    return results


def merge_facts(path: Path, facts: dict[str, dict[str, str]]) -> None:
    """Lay `facts` ({CLAIM-LINE: {item: text}}) over the YAML at `path` (the --facts format),
    item by item, and write it back atomically, readable by its owner only (it holds PHI)."""
    current: dict = {}
    if path.exists():
        current = parse_yaml(path.read_text(encoding="utf-8")) or {}
        if not isinstance(current, dict):
            raise AnswersError(f"{path}: not a facts file (expected claims mapped to answers)")
    for case, answers in facts.items():
        current.setdefault(case, {}).update(answers)
    text = yaml.safe_dump(current, sort_keys=True, allow_unicode=True, width=100)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w",
                   encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _record(engine, results: list[FileResult], as_of: date, who: str | None) -> None:
    """An event on each case: which answers came back, from which file (its sha256), signed by
    whom (the attestation item), so the history shows when the clinician's part arrived."""
    from appeals.store.cases import CaseError, note_facts

    for r in results:
        signer = who or r.imported.get(ATTESTATION, "").splitlines()[0][:100] or "clinician"
        try:
            note_facts(engine, r.case, on=as_of, who=signer,
                       note=f"{len(r.imported)} answers from {r.path.name} (sha256 "
                            f"{r.sha256[:16]}): {', '.join(sorted(r.imported))}")
        except CaseError as exc:
            r.error = f"answers read, but {exc}"
