"""Billing facts from data, never by editing a DOCX (issue 27, item 9): `appeals facts set` puts a
fact no export carries into the facts file the runs read, the packet is built again with it, and
the placeholder it fills is gone; the payer directory can carry a plan's administrator."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml
from helpers import write_csv
from typer.testing import CliRunner

from appeals.cli import app
from appeals.lint import lint_packet
from appeals.pipeline import RunConfig, run
from appeals.store import case_history, open_store

AS_OF = date(2026, 7, 1)
ROW = {"claim_id": "BF1", "line_number": "1", "payer_name": "Blue Ridge Health",
       "plan_type": "employer_group", "plan_funding": "self_funded", "employer_size": "300",
       "plan_state": "NC", "member_id": "M1", "patient_name": "Olivia Grant",
       "provider_name": "Lakeside Counseling Group", "service_date": "2026-06-01",
       "cpt_code": "90837", "billed_amount": "200.00", "paid_amount": "0.00",
       "denial_date": "2026-06-10", "adjustment_codes": "CO-50", "denial_reason": ""}
ADMIN = "Acme Manufacturing Co., Benefits Office, 1 Main St, Raleigh, NC 27601"


def _week(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "week.csv", [ROW])


def _words(folder: Path) -> str:
    from docx import Document

    doc = Document(str(folder / "documentation_request.docx"))
    return " ".join(p.text for p in doc.paragraphs)


def test_a_fact_set_for_a_case_fills_its_placeholder_and_the_packet_is_built_again(
        tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    facts = tmp_path / "facts.yaml"
    run(RunConfig(inputs=[_week(tmp_path)], out=tmp_path / "out", workers=1, as_of=AS_OF, db=db))
    folder = tmp_path / "out" / "packets" / "BF1-1"
    assert "[BILLER: the plan administrator" in _words(folder)
    done = CliRunner().invoke(app, ["facts", "set", "BF1-1", "plan_administrator", ADMIN,
                                    "--to", str(facts), "--db", db, "--as-of", "2026-07-02",
                                    "--by", "biller"])
    assert done.exit_code == 0, done.output
    assert "packet built again" in done.output
    assert yaml.safe_load(facts.read_text())["BF1-1"]["plan_administrator"] == ADMIN
    assert f"Copy to: Plan administrator, {ADMIN}" in _words(folder)
    problems = lint_packet(folder, as_of=AS_OF)
    assert not [p for p in problems if "plan administrator" in p], problems
    engine = open_store(db)
    assert any(e["kind"] == "facts" and "plan_administrator" in (e["note"] or "")
               for e in case_history(engine, "BF1-1")["events"])
    engine.dispose()
    # the next run reads the same facts file: the packet stays as it is now
    again = run(RunConfig(inputs=[_week(tmp_path)], out=tmp_path / "out", workers=1,
                          as_of=AS_OF, db=db, facts=facts))
    assert f"Copy to: Plan administrator, {ADMIN}" in _words(folder)
    assert again.failed == 0


def test_an_unknown_field_or_case_is_one_line_and_exit_2(tmp_path: Path) -> None:
    facts = tmp_path / "facts.yaml"
    bad = CliRunner().invoke(app, ["facts", "set", "BF1-1", "favourite_colour", "blue",
                                   "--to", str(facts)])
    assert bad.exit_code == 2 and "neither a biller field" in bad.output
    nameless = CliRunner().invoke(app, ["facts", "set", "BF1", "payer_claim_id", "X",
                                        "--to", str(facts)])
    assert nameless.exit_code == 2 and "CLAIM-LINE" in nameless.output
    assert not facts.exists()
    fine = CliRunner().invoke(app, ["facts", "set", "BF1-1", "payer_claim_id", "ICN-778",
                                    "--to", str(facts)])
    assert fine.exit_code == 0 and yaml.safe_load(facts.read_text()) == {
        "BF1-1": {"payer_claim_id": "ICN-778"}}


def test_the_payer_directory_can_name_a_plans_administrator(tmp_path: Path) -> None:
    payers = tmp_path / "payers.yaml"
    payers.write_text(yaml.safe_dump([{"name": "Blue Ridge Health", "address": ["PO Box 1"],
                                       "plan": {"plan_type": "employer_group",
                                                "plan_administrator": ADMIN}}]))
    run(RunConfig(inputs=[_week(tmp_path)], out=tmp_path / "out", workers=1, as_of=AS_OF,
                  payers=payers))
    assert f"Copy to: Plan administrator, {ADMIN}" in _words(tmp_path / "out" / "packets" /
                                                              "BF1-1")
