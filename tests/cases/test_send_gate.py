"""The send gate, one for `appeals mark` and the review desk: a packet goes out only when it is
ready (nothing left to fill in, the clinician's attestation) and, when its letter argues parity
(whatever the category), once a compliance reviewer approved that exact packet; an approval
lapses when the packet is built again; `--override REASON` sends anyway and keeps the reason; a
practice may forbid the approver to send."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import update

from appeals.pipeline import RunConfig, run
from appeals.store import CaseError, approve, case_history, mark, open_store
from appeals.store.schema import cases

HEADER = ["claim_id", "line_number", "payer_name", "plan_type", "plan_state", "member_id",
          "patient_name", "provider_name", "provider_npi", "service_date", "cpt_code",
          "level_of_care", "billed_amount", "paid_amount", "denial_date", "adjustment_codes"]
AS_OF = date(2026, 7, 1)


def week(tmp_path: Path, db: str, facts: Path | None = None) -> None:
    rows = [  # a medical-necessity denial under Medicaid managed care: parity reaches it, so
              # its letter carries a parity section; the same denial under Medicare does not
        ["MN1", 1, "Tar Heel Medicaid Plan", "medicaid_mco", "NC", "M1", "Avery Sample",
         "Lakeside Counseling Group", "1245319599", "2026-06-01", "90837", "outpatient",
         "200.00", "0.00", "2026-06-10", "CO-50"],
        ["MC1", 1, "Medicare Part B", "medicare", "NC", "M2", "Jamie Example",
         "Lakeside Counseling Group", "1245319599", "2026-06-01", "90837", "outpatient",
         "200.00", "0.00", "2026-06-10", "CO-50"]]
    path = tmp_path / "week.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(rows)
    run(RunConfig(inputs=[path], out=tmp_path / "out", workers=1, as_of=AS_OF, db=db,
                  facts=facts))


@pytest.fixture
def store(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'gate.db'}"
    week(tmp_path, db)
    engine = open_store(db)
    yield engine, db
    engine.dispose()


def ready(engine, ref: str) -> None:
    """Pretend the clinician's answers made the packet ready (the readiness checks have tests
    of their own): the gate reads the case's readiness."""
    case_id = case_history(engine, ref)["case_id"]
    with engine.begin() as conn:
        conn.execute(update(cases).where(cases.c.id == case_id).values(packet_ready=True))


def test_a_draft_is_refused_with_what_is_missing_and_sent_with_an_override(store) -> None:
    engine, _ = store
    with pytest.raises(CaseError) as refused:
        mark(engine, "MC1-1", "sent", on=date(2026, 7, 2), method="fax", who="biller")
    words = str(refused.value)
    assert "is not ready to send: its packet is a draft: " in words
    assert "placeholders left" in words and "attestation" in words
    assert "parity" not in words  # Medicare: no parity section, no approval asked
    assert case_history(engine, "MC1-1")["status"] != "sent"  # nothing written
    with pytest.raises(CaseError, match="needs the reason"):
        mark(engine, "MC1-1", "sent", on=date(2026, 7, 2), who="biller", override="  ")
    mark(engine, "MC1-1", "sent", on=date(2026, 7, 2), method="fax", who="biller",
         override="the payer's deadline is today")
    history = case_history(engine, "MC1-1")
    assert history["status"] == "sent"
    assert "sent with override: the payer's deadline is today (not ready: its packet is a " \
           "draft" in history["events"][-1]["note"]
    assert history["filings"][0]["method"] == "fax"


def test_a_ready_packet_without_a_parity_section_goes_out_without_anything_more(store) -> None:
    engine, _ = store
    ready(engine, "MC1-1")
    assert case_history(engine, "MC1-1")["send_problems"] == []
    mark(engine, "MC1-1", "sent", on=date(2026, 7, 2), method="portal", who="biller")
    assert case_history(engine, "MC1-1")["status"] == "sent"


def test_a_medical_necessity_letter_with_a_parity_section_needs_the_approval(store) -> None:
    engine, _ = store
    ready(engine, "MN1-1")
    case = case_history(engine, "MN1-1")
    assert case["category"] == "medical_necessity" and case["needs_approval"]
    with pytest.raises(CaseError, match="its letter argues parity: a compliance reviewer "
                                        "approves this packet first"):
        mark(engine, "MN1-1", "sent", on=date(2026, 7, 2), who="biller")
    approve(engine, "MN1-1", on=date(2026, 7, 2), who="compliance")
    mark(engine, "MN1-1", "sent", on=date(2026, 7, 2), method="fax", who="biller")
    assert case_history(engine, "MN1-1")["status"] == "sent"


