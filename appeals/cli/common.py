"""What the command rooms share: the app, the options, and the helpers that turn a library
error into one line and an exit code. Library modules are imported where a command uses them, so
a store command does not pay for the readers, the letters or the renderers.

Standard output carries data (JSON Lines, tables); standard error carries counts and messages,
which name claim ids and file positions, never patient names, member ids or birth dates.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from appeals.models import DenialRecord, Reject


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
    from appeals.models import PHI_FIELDS

    if r.field in PHI_FIELDS or any(f"{name}:" in r.message for name in PHI_FIELDS):
        return f"{r.source}: {r.location}: {r.field}: invalid value (see the rejects file)"
    return str(r)


class CommandBatch:
    """The intake batch for commands (appeals.intake.Batch, built when a command reads inputs):
    unusable inputs and rejects go to standard error."""

    def __init__(self, paths: list[Path], columns: Path | None, plan_type: str | None = None,
                 enrich: Callable[[DenialRecord], DenialRecord] | None = None) -> None:
        from appeals.intake import Batch

        self.batch: Batch = Batch(paths, columns, on_error=lambda m: err(f"error: {m}"),
                                  plan_type=plan_type, enrich=enrich)

    def __getattr__(self, name: str) -> Any:  # rejects, records, errors, failed...
        return getattr(self.batch, name)

    def __iter__(self) -> Iterator[DenialRecord]:
        yield from self.batch
        for r in self.batch.rejects:
            err(safe_reject_line(r))

    def finish(self, rejects_path: Path | None, what: str = "records") -> int:
        from appeals.intake import write_rejects

        batch = self.batch
        if rejects_path is not None:
            write_rejects(batch.rejects, rejects_path)
        warnings = len(batch.rejects) - batch.errors
        err(f"{batch.records} {what}, {batch.errors} rejected, {warnings} warnings"
            + (f" (rejects written to {rejects_path})" if rejects_path and batch.rejects
               else ""))
        return 2 if batch.failed else 0


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


def _logged(engine, action: str, detail: str, case_id: int | None = None) -> None:
    """The case commands read PHI too: one access-log row, by the login running them."""
    from appeals.store.access import log_access
    from appeals.store.cases import who_am_i

    log_access(engine, who_am_i(), action, case_id=case_id, detail=detail, address="cli")


def _batch(paths: list[Path], columns: Path | None, plan_type: str | None = None,
           enrich: Callable[[DenialRecord], DenialRecord] | None = None) -> CommandBatch:
    if columns is not None:
        from appeals.intake import InputError, load_column_map

        _or_exit(lambda: load_column_map(columns), InputError)  # fail early, its own message
    if plan_type is not None:
        from appeals.models import plan_type_value

        plan_type = _or_exit(lambda: plan_type_value(plan_type).value, ValueError)
    return CommandBatch(paths, columns, plan_type, enrich)


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
