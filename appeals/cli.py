"""Command line: thin wrappers over the library functions, one command per stage.

Standard output carries data (JSON Lines, tables); standard error carries counts and messages,
which name claim ids and file positions, never patient names, member ids or birth dates.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Optional

import typer

from appeals.intake import InputError, read, write_rejects
from appeals.models import PHI_FIELDS, DenialRecord, Reject

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Turn denied behavioral-health claims into appeal packets.")

ColumnsOpt = Annotated[Optional[Path], typer.Option("--columns", help="YAML map of export "
                                                    "headers to canonical field names.")]
RejectsOpt = Annotated[Optional[Path], typer.Option("--rejects", help="Write rejected records "
                                                    "(CSV: source, location, field, message, raw).")]


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


class Batch:
    """Reads inputs, passes records on, keeps rejects and counts; InputError ends the run (2)."""

    def __init__(self, paths: list[Path], columns: Path | None) -> None:
        self.paths, self.columns = paths, columns
        self.rejects: list[Reject] = []
        self.records = 0
        self.unusable: list[str] = []

    def __iter__(self) -> Iterator[DenialRecord]:
        for path in self.paths:
            before = self.records
            errors_before = sum(r.level != "warning" for r in self.rejects)
            try:
                for item in read(path, self.columns):
                    if isinstance(item, Reject):
                        self.rejects.append(item)
                    else:
                        self.records += 1
                        yield item
            except InputError as exc:
                self.unusable.append(str(exc))
                err(f"error: {exc}")
                continue
            errors = sum(r.level != "warning" for r in self.rejects) - errors_before
            if self.records == before and errors:
                self.unusable.append(f"{path}: no record could be read")
        for r in self.rejects:
            err(safe_reject_line(r))

    def finish(self, rejects_path: Path | None, what: str = "records") -> int:
        if rejects_path is not None:
            write_rejects(self.rejects, rejects_path)
        errors = [r for r in self.rejects if r.level != "warning"]
        warnings = len(self.rejects) - len(errors)
        err(f"{self.records} {what}, {len(errors)} rejected, {warnings} warnings"
            + (f" (rejects written to {rejects_path})" if rejects_path and self.rejects else ""))
        if self.unusable or any(r.level == "fatal" for r in self.rejects):
            return 2
        return 0


@app.command()
def intake(paths: Annotated[list[Path], typer.Argument(help="835, CSV, JSON or JSONL files.")],
           columns: ColumnsOpt = None, rejects: RejectsOpt = None) -> None:
    """Read denial records and print them as JSON Lines with the canonical field names."""
    batch = _batch(paths, columns)
    out = sys.stdout
    for record in batch:
        out.write(record.model_dump_json() + "\n")
    raise typer.Exit(batch.finish(rejects))


@app.command("classify")
def classify_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Any input `appeals intake` reads.")],
    rules: Annotated[Optional[Path], typer.Option("--rules", help="YAML rules laid over the "
                                                  "built-in ones (text, facts, codes, ...).")] = None,
    columns: ColumnsOpt = None, rejects: RejectsOpt = None,
    explain: Annotated[Optional[str], typer.Option("--explain", metavar="CLAIM_ID",
                                                   help="Print the decision trace for one claim "
                                                   "in words instead of JSON.")] = None,
) -> None:
    """Classify every line: category, evidence, action, owner, appealable, buckets (JSON Lines)."""
    from appeals.classify import RulesError, classify, explain as explain_record, load_rules

    try:
        rule_set = load_rules(rules)
    except RulesError as exc:
        err(f"error: {exc}")
        raise typer.Exit(2) from None
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


@app.command()
def demo(out: Annotated[Path, typer.Option("--out", help="Folder for the demo output.")] = Path(
        "out/demo")) -> None:
    """Run what exists of the pipeline (intake, classify) on the bundled samples."""
    from importlib import resources

    from rich.console import Console
    from rich.table import Table

    from appeals.classify import classify, load_rules
    from appeals.synthetic import write_835

    samples = Path(str(resources.files("appeals.data").joinpath("samples")))
    out.mkdir(parents=True, exist_ok=True)
    synthetic = out / "synthetic_bh.835"
    write_835(synthetic, claims=40, lines_per_claim=3, seed=7)
    inputs = [samples / "denials.csv", synthetic] + sorted(
        p for p in samples.iterdir() if p.suffix in (".835", ".txt"))
    rules = load_rules()
    batch = Batch(inputs, None)
    by_category: dict[str, list] = {}
    with (out / "classified.jsonl").open("w", encoding="utf-8") as fh:
        for record in batch:
            result = classify(record, rules)
            fh.write(result.model_dump_json() + "\n")
            entry = by_category.setdefault(result.category.value, [0, 0, set()])
            entry[0] += 1
            if result.category.value != "not_a_denial":  # write-offs are not at stake
                entry[1] += record.amount_at_stake
            entry[2].add(result.owner.value)
    code = batch.finish(out / "rejects.csv", "records")
    table = Table(title=f"Denials by category ({batch.records} lines from {len(inputs)} files)")
    for col in ("category", "lines", "at stake", "owners"):
        table.add_column(col, justify="right" if col in ("lines", "at stake") else "left")
    for category, (n, amount, owners) in sorted(by_category.items(), key=lambda kv: -kv[1][0]):
        table.add_row(category, str(n), f"${amount:,.2f}", ", ".join(sorted(owners)))
    Console(width=100).print(table)
    typer.echo(f"Classified lines: {out / 'classified.jsonl'}; rejects: {out / 'rejects.csv'}")
    raise typer.Exit(0 if code == 0 else code)


def _batch(paths: list[Path], columns: Path | None) -> Batch:
    try:
        if columns is not None:
            from appeals.intake import load_column_map

            load_column_map(columns)  # fail early, with the map's own message
    except InputError as exc:
        err(f"error: {exc}")
        raise typer.Exit(2) from None
    return Batch(paths, columns)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()

