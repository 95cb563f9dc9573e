"""Cases and their lifecycle in the store: cases, case, mark, call, approve, outcome, escalate."""

from __future__ import annotations

import sys
from datetime import date, datetime
from typing import Annotated

import typer

from appeals.cli.common import (
    AsOfOpt,
    ByOpt,
    DbOpt,
    FormatOpt,
    NoteOpt,
    OnOpt,
    OrgOpt,
    PayersOpt,
    RegistryOpt,
    TemplatesOpt,
    _case_call,
    _logged,
    _or_exit,
    _print_json,
    _registry,
    _settings,
    _store,
    app,
    err,
)

#: How many cases the table shows unless asked (a store of 10,000 printed whole took 10 s).
TABLE_ROWS = 50


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
    limit: Annotated[int | None, typer.Option(
        "--limit", min=1, help="Show this many (the table's default: 50, nearest deadline "
        "first; JSON: all).")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every matching case.")] = False,
) -> None:
    """The cases in the store, nearest deadline first (the table shows the first 50: --limit N,
    --all)."""
    from appeals.store import Status
    from appeals.store.cases import WorklistQuery, worklist_page

    if status is not None and status not in {s.value for s in Status}:
        err(f"error: --status: {status!r} is not one of {', '.join(s.value for s in Status)}")
        raise typer.Exit(2)
    engine = _store(db)
    shown = None if every or (fmt == "json" and limit is None) else (limit or TABLE_ROWS)
    total, rows = worklist_page(engine, WorklistQuery(
        as_of=as_of.date() if as_of else date.today(),
        statuses=(status,) if status else tuple(s.value for s in Status), category=category,
        payer=payer, due_within=due_within, order="deadline", limit=shown, redact=redact))
    _logged(engine, "export", f"appeals cases --format {fmt}: {len(rows)} cases"
            + (", redacted" if redact else ""))
    if fmt == "json":
        _print_json(rows)
        return
    from rich.console import Console
    from rich.table import Table

    more = f" of {total} (nearest deadline first; --all for every one)" if total > len(rows) \
        else ""
    table = Table(title=f"{len(rows)} cases{more}", title_justify="left")
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
    from appeals.store import mark

    separate = False  # the default practice settings' (no --org: nothing to read)
    if org is not None:
        from appeals.compose.settings import SettingsError, load_org

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
    from appeals.store import record_outcome

    money = None
    if amount is not None:  # the readers' own amount rules ($, thousands commas)
        from appeals.models import parse_money

        try:
            money = parse_money(amount)
        except ValueError as exc:
            err(f"error: --amount: {exc}")
            raise typer.Exit(2) from None
    # The registry (and the law stage) only for an upheld decision: it opens the next level.
    reg = _registry(registry) if decision == "upheld" else None
    engine = _store(db)
    case = _case_call(lambda: record_outcome(engine, ref, decision, on=on.date(), amount=money,
                                             note=note, who=by, registry=reg))
    line = f"case {case['id']} ({case['claim_id']}-{case['line_number']}): {case['status']}"
    if decision == "upheld" and case["status"] == "sent":
        line += f"; the plan sends it on itself, no letter: {case['next_level']}"
    elif case["status"] == "upheld":
        line += (f"; next: {case['next_level']} by {case['next_deadline'] or 'a date the plan sets'}"
                 if case.get("next_level") else "; no later level in the registry for this plan: "
                 "read the decision notice")
    err(line)


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
