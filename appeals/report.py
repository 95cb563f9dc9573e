"""The weekly triage report: the batch's worklist rows summed up the way a billing team meets.

`triage(rows, meta)` returns the numbers (a plain dict, usable from Python); `write_report` renders
them through letter_templates/triage.html.j2 (a reviewer may override it with --templates; it runs
in the sandbox, values HTML-escaped) to triage.html, and the same HTML to triage.pdf.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from appeals.compose.limits import limit_types
from appeals.compose.markup import builtin_templates, template_file
from appeals.render.charts import bar_chart
from appeals.render.pdf import html_to_pdf
from appeals.worklist import Row, RowStatus

DEADLINE_WINDOW = 14
TOP_REASONS = 10
TOP_GROUPS = 12
#: Codes in words where `capitalize` would not do (owners as the triage meeting names them).
WORDS = {"clinician": "Clinician documentation", "parity_nqtl": "Parity / NQTL",
         "iop": "Intensive outpatient (IOP)", "php": "Partial hospitalization (PHP)",
         "mat": "Medication for addiction treatment (MAT)", "not_a_denial": "Not a denial"}


def _words(value: str) -> str:
    return WORDS.get(value) or value.replace("_", " ").capitalize() or "(blank)"


def money(value: Decimal | float) -> str:
    return f"${value:,.2f}"


def _group(rows: Iterable[Row], key: Callable[[Row], str], limit: int | None = None) -> list[dict]:
    """Count, amount at stake and the leading category per key, largest amount first.

    Keys that differ only in case and spacing are one group ("BLUE RIDGE HEALTH" in the 835,
    "Blue Ridge Health" in the export), shown in the first mixed-case spelling seen.
    """
    groups: dict[str, dict] = {}
    for row in rows:
        name = " ".join((key(row) or "(blank)").split())
        g = groups.setdefault(name.casefold(), {"name": name, "count": 0,
                                                "at_stake": Decimal(0), "categories": Counter()})
        if g["name"].isupper() and not name.isupper():
            g["name"] = name
        g["count"] += 1
        g["at_stake"] += row.at_stake
        g["categories"][row.category] += 1
    out = [{"name": g["name"], "count": g["count"], "at_stake": g["at_stake"],
            "top_category": _words(min(g["categories"].items(), key=lambda kv: (-kv[1], kv[0]))[0])}
           for g in groups.values()]
    out.sort(key=lambda g: (-g["at_stake"], -g["count"], g["name"]))
    return out[:limit] if limit else out


def triage(rows: Iterable[Row], meta: dict) -> dict:
    """The report's numbers from the worklist rows, in worklist order, read once: only the
    denials are kept (a remittance's paid and contractual lines are counted and let go)."""
    as_of: date = meta["as_of"]
    labels = {t.id: f"{t.label} ({'quantitative' if t.kind == 'quantitative' else 'NQTL'})"
              for t in limit_types().types}
    lines, billed, paid = 0, Decimal(0), Decimal(0)
    status: Counter[str] = Counter()
    denied: list[Row] = []
    parity: list[Row] = []
    failures: list[Row] = []
    for r in rows:
        lines += 1
        billed += r.billed
        paid += r.paid
        status[r.status] += 1
        if r.category != "not_a_denial":
            denied.append(r)
        if r.nqtl:
            parity.append(replace(r, nqtl_label=labels.get(r.nqtl, r.nqtl)))
        if r.status == RowStatus.failed:
            failures.append(r)
    work = [r for r in denied if r.action != "no_action"]
    reasons = _group(denied, lambda r: r.reason)
    top = sorted(reasons, key=lambda g: (-g["count"], -g["at_stake"], g["name"]))[:TOP_REASONS]
    by_category: dict[str, list[dict]] = defaultdict(list)
    for g in top:  # a reason sits under the category most of its lines were given
        by_category[g["top_category"]].append(g)
    top_grouped = sorted(({"category": c, "reasons": rs, "count": sum(g["count"] for g in rs)}
                          for c, rs in by_category.items()),
                         key=lambda c: (-c["count"], c["category"]))

    fix_cause: dict[tuple[str, str], dict] = {}
    for r in work:
        g = fix_cause.setdefault((r.owner, r.fix_cause), {"count": 0, "at_stake": Decimal(0)})
        g["count"] += 1
        g["at_stake"] += r.at_stake
    causes = sorted(({"owner": _words(o), "cause": c, **g} for (o, c), g in fix_cause.items()),
                    key=lambda g: (-g["count"], -g["at_stake"], g["owner"], g["cause"]))
    owners = _group(work, lambda r: _words(r.owner))
    fix_now = _group(work, lambda r: r.fix_now)

    urgent = [r for r in work if r.urgent]  # in worklist order: already first
    due = [r for r in work if r.days_left is not None and 0 <= r.days_left <= DEADLINE_WINDOW]
    due.sort(key=lambda r: (r.days_left, -r.at_stake, r.claim_id, r.line_number))
    late = [r for r in work if r.days_left is not None and r.days_left < 0]
    late.sort(key=lambda r: (r.days_left, r.claim_id, r.line_number))

    parity.sort(key=lambda r: (-r.at_stake, r.claim_id, r.line_number))
    parity_types = _group(parity, lambda r: r.nqtl_label)
    categories = _group(denied, lambda r: _words(r.category))
    payers = _group(denied, lambda r: r.payer_name)

    return {
        "meta": meta,
        "totals": {
            "lines": lines, "denied": len(denied), "work": len(work),
            "billed": billed, "paid": paid,
            "billed_denied": sum((r.billed for r in denied), Decimal(0)),
            "at_stake": sum((r.at_stake for r in work), Decimal(0)),
            "packets": meta.get("packets", status[RowStatus.written]
                                + status[RowStatus.unchanged]),
            "failed": status[RowStatus.failed], "rejects": meta.get("rejects", 0),
            "due_soon": len(due), "late": len(late), "parity": len(parity),
            "urgent": len(urgent),
        },
        "top_reasons": top_grouped,
        "fix_now": fix_now, "owners": owners, "causes": causes,
        "categories": categories,
        "by_payer": payers[:TOP_GROUPS],
        "by_cpt": _group(denied, lambda r: r.cpt_code, TOP_GROUPS),
        "by_provider": _group(denied, lambda r: r.provider_name, TOP_GROUPS),
        "by_level": _group(denied, lambda r: _words(r.level_of_care) if r.level_of_care
                           else "(not given)"),
        "urgent": urgent, "due": due, "late": late[:25], "late_count": len(late),
        "parity": parity, "parity_types": parity_types,
        "failures": failures,
        "charts": {
            "categories": Markup(bar_chart("Denied lines by category", sorted(
                ((c["name"], c["count"]) for c in categories), key=lambda kv: (-kv[1], kv[0])))),
            "payers": Markup(bar_chart("Amount at stake by payer",
                                       [(p["name"], float(p["at_stake"])) for p in payers[:8]],
                                       lambda v: f"${v:,.0f}")),
            "owners": Markup(bar_chart("Lines to work by owner of the cause", sorted(
                ((o["name"], o["count"]) for o in owners), key=lambda kv: (-kv[1], kv[0])))),
        },
        "as_of_text": f"{as_of:%B} {as_of.day}, {as_of.year}",
        **history_section(meta.get("history")),
    }


def history_section(history: dict | None) -> dict:
    """The case store's section (appeals.store.history), with its charts; none without a store."""
    if not history:
        return {"history": None}
    won = [(g["name"], g["rate"] * 100) for g in history["outcomes"]["payer"][:8]]
    return {"history": history, "history_charts": {
        "aging": Markup(bar_chart("Unworked denials by days since the denial",
                                  [(b["label"], b["count"]) for b in history["aging"]])),
        "overturn": Markup(bar_chart("Overturned share of decided cases, by payer", won,
                                     lambda v: f"{v:.0f}%")),
    }}


def environment(user_folder: Path | None = None) -> ImmutableSandboxedEnvironment:
    loaders = [FileSystemLoader(str(user_folder))] if user_folder else []
    loaders.append(FileSystemLoader(str(builtin_templates())))
    env = ImmutableSandboxedEnvironment(loader=ChoiceLoader(loaders), autoescape=True,
                                        undefined=StrictUndefined, trim_blocks=True,
                                        lstrip_blocks=True)
    env.filters["money"] = money
    env.filters["words"] = _words
    return env


def render_html(report: dict, templates: Path | None = None) -> str:
    css = template_file("triage.css", templates).read_text(encoding="utf-8")
    return environment(templates).get_template("triage.html.j2").render(
        report=report, css=Markup(css.replace("</", "<\\/")))


def write_report(rows: Iterable[Row], meta: dict,
                 templates: Path | None = None) -> dict[str, bytes]:
    """triage.html and triage.pdf (same HTML) as bytes; patient columns dropped when redacted."""
    report = triage(rows, meta)
    html = render_html(report, templates)
    return {"triage.html": html.encode("utf-8"),
            "triage.pdf": html_to_pdf(html, "triage.css", templates)}


def render_history(history: dict, templates: Path | None = None) -> str:
    """The history section alone, as HTML (the review desk's report page)."""
    return environment(templates).get_template("parts/history.html.j2").render(
        report=history_section(history))
