"""After filing, when the payer is late (issue 28): `appeals escalate CASE --kind KIND` builds the
letter the program gives for a filed level (a status inquiry any time; ERISA's deemed exhaustion
and request for external review, and the Medicaid enrollee's fair hearing request, once the
decision date has passed), from registry citations only, kept under the level in the case's
packet folder and recorded in its history; anything else is one line, exit 2, nothing written."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from docx import Document
from pypdf import PdfReader
from typer.testing import CliRunner

from appeals.cli import app
from appeals.pipeline import RunConfig, run
from appeals.store import case_history, log_call, mark, open_store

FILED = date(2026, 7, 2)
HEADER = ["claim_id", "line_number", "payer_name", "plan_type", "plan_funding", "employer_size",
          "plan_state", "member_id", "patient_name", "provider_name", "service_date", "cpt_code",
          "level_of_care", "billed_amount", "paid_amount", "denial_date", "adjustment_codes"]
ROWS = [
    ["E1", 1, "Blue Ridge Health", "employer_group", "self_funded", "300", "NC", "M1",
     "Avery Sample", "Lakeside", "2026-05-01", "90837", "outpatient", "200.00", "0.00",
     "2026-06-10", "CO-50"],
    ["M1", 1, "Tar Heel Medicaid Plan", "medicaid_mco", "", "", "NC", "M2", "Jamie Example",
     "Lakeside", "2026-05-01", "90837", "outpatient", "200.00", "0.00", "2026-06-10", "CO-50"],
    ["N1", 1, "Blue Ridge Health", "employer_group", "self_funded", "300", "NC", "M3",
     "Riley Case", "Lakeside", "2026-05-01", "90837", "outpatient", "200.00", "0.00",
     "2026-06-10", "CO-50"],
]


@pytest.fixture
def store(tmp_path: Path):
    path = tmp_path / "w.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(ROWS)
    db = f"sqlite:///{tmp_path / 's.db'}"
    run(RunConfig(inputs=[path], out=tmp_path / "o", workers=1, as_of=date(2026, 7, 1), db=db))
    engine = open_store(db)
    for ref in ("E1-1", "M1-1"):
        mark(engine, ref, "sent", on=FILED, method="fax", who="biller", override="test")
    yield engine, db, tmp_path / "o" / "packets"
    engine.dispose()


def escalate(db: str, case: str, kind: str, on: str):
    return CliRunner().invoke(app, ["escalate", case, "--kind", kind, "--on", on, "--db", db,
                                    "--by", "biller"])


def pdf_words(path: Path) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(path).pages).split())


def test_a_status_inquiry_quotes_the_dated_facts_and_the_rule(store) -> None:
    engine, db, packets = store
    log_call(engine, "E1-1", on=date(2026, 7, 20), rep="Jordan", reference="4471",
             note="receipt confirmed", who="biller")
    done = escalate(db, "E1-1", "status_inquiry", "2026-07-21")
    assert done.exit_code == 0, done.output
    pdf = packets / "E1-1" / "level-1" / "status_inquiry.pdf"
    text = pdf_words(pdf)
    assert "On July 2, 2026, [BILLER: practice name] filed the internal appeal of the denial of " \
        "the service above, by fax" in text
    assert "due by August 31, 2026 (60 calendar days, 29 C.F.R. § 2560.503-1(i)(2))" in text
    assert "July 20, 2026: call with the payer's representative Jordan, reference 4471" in text
    assert "deemed" not in text  # not yet late
    docx = Document(io.BytesIO((pdf.with_suffix(".docx")).read_bytes()))
    assert any("August 31, 2026" in p.text for p in docx.paragraphs)
    events = [e for e in case_history(engine, "E1-1")["events"] if e["kind"] == "escalation"]
    assert events and "status_inquiry.pdf sha256" in events[0]["note"]


def test_erisa_deemed_exhaustion_only_after_the_decision_date(store) -> None:
    _, db, packets = store
    early = escalate(db, "E1-1", "deemed_exhaustion", "2026-08-31")
    assert early.exit_code == 2 and "due 2026-08-31" in early.output
    assert not (packets / "E1-1" / "level-1").exists()  # nothing written
    done = escalate(db, "E1-1", "deemed_exhaustion", "2026-09-10")
    assert done.exit_code == 0, done.output
    text = pdf_words(packets / "E1-1" / "level-1" / "deemed_exhaustion.pdf")
    assert "deemed to have exhausted its internal appeals" in text
    assert "29 C.F.R. § 2560.503-1(l)" in text
    items = [p.text for p in Document(str(packets / "E1-1" / "level-1" /
                                          "deemed_exhaustion.docx")).paragraphs]
    assert "The appeal as filed on July 2, 2026, with the fax confirmation" in items
    assert "The denial notice or remittance advice" in items
    assert "independent external review" in text and "2590.715-2719" in text  # self-funded


def test_medicaid_enrollee_fair_hearing_request_after_the_plans_time(store) -> None:
    _, db, packets = store
    wrong = escalate(db, "M1-1", "deemed_exhaustion", "2026-08-20")
    assert wrong.exit_code == 2 and "no such route" in wrong.output
    done = escalate(db, "M1-1", "fair_hearing_request", "2026-08-20")
    assert done.exit_code == 0, done.output
    text = pdf_words(packets / "M1-1" / "level-1" / "fair_hearing_request.pdf")
    assert "I ask for a State fair hearing" in text and "written consent" in text
    assert "deemed to have exhausted its appeal process" in text and "438.408" in text
    assert "Lakeside Counseling" not in text.split("Re:")[0]  # the enrollee's, no letterhead


@pytest.mark.parametrize(("case", "kind", "on", "says"), [
    ("N1-1", "status_inquiry", "2026-07-21", "not sent"),          # never filed
    ("E1-1", "status_inquiry", "2026-06-30", "before the level was filed"),
    ("E1-1", "letter_to_the_editor", "2026-07-21", "is not one of"),
    ("E9-9", "status_inquiry", "2026-07-21", "E9-9"),               # no such case
])
def test_what_cannot_be_built_is_one_line_exit_2_and_nothing_written(store, case, kind, on,
                                                                     says) -> None:
    _, db, packets = store
    done = escalate(db, case, kind, on)
    assert done.exit_code == 2 and says in done.output
    assert len(done.output.strip().splitlines()) == 1
    assert not list(packets.glob("*/level-*"))


def test_an_upheld_urgent_erisa_decision_points_to_expedited_external_review() -> None:
    """Urgent care upheld: expedited external review comes first (it can be asked for at once),
    then the plan's second level and standard external review; not for care already given."""
    from appeals.law import next_levels
    from appeals.models import DenialRecord

    base = {"claim_id": "U1", "payer_name": "P", "plan_type": "employer_group",
            "plan_funding": "self_funded", "employer_size": 300, "plan_state": "NC",
            "denial_date": "2026-06-10", "adjustment_codes": ["CO-50"]}
    urgent = DenialRecord(**base, service_date="2026-06-12", level_of_care="residential",
                          extra={"review_type": "concurrent"})
    levels = [d.level for d in next_levels(urgent, decided_on=date(2026, 6, 14),
                                           category="medical_necessity")]
    assert levels[0] == "expedited_external_review" and "external_review" in levels
    given = DenialRecord(**base, service_date="2026-05-01", level_of_care="outpatient")
    assert "expedited_external_review" not in [
        d.level for d in next_levels(given, decided_on=date(2026, 8, 1),
                                     category="medical_necessity")]


