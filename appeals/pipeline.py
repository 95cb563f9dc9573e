"""The main job: inputs in, a folder a billing team can work from out.

    from appeals.pipeline import RunConfig, run
    result = run(RunConfig(inputs=[Path("remit.835")], out=Path("out/week-47")))

Intake, classification and the law stage run in this process, streaming: each line is assessed
once (`appeals.appeal.assess`, a typed `Line`), gives the triage report its row, and waits on disk
for the grouping, which makes the appeals (the denied lines of one claim, or episode, that one
letter argues). Each appeal is recorded in the case store, which says whether it is new, carried
on, or already answered by the payer (a line denied again after its appeal was sent: no new
letter); an appeal that needs a packet becomes a job spooled to disk. Packets are then built in a
process pool (`workers`), submitted a few at a time and collected in submission order, so memory
stays flat and the output does not depend on the number of workers. The worklist is the open
work: this run's appeals and the open ones the store carries from earlier weeks. Every file is written
atomically; a packet whose inputs and versions are unchanged since the last run is kept, not
rebuilt; a failure on one line is reported and the run goes on. The worklist, report, rejects and
manifest are written last, the manifest after everything it hashes.
"""

from __future__ import annotations

import ctypes
import json
import os
import pickle
import resource
import shutil
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from multiprocessing import get_context
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from appeals import __version__
from appeals.appeal import Appeal, Grouper, Line, assess, with_lines, with_only
from appeals.audit import packet_key, unchanged, versions
from appeals.compose.letters import EXTERNAL_LEVELS
from appeals.compose.settings import load_org
from appeals.intake import Batch, rejects_csv
from appeals.models import DenialRecord, Reject
from appeals.packet import (
    Built,
    file_hashes,
    folder_name,
    make_packet,
    sha256,
    state,
    stored,
    write,
    write_atomic,
)
from appeals.settings import RunConfig, Settings
from appeals.worklist import (
    Outcomes,
    Row,
    RowStatus,
    RowStore,
    WorklistFile,
    appeal_row,
    failed_row,
    line_row,
    load_priority,
)

__all__ = ["PACKETS", "RunConfig", "RunResult", "run"]

PACKETS = "packets"
#: Jobs in flight per worker: enough to keep every worker busy, few enough to keep memory flat.
WINDOW_PER_WORKER = 4
Progress = Callable[[str, int, int | None], None]  # phase, done, total (None: not known yet)


@dataclass
class RunResult:
    out: Path
    records: int = 0
    rejected: int = 0
    packets_written: int = 0
    packets_unchanged: int = 0
    failed: int = 0
    stale_removed: int = 0
    unusable: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    worker_peak_mb: float = 0.0

    @property
    def exit_code(self) -> int:
        """0 all good; 1 some records rejected or failed; 2 an input could not be used."""
        if self.unusable:
            return 2
        return 1 if self.rejected or self.failed else 0


# --------------------------------------------------------------------------- workers

_worker: dict = {}
PR_SET_PDEATHSIG = 1  # prctl(2) option: the signal a child gets when its parent dies


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _die_with_parent() -> None:
    """Ask Linux to end this worker when the process that started it dies (even by SIGKILL), so
    no worker outlives an interrupted run; elsewhere the pool's closed pipe ends it."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        return


def _init_worker(config: RunConfig, ignore_sigint: bool) -> None:
    """Load settings once per worker; Ctrl-C is the parent's to handle (it lets running
    packets finish their atomic writes, then stops)."""
    if ignore_sigint:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _die_with_parent()
    _worker["settings"] = config.settings()
    _worker["out"] = config.out / PACKETS


def _packet_job(job: tuple[str, Appeal, str]) -> dict:
    """Build and write one appeal's packet; report hashes, timings and memory, or the failure."""
    name, appeal, key = job
    timings: dict[str, float] = {}
    try:
        packet = make_packet(appeal, _worker["settings"], timings=timings)
        packet.summary["input_key"] = key
        start = time.perf_counter()
        folder = write(packet, _worker["out"], name)
        timings["write"] = time.perf_counter() - start
        outcome = {"status": "written", "hashes": file_hashes(packet, folder),
                   "built": state(packet.summary)}
    except Exception as exc:  # noqa: BLE001 (one bad appeal never stops the batch)
        outcome = {"status": "failed", "kind": type(exc).__name__,
                   "error": f"{type(exc).__name__}: {exc}"[:500]}
    outcome["timings"] = timings
    outcome["peak_mb"] = rss_mb()
    return outcome


