"""Reading inputs and building packets: intake, columns, classify, packet, run, demo."""

from __future__ import annotations

import os
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Self

import typer

from appeals.cli.common import (
    AsOfOpt,
    ColumnsOpt,
    DbOpt,
    FactsOpt,
    LetterPlanOpt,
    OrgOpt,
    PayersOpt,
    RegistryOpt,
    RejectsOpt,
    TemplatesOpt,
    _batch,
    _directory,
    _must_exist,
    _or_exit,
    _settings,
    _shown,
    app,
    err,
)


@app.command()
def intake(paths: Annotated[list[Path], typer.Argument(
                help="835, CSV, JSON or JSONL files, and denial letters (PDF, scanned or not, "
                     "or text).")],
           columns: ColumnsOpt = None, rejects: RejectsOpt = None,
           plan_type: LetterPlanOpt = None, payers: PayersOpt = None) -> None:
    """Read denial records and print them as JSON Lines with the canonical field names; with
    --payers, each with the plan facts the payer directory gives it, as `appeals run` reads it."""
    batch = _batch(paths, columns, plan_type, _directory(payers))
    out = sys.stdout
    for record in batch:
        out.write(record.model_dump_json() + "\n")
    raise typer.Exit(batch.finish(rejects))


@app.command("columns")
def columns_cmd(
    path: Annotated[Path | None, typer.Argument(help="A CSV export: a map is proposed from its "
                                                "headers and values.")] = None,
    fields: Annotated[bool, typer.Option("--fields", help="List every field a column map may "
                                         "name, and what the toolkit does with it.")] = False,
) -> None:
    """Propose a column map for an export (printed as YAML to save, edit and give to
    --columns; the rows it would still reject go to stderr with why), or list what a map may
    name (--fields)."""
    from appeals.intake.columns import mappable_fields

    if fields:
        for name, what in mappable_fields().items():
            typer.echo(f"{name:<24} {what}")
        return
    if path is None:
        err("error: give an export to propose a map for, or --fields")
        raise typer.Exit(2)
    import csv

    from appeals.intake.propose import propose, trial

    _must_exist([path])
    proposal = _or_exit(lambda: propose(path), OSError, UnicodeDecodeError, csv.Error)
    typer.echo(proposal.yaml(path.name), nl=False)
    refused = trial(path, proposal)
    err(f"{path}: {len(proposal.columns)} header(s) matched, {len(proposal.unmatched)} kept as "
        f"extra columns; with this map {len(refused)} row(s) would be rejected"
        + (":" if refused else ""))
    for r in refused[:20]:
        err(f"  {r.location}: {r.field}: {r.message}")


@app.command("classify")
def classify_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Any input `appeals intake` reads.")],
    rules: Annotated[Path | None, typer.Option("--rules", help="YAML rules laid over the "
                                                  "built-in ones (text, facts, codes, ...).")] = None,
    columns: ColumnsOpt = None, rejects: RejectsOpt = None,
    explain: Annotated[str | None, typer.Option("--explain", metavar="CLAIM_ID",
                                                   help="Print the decision trace for one claim "
                                                   "in words instead of JSON.")] = None,
) -> None:
    """Classify every line: category, evidence, action, owner, appealable, buckets (JSON Lines)."""
    from appeals.classify import RulesError, classify, load_rules
    from appeals.classify import explain as explain_record

    rule_set = _or_exit(lambda: load_rules(rules), RulesError)
    batch = _batch(paths, columns)
    found = False
    for record in batch:
        if explain is not None:
            if record.claim_id == explain:
                found = True
                typer.echo(explain_record(record, rule_set))
            continue
        sys.stdout.write(classify(record, rule_set).model_dump_json() + "\n")
    code = batch.finish(rejects, "records classified" if explain is None else "records read")
    if explain is not None and not found:
        err(f"error: no record with claim id {explain!r}")
        code = 2
    raise typer.Exit(code)


