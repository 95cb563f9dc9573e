"""Parity applicability per plan type: applies, regime, and exactly the citations a letter may use."""

from __future__ import annotations

from datetime import date

import pytest

from appeals.law import PlanFacts, law_for, parity_for, plan_facts, resolve_plan
from appeals.models import DenialRecord, LevelOfCare

ON = date(2026, 3, 2)

# (plan, funding, state) -> (applies, regime starts with, exact citation ids)
CASES = {
    "erisa_group insured": (("erisa_group", "fully_insured", None), True, "MHPAEA via ERISA",
                            {"usc_29_1185a", "usc_26_9812", "cfr_29_2590_712", "usc_42_300gg26",
                             "cfr_45_146_136"}),
    "erisa_group self-funded": (("erisa_group", "self_funded", None), True, "MHPAEA via ERISA",
                                {"usc_29_1185a", "usc_26_9812", "cfr_29_2590_712"}),
    "small group insured": (("small_group_insured", "fully_insured", None), True, "EHB parity",
                            {"cfr_45_156_115_a3"}),
    "small self-funded": (("erisa_group_small_selffunded", "self_funded", None), False,
                          "none: small-employer exemption", set()),
    "grandfathered large": (("grandfathered_group", "self_funded", None), True,
                            "MHPAEA via ERISA", {"usc_29_1185a", "usc_26_9812", "cfr_29_2590_712"}),
    "grandfathered small": (("grandfathered_small_group", "fully_insured", None), False,
                            "none: small-employer exemption", set()),
    "government": (("nonfed_gov_plan", "self_funded", None), True,
                   "MHPAEA via PHS Act (non-federal governmental plan)",
                   {"usc_42_300gg26", "cfr_45_146_136"}),  # the opt-out is not a basis
    "church self-funded": (("church_plan", "self_funded", None), True,
                           "MHPAEA via the Internal Revenue Code", {"usc_26_9812",
                                                                   "cfr_26_54_9812_1"}),
    "church insured": (("church_plan", "fully_insured", None), True,
                       "MHPAEA via the Internal Revenue Code",
                       {"usc_26_9812", "cfr_26_54_9812_1", "usc_42_300gg26", "cfr_45_146_136"}),
    "retiree only": (("retiree_only_plan", None, None), False, "none: retiree-only", set()),
    "individual": (("individual_market", None, None), True,
                   "individual market (45 C.F.R. § 147.160)",
                   {"usc_42_300gg26", "cfr_45_146_136", "cfr_45_147_160", "cfr_45_156_115_a3"}),
    "stldi": (("stldi", None, None), False, "none: short-term", set()),
    "medicaid mco": (("medicaid_mco", None, None), True,
                     "Medicaid managed care (42 C.F.R. Part 438, Subpart K)",
                     {"cfr_42_438_subpart_k"}),
    "medicaid ffs": (("medicaid_ffs", None, None), False, "none: Medicaid fee-for-service", set()),
    "medicaid abp": (("medicaid_abp", None, None), True, "Medicaid Alternative Benefit Plan",
                     {"cfr_42_440_395"}),
    "chip": (("chip", None, None), True, "CHIP (42 C.F.R. § 457.496)", {"cfr_42_457_496"}),
    "medicare": (("medicare_ffs", None, None), False, "none: Medicare", set()),
    "medicare advantage": (("medicare_advantage", None, None), False,
                           "none: Medicare Advantage", set()),
    "part d": (("medicare_part_d", None, None), False, "none: Medicare Part D", set()),
    "tricare": (("tricare", None, None), False, "TRICARE program rules", set()),
    "fehb": (("fehb", None, None), None, "FEHB contract parity", set()),  # basis not read
    "va": (("va", None, None), False, "none: VA", set()),
    "unknown": (("unknown", None, None), None, "unknown", set()),
    "insured large group in California": (("erisa_group", "fully_insured", "CA"), True,
                                          "MHPAEA via ERISA",
                                          {"usc_29_1185a", "usc_26_9812", "cfr_29_2590_712",
                                           "usc_42_300gg26", "cfr_45_146_136"}),  # state law: own
    "self-funded large group in California": (("erisa_group", "self_funded", "CA"), True,
                                              "MHPAEA via ERISA",
                                              {"usc_29_1185a", "usc_26_9812", "cfr_29_2590_712"}),
}

