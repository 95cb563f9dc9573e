"""The citation registry: validation, dated queries, the unverified gate, and the CLI views."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
import yaml
from conftest import ROOT
from typer.testing import CliRunner

from appeals.cli import app
from appeals.law import RegistryError, load_registry
from appeals.law.registry import default_path

REG = load_registry()
DAYS = [date(2015, 1, 1), date(2020, 6, 1), date(2024, 12, 1), date(2025, 3, 1), date(2026, 11, 22)]
runner = CliRunner()


def test_shipped_registry_loads_and_every_rule_and_reason_names_known_ids() -> None:
    assert len(REG.entries) > 60 and len(REG.plan_types) >= 19
    for rule in REG.rules:
        assert not [cid for cid in rule.citation_ids if cid not in REG.entries]
    for plan in REG.plan_types.values():
        for text in plan.parity.reasons:
            assert "[[" not in REG.expand(text)


def test_ids_named_in_code_and_templates_exist() -> None:
    root = ROOT
    named: set[str] = set()
    for folder in ("appeals", "letter_templates", "checklists"):
        for path in (root / folder).rglob("*"):
            if path.suffix in (".py", ".j2", ".md", ".yaml") and "data" not in path.parts:
                text = path.read_text(encoding="utf-8")
                named |= set(re.findall(r"""cite\(\s*["']([a-z0-9_]+)["']""", text))
                if path.suffix != ".py":  # docstrings explain the [[id]] syntax itself
                    named |= set(re.findall(r"\[\[([a-z0-9_]+)\]\]", text))
    missing = named - set(REG.entries)
    assert not missing, missing


@pytest.mark.parametrize("on", DAYS)
def test_unverified_entries_never_reach_a_letter(on: date) -> None:
    unverified = {c.id for c in REG.entries.values() if c.verification == "unverified"}
    assert unverified, "the file keeps unverified entries for reviewers"
    for plan in REG.plan_types:
        for funding in ("fully_insured", "self_funded", None):
            got = {c.id for c in REG.citations(plan, on=on, funding=funding, state="CA")}
            assert not got & unverified, plan
            assert "wit_v_ubh" not in got  # case history, never authority in a letter


def test_reviewer_view_still_lists_unverified_entries() -> None:
    ids = {c.id for c in REG.citations("church_plan", on=date(2026, 1, 1), for_letter=False)}
    assert "cfr_26_54_9815_2719" in ids


def test_entries_not_yet_in_force_are_not_returned() -> None:
    def ids(on: date) -> set[str]:
        return {c.id for c in REG.citations("medicaid_mco", "appeal_deadline", on)}
    assert "medicaid_fair_hearing" not in ids(date(2020, 12, 13))
    assert "medicaid_fair_hearing" in ids(date(2020, 12, 14))
    assert "usc_29_1185a_a8" not in {c.id for c in REG.citations("erisa_group", on=date(2021, 2, 9))}
    assert "usc_29_1185a_a8" in {c.id for c in REG.citations("erisa_group", on=date(2021, 2, 10))}


def test_2024_provisions_are_not_returned_once_not_enforced() -> None:
    def ids(as_of: date) -> set[str]:
        return {c.id for c in REG.citations("erisa_group", on=date(2025, 3, 1), as_of=as_of)}
    assert "mhpaea_comparative_analysis_reg" in ids(date(2025, 3, 1))
    assert "mhpaea_comparative_analysis_reg" not in ids(date(2025, 5, 15))
    assert "fr_2024_mhpaea_final" not in ids(date(2026, 11, 22))
    assert "mhpaea_nqtl_general" in ids(date(2026, 11, 22))  # the 2013 standard still binds


def test_state_law_needs_the_state_and_insured_coverage() -> None:
    def ids(**kw) -> set[str]:
        return {c.id for c in REG.citations("erisa_group", "state_law", date(2026, 1, 1), **kw)}
    assert ids(state="CA", funding="fully_insured") == {"ca_sb855"}
    assert ids(state="CA", funding="self_funded") == set()
    assert ids(state="TX", funding="fully_insured") == set()


def _write(tmp_path: Path, mutate) -> Path:
    doc = yaml.safe_load(default_path().read_text(encoding="utf-8"))
    mutate(doc)
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def _entry(doc: dict, cid: str) -> dict:
    return next(c for c in doc["citations"] if c["id"] == cid)


@pytest.mark.parametrize("mutate,expected", [
    (lambda d: _entry(d, "usc_29_1185a").update(verification="maybe"),
     r"citations\[\d+\] \(id 'usc_29_1185a'\): field 'verification'"),
    (lambda d: _entry(d, "usc_29_1185a").update(effective_from="soon"),
     r"\(id 'usc_29_1185a'\): field 'effective_from'"),
    (lambda d: _entry(d, "usc_29_1185a").pop("cite"), r"\(id 'usc_29_1185a'\): field 'cite'"),
    (lambda d: _entry(d, "usc_29_1185a").update(applies_to=["erisa_grp"]),
     r"citation 'usc_29_1185a': field 'applies_to': unknown plan type 'erisa_grp'"),
    (lambda d: _entry(d, "usc_29_1185a").update(applies_to=["erisa_group:maybe"]),
     r"field 'applies_to'.*insured or self_funded"),
    (lambda d: d["deadline_rules"][0].update(citation_ids=["nope"]),
     r"deadline rule 'erisa_internal_first': field 'citation_ids': unknown citation 'nope'"),
    (lambda d: d["plan_types"][0]["parity"]["reasons"].append("See [[nope]]."),
     r"plan type 'erisa_group': field 'parity': names unknown citation \[\[nope\]\]"),
    (lambda d: d["citations"].append(dict(_entry(d, "usc_29_1185a"))), r"appears twice"),
    (lambda d: _entry(d, "usc_29_1185a").update(surprise=1), r"field 'surprise'"),
])
def test_bad_registry_entry_is_an_error_naming_entry_and_field(tmp_path, mutate, expected) -> None:
    path = _write(tmp_path, mutate)
    with pytest.raises(RegistryError, match=expected):
        load_registry(path)


def test_cli_law_prints_the_documented_json_shape() -> None:
    result = runner.invoke(app, ["law", "--plan-type", "employer_group", "--funding",
                                 "self_funded", "--employer-size", "40", "--denial-date",
                                 "2026-03-02"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out["parity"]) >= {"applies", "regime", "reasons", "citations"}
    assert out["parity"]["applies"] is False and out["parity"]["citations"] == []
    first = out["deadlines"][0]
    assert set(first) >= {"level", "file_by", "days", "counted_from", "basis", "citation"}
    assert first["file_by"] == "2026-08-29"


def test_cli_law_accepts_registry_plan_types_and_reports_citations() -> None:
    result = runner.invoke(app, ["law", "--plan-type", "medicaid_mco", "--denial-date",
                                 "2026-03-02"])
    out = json.loads(result.stdout)
    assert [c["id"] for c in out["parity"]["citations"]] == ["cfr_42_438_subpart_k"]
    assert {"id", "cite", "title"} <= set(out["parity"]["citations"][0])


def test_cli_law_bad_arguments_exit_2() -> None:
    assert runner.invoke(app, ["law", "--plan-type", "medicaid"]).exit_code == 2
    assert runner.invoke(app, ["law", "--plan-type", "employer_group", "--funding",
                               "partly"]).exit_code == 2
    assert runner.invoke(app, ["law"]).exit_code == 2
    for option, value in (("--plan-type", "Medicaid"), ("--funding", "partly"),
                          ("--level-of-care", "spa")):
        result = runner.invoke(app, ["law", "--plan-type", "employer_group", "--denial-date",
                                     "2026-03-02", option, value])
        assert result.exit_code == 2 and f"error: {option}: '{value}'" in result.output


def test_cli_law_reads_practice_spellings_like_the_record_model() -> None:
    result = runner.invoke(app, ["law", "--plan-type", "Medicare Part B", "--funding",
                                 "Level-funded", "--level-of-care", "Intensive Outpatient",
                                 "--denial-date", "2026-03-02"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["plan"] == "medicare_ffs"


def test_cli_law_on_a_file_prints_one_line_per_record(dev_csv: Path) -> None:
    result = runner.invoke(app, ["law", str(dev_csv)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 61
    assert lines and all({"claim_id", "line_number", "parity", "deadlines"} <= set(x) for x in lines)


def test_cli_citations_fits_80_columns() -> None:
    result = runner.invoke(app, ["citations"])
    assert result.exit_code == 0
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    assert "medicaid_appeal_60" in result.stdout and "erisa_deemed_exhaustion" in result.stdout
    assert "never in letters" in result.stdout


def test_cli_citations_filters_by_plan_and_topic() -> None:
    result = runner.invoke(app, ["citations", "--plan-type", "medicare_advantage", "--topic",
                                 "appeal_deadline"])
    assert result.exit_code == 0
    assert "422.582" in result.stdout and "2560.503-1" not in result.stdout
    assert runner.invoke(app, ["citations", "--plan-type", "nope"]).exit_code == 2


def test_cli_citations_lists_what_the_letters_gate_reaches_for_that_plan() -> None:
    """One filter: `appeals citations` for a plan type, funding and state lists exactly the entries
    the registry gives the letters for them (unverified ones included, marked)."""
    reg = load_registry()
    for plan in reg.plan_types:
        for funding, state in ((None, None), ("fully_insured", "CA"), ("self_funded", "NY")):
            args = ["citations", "--plan-type", plan] + (
                ["--funding", funding, "--state", state] if funding else [])
            out = runner.invoke(app, args, env={"COLUMNS": "200"})
            assert out.exit_code == 0, out.stdout
            listed = set(re.findall(r"^│?\s*([a-z0-9_]+)\s+│", out.stdout,
                                    re.MULTILINE)) & set(reg.entries)
            wanted = {c.id for c in reg.citations(plan, None, date.today(), funding=funding,
                                                  state=state, for_letter=False)}
            assert listed == wanted, (plan, funding, wanted ^ listed)
    insured_only = runner.invoke(app, ["citations", "--plan-type", "erisa_group"])
    with_funding = runner.invoke(app, ["citations", "--plan-type", "erisa_group",
                                       "--funding", "fully_insured"])
    assert "300gg-26" not in insured_only.stdout and "300gg-26" in with_funding.stdout
    assert runner.invoke(app, ["citations", "--plan-type", "erisa_group", "--funding", "x"]
                         ).exit_code == 2