@app.command("packet")
def packet_cmd(
    path: Annotated[Path, typer.Argument(help="Any input `appeals intake` reads.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the packets.")],
    claim: Annotated[str | None, typer.Option("--claim", metavar="ID",
                                                 help="Only this claim id.")] = None,
    facts: FactsOpt = None, org: OrgOpt = None, templates: TemplatesOpt = None,
    payers: PayersOpt = None, as_of: AsOfOpt = None, columns: ColumnsOpt = None,
    rules: Annotated[Path | None, typer.Option("--rules")] = None,
    registry: RegistryOpt = None, plan_type: LetterPlanOpt = None,
) -> None:
    """Write a packet folder (letters and checklist as DOCX and PDF, packet.json) per appeal:
    the denied lines of one claim (or episode) that share a category."""
    from appeals.appeal import Appeal, Grouper, assess
    from appeals.compose.letters import ComposeError
    from appeals.packet import make_packet, write

    settings = _settings(rules, registry, org, payers, facts, templates, as_of)
    batch = _batch([path], columns, plan_type, settings.enrich)
    written = failed = 0
    with Grouper(settings.org.group_by) as grouper:
        for record in batch:
            if claim is None or record.claim_id == claim:
                grouper.add(assess(record, settings))
        for unit in grouper.units():
            if not isinstance(unit, Appeal):
                continue
            try:
                folder = write(make_packet(unit, settings), out)
                written += 1
                lines = ", ".join(str(ln.record.line_number) for ln in unit.lines)
                err(f"{unit.first.record.claim_id} line{'s' if len(unit.lines) > 1 else ''} "
                    f"{lines}: {folder}")
            except ComposeError as exc:
                failed += 1
                err(f"error: {exc}")
        for rec, message in grouper.warnings:
            err(f"warning: {rec.source}: {message}")
    code = batch.finish(None, "records read")
    err(f"{written} packets written to {out}" + (f", {failed} failed" if failed else ""))
    raise typer.Exit(code or (1 if failed else 0))


