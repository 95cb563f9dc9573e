"""Command line: thin wrappers over the library functions, one command per stage.

Standard output carries data (JSON Lines, tables); standard error carries counts and messages,
which name claim ids and file positions, never patient names, member ids or birth dates.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Self

import typer

from appeals.intake import Batch as intake_batch
from appeals.intake import InputError, write_rejects
from appeals.models import PHI_FIELDS, DenialRecord, Reject

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Turn denied behavioral-health claims into appeal packets.")

ColumnsOpt = Annotated[Path | None, typer.Option("--columns", help="YAML map of export "
                                                    "headers to canonical field names.")]
LetterPlanOpt = Annotated[str | None, typer.Option(
    "--plan-type", help="Plan type of the denial letters (PDF or text) among the inputs, as in a "
    "record's plan_type column (employer_group, medicaid_mco, ...): a letter's words never decide "
    "it; without it, the payer directory (--payers) may")]
RejectsOpt = Annotated[Path | None, typer.Option("--rejects", help="Write rejected records "
                                                    "(CSV: source, location, field, message, raw, level).")]


@app.callback()
def _root() -> None:
    """Turn denied behavioral-health claims into appeal packets."""


def err(message: str) -> None:
    typer.echo(message, err=True)


def safe_reject_line(r: Reject) -> str:
    """A reject for the log: the message is left out when it could quote a PHI value."""
    if r.field in PHI_FIELDS or any(f"{name}:" in r.message for name in PHI_FIELDS):
        return f"{r.source}: {r.location}: {r.field}: invalid value (see the rejects file)"
    return str(r)


class Batch(intake_batch):
    """The intake batch for commands: unusable inputs and rejects go to standard error."""

    def __init__(self, paths: list[Path], columns: Path | None,
                 plan_type: str | None = None,
                 enrich: Callable[[DenialRecord], DenialRecord] | None = None) -> None:
        super().__init__(paths, columns, on_error=lambda message: err(f"error: {message}"),
                         plan_type=plan_type, enrich=enrich)

    def __iter__(self) -> Iterator[DenialRecord]:
        yield from super().__iter__()
        for r in self.rejects:
            err(safe_reject_line(r))

    def finish(self, rejects_path: Path | None, what: str = "records") -> int:
        if rejects_path is not None:
            write_rejects(self.rejects, rejects_path)
        warnings = len(self.rejects) - self.errors
        err(f"{self.records} {what}, {self.errors} rejected, {warnings} warnings"
            + (f" (rejects written to {rejects_path})" if rejects_path and self.rejects else ""))
        return 2 if self.failed else 0


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


RegistryOpt = Annotated[Path | None, typer.Option("--registry", help="Citation registry "
                                                     "YAML to use instead of the built-in one.")]
DateOpt = Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"])]


def _or_exit(call: Callable[[], Any], *errors: type[Exception]) -> Any:
    """`call()`, or its refusal as one line on standard error and exit code 2."""
    try:
        return call()
    except errors as exc:
        err(f"error: {exc}")
        raise typer.Exit(2) from None


def _registry(path: Path | None):
    from appeals.law import RegistryError, load_registry

    return _or_exit(lambda: load_registry(path), RegistryError)


@app.command("law")
def law_cmd(
    path: Annotated[Path | None, typer.Argument(help="An input file: print one JSON line "
                                                   "per record instead.")] = None,
    plan_type: Annotated[str | None, typer.Option(
        "--plan-type", help="A plan type of the input schema (employer_group, medicaid_mco, ...) "
        "or of the registry (erisa_group, grandfathered_group, ...).")] = None,
    funding: Annotated[str | None, typer.Option(help="fully_insured or self_funded.")] = None,
    employer_size: Annotated[int | None, typer.Option(min=0)] = None,
    state: Annotated[str | None, typer.Option(help="Two-letter state of the plan.")] = None,
    denial_date: DateOpt = None, service_date: DateOpt = None,
    level_of_care: Annotated[str | None, typer.Option(help="outpatient, iop, php, "
                                                         "residential, inpatient, mat.")] = None,
    review_type: Annotated[str | None, typer.Option(help="pre_service, concurrent or "
                                                       "post_service.")] = None,
    grandfathered: Annotated[bool, typer.Option(help="The employer plan is grandfathered.")] = False,
    retiree_only: Annotated[bool, typer.Option(help="Fewer than 2 current employees.")] = False,
    previous_decision_date: Annotated[datetime | None, typer.Option(
        formats=["%Y-%m-%d"], help="Date of the decision on the previous level: dates the "
        "later levels (fair hearing, QIC, second level).")] = None,
    as_of: Annotated[datetime | None, typer.Option(
        formats=["%Y-%m-%d"], help="Enforcement is judged as of this day (default today).")] = None,
    registry: RegistryOpt = None, columns: ColumnsOpt = None, rejects: RejectsOpt = None,
    payers: PayersOpt = None,
) -> None:
    """Parity regime, citations and filing deadlines for one plan, or for every record of a file.

    appeals law --plan-type employer_group --funding self_funded --employer-size 40 \
        --denial-date 2026-03-02
    """

    from appeals.law import PlanFacts, law_for, plan_facts, resolve_plan
    from appeals.models import level_of_care_value, plan_funding_value, plan_type_value

    reg = _registry(registry)
    day = lambda d: d.date() if d else None
    options = {"as_of": day(as_of), "previous_decision": day(previous_decision_date)}
    if path is not None:
        if plan_type is not None:
            err("error: give either a file or --plan-type, not both")
            raise typer.Exit(2)
        batch = _batch([path], columns, enrich=_directory(payers))
        for record in batch:
            result = law_for(plan_facts(record), reg, **options)
            line = {"claim_id": record.claim_id, "line_number": record.line_number,
                    **result.model_dump(mode="json")}
            sys.stdout.write(json.dumps(line, sort_keys=False) + "\n")
        raise typer.Exit(batch.finish(rejects, "records"))
    if plan_type is None:
        err("error: give an input file or --plan-type")
        raise typer.Exit(2)
    key = plan_type.strip().lower().replace("-", "_")

    def parsed(option: str, parse: Callable[[str | None], Any], value: str | None,
               hint: str = "") -> Any:
        try:
            return parse(value)
        except ValueError as exc:
            err(f"error: {option}: {exc}{hint}")
            raise typer.Exit(2) from None

    fund = parsed("--funding", plan_funding_value, funding)
    loc = parsed("--level-of-care", level_of_care_value, level_of_care)
    if key in reg.plan_types:
        plan, unknowns = key, ()
    else:
        plan, unknowns = resolve_plan(parsed("--plan-type", plan_type_value, plan_type,
                                             "; known registry plan types: "
                                             + ", ".join(reg.plan_types)),
                                      funding=fund, employer_size=employer_size,
                                      grandfathered=grandfathered, retiree_only=retiree_only)
    facts = PlanFacts(plan=plan, funding=fund, state=state.upper() if state else None,
                      employer_size=employer_size, denial_date=day(denial_date),
                      service_date=day(service_date), level_of_care=loc, review_type=review_type,
                      unknowns=unknowns)
    typer.echo(law_for(facts, reg, **options).model_dump_json(indent=2))


@app.command("citations")
def citations_cmd(
    plan_type: Annotated[str | None, typer.Option("--plan-type", help="Registry plan type "
                                                     "(erisa_group, medicaid_mco, ...).")] = None,
    topic: Annotated[str | None, typer.Option(help="parity_nqtl, disclosure, "
                                                 "appeal_deadline, ...")] = None,
    funding: Annotated[str | None, typer.Option(help="With --plan-type: fully_insured or "
                                                     "self_funded (entries for insured plans "
                                                     "only are listed with fully_insured).")
                       ] = None,
    state: Annotated[str | None, typer.Option(help="With --plan-type: the plan's state (state "
                                                   "law is listed only with it).")] = None,
    on: DateOpt = None, registry: RegistryOpt = None,
) -> None:
    """List the citation registry for review: what each entry says, where it applies, its status.

    Filtered by plan type (and funding and state), the entries are those the letters' citation
    gate reaches for that plan in force on --on (default today), the same filter
    (`Registry.citations`), including unverified ones, which are marked and never printed.
    """
    from rich.console import Console
    from rich.table import Table

    reg = _registry(registry)
    when = on.date() if on else date.today()
    if plan_type is not None:
        if plan_type not in reg.plan_types:
            err(f"error: --plan-type: unknown {plan_type!r}; known: {', '.join(reg.plan_types)}")
            raise typer.Exit(2)
        if funding not in (None, "fully_insured", "self_funded"):
            err(f"error: --funding: {funding!r} is not fully_insured or self_funded")
            raise typer.Exit(2)
        entries = reg.citations(plan_type, topic, when, funding=funding,
                                state=state.upper() if state else None, for_letter=False)
    else:
        entries = [c for c in reg.entries.values() if topic is None or topic in c.topics]
    width = 80 if not sys.stdout.isatty() else min(Console().width, 120)
    table = Table(title=f"Citation registry {reg.version}: {len(entries)} entries", width=width,
                  show_lines=True, title_justify="left")
    id_width = max((len(c.id) for c in entries), default=20)
    table.add_column("Citation, id, status", width=max(id_width, 24), overflow="fold")
    table.add_column("What it provides; plan types")
    for c in entries:
        status = c.verification + ("" if c.letter_ok else ", never in letters")
        status += ", " + c.enforcement.status.replace("_", " ")
        if c.enforcement.since:
            status += f" since {c.enforcement.since}"
        table.add_row(f"{c.cite}\n[dim]{c.id}[/dim]\n{status}\nin force from {c.effective_from}",
                      f"{c.provides}\n[dim]{', '.join(c.applies_to)}[/dim]")
    Console(width=width, highlight=False).print(table)


FactsOpt = Annotated[Path | None, typer.Option("--facts", help="Clinicians' answers: YAML or "
                                                 "JSON keyed by claim id, or a folder of them.")]
OrgOpt = Annotated[Path | None, typer.Option("--org", help="Practice settings YAML (name, "
                                               "address, NPI, tax id, signer, phone, logo).")]
TemplatesOpt = Annotated[Path | None, typer.Option("--templates", help="Folder whose files "
                                                     "override single built-in templates.")]
PayersOpt = Annotated[Path | None, typer.Option("--payers", help="Payer directory YAML "
                                                  "(appeal addresses, plan facts).")]
AsOfOpt = Annotated[datetime | None, typer.Option("--as-of", formats=["%Y-%m-%d"],
                                                     help="Letter date (default today).")]

DbOpt = Annotated[str | None, typer.Option(
    "--db", metavar="URL", help="Case store: sqlite:///FILE or postgresql+psycopg://... "
    "(default $APPEALS_DB, else sqlite:///appeals.db here).")]
FormatOpt = Annotated[str, typer.Option("--format", help="table or json.")]
OnOpt = Annotated[datetime, typer.Option("--on", formats=["%Y-%m-%d"], help="The day it "
                                         "happened (the letter's date, the day it was sent).")]
ByOpt = Annotated[str | None, typer.Option("--by", help="Who did it (default: your login).")]
NoteOpt = Annotated[str | None, typer.Option("--note")]


def _payers(path: Path | None) -> dict:
    from appeals.compose.settings import SettingsError, load_payers

    return _or_exit(lambda: load_payers(path), SettingsError)


def _settings(rules: Path | None, registry: Path | None, org: Path | None, payers: Path | None,
              facts: Path | None, templates: Path | None, as_of: datetime | None):
    from appeals.packet import SETTINGS_ERRORS, Settings

    return _or_exit(lambda: Settings.load(
        rules=rules, registry=registry, org=org, payers=payers, facts=facts, templates=templates,
        as_of=as_of.date() if as_of else None), *SETTINGS_ERRORS)


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
    import os

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
    import os
    from importlib import resources

    from appeals.synthetic import write_835

    samples = Path(str(resources.files("appeals.data").joinpath("samples")))
    out.mkdir(parents=True, exist_ok=True)
    synthetic = out / "synthetic_bh.835"
    write_835(synthetic, claims=40, lines_per_claim=3, seed=7)
    inputs = [samples / "denials.csv", samples / "multi_line.csv", synthetic,
              *_demo_letters(out / "letters")] + sorted(
        p for p in samples.iterdir() if p.suffix in (".835", ".txt"))

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


def _demo_letters(folder: Path) -> list[Path]:
    """Two utilization-review denials of care under way: a Medicaid plan's residential stay (a
    text-layer PDF) and an employer plan's intensive outpatient program (a scanned page, read by
    OCR; left out, and said so, where Tesseract is not installed)."""
    from datetime import date

    from appeals.intake.pdf import tesseract_available
    from appeals.synthetic_letters import LetterFacts, write_letter

    folder.mkdir(parents=True, exist_ok=True)
    medicaid = LetterFacts(payer="Tar Heel Medicaid Plan", member="Avery Sample",
                           member_id="THM000417", dob=date(2001, 5, 9),
                           reference="UM-2026-061901", admitted=date(2026, 6, 18),
                           denied_from=date(2026, 6, 30), letter_date=date(2026, 6, 29))
    letters = [write_letter(folder / "tar_heel_residential_denial.pdf", medicaid, "labels")]
    if tesseract_available():
        iop = LetterFacts(payer="Rushmore Life", member="Quinn Example", member_id="RL7730021",
                          dob=date(1986, 11, 2), reference="RL-CR-88213",
                          service="Intensive outpatient program (S9480)",
                          level_words="intensive outpatient treatment",
                          review="Concurrent review", admitted=date(2026, 6, 8),
                          denied_from=date(2026, 6, 29), letter_date=date(2026, 6, 26),
                          reason="The member attends all program hours and reports no cravings "
                                 "for three weeks. Symptoms do not require nine hours a week; "
                                 "weekly outpatient therapy meets the member's needs.",
                          criteria="MCG Behavioral Health Care Guidelines, 29th edition",
                          window_days=180)
        letters.append(write_letter(folder / "rushmore_iop_denial_scan.pdf", iop, "table",
                                    scanned=True))
    else:
        err("demo: the scanned denial letter is left out (Tesseract, Debian package "
            "tesseract-ocr, is not installed)")
    return letters


def _shown(url: str) -> str:
    from appeals.store import shown

    return shown(url)


def _store(db: str | None):
    from appeals.store import StoreError, open_store

    return _or_exit(lambda: open_store(db), StoreError)


def _case_call(call: Callable[[], Any]) -> Any:
    """A case-store call; its refusal (no such case, a move the lifecycle forbids, a bad value)
    is one line and exit 2."""
    from appeals.store import CaseError, StoreError

    return _or_exit(call, CaseError, StoreError, ValueError)


def _must_exist(paths: list[Path]) -> None:
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        err(f"error: no such file or folder: {', '.join(missing)}")
        raise typer.Exit(2)


def _print_json(data: object) -> None:

    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


@app.command("cases")
def cases_cmd(
    status: Annotated[str | None, typer.Option("--status", help="to_work, waiting_on_clinician, "
                                               "ready_to_send, sent, overturned, "
                                               "partially_overturned, upheld, closed.")] = None,
    payer: Annotated[str | None, typer.Option("--payer", help="Payer name (part of it).")] = None,
    category: Annotated[str | None, typer.Option("--category")] = None,
    due_within: Annotated[int | None, typer.Option("--due-within", metavar="DAYS", min=0)
                          ] = None,
    as_of: AsOfOpt = None, fmt: FormatOpt = "table", db: DbOpt = None,
    redact: Annotated[bool, typer.Option("--redact", help="Leave out patient names and member "
                                         "ids.")] = False,
) -> None:
    """The cases in the store, nearest deadline first."""
    from appeals.store import Status, list_cases

    if status is not None and status not in {s.value for s in Status}:
        err(f"error: --status: {status!r} is not one of {', '.join(s.value for s in Status)}")
        raise typer.Exit(2)
    engine = _store(db)
    rows = list_cases(engine, status=status, payer=payer, category=category,
                      due_within=due_within, as_of=as_of.date() if as_of else None,
                      redact=redact)
    _logged(engine, "export", f"appeals cases --format {fmt}: {len(rows)} cases"
            + (", redacted" if redact else ""))
    if fmt == "json":
        _print_json(rows)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(rows)} cases", title_justify="left")
    for name in ("case", "claim-line", "lines", "payer", "category", "status", "level",
                 "deadline", "days", "decision due", "at stake", "recovered", "repeats"):
        table.add_column(name, justify="right" if name in (
            "days", "at stake", "recovered", "repeats", "case", "lines", "level") else "left")
    for r in rows:
        decision = r["decision_due"] and (
            f"{r['decision_due']} ({-r['decision_days_left']} d over)"
            if r["decision_days_left"] < 0 else r["decision_due"])
        table.add_row(str(r["case_id"]), f"{r['claim_id']}-{r['line_number']}", str(r["lines"]),
                      r["payer_name"], r["category"], r["status"], str(r["level"]),
                      r["deadline"],
                      "" if r["days_left"] is None else str(r["days_left"]), decision,
                      r["at_stake"], r["recovered"], str(r["repeat_count"]))
    Console(width=140 if not sys.stdout.isatty() else None, highlight=False).print(table)


@app.command("case")
def case_cmd(ref: Annotated[str, typer.Argument(metavar="CASE_ID", help="Case number or "
                                                "CLAIM-LINE.")],
             fmt: FormatOpt = "table", db: DbOpt = None, as_of: AsOfOpt = None,
             redact: Annotated[bool, typer.Option("--redact")] = False) -> None:
    """One case's whole history: its appeal's lines, the levels filed, every event, and every
    input line recorded for it."""
    from appeals.store import case_history

    engine = _store(db)
    data = _case_call(lambda: case_history(engine, ref, as_of=as_of.date() if as_of else None,
                                           redact=redact))
    _logged(engine, "case_view", f"appeals case --format {fmt}", case_id=data["case_id"])
    if fmt == "json":
        _print_json(data)
        return
    skip = ("events", "lines", "packet_hashes", "appeal_lines", "filings")
    for key, value in data.items():
        if key not in skip and value not in ("", None, []):
            typer.echo(f"{key:>15}: {value}")
    typer.echo(f"the appeal's lines: {len(data['appeal_lines'])}")
    for ln in data["appeal_lines"]:
        typer.echo(f"  {ln['claim_id']}-{ln['line_number']}  {ln['service_date'] or '-':<10}  "
                   f"{ln['cpt_code']:<6} billed {ln['billed']}, at stake {ln['at_stake']}, "
                   f"recovered {ln['recovered']}")
    if data["filings"]:
        typer.echo("levels filed:")
    for f in data["filings"]:
        decided = f"{f['decision']} on {f['decided_on']}" if f["decision"] else "no decision yet"
        typer.echo(f"  {f['level']}  {f['name']:<24} filed {f['filed_on']} by "
                   f"{f['method'] or '-'}: {decided}")
        if f["decision_rule"] and not f["decision"]:
            typer.echo(f"     {f['decision_rule']}")
    typer.echo("history:")
    for e in data["events"]:
        move = f"{e['from'] or '-'} -> {e['to']}" if e["to"] else ""
        extra = "; ".join(x for x in (e["method"], e["amount"] and f"${e['amount']}",
                                      e["note"]) if x)
        typer.echo(f"  {e['on']}  {e['kind']:<8} {move:<40} {e['who']:<12} {extra}")
    typer.echo(f"input lines: {len(data['lines'])}")
    for line in data["lines"]:
        typer.echo(f"  {line['recorded_on']}  {line['claim_id']}-{line['line_number']}  "
                   f"{'denied' if line['denied'] else 'paid'} {line['paid']}  "
                   f"{line['location']} of {line['source_sha256'][:12]}")


@app.command("mark")
def mark_cmd(ref: Annotated[str, typer.Argument(metavar="CASE_ID")],
             to: Annotated[str, typer.Argument(metavar="sent|closed")],
             on: OnOpt,
             method: Annotated[str | None, typer.Option("--method", help="fax, mail, portal, "
                                                        "email or phone.")] = None,
             reason: Annotated[str | None, typer.Option("--reason", help="For closed: "
                                                        "written_off, no_action, duplicate.")
                               ] = None,
             note: NoteOpt = None, by: ByOpt = None, db: DbOpt = None,
             override: Annotated[str | None, typer.Option(
                 "--override", metavar="REASON", help="Send a packet that is not ready (a "
                 "draft, or a parity letter not approved) anyway; the reason is kept in the "
                 "history.")] = None,
             org: OrgOpt = None) -> None:
    """Mark a case sent (how) or closed (why); the change is kept in its history. Sent only
    when its packet is ready (nothing left to fill in, the clinician's attestation, a parity
    letter approved as it is), or with --override REASON."""
    from appeals.compose.settings import SettingsError, load_org
    from appeals.store import mark

    separate = _or_exit(lambda: load_org(org), SettingsError).approver_not_sender
    engine = _store(db)
    case = _case_call(lambda: mark(engine, ref, to, on=on.date(), method=method, note=note,
                                   reason=reason, who=by, override=override, separate=separate))
    err(f"case {case['id']} ({case['claim_id']}-{case['line_number']}): {case['status']}")


@app.command("call")
def call_cmd(
    case_id: Annotated[str, typer.Argument(help="Case number, or CLAIM-LINE.")],
    on: OnOpt,
    rep: Annotated[str, typer.Option("--rep", help="The payer's representative (name or id).")],
    ref: Annotated[str | None, typer.Option("--ref", help="The call's reference number.")
                   ] = None,
    note: NoteOpt = None, by: ByOpt = None, db: DbOpt = None,
) -> None:
    """Log a call with the payer about a case (receipt confirmed, status asked): in its history,
    dated, with the representative and the reference, for the next letter to quote."""
    from appeals.store import log_call

    case = _case_call(lambda: log_call(_store(db), case_id, on=on.date(), rep=rep, reference=ref,
                                       note=note, who=by))
    err(f"case {case['id']} ({case['claim_id']}-{case['line_number']}): call logged")


@app.command("approve")
def approve_cmd(
    case_id: Annotated[str, typer.Argument(help="Case number, or CLAIM-LINE.")],
    on: OnOpt, by: ByOpt = None, note: NoteOpt = None, db: DbOpt = None,
) -> None:
    """A compliance reviewer approves the case's letter (a parity letter is sent only after)."""
    from appeals.store import approve
    from appeals.store.cases import who_am_i

    case = _case_call(lambda: approve(_store(db), case_id, on=on.date(), who=by or who_am_i(),
                                      note=note))
    err(f"case {case['id']} ({case['claim_id']}-{case['line_number']}): approved")


