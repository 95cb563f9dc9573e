"""The payer's decision clock on every filed level, per program, from the registry's verified
decision_clocks: counted from the filing's receipt (fax and portal the day sent, mail and an
unrecorded method 5 days later), shown by `appeals case`/`cases`, the desk and the watch as due
and then overdue, with the rule's citation; no clock where the registry has no verified one."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import pytest

from appeals.law import decision_due, load_registry
from appeals.law.registry import RegistryError, _load
from appeals.models import DenialRecord
from appeals.pipeline import RunConfig, run
from appeals.scrub.watch import from_store
from appeals.store import case_history, list_cases, mark, open_store

FILED = date(2026, 7, 2)
HEADER = ["claim_id", "line_number", "payer_name", "plan_type", "plan_funding", "employer_size",
          "plan_state", "member_id", "patient_name", "provider_name", "service_date", "cpt_code",
          "level_of_care", "billed_amount", "paid_amount", "denial_date", "adjustment_codes",
          "review_type"]


def record(plan: str, review: str = "", care: str = "outpatient", **kw) -> DenialRecord:
    return DenialRecord(claim_id="K1", payer_name="P", plan_type=plan, plan_funding=kw.get(
        "funding", "self_funded" if plan == "employer_group" else None), employer_size=300,
        plan_state="NC", service_date="2026-06-20" if review else "2026-05-01",
        denial_date="2026-06-10", level_of_care=care,
        extra={"review_type": review} if review else {})


@pytest.mark.parametrize(("plan", "review", "care", "method", "due", "cite"), [
    # ERISA: 60 days for a claim for care given, 30 before care, 72 hours (3 days) when urgent
    ("employer_group", "", "outpatient", "fax", FILED + timedelta(days=60), "2560.503-1(i)(2)"),
    ("employer_group", "pre_service", "outpatient", "portal", FILED + timedelta(days=30),
     "2560.503-1(i)(2)"),
    ("employer_group", "concurrent", "residential", "fax", FILED + timedelta(days=3),
     "2560.503-1(i)(2)"),
    # the ACA's individual market follows the same clock through 45 CFR 147.136(b)
    ("individual", "", "outpatient", "fax", FILED + timedelta(days=60), "147.136(b)"),
    # Medicaid managed care: 30 calendar days; mailed: received 5 days later
    ("medicaid_mco", "", "outpatient", "mail", FILED + timedelta(days=35), "438.408"),
    ("medicaid_mco", "", "outpatient", None, FILED + timedelta(days=35), "438.408"),
    ("medicaid_mco", "concurrent", "residential", "fax", FILED + timedelta(days=3), "438.408"),
    ("chip", "", "outpatient", "fax", FILED + timedelta(days=30), "438.408"),
    # Medicare Advantage: 60 days for payment, 30 for a service not yet given, 72 hours urgent
    ("medicare_advantage", "", "outpatient", "fax", FILED + timedelta(days=60), "422.590"),
    ("medicare_advantage", "pre_service", "outpatient", "fax", FILED + timedelta(days=30),
     "422.590"),
])
def test_each_programs_clock_from_the_registry(plan, review, care, method, due, cite) -> None:
    found = decision_due(record(plan, review, care), "internal_appeal", filed_on=FILED,
                         method=method)
    assert found is not None and found.due == due
    assert cite in found.citation and cite in found.words


@pytest.mark.parametrize("plan", ["tricare", "fehb", "unknown"])
def test_no_clock_is_shown_where_the_registry_has_no_verified_one(plan) -> None:
    """TRICARE's and FEHB's decision times were not read here: no clock is shown."""
    assert decision_due(record(plan), "internal_appeal", filed_on=FILED) is None


def test_original_medicares_clocks_come_from_the_statute_read() -> None:
    """42 CFR 405.950 and 405.970 were not read here; the statute they carry out was (42 U.S.C.
    1395ff): 60 days from receipt for the redetermination, 60 days from the timely request for
    the QIC, and only the QIC's lateness lets the party move on (to the ALJ)."""
    reg = load_registry()
    first = decision_due(record("medicare"), "internal_appeal", filed_on=FILED, method="fax")
    assert first is not None and first.due == FILED + timedelta(days=60)
    assert "1395ff(a)(3)(C)(ii)" in first.citation
    second = decision_due(record("medicare"), "qic_reconsideration", filed_on=FILED,
                          method="fax")
    assert second is not None and second.due == FILED + timedelta(days=60)
    assert "1395ff(c)(3)(C)" in second.citation
    clocks = {c.id: c for c in reg.clocks}
    assert clocks["medicare_redetermination_decision"].late_claim is None
    assert "administrative law judge" in reg.claims[
        clocks["medicare_qic_reconsideration_decision"].late_claim]


