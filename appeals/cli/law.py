"""The law stage from the command line: law, citations."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from appeals.cli.common import (
    ColumnsOpt,
    DateOpt,
    PayersOpt,
    RegistryOpt,
    RejectsOpt,
    _batch,
    _directory,
    _or_exit,
    _registry,
    app,
    err,
)


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

    from appeals.law import OptionError, given_plan_facts, law_for, plan_facts

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
    facts = _or_exit(lambda: given_plan_facts(
        reg, plan_type, funding=funding, employer_size=employer_size, state=state,
        denial_date=day(denial_date), service_date=day(service_date),
        level_of_care=level_of_care, review_type=review_type, grandfathered=grandfathered,
        retiree_only=retiree_only), OptionError)
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