@app.command("serve")
def serve_cmd(
    db: DbOpt = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on. The default "
                                      "serves this machine only.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    facts: Annotated[Path | None, typer.Option("--facts", help="The runs' facts YAML: the "
                                               "clinician form saves answers there.")] = None,
    org: OrgOpt = None, payers: PayersOpt = None, templates: TemplatesOpt = None,
    rules: Annotated[Path | None, typer.Option("--rules")] = None, registry: RegistryOpt = None,
    cert: Annotated[Path | None, typer.Option("--cert", help="TLS certificate (PEM): serve "
                                              "HTTPS.")] = None,
    key: Annotated[Path | None, typer.Option("--key", help="The certificate's private key "
                                             "(PEM).")] = None,
    behind_proxy: Annotated[bool, typer.Option("--behind-proxy", help="A reverse proxy on this "
                                               "machine terminates TLS: trust its "
                                               "X-Forwarded-Proto and -For.")] = False,
    as_of: AsOfOpt = None,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Server processes "
                                         "(a team on PostgreSQL).")] = 1,
) -> None:
    """The review desk: the worklist, cases and their packets, approve, mark sent, record the
    decision, in the browser. Sign in with a user made by `appeals users add`. Run it from the
    folder `appeals run` ran in (packets are found where the run wrote them)."""
    import os

    import uvicorn

    from appeals.store import store_url
    from appeals.web import create_app

    files = {"org": org, "payers": payers, "templates": templates, "rules": rules,
             "registry": registry}
    _settings(rules, registry, org, payers, facts if facts and facts.exists() else None,
              templates, None)  # a broken settings file stops the desk before it starts
    engine = _store(db)
    secret = os.environ.get("APPEALS_SECRET")
    if (cert is None) != (key is None):
        err("error: --cert and --key go together")
        raise typer.Exit(2)
    loopback = host in ("127.0.0.1", "localhost", "::1")
    where = "this machine only" if loopback else \
        "the network: anyone who can reach this address sees the sign-in page"
    scheme = "https" if cert else "http"
    err(f"review desk on {scheme}://{host}:{port}/ for {where}; case store "
        f"{_shown(store_url(db))}"
        + ("" if secret else "; sessions end when it stops (set APPEALS_SECRET to keep them)"))
    if not cert and not behind_proxy and not loopback:
        err("warning: plain HTTP on a network address: passwords, session cookies and patients' "
            "records cross the network unencrypted. Give --cert and --key, or put a TLS proxy "
            "in front (--behind-proxy); see the README's desk section")
    transport = {"ssl_certfile": str(cert) if cert else None,
                 "ssl_keyfile": str(key) if key else None, "proxy_headers": behind_proxy,
                 "forwarded_allow_ips": "127.0.0.1" if behind_proxy else None}
    if workers == 1:
        uvicorn.run(create_app(engine, secret, as_of=as_of.date() if as_of else None,
                               facts=facts, settings=files), host=host, port=port,
                    log_level="warning", **transport)
        return
    import json
    import secrets

    from appeals.web.app import DESK_ENV

    if engine.dialect.name == "sqlite":
        err("warning: several workers on SQLite take turns writing; a team serves from "
            "PostgreSQL (see the case store section)")
    # The workers are fresh processes: the store, the cookie key and the files go by the
    # environment (one key for all, or a cookie signed by one worker is refused by the next).
    os.environ["APPEALS_DB"] = engine.url.render_as_string(hide_password=False)
    os.environ.setdefault("APPEALS_SECRET", secrets.token_hex(32))
    os.environ[DESK_ENV] = json.dumps({
        "as_of": as_of.date().isoformat() if as_of else None,
        "facts": str(facts.resolve()) if facts else None,
        "settings": {k: str(v.resolve()) if v else None for k, v in files.items()}})
    engine.dispose()
    uvicorn.run("appeals.web.app:app_from_env", factory=True, workers=workers, host=host,
                port=port, log_level="warning", **transport)


