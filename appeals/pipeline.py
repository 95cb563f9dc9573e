"""The main job: inputs in, a folder a billing team can work from out.

    from appeals.pipeline import RunConfig, run
    result = run(RunConfig(inputs=[Path("remit.835")], out=Path("out/week-47")))

Intake, classification and the law stage run in this process, streaming: each line becomes a
worklist row, and a line that needs a packet becomes a job spooled to disk. Packets are then built
in a process pool (`workers`), submitted a few at a time and collected in submission order, so
memory stays flat and the output does not depend on the number of workers. Every file is written
atomically; a packet whose inputs and versions are unchanged since the last run is kept, not
rebuilt; a failure on one line is reported and the run goes on. The worklist, report, rejects and
manifest are written last, the manifest after everything it hashes.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import shutil
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from multiprocessing import get_context
from pathlib import Path

from appeals import __version__
from appeals.audit import packet_key, unchanged, versions
from appeals.classify import classify
from appeals.compose.letters import DOC_REQUEST, letter_types
from appeals.compose.limits import limit_at_issue
from appeals.intake import Batch, rejects_csv
from appeals.law import law_for
from appeals.models import Category, Classification, DenialRecord, Reject
from appeals.packet import (
    Settings,
    build,
    file_hashes,
    folder_name,
    needs_packet,
    readiness_words,
    sha256,
    state,
    stored,
    write,
    write_atomic,
)
from appeals.worklist import (
    Outcomes,
    Priority,
    RowStore,
    WorklistFile,
    failed_row,
    load_priority,
    row_for,
)

PACKETS = "packets"
#: Jobs in flight per worker: enough to keep every worker busy, few enough to keep memory flat.
WINDOW_PER_WORKER = 4
Progress = Callable[[str, int, int | None], None]  # phase, done, total (None: not known yet)


@dataclass
class RunConfig:
    """What `appeals run` was asked to do; picklable, so workers load the same settings."""

    inputs: list[Path]
    out: Path
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    facts: Path | None = None
    org: Path | None = None
    templates: Path | None = None
    rules: Path | None = None
    columns: Path | None = None
    payers: Path | None = None
    registry: Path | None = None
    priority: Path | None = None
    as_of: date = field(default_factory=date.today)
    force: bool = False
    redact: bool = False
    #: Case store URL (appeals.store): every line, case and packet is recorded there; None: not.
    db: str | None = None
    #: Plan type of the denial letters among the inputs (their own words never decide it).
    letter_plan_type: str | None = None

    def settings(self) -> Settings:
        return Settings.load(rules=self.rules, registry=self.registry, org=self.org,
                             payers=self.payers, facts=self.facts, templates=self.templates,
                             as_of=self.as_of)


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


def _packet_job(job: tuple[str, str, str, str]) -> dict:
    """Build and write one packet; report hashes, timings and memory, or the failure."""
    name, record_json, classification_json, key = job
    timings: dict[str, float] = {}
    try:
        record = DenialRecord.model_validate_json(record_json)
        result = Classification.model_validate_json(classification_json)
        packet = build(record, _worker["settings"], result, timings=timings)
        packet.summary["input_key"] = key
        start = time.perf_counter()
        folder = write(packet, _worker["out"], name)
        timings["write"] = time.perf_counter() - start
        outcome = {"status": "written", "hashes": file_hashes(packet, folder),
                   **state(packet.summary)}
    except Exception as exc:  # noqa: BLE001 (one bad record never stops the batch)
        outcome = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"[:500]}
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


def assess(record: DenialRecord, settings: Settings, priority: Priority,
           clock: dict[str, float], outcomes: Outcomes | None = None
           ) -> tuple[Classification, dict]:
    """Classify one line, work out its law, and make its worklist row (timed into `clock`)."""
    t1 = time.perf_counter()
    verdict = classify(record, settings.rules)
    t2 = time.perf_counter()
    law = law_for(record, settings.registry, as_of=settings.as_of)
    clock["classify"] += t2 - t1
    clock["law"] += time.perf_counter() - t2
    kinds = letter_types(verdict, law) if needs_packet(verdict) else []
    parity_related = verdict.category is Category.parity_nqtl or DOC_REQUEST in kinds
    nqtl = limit_at_issue(record, verdict).id if parity_related else ""
    return verdict, row_for(record, verdict, law, kinds, nqtl, settings.as_of, priority,
                            settings.rules.table, outcomes)


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
    try:
        return _run(config, progress, log)
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)


def _run(config: RunConfig, progress: Progress | None,
         log: Callable[[str], None] | None) -> RunResult:
    say = log or (lambda _message: None)
    tick = progress or (lambda *_: None)
    clock: dict[str, float] = {}
    started = time.perf_counter()
    settings = config.settings()
    priority = load_priority(config.priority)
    stamp = versions(config, settings)
    out = config.out
    recorder = _recorder(config)  # an unusable store stops the run before anything is written
    outcomes = recorder.outcomes() if recorder is not None else None
    (out / PACKETS).mkdir(parents=True, exist_ok=True)
    sweep(out)
    (out / "manifest.json").unlink(missing_ok=True)
    result = RunResult(out=out)
    spool_path = out / f".jobs.tmp-{os.getpid()}"
    rows = RowStore(out)  # on disk once settled: memory does not grow with the lines
    failures: list[Reject] = []
    hashes: dict[str, str] = {}
    names: set[str] = set()
    clock["setup"] = time.perf_counter() - started

    try:
        batch = Batch(config.inputs, config.columns, on_error=lambda m: say(f"error: {m}"),
                      plan_type=config.letter_plan_type)
        if recorder is not None:
            recorder.start(batch.digests)
        packets_done: list[tuple[int, dict]] = []  # (row index, packet) for the store
        # The spool holds whole records (names, member ids): readable by this user only, and
        # removed on every exit this process sees; after SIGKILL the next run here sweeps it.
        spool_fd = os.open(spool_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(spool_fd, "w", encoding="utf-8") as spool:
            stage = {"classify": 0.0, "law": 0.0}
            queued, t0 = 0, time.perf_counter()
            for record in batch:
                if batch.records % 500 == 0:
                    tick("read", batch.records, None)
                record = settings.enrich(record)
                try:
                    verdict, row = assess(record, settings, priority, stage, outcomes)
                except Exception as exc:  # noqa: BLE001 (reported; the batch goes on)
                    row = failed_row(record, f"{type(exc).__name__}: {exc}"[:500])
                    failures.append(_failure(row, "classify"))
                    rows.settle(rows.append(row))
                    say(f"{record.key}: failed in classification: {type(exc).__name__}")
                    continue
                index = rows.append(row)
                if recorder is not None:
                    recorder.add(index, record, verdict, row)
                if not needs_packet(verdict):
                    row["status"] = "no packet (no action)"
                    rows.settle(index)
                    continue
                name = _unique(folder_name(record), names)
                row["packet"] = f"{PACKETS}/{name}"
                key = packet_key(record, verdict, settings, stamp)
                kept = None if config.force else unchanged(out / PACKETS / name, key)
                if kept is not None:
                    row["status"] = "unchanged"
                    _add_hashes(hashes, name, kept[0])
                    built = state(kept[1])
                    row["checklist_due"] = built["checklist_due"]
                    row["readiness"] = readiness_words(built["readiness"])
                    if recorder is not None:
                        packets_done.append((index, stored(out / row["packet"], kept[0],
                                                           built, stamp)))
                    result.packets_unchanged += 1
                    rows.settle(index)
                    continue
                spool.write(json.dumps([index, name, record.model_dump_json(),
                                        verdict.model_dump_json(), key]) + "\n")
                queued += 1
            clock["intake"] = time.perf_counter() - t0 - stage["classify"] - stage["law"]
            clock.update(stage)
        result.records, result.unusable = batch.records, batch.unusable
        tick("read", batch.records, batch.records)

        t_packets = time.perf_counter()
        work: dict[str, float] = {}
        for done, (index, outcome) in enumerate(_packets(config, spool_path), 1):
            row = rows[index]
            for k, v in outcome["timings"].items():
                work[k] = work.get(k, 0.0) + v
            result.worker_peak_mb = max(result.worker_peak_mb, outcome["peak_mb"])
            if outcome["status"] == "written":
                row["status"] = "packet written"
                row["checklist_due"] = outcome["checklist_due"]
                row["readiness"] = readiness_words(outcome["readiness"])
                _add_hashes(hashes, row["packet"].split("/", 1)[1], outcome["hashes"])
                if recorder is not None:
                    packets_done.append((index, stored(out / row["packet"],
                                                       outcome["hashes"], outcome, stamp)))
                result.packets_written += 1
            else:
                row["status"], row["error"] = "failed", outcome["error"]
                stale = out / row.pop("packet")  # an older packet of this line is out of date
                row["packet"] = ""
                if (stale / "packet.json").is_file():
                    shutil.rmtree(stale)
                failures.append(_failure(row, "packet"))
                say(f"{row['claim_id']}-{row['line_number']}: packet failed: "
                    f"{outcome['error'].split(':', 1)[0]}")
            rows.settle(index)
            tick("packets", done, queued)
        clock["packets_wall"] = time.perf_counter() - t_packets
        clock.update({f"packets_{k}": v for k, v in work.items()})
        result.stale_removed = _remove_stale(out / PACKETS, names)
        result.rejected, result.failed = batch.errors, len(failures)
        history = None
        if recorder is not None:
            t_store = time.perf_counter()
            recorder.packets(packets_done)
            recorder.finish()
            history = recorder.history()
            clock["store_finish"] = time.perf_counter() - t_store
        t_report = time.perf_counter()
        _write_outputs(config, settings, stamp, rows, batch.rejects + failures, hashes, result,
                       batch.digests, history)
        clock["report"] = time.perf_counter() - t_report
    except BaseException:
        sweep(out)
        raise
    finally:
        spool_path.unlink(missing_ok=True)
        rows.close()
        if recorder is not None:
            recorder.engine.dispose()
    clock["total"] = time.perf_counter() - started
    result.seconds = clock
    return result


def _write_outputs(config: RunConfig, settings: Settings, stamp: dict[str, str], rows: RowStore,
                   rejects: list[Reject], hashes: dict[str, str], result: RunResult,
                   digests: dict[Path, str | None], history: dict | None = None) -> None:
    """worklist.csv, rejects.csv, triage.html/pdf, then manifest.json over all of them (the
    inputs' sha256 as intake read them: each input is hashed once).

    The rows are read back once, in worklist order: each is written to the worklist and handed
    to the report, which keeps only the denials."""
    from appeals.report import write_report

    meta = {"as_of": config.as_of, "inputs": [p.name for p in config.inputs],
            "org": settings.org.name, "redacted": config.redact, "versions": stamp,
            "rejects": len(rejects), "unusable": result.unusable, "history": history}
    worklist = WorklistFile(config.out / "worklist.csv", redact=config.redact)

    def worklist_order() -> Iterator[dict]:
        for row in rows.ordered():
            worklist.write(row)
            yield row

    try:
        report = write_report(worklist_order(), meta, settings.templates)
        hashes["worklist.csv"] = worklist.finish()
    except BaseException:
        worklist.discard()
        raise
    files = {"rejects.csv": rejects_csv(rejects, redact=config.redact), **report}
    for name, data in files.items():
        write_atomic(config.out / name, data)
        hashes[name] = sha256(data)
    manifest = {
        "toolkit": {"name": "appeals", "version": __version__},
        "as_of": config.as_of.isoformat(),
        "inputs": [{"path": str(p), "sha256": digest,
                    "bytes": p.stat().st_size if digest is not None else None}
                   for p, digest in digests.items()],
        "versions": stamp,
        "options": {"redact": config.redact, "columns": str(config.columns or ""),
                    "templates": str(config.templates or ""), "rules": str(config.rules or "")},
        "counts": {"records": result.records, "rows": len(rows),
                   "packets": result.packets_written + result.packets_unchanged,
                   "failed": result.failed, "rejects": len(rejects),
                   "unusable_inputs": len(result.unusable)},
        "files": dict(sorted(hashes.items())),
    }
    write_atomic(config.out / "manifest.json",
                 (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())


def _packets(config: RunConfig, spool_path: Path) -> Iterator[tuple[int, dict]]:
    """(row index, outcome) for every spooled job, in spool order."""
    def jobs() -> Iterator[tuple]:
        with spool_path.open(encoding="utf-8") as fh:
            for line in fh:
                index, *job = json.loads(line)
                order.append(index)
                yield tuple(job)

    order: deque[int] = deque()
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


def _recorder(config: RunConfig):
    """The case store's recorder for this run, or None; StoreError when it cannot be used."""
    if config.db is None:
        return None
    from appeals.store import Recorder, open_store

    return Recorder(open_store(config.db), config.as_of)


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


def _failure(row: dict, stage: str) -> Reject:
    """The rejects.csv entry of a worklist row that failed at `stage`."""
    return Reject(source=row["source"], location=row["location"] or
                  f"claim {row['claim_id']} line {row['line_number']}", field=stage,
                  message=row["error"], raw="")