def test_two_weeks_the_payers_answer_gives_the_next_level_and_silence_the_escalation(
        store, tmp_path: Path) -> None:
    """Week 1 sent by fax; week 2 the remittance denies N1 again (the level's decision, upheld):
    `next_level` builds its request with the decision date and the new deadline. E1 gets no
    answer: past its decision date the watch shows it overdue and the status inquiry and the
    deemed-exhaustion letter build."""
    from appeals.scrub.watch import from_store

    engine, db, packets = store
    mark(engine, "N1-1", "sent", on=FILED, method="fax", who="biller", override="test")
    week2 = tmp_path / "w2.csv"
    with week2.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerow([*ROWS[2][:15], "2026-08-05", "CO-50"])
    run(RunConfig(inputs=[week2], out=tmp_path / "o", workers=1, as_of=date(2026, 8, 7),
                  db=db))
    upheld = case_history(engine, "N1-1", as_of=date(2026, 8, 7))
    assert upheld["status"] == "upheld" and upheld["next_level"]
    early = escalate(db, "N1-1", "next_level", "2026-08-01")
    assert early.exit_code == 2 and "before the decision" in early.output
    done = escalate(db, "N1-1", "next_level", "2026-08-08")
    assert done.exit_code == 0, done.output
    text = pdf_words(packets / "N1-1" / "level-1" / "next_level.pdf")
    assert "On August 5, 2026, the plan upheld its denial" in text
    assert "Re: Request for a second-level internal appeal" in text
    overdue = [i for i in from_store(engine, date(2026, 9, 10), 14)
               if i.kind == "decision_overdue"]
    assert sorted(i.due for i in overdue) == [date(2026, 8, 1), date(2026, 8, 31)]  # M1, E1
    for kind in ("status_inquiry", "deemed_exhaustion"):
        assert escalate(db, "E1-1", kind, "2026-09-10").exit_code == 0
    assert sorted(p.name for p in (packets / "E1-1" / "level-1").iterdir()) == [
        "deemed_exhaustion.docx", "deemed_exhaustion.pdf", "status_inquiry.docx",
        "status_inquiry.pdf"]