def rss_mb() -> float:
    """This process's resident memory now. (ru_maxrss would not do: a spawned worker inherits
    its parent's peak across exec.)"""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * resource.getpagesize() / 2**20
    except OSError:  # not Linux: the peak, which may include the parent's
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _in_order(submit: Callable[[tuple], object], jobs: Iterator[tuple], window: int
              ) -> Iterator[dict]:
    """Results in submission order with at most `window` jobs in flight."""
    pending: deque = deque()
    for job in jobs:
        pending.append(submit(job))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


# --------------------------------------------------------------------------- the run


def sweep(out: Path) -> None:
    """Remove what an interrupted run left: temp files and folders; put back a packet folder
    that was moved aside but not yet replaced."""
    for folder in (out, out / PACKETS):
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            if not p.name.startswith("."):
                continue
            if ".old-" in p.name:
                original = folder / p.name[1:].split(".old-")[0]
                if not original.exists():
                    os.replace(p, original)
                    continue
            if ".tmp-" in p.name or ".old-" in p.name:
                shutil.rmtree(p) if p.is_dir() else p.unlink()


def run(config: RunConfig, progress: Progress | None = None,
        log: Callable[[str], None] | None = None) -> RunResult:
    """Run intake -> classify -> law -> packets -> worklist, report, rejects, manifest.

    Raises SETTINGS_ERRORS for unusable settings files (before anything is written) and
    KeyboardInterrupt after cleaning up, so no partial file is left; SIGTERM is handled like
    Ctrl-C while it runs. manifest.json is removed at the start and written last, so a folder
    with a manifest is a finished, consistent run.
    """
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if in_main else None
    # Everything the run writes (temp files, packets, the worklist, rejects, report) is the
    # owner's alone, whatever umask the shell had; the workers inherit it.
    umask = os.umask(0o077)
    try:
        if config.org is not None and load_org(config.org).group_readable:
            os.umask(0o027)
        return _run(config, progress, log)
    finally:
        os.umask(umask)
        if in_main:
            signal.signal(signal.SIGTERM, previous)


