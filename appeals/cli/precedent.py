"""Published external-review decisions: precedent import, precedent show."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from appeals.cli.common import (
    AsOfOpt,
    DbOpt,
    FormatOpt,
    RejectsOpt,
    _case_call,
    _must_exist,
    _or_exit,
    _print_json,
    _store,
    app,
    err,
    safe_reject_line,
)

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
    from appeals.intake import write_rejects
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
