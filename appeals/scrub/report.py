"""scrub.csv (one row a finding) and scrub.html (grouped by rule, then by clinician)."""

from __future__ import annotations

import csv
import os
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Self

from markupsafe import Markup

from appeals.compose.markup import template_file
from appeals.intake import spreadsheet_cell
from appeals.report import environment
from appeals.scrub.checks import FINDING_COLUMNS, Finding
from appeals.scrub.rules import ScrubRules

if TYPE_CHECKING:
    from appeals.scrub.batch import ScrubResult


class FindingsFile:
    """scrub.csv written a finding at a time, into a temporary file renamed at the end: memory
    stays flat and no reader sees half a file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")

    def __enter__(self) -> Self:
        self._fh = self._tmp.open("w", encoding="utf-8", newline="")
        self._csv = csv.writer(self._fh, lineterminator="\n")
        self._csv.writerow(FINDING_COLUMNS)
        return self

    def write(self, finding: Finding) -> None:
        self._csv.writerow([spreadsheet_cell(v) for v in finding.row().values()])

    def __exit__(self, kind, *exc) -> None:
        self._fh.close()
        if kind is None:
            os.replace(self._tmp, self.path)
        else:
            self._tmp.unlink(missing_ok=True)


def findings_html(result: ScrubResult, rules: ScrubRules, meta: dict) -> bytes:
    """Grouped by rule (errors first, in the rules file's order), then the clinicians."""
    grouped: dict[str, list[Finding]] = defaultdict(list)
    for f in result.findings:
        grouped[f.rule].append(f)
    order = {r.id: i for i, r in enumerate(rules.rules)}
    by_rule = []
    for rule_id in sorted(grouped, key=lambda r: (rules.rule(r).severity != "error", order[r])):
        rule = rules.rule(rule_id)
        by_rule.append({"rule": rule_id, "severity": rule.severity, "fix": rule.fix,
                        "prevents": rule.prevents.value, "count": result.counts[rule_id],
                        "payer_says": grouped[rule_id][0].payer_says,
                        "findings": grouped[rule_id]})
    by_provider = sorted(result.providers.values(), key=lambda p: (
        -p["errors"], -p["warnings"], p["provider"]))
    css = template_file("triage.css", None).read_text(encoding="utf-8")
    html = environment().get_template("scrub.html.j2").render(
        meta=meta, by_rule=by_rule, by_provider=by_provider,
        css=Markup(css.replace("</", "<\\/")))
    return html.encode("utf-8")
