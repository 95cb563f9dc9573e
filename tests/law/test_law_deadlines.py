"""Filing deadlines: one test per row of the brief's section 4 table, plus the date arithmetic."""

from __future__ import annotations

from datetime import date

import pytest

from appeals.law import PlanFacts, add_months, deadline_for, deadlines_for, law_for, load_registry
from appeals.law.deadlines import next_business_day
from appeals.models import DenialRecord, LevelOfCare

NOTICE = date(2026, 3, 2)  # a Monday


def facts(plan: str, **kw) -> PlanFacts:
    kw.setdefault("denial_date", NOTICE)
    kw.setdefault("review_type", "post_service")
    return PlanFacts(plan=plan, **kw)


def urgent(plan: str, **kw) -> PlanFacts:
    return facts(plan, level_of_care=LevelOfCare.residential, review_type="pre_service", **kw)


# --- first-level windows -------------------------------------------------------------------------

@pytest.mark.parametrize("plan,funding,days,citation", [
    ("erisa_group", "self_funded", 180, "29 C.F.R. § 2560.503-1(h)(3)(i)"),
    ("small_group_insured", "fully_insured", 180, "29 C.F.R. § 2560.503-1(h)(3)(i)"),
    ("erisa_group_small_selffunded", "self_funded", 180, "29 C.F.R. § 2560.503-1(h)(3)(i)"),
    ("grandfathered_group", "fully_insured", 180, "29 C.F.R. § 2560.503-1(h)(3)(i)"),
    ("nonfed_gov_plan", "self_funded", 180, "45 C.F.R. § 147.136(b)"),
    ("individual_market", None, 180, "45 C.F.R. § 147.136(b)"),
    ("medicaid_mco", None, 60, "42 C.F.R. § 438.402(c)(2)(ii)"),
    ("chip", None, 60, "42 C.F.R. § 457.1260"),
    ("medicare_ffs", None, 120, "42 C.F.R. § 405.942(a)"),
    ("medicare_advantage", None, 60, "42 C.F.R. § 422.582(b)"),
    ("medicare_part_d", None, 60, "42 C.F.R. § 423.582(b)"),
    ("tricare", None, 90, "32 C.F.R. § 199.10"),
])
def test_first_level_window(plan: str, funding: str | None, days: int, citation: str) -> None:
    d = deadline_for(facts(plan, funding=funding), "internal_appeal")
    assert d is not None
    assert d.days == days
    assert (d.file_by - NOTICE).days == days
    assert d.citation == citation
    assert d.start_date == NOTICE


def test_erisa_counts_from_the_notice_date_and_says_why() -> None:
    d = deadline_for(facts("erisa_group"), "internal_appeal")
    assert d.file_by == date(2026, 8, 29)  # a Saturday: not rolled, file earlier
    assert d.counted_from == "receipt of the denial notice"
    assert "no mailing days added" in d.basis
    assert d.legal_deadline is None


def test_erisa_180_days_across_a_leap_day() -> None:
    d = deadline_for(facts("erisa_group", denial_date=date(2028, 1, 1)), "internal_appeal")
    assert d.file_by == date(2028, 6, 29)


def test_individual_market_has_one_internal_level() -> None:
    levels = [d.level for d in deadlines_for(facts("individual_market"))]
    assert levels.count("internal_appeal") == 1 and "second_internal_appeal" not in levels


def test_erisa_second_level_is_set_by_the_plan() -> None:
    d = deadline_for(facts("erisa_group"), "second_internal_appeal")
    assert d.file_by is None and d.period == "set by the plan"
    assert d.citation == "29 C.F.R. § 2560.503-1(c)(2)"


def test_church_plan_self_funded_window_cites_the_treasury_rule() -> None:
    """26 C.F.R. 54.9815-2719 exists (registry 2026.12.04-2, partial): the window is cited by it,
    not withheld; an unverified citation would still be withheld and flagged."""
    d = deadline_for(facts("church_plan", funding="self_funded"), "internal_appeal")
    assert d.days == 180 and d.citation == "26 C.F.R. § 54.9815-2719"
    assert "unverified_citation_withheld" not in d.flags


