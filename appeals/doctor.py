"""`appeals doctor`: is this machine and this store fit for the week's run?

Each check says what it found in one line. It loads every data file a run loads (so a reviewer's
override with a typo is found before Monday's run, not in it), looks for the programs the
pipeline starts (Tesseract for scanned letters, the letter worker under its memory cap), renders
one PDF, and opens the case store: migrated, owner-only on disk, and no run left "unfinished"
after its process is gone (those are closed as abandoned, as the next run would).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

OK, WARN, FAIL = "ok", "warning", "failed"


@dataclass(frozen=True)
class Check:
    name: str
    state: str  # ok | warning | failed
    detail: str


def checkup(db: str | None = None, *, store: bool = True, **files: Path | None) -> list[Check]:
    """Every check, in order. `files`: the settings files a run is given (rules, registry, org,
    payers, facts, templates), checked as the run would load them; `store=False` leaves the
    case store alone."""
    checks = [_data_files(files), _tesseract(), _letter_worker(), _pdf_render()]
    if store:
        checks += _store(db)
    return checks


def _guarded(name: str, probe: Callable[[], tuple[str, str]]) -> Check:
    try:
        state, detail = probe()
    except Exception as exc:  # noqa: BLE001 (a check that breaks is that check's finding)
        return Check(name, FAIL, f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
    return Check(name, state, detail)


def _data_files(files: dict[str, Path | None]) -> Check:
    def probe() -> tuple[str, str]:
        from appeals.appeal import load_grouping
        from appeals.classify.rules import load_code_table
        from appeals.compose.measures import load_measures
        from appeals.compose.settings import load_biller_fields
        from appeals.escalate import load_regulators
        from appeals.intake.caps import caps
        from appeals.intake.columns import mappable_fields
        from appeals.intake.fhir import pas
        from appeals.intake.letter import load_letter_spec
        from appeals.models import limits
        from appeals.precedent import load_rules as load_precedent_rules
        from appeals.scrub.rules import load_scrub_rules
        from appeals.settings import Settings
        from appeals.worklist import load_priority

        Settings.load(**files)  # rules, registry, checklists, and the practice's own files
        for load in (load_code_table, load_measures, load_biller_fields, load_regulators,
                     load_letter_spec, load_grouping, load_priority, load_scrub_rules, limits,
                     caps, mappable_fields, pas, load_precedent_rules):
            load()
        given = [f"{k} {v}" for k, v in files.items() if v is not None]
        return OK, "every data file loads and validates" + (
            f" (with {', '.join(given)})" if given else "")

    return _guarded("data files", probe)


def _tesseract() -> Check:
    from appeals.intake.pdf import tesseract_available

    if tesseract_available():
        return Check("OCR (Tesseract)", OK, "found: scanned letters can be read")
    return Check("OCR (Tesseract)", WARN, "not installed (Debian: tesseract-ocr): a scanned "
                 "letter will be one reject")


def _letter_worker() -> Check:
    def probe() -> tuple[str, str]:
        from appeals.intake.caps import caps
        from appeals.intake.errors import InputError
        from appeals.intake.worker import read_letter_isolated

        try:  # a file that is no letter: the worker starts, answers, and is still there
            read_letter_isolated(Path(os.devnull))
        except InputError:
            pass
        return OK, f"starts, with its memory capped at {caps().worker_mb} MB"

    return _guarded("letter reader worker", probe)


def _pdf_render() -> Check:
    def probe() -> tuple[str, str]:
        from weasyprint import HTML

        pdf = HTML(string="<p>appeals doctor</p>").write_pdf()
        return (OK, "WeasyPrint renders") if pdf and pdf.startswith(b"%PDF-") else (
            FAIL, "WeasyPrint wrote no PDF")

    return _guarded("PDF rendering", probe)


def _store(db: str | None) -> list[Check]:
    from appeals.store.engine import _sqlite_file, open_store, shown, store_url
    from appeals.store.record import unfinished_runs

    url = store_url(db)
    name = shown(url)
    path = _sqlite_file(url)
    if path is not None and not path.exists():
        return [Check("case store", OK, f"{name}: not created yet (the first run creates it)")]
    out: list[Check] = []
    try:
        engine = open_store(url)
    except Exception as exc:  # noqa: BLE001 (StoreError, or a driver's own)
        return [Check("case store", FAIL, str(exc).splitlines()[0][:300])]
    try:
        out.append(Check("case store", OK, f"{name}: opens, schema current"))
        if path is not None and path.exists():
            mode = stat.S_IMODE(path.stat().st_mode)
            out.append(Check("store file mode", OK if not mode & 0o077 else WARN,
                             f"{mode:04o}" + ("" if not mode & 0o077 else
                                              ": readable by others on this machine; chmod 600")))
        closed, open_runs = unfinished_runs(engine, "appeals doctor")
        detail = (f"closed {len(closed)} run(s) whose process is gone as abandoned "
                  f"({', '.join(map(str, closed))})" if closed else "none left unfinished")
        if open_runs:
            detail += f"; {len(open_runs)} still running or on another machine (" + ", ".join(
                f"run {i} on {h or 'an unknown host'}" for i, h in open_runs) + ")"
        out.append(Check("runs", WARN if open_runs else OK, detail))
    finally:
        engine.dispose()
    return out