def test_an_approval_lapses_when_the_packet_is_built_again(store, tmp_path: Path) -> None:
    engine, db = store
    approve(engine, "MN1-1", on=date(2026, 7, 2), who="compliance")
    assert case_history(engine, "MN1-1")["approved"]
    facts = tmp_path / "facts.yaml"
    facts.write_text('"MN1-1":\n  why_now: "Worsening panic attacks since May."\n',
                     encoding="utf-8")
    week(tmp_path, db, facts)  # the clinician's answer changes the letter: a new build
    case = case_history(engine, "MN1-1")
    assert not case["approved"]
    assert any("an approval of an earlier build of the packet has lapsed" in p
               for p in case["send_problems"])
    ready(engine, "MN1-1")
    with pytest.raises(CaseError, match="approves this packet first"):
        mark(engine, "MN1-1", "sent", on=date(2026, 7, 3), who="biller")
    approve(engine, "MN1-1", on=date(2026, 7, 3), who="compliance")
    mark(engine, "MN1-1", "sent", on=date(2026, 7, 3), who="biller")


def test_a_practice_may_forbid_the_approver_to_send(store, tmp_path: Path) -> None:
    engine, db = store
    ready(engine, "MN1-1")
    approve(engine, "MN1-1", on=date(2026, 7, 2), who="dana")
    with pytest.raises(CaseError, match="dana approved it and may not also send it"):
        mark(engine, "MN1-1", "sent", on=date(2026, 7, 2), who="dana", separate=True)
    mark(engine, "MN1-1", "sent", on=date(2026, 7, 2), who="dana")  # not separated: allowed
    from typer.testing import CliRunner

    from appeals.cli import app

    org = tmp_path / "org.yaml"
    org.write_text("name: Lakeside\napprover_not_sender: true\n", encoding="utf-8")
    ready(engine, "MC1-1")
    done = CliRunner().invoke(app, ["mark", "MC1-1", "sent", "--on", "2026-07-02", "--db", db,
                                    "--org", str(org), "--by", "dana"])
    assert done.exit_code == 0, done.output  # no parity section: nothing to separate


def test_nothing_to_approve_without_a_packet(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'none.db'}"
    path = tmp_path / "w.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerow(["NP1", 1, "Medicare Part B", "medicare", "NC", "M3", "Drew Demo",
                         "Lakeside", "1245319599", "2026-06-01", "90837", "outpatient",
                         "200.00", "0.00", "2026-06-10", "CO-50"])
    run(RunConfig(inputs=[path], out=tmp_path / "o", workers=1, as_of=AS_OF, db=db))
    engine = open_store(db)
    with engine.begin() as conn:
        conn.execute(update(cases).values(packet_hashes=None, packet_path=None))
    with pytest.raises(CaseError, match="no packet has been built to approve"):
        approve(engine, "NP1-1", on=date(2026, 7, 2), who="compliance")
    with pytest.raises(CaseError, match="no packet has been built for it"):
        mark(engine, "NP1-1", "sent", on=date(2026, 7, 2), who="biller")
    engine.dispose()


def test_a_call_with_the_payer_is_logged_in_the_history(store, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from appeals.cli import app

    engine, db = store
    done = CliRunner().invoke(app, ["call", "MC1-1", "--on", "2026-07-12", "--rep", "Jordan",
                                    "--ref", "4471", "--note", "receipt confirmed", "--db", db,
                                    "--by", "biller"])
    assert done.exit_code == 0, done.output
    last = case_history(engine, "MC1-1")["events"][-1]
    assert (last["kind"], last["on"], last["who"]) == ("call", "2026-07-12", "biller")
    assert last["note"] == ("call with the payer's representative Jordan, reference 4471: "
                            "receipt confirmed")
    assert case_history(engine, "MC1-1")["status"] != "sent"  # a call moves nothing
    nobody = CliRunner().invoke(app, ["call", "MC1-1", "--on", "2026-07-12", "--rep", " ",
                                      "--db", db])
    assert nobody.exit_code == 2 and "needs --rep" in nobody.output
