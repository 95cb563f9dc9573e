"""The week from the desk: the week's files uploaded and run in the background, and the
clinicians' returned checklists imported, without a terminal.

An upload is saved, owner-only, to a batch folder under `inbox/` beside the store's packets
(named by day and number, never by what the browser says), each file sniffed for what it is
(835, CSV, JSON, a denial letter in PDF or text) and refused by name when it is not. The run is
`appeals run` itself in a child process (a crash there is never the desk's), its output folder
under `out/`, its log beside it; one run at a time, so two billers do not race over one store.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from appeals.intake import INPUT_SUFFIXES, InputError, detect_format
from appeals.intake.caps import MB, caps

#: What an uploaded file may be, as intake reads it from the content.
READABLE = {"x12", "csv", "json", "jsonl", "pdf", "letter"}
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_ENDING = {"x12": ".835", "csv": ".csv", "json": ".json", "jsonl": ".jsonl", "pdf": ".pdf",
           "letter": ".txt"}


@dataclass
class Job:
    """A run started from the desk."""

    number: int
    who: str
    started: datetime
    inbox: Path
    out: Path
    log: Path
    files: list[str]
    refused: list[tuple[str, str]] = field(default_factory=list)
    process: subprocess.Popen | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def tail(self, lines: int = 25) -> list[str]:
        """The log's last lines (the run's progress and summary; no patient data: the run
        logs claim ids, never names)."""
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
        return [ln.rstrip() for ln in text.splitlines() if ln.strip()][-lines:]


def safe_name(name: str, taken: set[str]) -> str:
    """A file name the batch folder can hold: no folders, no odd characters, no clash."""
    base = _SAFE.sub("_", Path(name or "upload").name).strip("._") or "upload"
    base = base[:100]
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        stem, dot, ext = base.rpartition(".")
        candidate = f"{stem}-{n}.{ext}" if dot else f"{base}-{n}"
    taken.add(candidate)
    return candidate


def keep_upload(folder: Path, name: str, data: bytes, taken: set[str]
                ) -> tuple[Path | None, str]:
    """One uploaded file written owner-only into the batch folder under a safe name; (None, why
    not) for an empty file or one over documents.file_mb."""
    most = caps().file_mb
    if len(data) > most * MB:
        return None, f"{len(data) / MB:,.1f} MB: over the {most} MB a file may be"
    if not data:
        return None, "the file is empty"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / safe_name(name, taken)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return path, ""


def save_upload(folder: Path, name: str, data: bytes, taken: set[str]) -> tuple[str, str]:
    """Keep one of the week's files; (its saved name, "") when intake can read it, else (the
    name as given, why not) and nothing is kept."""
    path, why = keep_upload(folder, name, data, taken)
    if path is None:
        return name, why
    try:
        kind = detect_format(path)
    except (InputError, OSError) as exc:
        kind, why = None, str(exc)
    else:
        why = ""
    if kind == "pdf" and not data.startswith(b"%PDF-"):
        kind, why = None, "named .pdf, but not a PDF"
    if kind not in READABLE:
        path.unlink()
        taken.discard(path.name)
        return name, why or ("not an 835, a CSV or JSON export or a denial letter (PDF or "
                             "text), whatever its name says")
    if path.suffix.lower() not in INPUT_SUFFIXES:  # the run reads a folder's files by ending
        named = path.with_name(safe_name(path.name + _ENDING[kind], taken))
        path.rename(named)
        path = named
    return path.name, ""


def next_folder(root: Path, day: date) -> tuple[Path, int]:
    """inbox/<day>-<n>: the first number not yet used that day."""
    n = 1
    while (root / f"{day.isoformat()}-{n}").exists():
        n += 1
    return root / f"{day.isoformat()}-{n}", n


def start_run(job: Job, db_url: str, settings: dict, facts: Path | None, as_of: date,
              cwd: Path) -> None:
    """`appeals run` over the batch folder, in a child process writing its log. The store's
    URL goes in the environment, not the command line (`ps` would show a password)."""
    args = [sys.executable, "-m", "appeals", "run", str(job.inbox), "--out", str(job.out),
            "--as-of", as_of.isoformat()]
    for option, path in sorted(settings.items()):
        if path is not None:
            args += [f"--{option}", str(path)]
    if facts is not None and facts.exists():
        args += ["--facts", str(facts)]
    job.log.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(job.log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as log:
        log.write(f"{datetime.now(UTC).isoformat(timespec='seconds')} run {job.number} started "
                  f"by {job.who}: {len(job.files)} file(s)\n")
        log.flush()
        job.process = subprocess.Popen(  # the run's own CLI, by this interpreter
            args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd,
            env={**os.environ, "APPEALS_DB": db_url, "NO_COLOR": "1", "COLUMNS": "100"})