def _run(config: RunConfig, progress: Progress | None,
         log: Callable[[str], None] | None) -> RunResult:
    say = log or (lambda _message: None)
    tick = progress or (lambda *_: None)
    clock: dict[str, float] = {}
    started = time.perf_counter()
    settings = config.settings()
    stamp = versions(config, settings)
    out = config.out
    recorder = _recorder(config, settings)  # an unusable store stops the run before any output
    (out / PACKETS).mkdir(parents=True, exist_ok=True)
    sweep(out)
    (out / "manifest.json").unlink(missing_ok=True)
    result = RunResult(out=out)
    spool_path = out / f".jobs.tmp-{os.getpid()}"
    week = _Week(config, settings, stamp, recorder.outcomes() if recorder is not None else None,
                 _precedents(recorder, config.as_of))
    clock["setup"] = time.perf_counter() - started

    try:
        batch = Batch(config.inputs, config.columns, on_error=lambda m: say(f"error: {m}"),
                      plan_type=config.letter_plan_type, enrich=settings.enrich)
        if recorder is not None:
            recorder.start(batch.digests)
        stage = {"classify": 0.0, "law": 0.0}
        t0 = time.perf_counter()
        for record in batch:
            if batch.records % 500 == 0:
                tick("read", batch.records, None)
            week.read(record, stage, say)
        clock["intake"] = time.perf_counter() - t0 - stage["classify"] - stage["law"]
        clock.update(stage)
        result.records, result.unusable = batch.records, batch.unusable
        tick("read", batch.records, batch.records)

        # The spool holds whole records (names, member ids): readable by this user only, and
        # removed on every exit this process sees; after SIGKILL the next run here sweeps it.
        t_group = time.perf_counter()
        spool_fd = os.open(spool_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(spool_fd, "wb") as spool:
            week.appeals(recorder, spool, result)
        clock["group_and_record"] = time.perf_counter() - t_group
        for rec, message in week.grouper.warnings:
            batch.rejects.append(Reject(source=rec.source or "", location=rec.location or
                                        f"claim {rec.claim_id}", field="claim_id",
                                        message=message, level="warning"))

        t_packets = time.perf_counter()
        work: dict[str, float] = {}
        for done, (index, outcome) in enumerate(_packets(config, spool_path), 1):
            for k, v in outcome["timings"].items():
                work[k] = work.get(k, 0.0) + v
            result.worker_peak_mb = max(result.worker_peak_mb, outcome["peak_mb"])
            week.built(index, outcome, result, say)
            tick("packets", done, week.queued)
        clock["packets_wall"] = time.perf_counter() - t_packets
        clock.update({f"packets_{k}": v for k, v in work.items()})
        result.stale_removed = _remove_stale(out / PACKETS, week.names)
        result.rejected, result.failed = batch.errors, len(week.failures)
        history = None
        if recorder is not None:
            t_store = time.perf_counter()
            recorder.packets(week.stored)
            recorder.scores(week.scores)
            recorder.finish()
            from appeals.store.cases import carried_over

            for row in carried_over(recorder.engine, week.cases, config.as_of):
                week.rows.settle(week.rows.append(row))
            history = recorder.history()
            if week.precedents is not None:
                from appeals.precedent.tally import triage_rows

                history["precedent"] = triage_rows(recorder.engine, week.precedents)
            clock["store_finish"] = time.perf_counter() - t_store
        t_report = time.perf_counter()
        _write_outputs(config, settings, stamp, week, batch.rejects + week.failures, result,
                       batch.digests, history)
        clock["report"] = time.perf_counter() - t_report
    except SQLAlchemyError as exc:
        # one clear line, no statement or values (they would print member ids), and the run's
        # row says it failed
        sweep(out)
        why = f"{type(exc).__name__} in the case store"
        if recorder is not None:
            recorder.fail(why)
        from appeals.store import StoreError

        raise StoreError(f"case store: the run stopped ({why}); nothing of it was written "
                         "out, and its row in the store says it failed") from None
    except BaseException:
        sweep(out)
        if recorder is not None:
            recorder.fail("interrupted or crashed before its outputs were written")
        raise
    finally:
        spool_path.unlink(missing_ok=True)
        week.close()
        if recorder is not None:
            recorder.engine.dispose()
    clock["total"] = time.perf_counter() - started
    result.seconds = clock
    return result


class _Week:
    """One run's lines, appeals and rows on their way through: the triage report's line rows,
    the grouping, the worklist's appeal rows, the packet folders and file hashes."""

    def __init__(self, config: RunConfig, settings: Settings, stamp: dict[str, str],
                 outcomes: Outcomes | None, precedents=None) -> None:
        self.config, self.settings, self.stamp, self.outcomes = config, settings, stamp, outcomes
        self.precedents = precedents  # the store's imported review decisions, counted (Tally)
        self.priority = load_priority(config.priority)
        self.lines = RowStore(config.out, "lines")  # on disk once settled: memory stays flat
        self.rows = RowStore(config.out, "worklist")
        self.grouper = Grouper(settings.org.group_by, folder=config.out)
        self.failures: list[Reject] = []
        self.hashes: dict[str, str] = {}
        self.names: set[str] = set()
        self.cases: set[int] = set()  # the store's cases this run's appeals are
        self.stored: list[tuple[int, dict]] = []  # (case id, stored()) for the store
        #: (case id, worklist score, urgent) for the store
        self.scores: list[tuple[int, float, bool]] = []
        self.queued = 0
        self.packets = 0

    def read(self, record, stage: dict[str, float], say: Callable[[str], None]) -> None:
        """Assess one line: its report row now, its appeal once every line is read."""
        as_of = self.config.as_of
        try:
            line = assess(record, self.settings, stage)
        except Exception as exc:  # noqa: BLE001 (reported; the batch goes on)
            row = failed_row(record, f"{type(exc).__name__}: {exc}"[:500])
            self.failures.append(_failure(row, "classify"))
            self.lines.settle(self.lines.append(row))
            self.rows.settle(self.rows.append(replace(row)))
            say(f"{record.key}: failed in classification: {type(exc).__name__}")
            return
        row = line_row(line, as_of, self.priority, self.outcomes)
        row.status = "" if line.actionable else RowStatus.no_action
        row.line_index = self.grouper.add(line)
        self.lines.settle(self.lines.append(row))

    def appeals(self, recorder, spool, result: RunResult) -> None:
        """Group the lines, record each chunk of appeals in the store, and spool a packet job
        for each appeal that needs one."""
        pending: list[Appeal | Line] = []
        size = 0
        chunk = _chunk_size()
        for unit in self.grouper.units():
            pending.append(unit)
            size += len(unit.lines) if isinstance(unit, Appeal) else 1
            if size >= chunk:
                self._recorded(pending, recorder, spool, result)
                pending, size = [], 0
        self._recorded(pending, recorder, spool, result)

    def _recorded(self, units: list[Appeal | Line], recorder, spool, result: RunResult) -> None:
        if not units:
            return
        said = recorder.record(units) if recorder is not None else [None] * len(units)
        for unit, recorded in zip(units, said, strict=True):
            if isinstance(unit, Appeal):
                self._appeal(unit, recorded, spool, result)

    def _appeal(self, appeal: Appeal, recorded, spool, result: RunResult) -> None:
        config = self.config
        if recorded is not None and recorded.apart is not None:
            # lines the letter already sent did not cover: their own appeal, their own packet
            places = set(recorded.apart_lines)
            self._appeal(with_only(appeal, [ln for n, ln in enumerate(appeal.lines)
                                            if n in places]), recorded.apart, spool, result)
            if len(places) == len(appeal.lines):
                return
            appeal = with_only(appeal, [ln for n, ln in enumerate(appeal.lines)
                                        if n not in places])
        if recorded is not None and recorded.other_lines:  # the whole appeal, earlier weeks' too
            appeal = with_lines(appeal, [
                assess(self.settings.enrich(DenialRecord.model_validate_json(raw)),
                       self.settings) for raw in recorded.other_lines])
        reviewed = None
        if self.precedents is not None:
            from appeals.precedent import reviewed_prior, with_precedent

            appeal = with_precedent(appeal, self.precedents)
            if recorded is not None and recorded.level_name in EXTERNAL_LEVELS:
                reviewed = reviewed_prior(appeal, self.precedents)
        row = appeal_row(appeal, config.as_of, self.priority, self.outcomes, reviewed)
        name = folder_name(appeal.first.record)
        if recorded is not None:
            self.cases.add(recorded.case_id)
            self.scores.append((recorded.case_id, row.score, row.urgent == "yes"))
            row.case_id = recorded.case_id
            if not recorded.status.before_sending:
                # Sent, decided or closed: its letter is not written again. A denial read after
                # the appeal was sent is the payer's answer: the row shows the next level.
                row.status = recorded.status.value
                row.level = recorded.level_name or row.level
                row.deadline = recorded.deadline
                row.days_left = ((recorded.deadline - config.as_of).days
                                    if recorded.deadline else None)
                kept = _kept(config.out / PACKETS / name) if name not in self.names else None
                if kept is not None:
                    self.names.add(name)
                    _add_hashes(self.hashes, name, kept)
                    row.packet = f"{PACKETS}/{name}"
                self.grouper.mark(appeal.unit, row.status, row.packet)
                self.rows.settle(self.rows.append(row))
                return
        if recorded is not None and recorded.checklist_due is not None:
            appeal = replace(appeal, checklist_due=recorded.checklist_due)
        name = _unique(name, self.names)
        row.packet, row.unit = f"{PACKETS}/{name}", appeal.unit
        row.parity = appeal.parity_section
        key = packet_key(appeal, self.settings, self.stamp)
        kept = None if config.force else unchanged(config.out / PACKETS / name, key)
        index = self.rows.append(row)
        if kept is not None:
            row.status = RowStatus.unchanged
            _add_hashes(self.hashes, name, kept[0])
            self._settle(index, row, state(kept[1]), kept[0])
            result.packets_unchanged += 1
            return
        pickle.dump((index, appeal.unit, (name, appeal, key)), spool,
                    protocol=pickle.HIGHEST_PROTOCOL)
        self.queued += 1

    def _settle(self, index: int, row: Row, built: Built, hashes: dict[str, str]) -> None:
        row.checklist_due, row.readiness = built.checklist_due, built.words
        if row.case_id is not None:
            self.stored.append((row.case_id, stored(self.config.out / row.packet, hashes,
                                                    built, self.stamp, row.parity)))
        self.grouper.mark(row.unit, row.status, row.packet)
        self.rows.settle(index)

    def built(self, job: tuple[int, int], outcome: dict, result: RunResult,
              say: Callable[[str], None]) -> None:
        index, unit = job
        row = self.rows[index]
        row.unit = unit
        if outcome["status"] == "written":
            row.status = RowStatus.written
            folder = row.packet.split("/", 1)[1]
            _add_hashes(self.hashes, folder, outcome["hashes"])
            self._settle(index, row, outcome["built"], outcome["hashes"])
            result.packets_written += 1
            return
        row.status, row.error = RowStatus.failed, outcome["error"]
        stale = self.config.out / row.packet  # an older packet of it is out of date
        row.packet = ""
        if (stale / "packet.json").is_file():
            shutil.rmtree(stale)
        self.failures.append(_failure(row, "packet"))
        say(f"{row.claim_id}-{row.line_number}: packet failed: "
            f"{outcome['kind']}")
        self.grouper.mark(unit, RowStatus.failed, "")
        self.rows.settle(index)

    def report_rows(self) -> Iterator[Row]:
        """The input lines in worklist order, each with its appeal's status and packet."""
        for row in self.lines.ordered():
            if row.line_index is not None:
                status, packet = self.grouper.outcome(row.line_index)
                if status is not None:
                    row.status, row.packet = status, packet or ""
            yield row

    def close(self) -> None:
        self.lines.close()
        self.rows.close()
        self.grouper.close()


def _chunk_size() -> int:
    from appeals.store.record import CHUNK

    return CHUNK


def _kept(folder: Path) -> dict[str, str] | None:
    """The file hashes of a packet folder kept as it is (its letter was sent), or None."""
    try:
        summary = json.loads((folder / "packet.json").read_text(encoding="utf-8"))
        hashes = {f["name"]: sha256((folder / f["name"]).read_bytes()) for f in summary["files"]}
        hashes["packet.json"] = sha256((folder / "packet.json").read_bytes())
        return hashes
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_outputs(config: RunConfig, settings: Settings, stamp: dict[str, str], week: _Week,
                   rejects: list[Reject], result: RunResult,
                   digests: dict[Path, str | None], history: dict | None = None) -> None:
    """worklist.csv (one row per open appeal, in priority order), rejects.csv, triage.html/pdf
    (one row per input line), then manifest.json over all of them (the inputs' sha256 as intake
    read them: each input is hashed once)."""
    from appeals.report import write_report

    hashes = week.hashes
    meta = {"as_of": config.as_of, "inputs": [p.name for p in config.inputs],
            "org": settings.org.name, "redacted": config.redact, "versions": stamp,
            "rejects": len(rejects), "unusable": result.unusable, "history": history,
            "packets": result.packets_written + result.packets_unchanged}
    worklist = WorklistFile(config.out / "worklist.csv", redact=config.redact)
    try:
        for row in week.rows.ordered():
            worklist.write(row)
        hashes["worklist.csv"] = worklist.finish()
    except BaseException:
        worklist.discard()
        raise
    report = write_report(week.report_rows(), meta, settings.templates)
    files = {"rejects.csv": rejects_csv(rejects, redact=config.redact), **report}
    for name, data in files.items():
        write_atomic(config.out / name, data)
        hashes[name] = sha256(data)
    rows = week.rows
    manifest = {
        "toolkit": {"name": "appeals", "version": __version__},
        "as_of": config.as_of.isoformat(),
        "inputs": [{"path": str(p), "sha256": digest,
                    "bytes": p.stat().st_size if digest is not None else None}
                   for p, digest in digests.items()],
        "versions": stamp,
        "options": {"redact": config.redact, "columns": str(config.columns or ""),
                    "templates": str(config.templates or ""), "rules": str(config.rules or "")},
        "counts": {"records": result.records, "rows": len(rows), "lines": len(week.lines),
                   "packets": result.packets_written + result.packets_unchanged,
                   "failed": result.failed, "rejects": len(rejects),
                   "unusable_inputs": len(result.unusable)},
        "files": dict(sorted(hashes.items())),
    }
    write_atomic(config.out / "manifest.json",
                 (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())


def _packets(config: RunConfig, spool_path: Path) -> Iterator[tuple[tuple[int, int], dict]]:
    """((row index, unit), outcome) for every spooled job, in spool order."""
    def jobs() -> Iterator[tuple]:
        with spool_path.open("rb") as fh:
            while True:
                try:
                    index, unit, job = pickle.load(fh)
                except EOFError:
                    return
                order.append((index, unit))
                yield job

    order: deque[tuple[int, int]] = deque()
    workers = max(1, config.workers)
    if workers == 1:  # in this process: no pool to start, same results
        _init_worker(config, ignore_sigint=False)
        for job in jobs():
            yield order.popleft(), _packet_job(job)
        return
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                               initializer=_init_worker, initargs=(config, True))
    try:
        for outcome in _in_order(lambda job: pool.submit(_packet_job, job), jobs(),
                                 workers * WINDOW_PER_WORKER):
            yield order.popleft(), outcome
    finally:  # on Ctrl-C: drop queued jobs, let running ones finish their atomic writes
        pool.shutdown(wait=True, cancel_futures=True)


def _precedents(recorder, as_of: date):
    """The case store's imported external-review decisions, counted once for the run (None
    without a store or without decisions)."""
    if recorder is None:
        return None
    from appeals.precedent import tally

    found = tally(recorder.engine, as_of)
    return found if found.cells else None


def _recorder(config: RunConfig, settings: Settings):
    """The case store's recorder for this run, or None; StoreError when it cannot be used."""
    if config.db is None:
        return None
    from appeals.store import Recorder, open_store

    return Recorder(open_store(config.db), config.as_of, settings.registry)


def _unique(name: str, taken: set[str]) -> str:
    """The packet folder name, made unique when two inputs hold the same claim and line."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}~{n}"
    taken.add(candidate)
    return candidate


def _add_hashes(hashes: dict[str, str], folder: str, files: dict[str, str]) -> None:
    for file_name, digest in files.items():
        hashes[f"{PACKETS}/{folder}/{file_name}"] = digest


def _remove_stale(packets: Path, current: set[str]) -> int:
    """Packet folders of earlier runs that this run's inputs no longer produce (ours only:
    a folder without packet.json is left alone)."""
    removed = 0
    for folder in sorted(packets.iterdir()):
        if folder.is_dir() and folder.name not in current and (folder / "packet.json").is_file():
            shutil.rmtree(folder)
            removed += 1
    return removed


def _failure(row: Row, stage: str) -> Reject:
    """The rejects.csv entry of a worklist row that failed at `stage`."""
    return Reject(source=row.source, location=row.location or
                  f"claim {row.claim_id} line {row.line_number}", field=stage,
                  message=row.error, raw="")