users_app = typer.Typer(no_args_is_help=True, help="The review desk's users.")
app.add_typer(users_app, name="users")


PasswordStdinOpt = Annotated[bool, typer.Option("--password-stdin", help="Read the password "
                                                "from standard input (else asked).")]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def users_add_cmd(
    name: Annotated[str, typer.Argument()],
    role: Annotated[str, typer.Option("--role", help="biller, clinician, compliance or admin.")],
    password_stdin: PasswordStdinOpt = False,
    db: DbOpt = None,
) -> None:
    """Add a user of `appeals serve` (the password is stored as an argon2id hash)."""
    from appeals.store.users import add_user

    password = _password(password_stdin)
    _case_call(lambda: add_user(_store(db), name, role, password))
    err(f"user {name} ({role}) added")


@users_app.command("list")
def users_list_cmd(db: DbOpt = None, fmt: FormatOpt = "table") -> None:
    """Every user: role, state (active, locked, disabled), wrong passwords in a row, whether an
    API token is set, and open sessions."""
    from appeals.store.users import list_users

    rows = list_users(_store(db))
    if fmt == "json":
        _print_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['name']:<24} {r['role']:<11} {r['state']:<9} failed {r['failed_sign_ins']}"
                   f"  tokens {r['api_tokens']}  sessions {r['open_sessions']}"
                   + (f"  providers {', '.join(r['providers'])}" if r["providers"] else ""))