ERISA_MARKS = ("29 U.S.C.", "29 C.F.R.")
MHPAEA_MARKS = ("1185a", "300gg-26", "§ 9812", "2590.712", "146.136", "147.160", "54.9812")
NO_ERISA = ["nonfed_gov_plan", "church_plan", "individual_market", "medicaid_mco", "medicaid_ffs",
            "medicaid_abp", "chip", "medicare_ffs", "medicare_advantage", "medicare_part_d",
            "tricare", "fehb", "va", "unknown"]
NO_MHPAEA = ["medicare_ffs", "medicare_advantage", "medicare_part_d", "tricare", "va",
             "erisa_group_small_selffunded", "grandfathered_small_group", "retiree_only_plan",
             "stldi", "unknown"]


@pytest.mark.parametrize("name", list(CASES))
def test_parity_decision_per_plan_type(name: str) -> None:
    (plan, funding, state), applies, regime, ids = CASES[name]
    decision = parity_for(PlanFacts(plan=plan, funding=funding, state=state, service_date=ON))
    assert decision.applies is applies
    assert decision.regime.startswith(regime)
    assert {c.id for c in decision.citations} == ids
    assert decision.reasons, "every decision says why"


def _every_cite(plan: str, funding: str | None) -> list[str]:
    """Every citation the law stage offers a letter, for a post-service and an urgent denial."""
    cites = []
    for urgent in (False, True):
        facts = PlanFacts(plan=plan, funding=funding, denial_date=ON,
                          level_of_care=LevelOfCare.residential if urgent else None,
                          review_type="pre_service" if urgent else "post_service")
        result = law_for(facts)
        assert result.urgent is urgent
        cites += [c.cite for c in result.parity.citations]
        cites += [d.citation for d in result.deadlines if d.citation]
    return cites


@pytest.mark.parametrize("plan", NO_ERISA)
@pytest.mark.parametrize("funding", ["fully_insured", "self_funded", None])
def test_no_erisa_citation_outside_erisa_plans(plan: str, funding: str | None) -> None:
    for cite in _every_cite(plan, funding):
        assert not cite.startswith(ERISA_MARKS), (plan, cite)


@pytest.mark.parametrize("plan", NO_MHPAEA)
def test_no_mhpaea_citation_where_mhpaea_does_not_reach(plan: str) -> None:
    for cite in _every_cite(plan, "self_funded"):
        assert not any(mark in cite for mark in MHPAEA_MARKS), (plan, cite)


def test_small_employer_decision_names_the_exemption_as_basis_not_as_citation() -> None:
    decision = parity_for(PlanFacts(plan="erisa_group_small_selffunded", funding="self_funded"))
    assert decision.citations == []
    assert decision.decision_basis == ["usc_29_1185a_c"]
    assert "29 U.S.C. § 1185a(c)" in decision.reasons[0]


@pytest.mark.parametrize("size,funding,grandfathered,expected", [
    (120, "self_funded", False, "erisa_group"),
    (51, "fully_insured", False, "erisa_group"),
    (50, "fully_insured", False, "small_group_insured"),
    (12, "self_funded", False, "erisa_group_small_selffunded"),
    (12, None, False, "employer_group_unresolved"),
    (None, "self_funded", False, "employer_group_unresolved"),
    (300, "fully_insured", True, "grandfathered_group"),
    (30, "fully_insured", True, "grandfathered_small_group"),
])
def test_employer_plans_resolve_by_size_funding_and_grandfathering(size, funding, grandfathered,
                                                                    expected) -> None:
    assert resolve_plan("employer_group", funding=funding, employer_size=size,
                        grandfathered=grandfathered)[0] == expected


def test_record_flags_and_plan_type_names_resolve() -> None:
    rec = DenialRecord(claim_id="C1", plan_type="employer_group", plan_funding="self_funded",
                       employer_size=200, extra={"grandfathered": "yes"})
    assert plan_facts(rec).plan == "grandfathered_group"
    assert plan_facts(DenialRecord(claim_id="C2", plan_type="government_group")).plan == \
        "nonfed_gov_unresolved"  # size unknown: no parity claimed
    assert plan_facts(DenialRecord(claim_id="C3", plan_type="medicare")).plan == "medicare_ffs"
    retiree = DenialRecord(claim_id="C4", plan_type="employer_group", extra={"retiree_only": "1"})
    assert plan_facts(retiree).plan == "retiree_only_plan"