def test_a_medicare_advantage_upheld_reconsideration_goes_to_the_ire(tmp_path: Path) -> None:
    """The plan sends its upheld reconsideration to the independent review entity itself
    (42 CFR 422.592(a)): the case is filed there on the decision's date, by the plan, with no
    letter; the IRE's time is its CMS contract's (422.592(b)), so no date is printed; its
    decision is recorded like any other level's."""
    from appeals.store import record_outcome

    path = tmp_path / "ma.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerow(["A1", 1, "Golden Years Advantage", "medicare_advantage", "", "", "NC",
                         "M9", "Sam Example", "Lakeside", "2026-05-01", "90837", "outpatient",
                         "200.00", "0.00", "2026-06-10", "CO-50"])
    db = f"sqlite:///{tmp_path / 's.db'}"
    run(RunConfig(inputs=[path], out=tmp_path / "o", workers=1, as_of=date(2026, 7, 1), db=db))
    engine = open_store(db)
    mark(engine, "A1-1", "sent", on=FILED, method="fax", who="biller", override="test")
    case = record_outcome(engine, "A1-1", "upheld", on=date(2026, 8, 20), who="biller")
    assert (case["status"], case["next_level"]) == ("sent", "ire_review")
    history = case_history(engine, "A1-1", as_of=date(2026, 8, 21))
    second = history["filings"][-1]
    assert (second["level"], second["name"], second["filed_on"], second["method"]) == (
        2, "ire_review", "2026-08-20", "the plan")
    assert not second["decision_due"] and "contract with CMS" in second["decision_rule"]
    assert "422.592(b)" in second["decision_rule"]
    assert [e["kind"] for e in history["events"]][-2:] == ["outcome", "forwarded"]
    for kind in ("next_level", "status_inquiry"):
        done = escalate(db, "A1-1", kind, "2026-08-21")
        assert done.exit_code == 2 and "no number of days" in done.output, done.output
    shown = CliRunner().invoke(app, ["case", "A1-1", "--db", db])
    assert "ire_review" in shown.output and "contract with CMS" in shown.output
    assert record_outcome(engine, "A1-1", "overturned", on=date(2026, 9, 30),
                          who="biller")["status"] == "overturned"
    assert case_history(engine, "A1-1", as_of=date(2026, 10, 1))["filings"][-1][
        "decision"] == "overturned"
    engine.dispose()


def test_an_upheld_level_that_no_payer_sends_on_opens_no_level(tmp_path: Path) -> None:
    """Only the registry's `upheld_to` moves a case on by itself: an ERISA plan's upheld appeal
    waits for the practice's next filing."""
    from appeals.law import upheld_goes_to
    from appeals.models import DenialRecord

    erisa = DenialRecord(claim_id="E", plan_type="employer_group", plan_funding="self_funded",
                         employer_size=300)
    ma = DenialRecord(claim_id="A", plan_type="medicare_advantage")
    assert upheld_goes_to(erisa, "internal_appeal") is None
    assert upheld_goes_to(ma, "external_review") is None
    assert upheld_goes_to(ma, "internal_appeal").level == "ire_review"


def test_a_complaint_goes_to_the_regulator_of_the_plan_after_its_time(store) -> None:
    """Self-funded ERISA: the Department of Labor's EBSA; Medicaid managed care: the State
    Medicaid agency (regulators.yaml), with the dated facts and the rule the plan missed."""
    _, db, packets = store
    assert escalate(db, "E1-1", "regulator_complaint", "2026-08-20").exit_code == 2  # not late
    done = escalate(db, "E1-1", "regulator_complaint", "2026-09-10")
    assert done.exit_code == 0, done.output
    text = pdf_words(packets / "E1-1" / "level-1" / "regulator_complaint.pdf")
    assert "Employee Benefits Security Administration" in text
    assert "due by August 31, 2026" in text and "2560.503-1(i)(2)" in text
    assert "no decision has come" in text
    done = escalate(db, "M1-1", "regulator_complaint", "2026-08-20")
    assert done.exit_code == 0, done.output
    assert "State Medicaid agency" in pdf_words(packets / "M1-1" / "level-1" /
                                                "regulator_complaint.pdf")