def _user_change(change: str, help_: str):
    def command(name: Annotated[str, typer.Argument()], db: DbOpt = None) -> None:
        from appeals.store.users import set_user

        _case_call(lambda: set_user(_store(db), name, change))
        err(f"user {name}: {change}{'d' if change.endswith('e') else 'ed'}")
    command.__doc__ = help_
    return command


for _change, _help in (
        ("disable", ("Disable NAME: no sign-in, their sessions end and their API token is "
                     "dropped.")),
        ("enable", "Let a disabled user sign in again."),
        ("unlock", "Clear the lock set after repeated wrong passwords."),
        ("remove", "Remove NAME (their sessions end; the history keeps their name).")):
    users_app.command(_change)(_user_change(_change, _help))


@users_app.command("password")
def users_password_cmd(name: Annotated[str, typer.Argument()],
                       password_stdin: PasswordStdinOpt = False, db: DbOpt = None) -> None:
    """Set NAME's password: their sessions end and their API token is dropped."""
    from appeals.store.users import set_user

    password = _password(password_stdin)
    _case_call(lambda: set_user(_store(db), name, "password", password))
    err(f"user {name}: password changed, sessions ended")


@app.command("access-log")
def access_log_cmd(
    user: Annotated[str | None, typer.Option("--user")] = None,
    case: Annotated[int | None, typer.Option("--case", metavar="CASE_ID")] = None,
    since: Annotated[datetime | None, typer.Option("--since", formats=["%Y-%m-%d"])] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
    db: DbOpt = None,
) -> None:
    """Who signed in, viewed a case, downloaded a file, called the API or exported, and from
    where (the desk and the case commands write it; no patient data in it)."""
    from appeals.store.access import access_rows

    engine = _store(db)
    rows = access_rows(engine, user=user, case_id=case, since=since.date() if since else None)
    _logged(engine, "export", f"appeals access-log --format {fmt}: {len(rows)} rows")
    if fmt == "json":
        _print_json(rows)
    elif fmt == "csv":
        import csv

        out = csv.DictWriter(sys.stdout, fieldnames=["id", "at", "user_name", "action",
                                                     "case_id", "detail", "address", "outcome"],
                             lineterminator="\n")
        out.writeheader()
        out.writerows(rows)
    else:
        for r in rows:
            typer.echo(f"{r['at']}  {r['user_name'] or '-':<16} {r['action']:<16} "
                       f"{r['case_id'] or '':<6} {r['outcome']:<8} {r['address'] or ''}  "
                       f"{r['detail'] or ''}")