def test_a_malformed_clock_names_the_file_and_the_field(tmp_path: Path) -> None:
    from appeals.law.registry import default_path

    text = default_path().read_text(encoding="utf-8").replace(
        "      post_service: {amount: 60, unit: calendar_days}\n    note: \"A plan with two",
        "      post_service: {amount: 60, unit: weeks}\n    note: \"A plan with two")
    bad = tmp_path / "citations.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(RegistryError, match=r"decision_clocks\[0\].*erisa_appeal_decision.*"
                                            r"periods.post_service.unit"):
        _load(str(bad))
    assert load_registry().clocks  # the built-in one loads


def test_sent_appeals_show_the_decision_due_then_overdue_with_the_escalation(
        tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerow(["E1", 1, "Blue Ridge Health", "employer_group", "self_funded", "300",
                         "NC", "M1", "Avery Sample", "Lakeside", "2026-05-01", "90837",
                         "outpatient", "200.00", "0.00", "2026-06-10", "CO-50", ""])
        writer.writerow(["X1", 1, "TRICARE East", "tricare", "", "", "NC", "M2",
                         "Jamie Example", "Lakeside", "2026-05-01", "90837", "outpatient",
                         "200.00", "0.00", "2026-06-10", "CO-50", ""])
    db = f"sqlite:///{tmp_path / 's.db'}"
    run(RunConfig(inputs=[path], out=tmp_path / "o", workers=1, as_of=date(2026, 7, 1), db=db))
    engine = open_store(db)
    for ref in ("E1-1", "X1-1"):
        mark(engine, ref, "sent", on=FILED, method="fax", who="biller", override="test")
    erisa = case_history(engine, "E1-1", as_of=date(2026, 8, 1))
    assert erisa["decision_due"] == "2026-08-31" and erisa["decision_days_left"] == 30
    assert "60 calendar days from receipt on 2026-07-02: sent by fax" in \
        erisa["filings"][0]["decision_rule"]
    tricare = case_history(engine, "X1-1", as_of=date(2026, 8, 1))  # no clock read: none shown
    assert tricare["decision_due"] == "" and tricare["filings"][0]["decision_due"] == ""
    rows = {r["claim_id"]: r for r in list_cases(engine, as_of=date(2026, 9, 10))}
    assert rows["E1"]["decision_days_left"] == -10
    soon = [i for i in from_store(engine, date(2026, 8, 25), 14) if i.kind.startswith("decision")]
    assert [(i.kind, i.due) for i in soon] == [("decision_due", date(2026, 8, 31))]
    late = [i for i in from_store(engine, date(2026, 9, 10), 14)
            if i.kind.startswith("decision")]
    assert [(i.kind, i.due) for i in late] == [("decision_overdue", date(2026, 8, 31))]
    assert "overdue by 10 days" in late[0].title and "2560.503-1(i)(2)" in late[0].detail
    assert "then escalate" in late[0].detail
    # what ERISA gives once the clock has run out, from the registry's clock
    assert "--kind deemed_exhaustion" in late[0].detail
    assert "--kind regulator_complaint" in late[0].detail
    from appeals.store import record_outcome

    record_outcome(engine, "E1-1", "upheld", on=date(2026, 9, 12), who="biller")
    assert not [i for i in from_store(engine, date(2026, 9, 12), 14)
                if i.kind.startswith("decision")]  # decided: off the list
    engine.dispose()
