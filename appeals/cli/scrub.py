"""Prevention and upkeep: lint, scrub, watch, doctor."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer

from appeals.cli.common import (
    AsOfOpt,
    ColumnsOpt,
    DbOpt,
    FactsOpt,
    FormatOpt,
    OrgOpt,
    PayersOpt,
    RegistryOpt,
    TemplatesOpt,
    _must_exist,
    _or_exit,
    _shown,
    _store,
    app,
    err,
    safe_reject_line,
)


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
    from appeals.intake import InputError
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
    from appeals.scrub.watch import to_ics, watch

    day = as_of.date() if as_of else date.today()
    _must_exist([p for p in (auths, roster) if p is not None])
    if auths or roster:  # the readers' errors (and their models): only when a file is read
        from appeals.intake import InputError

        errors: tuple[type[Exception], ...] = (InputError,)
    else:
        errors = ()
    items, bad = _or_exit(lambda: watch(day, days, auths=auths, roster=roster,
                                        engine=None if no_db else _store(db)), *errors)
    for r in bad:
        err(safe_reject_line(r))
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
    raise typer.Exit(1 if bad else 0)


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