def _logged(engine, action: str, detail: str, case_id: int | None = None) -> None:
    """The case commands read PHI too: one access-log row, by the login running them."""
    from appeals.store.access import log_access
    from appeals.store.cases import who_am_i

    log_access(engine, who_am_i(), action, case_id=case_id, detail=detail, address="cli")


@users_app.command("token")
def users_token_cmd(
    name: Annotated[str, typer.Argument()], db: DbOpt = None,
    scope: Annotated[str, typer.Option("--scope", help="read, or write (read and write).")
                     ] = "read",
    days: Annotated[int, typer.Option("--days", help="How long it lasts (1 to 366).")] = 90,
) -> None:
    """A new API token for NAME (printed once; only its hash is kept): send it as
    `Authorization: Bearer TOKEN` to /api/cases. It ends after --days, when revoked, or when
    the user is disabled or given a new password."""
    from appeals.store.users import make_token

    typer.echo(_case_call(lambda: make_token(_store(db), name, scope, days)))


@users_app.command("tokens")
def users_tokens_cmd(name: Annotated[str | None, typer.Argument()] = None,
                     db: DbOpt = None) -> None:
    """The API tokens (never their values): id, user, scope, made, expires, revoked, last use."""
    from appeals.store.users import list_tokens

    for t in list_tokens(_store(db), name):
        state = f"revoked {t['revoked_at']}" if t["revoked_at"] else f"expires {t['expires_at']}"
        typer.echo(f"{t['id']:>4}  {t['user_name']:<24} {t['scope']:<6} made {t['created_at']}  "
                   f"{state}  last used {t['last_used_at'] or 'never'}")


@users_app.command("revoke")
def users_revoke_cmd(token_id: Annotated[int, typer.Argument(metavar="TOKEN_ID")],
                     db: DbOpt = None) -> None:
    """Revoke an API token by its id (`appeals users tokens` lists them)."""
    from appeals.store.users import revoke_token

    _case_call(lambda: revoke_token(_store(db), token_id))
    err(f"token {token_id} revoked")