def test_an_unverified_window_citation_is_withheld_and_flagged() -> None:
    reg = load_registry()
    entry = reg.get("cfr_26_54_9815_2719").model_copy(update={"verification": "unverified"})
    unverified = reg.model_copy(update={"entries": {**reg.entries, entry.id: entry}})
    d = deadline_for(facts("church_plan", funding="self_funded"), "internal_appeal", unverified)
    assert d.days == 180 and d.citation is None
    assert "unverified_citation_withheld" in d.flags


# --- external review: months, missing days, weekend and holiday roll ---------------------------

@pytest.mark.parametrize("notice,expected", [
    (date(2026, 3, 2), date(2026, 7, 2)),     # plain: Thursday
    (date(2025, 10, 30), date(2026, 3, 2)),   # Feb 30 missing -> Mar 1 (Sunday) -> Mon Mar 2
    (date(2026, 10, 30), date(2027, 3, 1)),   # the regulation's own example: Oct 30 -> Mar 1
    (date(2027, 10, 29), date(2028, 2, 29)),  # leap year: Feb 29 exists (Tuesday)
    (date(2027, 10, 30), date(2028, 3, 1)),   # leap year: Feb 30 missing -> Mar 1 (Wednesday)
    (date(2026, 10, 29), date(2027, 3, 1)),   # non-leap: Feb 29 missing -> Mar 1 (Monday)
    (date(2026, 10, 31), date(2027, 3, 1)),   # Feb 31 missing -> Mar 1
    (date(2026, 5, 31), date(2026, 10, 1)),   # Sep 31 missing -> Oct 1 (Thursday)
    (date(2026, 1, 31), date(2026, 6, 1)),    # May 31 is a Sunday -> Mon Jun 1
    (date(2026, 1, 25), date(2026, 5, 26)),   # May 25 is Memorial Day -> Tue May 26
    (date(2026, 7, 11), date(2026, 11, 12)),  # Nov 11 Veterans Day (Wed) -> Thu Nov 12
    (date(2026, 8, 25), date(2026, 12, 28)),  # Dec 25 (Fri) holiday -> Mon Dec 28
])
def test_external_review_four_months(notice: date, expected: date) -> None:
    d = deadline_for(facts("erisa_group", denial_date=notice), "external_review")
    assert d.file_by == expected
    assert d.citation == "29 C.F.R. § 2590.715-2719(d)(2)(i)"


def test_external_review_for_a_governmental_plan_cites_the_hhs_text() -> None:
    d = deadline_for(facts("nonfed_gov_plan"), "external_review")
    assert d.citation == "45 C.F.R. § 147.136(d)(2)(i)"


def test_grandfathered_plans_have_no_external_review() -> None:
    assert deadline_for(facts("grandfathered_group"), "external_review") is None


def test_add_months_rules() -> None:
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)
    assert add_months(date(2026, 10, 31), 4, "first_of_next_month") == date(2027, 3, 1)
    assert add_months(date(2026, 11, 15), 4) == date(2027, 3, 15)
    assert next_business_day(date(2026, 7, 3)) == date(2026, 7, 6)  # observed Independence Day


# --- expedited / urgent --------------------------------------------------------------------------

def test_pre_service_residential_denial_is_urgent_with_expedited_levels() -> None:
    result = law_for(urgent("erisa_group"))
    assert result.urgent
    levels = {d.level: d for d in result.deadlines}
    assert levels["expedited_internal_appeal"].file_by == NOTICE
    assert "urgent" in levels["expedited_internal_appeal"].flags
    assert "72 hours" in levels["expedited_internal_appeal"].decision_time
    assert "expedited_external_review" in levels


def test_post_service_residential_claim_is_not_urgent() -> None:
    rec = DenialRecord(claim_id="C1", plan_type="medicare_advantage", level_of_care="residential",
                       service_date="2026-02-01", denial_date="2026-03-02")
    result = law_for(rec)
    assert not result.urgent
    assert [d.level for d in result.deadlines] == ["internal_appeal"]


def test_outpatient_pre_service_is_not_urgent() -> None:
    assert not law_for(facts("erisa_group", level_of_care=LevelOfCare.outpatient,
                             review_type="pre_service")).urgent


def test_tricare_expedited_three_days() -> None:
    d = deadline_for(urgent("tricare"), "expedited_internal_appeal")
    assert d.file_by == date(2026, 3, 5)
    assert d.legal_deadline == date(2026, 3, 10)  # receipt presumed 5 days after the notice