class _Reporter:
    """Progress for `appeals run`: a rich bar on a terminal, a plain line every 10% (or 30 s)
    otherwise, so CI logs stay short."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.bar = None
        self.last: tuple[str, float, int] = ("", 0.0, -1)

    def __enter__(self) -> Self:
        if self.tty:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                MofNCompleteColumn(), TimeRemainingColumn(), transient=False)
            self.bar.start()
            self.tasks: dict[str, int] = {}
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        import time

        if self.bar is not None:
            if phase not in self.tasks:
                self.tasks[phase] = self.bar.add_task(
                    "reading and classifying" if phase == "read" else "building packets",
                    total=total)
            self.bar.update(self.tasks[phase], completed=done, total=total)
            return
        now = time.monotonic()
        step = max(1, (total or 0) // 10)
        last_phase, last_time, last_done = self.last
        if phase != last_phase or done == total or done // step != last_done // step or (
                now - last_time > 30):
            err(f"{phase}: {done}" + (f"/{total}" if total else ""))
            self.last = (phase, now, done)

    def log(self, message: str) -> None:
        if self.bar is not None:
            self.bar.console.print(message, markup=False, highlight=False)
        else:
            err(message)


@app.command("run")
def run_cmd(
    inputs: Annotated[list[Path], typer.Argument(help="835, CSV, JSON or JSONL files, denial "
                                                 "letters (PDF or text), or folders of them.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for packets, worklist, report, "
                                      "rejects and manifest.")],
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, help="Processes building packets (default: the machine's cores).")
    ] = None,
    facts: FactsOpt = None, org: OrgOpt = None, templates: TemplatesOpt = None,
    payers: PayersOpt = None, as_of: AsOfOpt = None, columns: ColumnsOpt = None,
    rules: Annotated[Path | None, typer.Option("--rules", help="YAML rules laid over the "
                                                  "built-in ones.")] = None,
    registry: RegistryOpt = None,
    priority: Annotated[Path | None, typer.Option("--priority", help="Worklist priority weights "
                                                  "(YAML like appeals/data/priority.yaml).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Rebuild every packet, even unchanged "
                                        "ones.")] = False,
    redact: Annotated[bool, typer.Option("--redact", help="Worklist and triage report without "
                                         "patient names or member ids.")] = False,
    db: DbOpt = None,
    no_db: Annotated[bool, typer.Option("--no-db", help="Record nothing in the case store.")
                     ] = False,
    plan_type: LetterPlanOpt = None,
) -> None:
    """The week's work: packets per denial, worklist.csv, triage.html/pdf, rejects.csv and
    manifest.json in OUT; every line, case and packet recorded in the case store (--db).

    Exit code 0: all good; 1: some records rejected or failed (see worklist.csv and rejects.csv);
    2: unusable input or arguments.
    """

    from appeals.intake import INPUT_SUFFIXES, expand_inputs
    from appeals.packet import SETTINGS_ERRORS
    from appeals.pipeline import RunConfig, run
    from appeals.store import StoreError, store_url
    from appeals.worklist import PriorityError

    _must_exist(inputs)
    for folder in (p for p in inputs if p.is_dir()):
        found = expand_inputs([folder])
        err(f"{folder}: reading {len(found)} input file(s) "
            f"({', '.join(INPUT_SUFFIXES)}): {', '.join(p.name for p in found) or 'none'}")
        if not found:
            raise typer.Exit(2)
    inputs = expand_inputs(inputs)
    if columns is not None or plan_type is not None:
        _batch([], columns, plan_type)  # a bad column map or plan type ends the run first
    config = RunConfig(inputs=inputs, out=out, workers=workers or os.cpu_count() or 1,
                       facts=facts, org=org, templates=templates, rules=rules, columns=columns,
                       payers=payers, registry=registry, priority=priority,
                       as_of=as_of.date() if as_of else date.today(), force=force,
                       redact=redact, db=None if no_db else store_url(db),
                       letter_plan_type=plan_type)
    with _Reporter() as reporter:
        try:
            result = run(config, progress=reporter, log=reporter.log)
        except (*SETTINGS_ERRORS, PriorityError, StoreError) as exc:
            reporter.log(f"error: {exc}")
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            reporter.log("interrupted: finished packets are kept (a re-run resumes); no partial "
                         "files left")
            raise typer.Exit(130) from None
    err(f"{result.records} lines read, {result.rejected} rejected; packets: "
        f"{result.packets_written} written, {result.packets_unchanged} unchanged, "
        f"{result.failed} failed" + (f"; {result.stale_removed} stale removed"
                                     if result.stale_removed else ""))
    err(f"triage report: {out / 'triage.pdf'} (and .html)\nworklist:      "
        f"{out / 'worklist.csv'}\npackets:       {out / 'packets'}/\nrejects:       "
        f"{out / 'rejects.csv'}\nmanifest:      {out / 'manifest.json'}"
        + (f"\ncase store:    {_shown(config.db)}" if config.db else ""))
    raise typer.Exit(result.exit_code)


@app.command()
def demo(out: Annotated[Path, typer.Option("--out", help="Folder for the demo output.")] = Path(
        "out/demo"),
         workers: Annotated[int | None, typer.Option("--workers", min=1)] = None) -> None:
    """`appeals run` on the bundled samples (the practice CSV, the public 835s, a synthetic
    behavioral-health 835 and synthetic payer denial letters, one of them a scan when Tesseract
    is installed), letters dated 2026-07-01, with a sample practice and payer directory."""
    from appeals.demo import SAMPLES, demo_inputs
    from appeals.intake.pdf import tesseract_available

    scanned = tesseract_available()
    if not scanned:
        err("demo: the scanned denial letter is left out (Tesseract, Debian package "
            "tesseract-ocr, is not installed)")
    inputs = demo_inputs(out, scanned=scanned)
    samples = SAMPLES

    def here(path: Path) -> Path:
        """Relative to the working directory, so two clones give the same files (records and
        the manifest name their source)."""
        try:
            return Path(os.path.relpath(path))
        except ValueError:  # another drive (Windows)
            return path

    run_cmd([here(p) for p in inputs], out, workers=workers or os.cpu_count(),
            org=here(samples / "org.yaml"), payers=here(samples / "payers.yaml"),
            as_of=datetime(2026, 7, 1), db=f"sqlite:///{here(out / 'appeals.db')}")