@users_app.command("link")
def users_link_cmd(
    name: Annotated[str, typer.Argument()],
    provider: Annotated[list[str], typer.Option("--provider", help="A rendering provider's NPI "
                                                "(or name as the remittance gives it); "
                                                "repeat it for several.")],
    db: DbOpt = None,
) -> None:
    """The rendering providers a clinician is: the desk shows them those providers' cases only,
    and only those may they answer and sign. Replaces the earlier list."""
    from appeals.store.users import set_providers

    _case_call(lambda: set_providers(_store(db), name, provider))
    err(f"user {name}: providers {', '.join(provider)}")


@app.command("outcome")
def outcome_cmd(ref: Annotated[str, typer.Argument(metavar="CASE_ID")],
                decision: Annotated[str, typer.Argument(
                    metavar="overturned|partially_overturned|upheld")],
                on: OnOpt,
                amount: Annotated[str | None, typer.Option("--amount", help="Dollars recovered "
                                                           "(default: all at stake).")] = None,
                note: NoteOpt = None, by: ByOpt = None, db: DbOpt = None,
                registry: RegistryOpt = None) -> None:
    """Record the payer's decision; after upheld, the next level's deadline is put on the case."""
    from appeals.models import parse_money
    from appeals.store import record_outcome

    try:
        money = parse_money(amount)  # the readers' own amount rules ($, thousands commas)
    except ValueError as exc:
        err(f"error: --amount: {exc}")
        raise typer.Exit(2) from None
    reg, engine = _registry(registry), _store(db)
    case = _case_call(lambda: record_outcome(engine, ref, decision, on=on.date(), amount=money,
                                             note=note, who=by, registry=reg))
    line = f"case {case['id']} ({case['claim_id']}-{case['line_number']}): {case['status']}"
    if case["status"] == "upheld":
        line += (f"; next: {case['next_level']} by {case['next_deadline'] or 'a date the plan sets'}"
                 if case.get("next_level") else "; no later level in the registry for this plan: "
                 "read the decision notice")
    err(line)


@app.command("lint")
def lint_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Packet folders, or a run's output or "
                                                "packets folder.")],
    as_of: AsOfOpt = None,
) -> None:
    """Is each packet ready to send? No placeholder left, only the citations the gate printed,
    the filing deadline printed and open, the claim on every page and in every file and no other
    case's, the DOCX and the PDF saying the same words. One line per problem; exit 1 if any."""
    from appeals.lint import lint_folder

    _must_exist(paths)
    results = lint_folder(paths, as_of=as_of.date() if as_of else date.today())
    if not results:
        err("error: no packet (a folder with packet.json) found")
        raise typer.Exit(2)
    for problems in results.values():
        for problem in problems:
            typer.echo(problem)
    drafts = sum(bool(p) for p in results.values())
    err(f"{len(results) - drafts} of {len(results)} packets ready, {drafts} draft")
    raise typer.Exit(1 if drafts else 0)


RosterOpt = Annotated[Path | None, typer.Option("--roster", help="Clinician roster CSV "
                                               "(provider_npi, payer_name, effective_from, "
                                               "effective_to, license_type, license_expires).")]
AuthsOpt = Annotated[Path | None, typer.Option("--auths", help="Authorizations CSV (member_id, "
                                               "payer_name, auth_number, cpt_codes, start, end, "
                                               "units, units_used, next_review).")]


@app.command("scrub")
def scrub_cmd(
    paths: Annotated[list[Path], typer.Argument(
        help="Claims about to be sent: 837P files, CSV or JSON with the canonical columns, or "
             "folders of them; or the word `suggest` to propose rules from the case store.")],
    out: Annotated[Path | None, typer.Option("--out", help="Folder for scrub.csv, scrub.html "
                                             "and rejects.csv.")] = None,
    payers: PayersOpt = None, roster: RosterOpt = None, auths: AuthsOpt = None,
    rules: Annotated[Path | None, typer.Option("--rules", help="Scrub rules YAML laid over "
                                               "appeals/data/scrub_rules.yaml.")] = None,
    columns: ColumnsOpt = None, as_of: AsOfOpt = None, db: DbOpt = None,
    minimum: Annotated[int, typer.Option("--min", min=1, help="suggest: denials a pattern "
                                         "needs to be proposed.")] = 3,
) -> None:
    """Check claims before they go out, with the edits a payer would otherwise make by denying
    them. Exit 0: clean; 1: an error finding; 2: an input or settings file unusable.

    `appeals scrub suggest [--db URL]` proposes edits from the case store's repeated denials (a
    person accepts them into payers.yaml or a rules file; nothing is applied by itself)."""
    if [str(p) for p in paths] == ["suggest"]:
        from appeals.scrub.suggest import suggest
        from appeals.store import store_url

        found = suggest(_store(db), minimum)
        for s in found:
            typer.echo(json.dumps(s.row(), sort_keys=True))
        err(f"{len(found)} suggestion(s) from {_shown(store_url(db))}; none applied")
        raise typer.Exit(0)
    from appeals.compose.settings import SettingsError
    from appeals.scrub import ScrubRulesError, scrub

    if out is None:
        err("error: --out FOLDER is needed for scrub.csv and scrub.html")
        raise typer.Exit(2)
    _must_exist(paths + [p for p in (payers, roster, auths, rules) if p is not None])
    result = _or_exit(lambda: scrub(
        paths, out, payers=payers, roster=roster, auths=auths, rules=rules, columns=columns,
        as_of=as_of.date() if as_of else None, on_error=lambda m: err(f"error: {m}")),
        ScrubRulesError, SettingsError, InputError)
    for r in result.rejects:
        err(safe_reject_line(r))
    err(f"{result.lines} lines checked: {result.errors} errors, {result.warnings} warnings, "
        f"{len(result.rejects)} rejected rows; {out / 'scrub.csv'}, {out / 'scrub.html'}")
    raise typer.Exit(result.exit_code)


@app.command("watch")
def watch_cmd(
    auths: AuthsOpt = None, roster: RosterOpt = None, db: DbOpt = None,
    as_of: AsOfOpt = None,
    days: Annotated[int, typer.Option("--days", min=1, help="How far ahead to look.")] = 14,
    ics: Annotated[Path | None, typer.Option("--ics", help="Also write the items as an "
                                             "iCalendar file (Outlook, Google Calendar).")] = None,
    no_db: Annotated[bool, typer.Option("--no-db", help="Leave the case store out.")] = False,
    output: FormatOpt = "table",
) -> None:
    """What comes due: authorizations ending or running out of units, concurrent reviews,
    enrolments and licences ending, open appeal deadlines and clinician checklists."""
    from appeals.scrub.files import read_auths, read_roster
    from appeals.scrub.watch import from_files, from_store, ordered, to_ics

    day = as_of.date() if as_of else date.today()
    _must_exist([p for p in (auths, roster) if p is not None])
    auth_rows, bad = _or_exit(lambda: read_auths(auths), InputError) if auths else ([], [])
    roster_rows, bad_roster = _or_exit(lambda: read_roster(roster), InputError) if roster \
        else ([], [])
    for r in [*bad, *bad_roster]:
        err(safe_reject_line(r))
    items = from_files(auth_rows, roster_rows, day, days)
    if not no_db:
        items += from_store(_store(db), day, days)
    items = ordered(items)
    if output == "json":
        for item in items:
            typer.echo(json.dumps(item.row(), sort_keys=True))
    else:
        for item in items:
            typer.echo(f"{item.due.isoformat()}  {item.kind:<18} {item.title}: {item.detail}")
    if ics is not None:
        ics.write_bytes(to_ics(items, day))
    err(f"{len(items)} item(s) due by {(day + timedelta(days=days)).isoformat()}"
        + (f"; calendar: {ics}" if ics else ""))
    raise typer.Exit(1 if bad or bad_roster else 0)