def test_medicare_advantage_expedited() -> None:
    d = deadline_for(urgent("medicare_advantage"), "expedited_internal_appeal")
    assert d.file_by == NOTICE and d.citation == "42 C.F.R. § 422.590"


# --- Medicaid ------------------------------------------------------------------------------------

def test_medicaid_continuation_window_only_when_services_are_being_cut() -> None:
    post = deadlines_for(facts("medicaid_mco"))
    assert "continuation_of_benefits" not in [d.level for d in post]
    d = deadline_for(facts("medicaid_mco", review_type="concurrent"), "continuation_of_benefits")
    assert d.file_by == date(2026, 3, 12) and d.citation == "42 C.F.R. § 438.420"


def test_chip_has_no_continuation_window() -> None:
    assert deadline_for(facts("chip", review_type="concurrent"), "continuation_of_benefits") is None


def test_medicaid_fair_hearing_counts_from_the_plan_decision() -> None:
    d = deadline_for(facts("medicaid_mco"), "state_fair_hearing")
    assert d.file_by is None and d.days == 90
    d = deadline_for(facts("medicaid_mco"), "state_fair_hearing",
                     previous_decision=date(2026, 4, 15))
    assert d.file_by == date(2026, 7, 14)
    assert "90 to 120" in d.basis and d.citation == "42 C.F.R. § 438.408(f)"


def test_medicaid_ffs_provider_route_is_the_states_reconsideration_not_the_fair_hearing() -> None:
    result = law_for(facts("medicaid_ffs"))
    first = result.first_deadline
    assert first.level == "internal_appeal" and first.file_by is None  # the state sets it
    assert result.appeal_name == "Medicaid provider reconsideration" and result.own_right
    hearing = result.level("state_fair_hearing")  # the beneficiary's right, still listed
    assert hearing.file_by == date(2026, 5, 31) and hearing.citation == "42 C.F.R. § 431.221(d)"
    assert "beneficiary's right" in hearing.notes[0]


# --- Medicare ------------------------------------------------------------------------------------

def test_medicare_redetermination_shows_notice_date_count_and_legal_date() -> None:
    d = deadline_for(facts("medicare_ffs"), "internal_appeal")
    assert d.file_by == date(2026, 6, 30)
    assert d.legal_deadline == date(2026, 7, 5)


def test_medicare_qic_reconsideration_180_days_from_redetermination() -> None:
    d = deadline_for(facts("medicare_ffs"), "qic_reconsideration",
                     previous_decision=date(2026, 5, 1))
    assert d.file_by == date(2026, 10, 28) and d.legal_deadline == date(2026, 11, 2)
    assert d.citation == "42 C.F.R. § 405.962(a)"


def test_medicare_advantage_uses_sixty_and_says_why_not_sixty_five() -> None:
    d = deadline_for(facts("medicare_advantage"), "internal_appeal")
    assert d.days == 60
    assert any("65 days" in n and "shorter" in n for n in d.notes)


# --- TRICARE, FEHB, unknown ----------------------------------------------------------------------

def test_tricare_second_reconsideration() -> None:
    d = deadline_for(facts("tricare"), "second_reconsideration", previous_decision=date(2026, 6, 1))
    assert d.file_by == date(2026, 8, 30)


def test_fehb_six_months_month_end() -> None:
    d = deadline_for(facts("fehb", denial_date=date(2026, 8, 31)), "internal_appeal")
    assert d.file_by == date(2027, 2, 28)  # no Feb 31: the earlier, last day of the month
    leap = deadline_for(facts("fehb", denial_date=date(2027, 8, 31)), "internal_appeal")
    assert leap.file_by == date(2028, 2, 29)
    assert d.citation == "5 C.F.R. § 890.105"


def test_fehb_opm_review_window_is_not_invented() -> None:
    d = deadline_for(facts("fehb"), "opm_review")
    assert d.file_by is None and d.days is None and d.citation is None


def test_unknown_plan_sixty_days_and_confirm_flag() -> None:
    result = law_for(facts("unknown", review_type="concurrent"))
    first = result.first_deadline
    assert first.days == 60 and first.citation is None
    assert "confirm_plan_type" in first.flags
    assert "continuation_of_benefits" in [d.level for d in result.deadlines]


def test_missing_denial_date_gives_no_date_and_says_so() -> None:
    d = deadline_for(PlanFacts(plan="erisa_group"), "internal_appeal")
    assert d.file_by is None and "missing_denial_date" in d.flags
