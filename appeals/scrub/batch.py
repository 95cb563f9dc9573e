"""`appeals scrub`: a batch of claims checked before they go out, with its findings files."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from appeals.compose.settings import load_payers
from appeals.intake import Batch, write_rejects
from appeals.models import Reject
from appeals.scrub.checks import Finding, Scrubber
from appeals.scrub.files import Auths, Roster, read_auths, read_roster
from appeals.scrub.report import FindingsFile, findings_html
from appeals.scrub.rules import ScrubRulesError, load_scrub_rules

__all__ = ["Finding", "ScrubResult", "ScrubRulesError", "scrub"]


#: Findings of one rule the report lists in full; scrub.csv has every one.
SHOWN_PER_RULE = 500


@dataclass
class ScrubResult:
    """What a scrub found. `findings` are the ones the report shows (every one up to
    SHOWN_PER_RULE a rule); `counts` counts them all, by rule."""

    lines: int = 0
    flagged: int = 0  # lines with at least one finding
    findings: list[Finding] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    severities: dict[str, str] = field(default_factory=dict)
    providers: dict[str, dict] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)
    unusable: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(n for rule, n in self.counts.items() if self.severities[rule] == "error")

    @property
    def warnings(self) -> int:
        return sum(self.counts.values()) - self.errors

    @property
    def exit_code(self) -> int:
        """2: an input could not be used; 1: a finding the payer will deny; 0: clean."""
        return 2 if self.unusable else (1 if self.errors else 0)

    def add(self, finding: Finding) -> None:
        self.counts[finding.rule] += 1
        self.severities[finding.rule] = finding.severity
        if self.counts[finding.rule] <= SHOWN_PER_RULE:
            self.findings.append(finding)
        p = self.providers.setdefault(finding.provider, {
            "provider": finding.provider, "errors": 0, "warnings": 0, "rules": []})
        p["errors" if finding.severity == "error" else "warnings"] += 1
        if finding.rule not in p["rules"]:
            p["rules"].append(finding.rule)


def scrub(inputs: list[Path], out: Path, *, payers: Path | None = None,
          roster: Path | None = None, auths: Path | None = None, rules: Path | None = None,
          columns: Path | None = None, as_of: date | None = None,
          on_error: Callable[[str], None] | None = None) -> ScrubResult:
    """Check every claim line of `inputs`; write scrub.csv (every finding, as it is found),
    scrub.html and rejects.csv in `out`. Raises ScrubRulesError, SettingsError or InputError (a
    roster or authorizations file without its columns) before anything is written."""
    as_of = as_of or date.today()
    checks = load_scrub_rules(rules)
    directory = load_payers(payers)
    result = ScrubResult()
    people = files = None
    not_checked = []
    if roster is not None:
        rows, bad = read_roster(roster)
        people, result.rejects = Roster(rows), result.rejects + bad
    else:
        not_checked.append("enrolment and licences (no --roster)")
    if auths is not None:
        rows, bad = read_auths(auths)
        files, result.rejects = Auths(rows), result.rejects + bad
    else:
        not_checked.append("authorizations (no --auths)")
    scrubber = Scrubber(checks, directory, people, files, as_of)
    batch = Batch(inputs, columns, on_error=on_error, claims=True)
    out.mkdir(parents=True, exist_ok=True)
    flagged_add_ons: set[tuple[str, str]] = set()  # lines finish() may flag again
    with FindingsFile(out / "scrub.csv") as sink:
        for record in batch:
            found = scrubber.check(record)
            result.lines += 1
            result.flagged += bool(found)
            if found and (record.cpt_code or "").upper() in checks.add_ons:
                flagged_add_ons.add((record.source or "", record.location or ""))
            for finding in found:
                sink.write(finding)
                result.add(finding)
        for finding in scrubber.finish():
            sink.write(finding)
            result.add(finding)
            result.flagged += (finding.source, finding.location) not in flagged_add_ons
    result.rejects += batch.rejects
    result.unusable = batch.unusable
    meta = {"as_of": as_of.isoformat(), "lines": result.lines, "errors": result.errors,
            "warnings": result.warnings, "clean": result.lines - result.flagged,
            "rejected": len(result.rejects), "inputs": [p.name for p in batch.paths],
            "not_checked": not_checked, "shown": SHOWN_PER_RULE}
    (out / "scrub.html").write_bytes(findings_html(result, checks, meta))
    write_rejects(result.rejects, out / "rejects.csv")
    return result