@app.command("escalate")
def escalate_cmd(
    case: Annotated[str, typer.Argument(metavar="CASE_ID", help="Case number or CLAIM-LINE.")],
    kind: Annotated[str, typer.Option("--kind", help="status_inquiry; after the decision date: "
                                      "deemed_exhaustion (ERISA), fair_hearing_request (Medicaid "
                                      "managed care), regulator_complaint; after an upheld "
                                      "decision: next_level (or fair_hearing_request).")],
    on: Annotated[datetime | None, typer.Option("--on", formats=["%Y-%m-%d"],
                                                help="The letter's date (default today).")
                  ] = None,
    db: DbOpt = None, org: OrgOpt = None, payers: PayersOpt = None,
    templates: TemplatesOpt = None, registry: RegistryOpt = None, by: ByOpt = None,
) -> None:
    """A letter about a filed level: a status inquiry; once the payer's time has run out, what
    the program gives (ERISA: deemed exhaustion and external review; Medicaid: the enrollee's fair
    hearing request; a complaint to the plan's regulator); after an upheld decision, the next
    level's request. Written under the case's packet folder (level-N/KIND.docx and .pdf) and
    recorded in its history."""
    from appeals.escalate import EscalationError, escalate
    from appeals.store.cases import who_am_i

    day = on.date() if on else date.today()
    settings = _settings(None, registry, org, payers, None, templates, on)
    engine = _store(db)
    done = _or_exit(lambda: escalate(engine, case, kind, on=day, settings=settings,
                                     who=by or who_am_i()), EscalationError)
    err(f"case {done.case_id}: {kind} for level {done.level} in {done.folder} "
        f"({', '.join(sorted(done.hashes))})")


@app.command("doctor")
def doctor_cmd(db: DbOpt = None,
               rules: Annotated[Path | None, typer.Option("--rules", help="Classification "
                                                          "rules YAML, as `run` takes it.")
                                ] = None, registry: RegistryOpt = None,
               org: OrgOpt = None, payers: PayersOpt = None, facts: FactsOpt = None,
               templates: TemplatesOpt = None,
               no_store: Annotated[bool, typer.Option("--no-store", help="Leave the case store "
                                                      "alone.")] = False) -> None:
    """Check this machine and store before the week's run: the data files (and yours), OCR, the
    letter reader, PDF rendering, the store (schema, file mode), and runs left unfinished after
    their process ended (closed as abandoned). Exit 1 when a check failed."""
    from appeals.doctor import FAIL, WARN, checkup

    checks = checkup(db, store=not no_store, rules=rules, registry=registry, org=org,
                     payers=payers, facts=facts, templates=templates)
    for c in checks:
        mark = {FAIL: "FAILED", WARN: "warning"}.get(c.state, "ok")
        typer.echo(f"{mark:8} {c.name}: {c.detail}")
    raise typer.Exit(1 if any(c.state == FAIL for c in checks) else 0)


precedent_app = typer.Typer(no_args_is_help=True, help="Published external-review decisions: "
                            "counted for the letters and the priority.")
app.add_typer(precedent_app, name="precedent")


@precedent_app.command("import")
def precedent_import_cmd(
    path: Annotated[Path, typer.Argument(help="The publisher's CSV (California DMHC IMR "
                                         "determinations, New York DFS external appeals, or "
                                         "another state's through --columns).")],
    source: Annotated[str, typer.Option("--source", help="ca-dmhc, ny-dfs or csv.")],
    columns: Annotated[Path | None, typer.Option(
        "--columns", help="How the file is read (title, reviews, columns, overturned, upheld, "
        "review_types): required with --source csv.")] = None,
    rejects: RejectsOpt = None, db: DbOpt = None, as_of: AsOfOpt = None,
) -> None:
    """Keep a published file's decisions in the case store, by source and reference id (import
    it again after the publisher's update: nothing is counted twice). Rows that cannot be read
    are listed (--rejects FILE); the file's sha256 and the import date are recorded. The
    toolkit ships no decisions: they are the publisher's."""
    from appeals.precedent import PrecedentError, import_file

    _must_exist([path])
    engine = _store(db)
    day = as_of.date() if as_of else date.today()
    result = _or_exit(lambda: import_file(engine, path, source, columns, day), PrecedentError)
    for r in result.rejects[:20]:
        err(safe_reject_line(r))
    if len(result.rejects) > 20:
        err(f"... and {len(result.rejects) - 20} more (--rejects FILE lists every one)")
    if rejects is not None:
        write_rejects(result.rejects, rejects)
    skipped = "; ".join(f"{k or '(blank)'}: {n}" for k, n in sorted(result.skipped.items()))
    err(f"{path}: {result.rows} decisions kept from {result.title} (sha256 "
        f"{result.sha256[:12]}), {result.rejected} rows rejected"
        + (f"; other review types read and not counted: {skipped}" if skipped else ""))
    raise typer.Exit(1 if result.rejected else 0)


@precedent_app.command("show")
def precedent_show_cmd(
    ref: Annotated[str, typer.Argument(metavar="CASE", help="A case number or CLAIM-LINE.")],
    db: DbOpt = None, as_of: AsOfOpt = None, fmt: FormatOpt = "table",
) -> None:
    """What a case is matched on (treatment, diagnosis group and family, review type), the
    decided reviews of each imported source that match, a few reference ids, and the sentence
    its letter prints (or why none)."""
    from appeals.precedent import PrecedentError, show

    engine = _store(db)
    data = _case_call(lambda: _or_exit(lambda: show(
        engine, ref, as_of.date() if as_of else date.today()), PrecedentError))
    if fmt == "json":
        _print_json(data)
        return
    typer.echo(f"case {data['case']} ({data['category']}, {data['review_type']}): treatment "
               f"{data['treatment'] or '(none matched)'}, diagnosis group "
               f"{data['diagnosis_group'] or '-'}, family {data['family'] or '-'}")
    for m in data["matches"]:
        share = f"{m['share']:.0%}" if m["share"] is not None else "-"
        typer.echo(f"  {m['source']} at {m['matched_on']}: {m['overturned']} of {m['decided']} "
                   f"overturned ({share}), {m['years']}: {', '.join(m['examples'])}")
    if not data["matches"]:
        typer.echo("  no imported decision matches (appeals precedent import FILE --source ...)")
    typer.echo(f"letter: {data['letter']}")