# Issue 13: the small-employer exemption reaches every employer plan, not only private ones.
SPONSOR_CASES = [
    # plan type, funding, size -> registry plan, parity applies, basis ids
    ("employer_group", "self_funded", 30, "erisa_group_small_selffunded", False, set()),
    ("employer_group", "fully_insured", 30, "small_group_insured", True, {"cfr_45_156_115_a3"}),
    ("employer_group", "self_funded", 1200, "erisa_group", True,
     {"usc_29_1185a", "usc_26_9812", "cfr_29_2590_712"}),
    ("government_group", "self_funded", 30, "nonfed_gov_small_exempt", False, set()),
    ("government_group", "fully_insured", 30, "nonfed_gov_small_insured", True,
     {"cfr_45_156_115_a3"}),
    ("government_group", "self_funded", 1200, "nonfed_gov_plan", True,
     {"usc_42_300gg26", "cfr_45_146_136"}),
    ("government_group", "fully_insured", 1200, "nonfed_gov_plan", True,
     {"usc_42_300gg26", "cfr_45_146_136"}),
    ("church_group", "self_funded", 30, "church_plan_small_exempt", False, set()),
    ("church_group", "fully_insured", 30, "church_plan_small_insured", True,
     {"cfr_45_156_115_a3"}),
    ("church_group", "self_funded", 1200, "church_plan", True,
     {"usc_26_9812", "cfr_26_54_9812_1"}),
    ("church_group", "fully_insured", 1200, "church_plan", True,
     {"usc_26_9812", "cfr_26_54_9812_1", "usc_42_300gg26", "cfr_45_146_136"}),
    ("government_group", None, None, "nonfed_gov_unresolved", None, set()),
    ("church_group", "fully_insured", None, "church_plan_unresolved", None, set()),
]


@pytest.mark.parametrize("plan_type,funding,size,plan,applies,basis", SPONSOR_CASES)
def test_every_employer_plan_gets_the_small_employer_exemption(plan_type, funding, size, plan,
                                                               applies, basis) -> None:
    rec = DenialRecord(claim_id="S1", plan_type=plan_type, plan_funding=funding,
                       employer_size=size, service_date="2026-05-04", denial_date="2026-06-01")
    decision = parity_for(rec)
    assert (decision.plan, decision.applies) == (plan, applies)
    assert {c.id for c in decision.citations} == basis
    if not applies:
        assert decision.citations == []


def test_unknown_size_says_what_to_check_and_claims_nothing() -> None:
    rec = DenialRecord(claim_id="C1", plan_type="employer_group")
    decision = parity_for(rec)
    assert decision.applies is None
    assert decision.citations == []
    assert set(decision.unknowns) == {"employer size", "funding"}
    assert any("number of employees" in r for r in decision.reasons)


def test_unknown_plan_type_lists_the_questions_to_ask() -> None:
    decision = parity_for(DenialRecord(claim_id="C1"))
    assert decision.applies is None and decision.citations == []
    assert decision.unknowns == ["plan type"]
    assert any("Medicare Advantage" in r for r in decision.reasons)


def test_funding_unknown_leaves_out_insurer_only_citations() -> None:
    decision = parity_for(PlanFacts(plan="erisa_group", service_date=ON))
    ids = {c.id for c in decision.citations}
    assert "usc_42_300gg26" not in ids and "usc_29_1185a" in ids
    assert any("Funding is not given" in r for r in decision.reasons)


def test_parity_citations_respect_the_service_date() -> None:
    before_subpart_k = parity_for(PlanFacts(plan="medicaid_mco", service_date=date(2016, 5, 1)))
    assert before_subpart_k.applies is True and before_subpart_k.citations == []


def test_plan_facts_given_by_hand_resolve_as_a_records_would() -> None:
    """`appeals law --plan-type ...` builds its facts in the library (appeals.law), not in the
    command: a schema plan type resolves with its funding and size, a registry one is taken as
    it is, and a value that is none names its option."""
    from appeals.law import OptionError, given_plan_facts, load_registry, plan_facts

    reg = load_registry()
    facts = given_plan_facts(reg, "employer_group", funding="self_funded", employer_size=40,
                             state="nc")
    record = DenialRecord(claim_id="G1", denial_reason="x", plan_type="employer_group",
                          plan_funding="self_funded", employer_size=40, plan_state="NC")
    assert (facts.plan, facts.state) == (plan_facts(record).plan, "NC")
    assert given_plan_facts(reg, "erisa_group").plan == "erisa_group"
    for option, fields in (("--funding", {"funding": "bogus"}),
                           ("--level-of-care", {"level_of_care": "spa"}),
                           ("--plan-type", {})):
        with pytest.raises(OptionError, match=option):
            given_plan_facts(reg, "nonsense" if option == "--plan-type" else "employer_group",
                             **fields)
