"""The clinicians' answers: facts import, facts set."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from appeals.cli.common import (
    AsOfOpt,
    ByOpt,
    OrgOpt,
    PayersOpt,
    RegistryOpt,
    TemplatesOpt,
    _case_call,
    _must_exist,
    _settings,
    _store,
    app,
    err,
)

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