facts_app = typer.Typer(no_args_is_help=True, help="The clinicians' answers.")
app.add_typer(facts_app, name="facts")


@facts_app.command("import")
def facts_import_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Filled checklists (PDF, DOCX) or folders "
                                                "of them.")],
    to: Annotated[Path | None, typer.Option("--to", help="Merge the answers into this facts "
                                            "YAML (the --facts format).")] = None,
    db: Annotated[str | None, typer.Option("--db", metavar="URL", help="Also note the answers "
                                           "on the cases in this store.")] = None,
    as_of: AsOfOpt = None,
    by: ByOpt = None,
) -> None:
    """Read filled checklists back: per case what was answered, what is missing, what is invalid
    (a file with an invalid value is imported not at all). Exit 1 when a file had a problem."""
    from appeals.answers import import_answers

    _must_exist(paths)
    if to is None and db is None:
        err("error: say where the answers go: --to facts.yaml and/or --db URL")
        raise typer.Exit(2)
    results = import_answers(paths, as_of=as_of.date() if as_of else date.today(), to=to,
                             engine=_store(db) if db else None, who=by)
    for r in results:
        if r.error:
            err(f"error: {r.error}")
        elif r.problems:
            err(f"{r.path}: case {r.case}: not imported: " + "; ".join(r.problems))
        else:
            line = f"{r.path}: case {r.case}: {len(r.imported)} answers imported"
            if r.missing:
                line += f"; still missing: {', '.join(r.missing)}"
            if r.ticked_without_words:
                line += f" (ticked without words: {', '.join(r.ticked_without_words)})"
            err(line)
    good = sum(r.ok for r in results)
    err(f"{good} of {len(results)} checklists imported" + (f" into {to}" if to else ""))
    raise typer.Exit(0 if good == len(results) else 1)


@facts_app.command("set")
def facts_set_cmd(
    case: Annotated[str, typer.Argument(metavar="CASE", help="CLAIM-LINE (or, with --db, a case "
                                        "number).")],
    field_id: Annotated[str, typer.Argument(metavar="FIELD", help="A biller field "
                                            "(appeals/data/biller_fields.yaml: plan_administrator, "
                                            "payer_claim_id, ...) or a checklist item id.")],
    value: Annotated[str, typer.Argument(metavar="VALUE")],
    to: Annotated[Path, typer.Option("--to", help="The runs' facts YAML (the --facts format).")
                  ] = Path("facts.yaml"),
    db: Annotated[str | None, typer.Option("--db", metavar="URL", help="Note it on the case and "
                                           "build its packet again, as a run would.")] = None,
    org: OrgOpt = None, payers: PayersOpt = None, templates: TemplatesOpt = None,
    rules: Annotated[Path | None, typer.Option("--rules")] = None, registry: RegistryOpt = None,
    as_of: AsOfOpt = None, by: ByOpt = None,
) -> None:
    """A fact for one case that no export carries (the plan administrator, the payer's claim
    number, the correction made...): written to the facts file the runs read, never typed into a
    DOCX. With --db the case's packet is built again at once (pass the run's --org, --payers and
    --templates); without it the next `appeals run --facts` rebuilds it."""
    from appeals.compose.checklists import load_items
    from appeals.compose.settings import load_biller_fields

    known = set(load_biller_fields().fields) | {i.id for i in load_items()}
    if field_id not in known:
        err(f"error: FIELD: {field_id!r} is neither a biller field ("
            f"{', '.join(sorted(load_biller_fields().fields))}) nor a checklist item id")
        raise typer.Exit(2)
    if not value.strip():
        err("error: VALUE is empty")
        raise typer.Exit(2)
    on = as_of.date() if as_of else date.today()
    if db is None:
        from appeals.answers.importer import merge_facts

        _, sep, line = case.rpartition("-")
        if not sep or not line.isdigit():
            err("error: CASE: without --db give CLAIM-LINE (the packet's folder name)")
            raise typer.Exit(2)
        merge_facts(to, {case: {field_id: value}})
        err(f"{case}: {field_id} set in {to}; `appeals run --facts {to}` builds its packet again")
        return
    from appeals.answers.rebuild import save, stored_record
    from appeals.store import case_history
    from appeals.store.cases import who_am_i

    _settings(rules, registry, org, payers, to if to.exists() else None, templates, as_of)
    engine = _store(db)
    found = _case_call(lambda: case_history(engine, case))
    record = stored_record(engine, found["case_id"])
    folder = save(engine, found, record, {field_id: value}, facts_file=to,
                  settings_files={"org": org, "payers": payers, "templates": templates,
                                  "rules": rules, "registry": registry},
                  as_of=on, who=by or who_am_i(), where="set by `appeals facts set`")
    err(f"case {found['case_id']}: {field_id} set in {to}; "
        + (f"packet built again in {folder}" if folder else "no packet yet: the next run builds it"))


def _batch(paths: list[Path], columns: Path | None, plan_type: str | None = None,
           enrich: Callable[[DenialRecord], DenialRecord] | None = None) -> Batch:
    if columns is not None:
        from appeals.intake import load_column_map

        _or_exit(lambda: load_column_map(columns), InputError)  # fail early, its own message
    if plan_type is not None:
        from appeals.models import plan_type_value

        plan_type = _or_exit(lambda: plan_type_value(plan_type).value, ValueError)
    return Batch(paths, columns, plan_type, enrich)


def _directory(path: Path | None) -> Callable[[DenialRecord], DenialRecord] | None:
    """The payer directory as the batch's enrichment, as `appeals run` reads a record."""
    if path is None:
        return None
    from appeals.compose.settings import payer_for, with_plan_facts

    directory = _payers(path)
    return lambda record: with_plan_facts(record, payer_for(record, directory))


def main() -> None:
    # What any command writes (packets, letters, facts, exports) holds PHI: the owner's alone
    # (`appeals run` widens it to a group when the practice settings say group_readable).
    os.umask(0o077)
    try:
        app()
    except KeyboardInterrupt:
        err("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()

