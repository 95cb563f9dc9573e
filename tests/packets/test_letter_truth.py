"""Issue 13: every sentence of a letter true on its facts, on the right route, citing only what
supports it. Each test here failed on the templates of 2026-12-03."""

from __future__ import annotations

import itertools
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import DATA
from helpers import ORG, cls

from appeals.compose.letters import (
    APPEAL_LETTER,
    CORRECTED_COVER,
    DOC_REQUEST,
    checklist_due,
    compose,
)
from appeals.intake import read
from appeals.law import law_for, load_registry
from appeals.models import Category, DenialRecord
from appeals.worklist import filing_words

AS_OF = date(2026, 7, 1)
REG = load_registry()
MATRIX = DATA / "letter_matrix.csv"
BASE = {"claim_id": "T1", "payer_name": "Blue Ridge", "patient_name": "Sample Client",
        "member_id": "M1", "patient_dob": "1980-01-02", "provider_name": "Dr Lee",
        "service_date": "2026-05-04", "cpt_code": "90837", "level_of_care": "outpatient",
        "diagnosis_codes": "F33.1", "billed_amount": "200", "paid_amount": "0",
        "denial_date": "2026-06-10", "adjustment_codes": "CO-50",
        "plan_type": "employer_group", "plan_funding": "fully_insured", "employer_size": 300,
        "plan_state": "NC"}


def letters(category: Category = Category.medical_necessity, as_of: date = AS_OF,
            facts: dict | None = None, **fields):
    rec = DenialRecord(**{**BASE, **fields})
    law = law_for(rec, as_of=as_of)
    out = compose(rec, cls(rec, category), law, as_of=as_of, org=ORG, facts=facts)
    return rec, law, out, {d.kind: d.text() for d in out.documents}


def sentence_with(text: str, words: str) -> str:
    hit = [s for s in re.split(r"(?<=\.)\s+(?=[A-Z])", text) if words in s]
    assert hit, f"no sentence says {words!r}"
    return hit[0]


# --- wrong statements -----------------------------------------------------------------------------

def test_an_expired_authorization_is_never_said_to_cover_the_service() -> None:
    _, _, _, docs = letters(Category.authorization, adjustment_codes="CO-197",
                            denial_reason="Authorization expired", auth_number="A1",
                            auth_start="2026-04-01", auth_end="2026-05-01", auth_units="10")
    text = docs[APPEAL_LETTER]
    assert "falls within" not in text
    assert "followed its end" in text and "extend the authorization" in text
    _, _, _, docs = letters(Category.authorization, adjustment_codes="CO-197", auth_number="A1",
                            auth_start="2026-04-01", auth_end="2026-06-01")
    assert "May 4, 2026, falls within the authorized period" in docs[APPEAL_LETTER]


def test_a_late_appeal_claims_no_timeliness_and_asks_for_good_cause() -> None:
    _, law, out, docs = letters(denial_date="2025-12-01", service_date="2025-11-10")
    text = docs[APPEAL_LETTER]
    assert law.first_deadline.file_by < AS_OF
    assert "filed within the time allowed" not in text
    assert "good cause" in text and "[BILLER: why the request is late" in text
    assert out.filing.state == "late" and any("Past the filing deadline" in n for n in out.notes)
    assert filing_words(law, AS_OF).startswith("past the deadline")


def test_a_late_medicare_redetermination_cites_the_good_cause_rule() -> None:
    _, _, out, docs = letters(plan_type="medicare", denial_date="2025-12-01",
                              service_date="2025-11-10")
    assert "42 C.F.R. § 405.942(b)" in sentence_with(docs[APPEAL_LETTER], "good cause")
    assert out.claims["good_cause_late"] == ["medicare_good_cause"]


def test_a_placeholder_window_is_never_printed_as_the_deadline() -> None:
    _, law, _, docs = letters(plan_type="unknown")
    assert not law.first_deadline.confirmed
    assert "the deadline is" not in docs[APPEAL_LETTER]
    assert "[BILLER: filing deadline from the denial notice" in docs[APPEAL_LETTER]
    assert filing_words(law, AS_OF).startswith("confirm plan type")


@pytest.mark.parametrize("category,code", [(Category.timely_filing, "CO-29"),
                                           (Category.credentialing, "CO-B7")])
def test_no_parity_section_on_a_denial_that_applies_no_limit(category, code) -> None:
    _, _, _, docs = letters(category, adjustment_codes=code)
    assert docs.values() and all("parity" not in t.lower() for t in docs.values())


def test_continued_stay_words_on_past_days_are_not_called_care_under_way() -> None:
    _, law, out, docs = letters(level_of_care="residential", cpt_code="H0019",
                                denial_reason="Does not meet criteria for continued stay")
    assert not law.urgent and "under way" not in docs[APPEAL_LETTER]
    assert any("set review_type to concurrent" in n for n in out.notes)
    _, law, _, _ = letters(level_of_care="residential", cpt_code="H0019",
                           denial_reason="Does not meet criteria for continued stay",
                           extra={"review_type": "concurrent"})
    assert law.urgent


@pytest.mark.parametrize("reason", ["Residential treatment not medically necessary",
                                    "Continued stay not medically necessary"])
def test_a_medical_necessity_denial_names_only_its_criteria(reason) -> None:
    _, _, _, docs = letters(level_of_care="residential", cpt_code="H0019", denial_reason=reason)
    text = docs[APPEAL_LETTER]
    assert "medical necessity criteria are a medical management standard" in text
    assert "facility type" not in text and "concurrent review (a" not in text


def test_each_review_right_cites_only_the_rule_that_gives_it() -> None:
    _, _, out, docs = letters()
    reviewer = sentence_with(docs[APPEAL_LETTER], "did not make the first decision")
    assert "2560.503-1(h)(3)(ii)-(vi)" in reviewer
    assert "(c)(2)" not in reviewer and "(b)(2)(ii)(C)" not in reviewer
    for claim, ids in out.claims.items():
        for cid in ids:
            assert claim in REG.get(cid).supports, (claim, cid)


@pytest.mark.parametrize("plan_type", ["medicaid_mco", "chip", "fehb", "medicare_advantage"])
def test_no_comparative_analysis_is_demanded_without_a_basis(plan_type) -> None:
    _, _, _, docs = letters(Category.parity_nqtl, plan_type=plan_type,
                            denial_reason="Requires failure of outpatient care first")
    assert docs.values() and all("comparative analysis" not in t for t in docs.values())


def test_an_erisa_plan_is_asked_for_the_comparative_analysis_and_copies_the_administrator() -> None:
    _, _, _, docs = letters(Category.parity_nqtl,
                            denial_reason="Requires failure of outpatient care first")
    assert "Re: Request for plan documents, criteria and the comparative analysis" in \
        docs[DOC_REQUEST]
    assert "Copy to: Plan administrator" in docs[DOC_REQUEST]


VISIT_LIMIT = {"denial_reason": "Annual visit limit of 20 reached", "adjustment_codes": "CO-119"}
FAIL_FIRST = {"denial_reason": "Requires failure of outpatient care first",
              "adjustment_codes": "CO-50"}


@pytest.mark.parametrize("fields,provision", [
    ({"plan_type": "medicaid_mco", **VISIT_LIMIT}, "42 C.F.R. § 438.910)"),
    ({"plan_type": "medicaid_mco", **FAIL_FIRST}, "42 C.F.R. § 438.910(d)"),
    ({"plan_type": "individual", **VISIT_LIMIT}, "45 C.F.R. § 146.136(c)(2)(i), (c)(3)(i)"),
    ({"plan_type": "individual", **FAIL_FIRST}, "45 C.F.R. § 146.136(c)(4)"),
    ({"employer_size": 30, **VISIT_LIMIT}, "45 C.F.R. § 146.136(c)(2)(i), (c)(3)(i)"),
])
def test_the_parity_argument_cites_the_provision_it_rests_on_not_a_subpart(
        fields, provision) -> None:
    """Issue 17: Medicaid's argument cited "Part 438, Subpart K (§§ 438.900-438.930)" and, for a
    visit limit, nothing narrower; individual and small-group visit limits cited no provision."""
    _, law, _, docs = letters(Category.parity_nqtl, **fields)
    assert law.parity.applies is True
    argument = sentence_with(docs[APPEAL_LETTER], "federal parity law that reaches this plan")
    assert provision in argument
    assert "Subpart" not in argument and "§§" not in argument


def test_the_opt_out_is_reasoned_not_cited_as_parity_law() -> None:
    _, _, _, docs = letters(plan_type="government_group", plan_funding="self_funded",
                            employer_size=1200)
    text = docs[APPEAL_LETTER]
    assert "300gg-21" not in sentence_with(text, "federal parity law that reaches this plan")
    paragraph = next(p for p in text.split("\n") if "300gg-21(a)(2)" in p)
    assert "collective bargaining agreement" in paragraph


@pytest.mark.parametrize("plan_type,funding", [("church_group", "self_funded"),
                                               ("government_group", "self_funded")])
def test_a_small_church_or_government_plan_is_not_told_parity_reaches_it(plan_type,
                                                                         funding) -> None:
    _, law, _, docs = letters(plan_type=plan_type, plan_funding=funding, employer_size=30)
    assert law.parity.applies is False
    assert "parity" not in docs[APPEAL_LETTER].lower()
    assert "9812" not in docs[APPEAL_LETTER] and "300gg-26" not in docs[APPEAL_LETTER]


def test_state_parity_law_has_its_own_sentence() -> None:
    _, _, _, docs = letters(plan_state="CA")
    text = docs[APPEAL_LETTER]
    assert "Cal. Health" not in sentence_with(text, "federal parity law that reaches this plan")
    paragraph = next(p for p in text.split("\n") if "Cal. Health" in p)
    assert paragraph.startswith("California law also reaches this coverage")


def test_pre_service_and_concurrent_denials_are_read_and_urgent(tmp_path: Path) -> None:
    items = list(read(MATRIX))
    records = {r.claim_id: r for r in items if isinstance(r, DenialRecord)}
    assert len(records) == len(items) == 20
    concurrent, pre = records["M03"], records["M20"]  # wording / review_type column
    assert concurrent.review_type == "concurrent" and pre.review_type == "pre_service"
    assert law_for(concurrent).urgent and law_for(pre).urgent
    bad = tmp_path / "bad.csv"
    bad.write_text("claim_id,service_date,denial_date,adjustment_codes,review_type\n"
                   "A,2026-06-12,2026-06-11,CO-50,\nB,2026-06-12,2026-06-11,CO-50,later\n")
    messages = [str(r) for r in read(bad)]
    assert "denial_date: before service_date" in messages[0]
    assert "review_type: 'later' is not one of" in messages[1]


def test_every_answer_given_reaches_the_letter() -> None:
    answer = "Session ran 58 minutes (start 10:02, end 11:00)"
    _, _, out, docs = letters(facts={"time_documented": answer})
    assert "time_documented" in [i.id for i in out.checklist_items]
    assert answer in docs[APPEAL_LETTER]
    assert "Further information from the treating clinician" in docs[APPEAL_LETTER]


def test_a_limit_on_a_plan_parity_does_not_reach_promises_no_parity_argument() -> None:
    _, _, _, docs = letters(Category.parity_nqtl, plan_type="medicare",
                            denial_reason="Requires failure of outpatient care first")
    assert "Why the limit should not apply" not in docs[APPEAL_LETTER]
    assert "comparable medical/surgical" not in docs.get(DOC_REQUEST, "")


def test_original_medicare_modifier_error_is_a_reopening() -> None:
    _, _, out, docs = letters(Category.coding, plan_type="medicare", adjustment_codes="CO-4")
    assert out.letter_types == [CORRECTED_COVER]
    text = docs[CORRECTED_COVER]
    assert "Request for reopening" in text and "42 C.F.R. § 405.980(a)(3)" in text
    assert "Corrected claim" not in text


def test_a_corrected_claim_names_the_payers_claim_number_and_frequency_code_7() -> None:
    _, _, _, docs = letters(Category.coding, adjustment_codes="CO-4")
    text = docs[CORRECTED_COVER]
    assert "frequency code 7" in text and "[BILLER: the payer's claim number" in text
    _, _, _, docs = letters(Category.coding, adjustment_codes="CO-4",
                            extra={"payer_claim_id": "ICN-77"})
    assert "payer's claim number ICN-77" in docs[CORRECTED_COVER]


def test_credentialing_gets_no_corrected_claim_cover() -> None:
    _, _, out, _ = letters(Category.credentialing, adjustment_codes="CO-B7")
    assert out.letter_types == []


def test_medicaid_ffs_is_a_provider_reconsideration_in_the_providers_own_right() -> None:
    _, _, _, docs = letters(plan_type="medicaid_ffs")
    text = docs[APPEAL_LETTER]
    assert "Re: Request for a Medicaid provider reconsideration" in text
    assert "On behalf of our patient" not in text and "fair hearing request" not in text


def test_original_medicare_timely_filing_asks_for_the_exception_not_an_appeal() -> None:
    _, _, _, docs = letters(Category.timely_filing, plan_type="medicare", adjustment_codes="CO-29")
    text = docs[APPEAL_LETTER]
    assert "exception to the Medicare time limit" in text and "424.44(b)" in text
    assert "redetermination is filed within" not in text and "the deadline is" not in text
    assert "the plan" not in text.replace("the plan's", "")


# --- urgent care ----------------------------------------------------------------------------------

def test_urgent_concurrent_care_is_expedited_everywhere() -> None:
    _, law, out, docs = letters(level_of_care="residential", cpt_code="H0019",
                                  service_date="2026-06-12", denial_date="2026-06-11",
                                  denial_reason="Continued stay denied on concurrent review")
    text = docs[APPEAL_LETTER]
    assert law.expedited is not None
    assert "Re: URGENT: request for an EXPEDITED internal appeal" in text
    assert "urgency_certification" in out.placeholders
    assert "within 72 hours" in text
    assert "2560.503-1(f)(2)" in sentence_with(text, "continue coverage")
    assert "authorize the continued stay" in text
    assert out.checklist_due == AS_OF + timedelta(days=1)
    assert filing_words(law, AS_OF).startswith("URGENT")


def test_medicaid_continuation_is_the_enrollees_own_signed_request_never_the_providers() -> None:
    """42 CFR 438.420: benefits continue when the enrollee asks in time; a provider may not ask
    for it (438.402(c)(1)(ii)). The packet carries the enrollee's request to sign, the letter says
    it is enclosed, and the practice itself asks for nothing of the kind; CHIP has no such right
    (457.1260 applies Subpart F except 438.420), so its packet has no such page."""
    _, _, out, docs = letters(plan_type="medicaid_mco", level_of_care="php", cpt_code="H0035",
                              service_date="2026-06-12", denial_date="2026-06-11",
                              extra={"review_type": "concurrent"},
                              denial_reason="Continued stay not approved")
    assert any("Only the enrollee can ask" in n for n in out.notes)
    letter = " ".join(docs[APPEAL_LETTER].split())
    assert ("The enrollee's own request that benefits continue while this appeal is decided is "
            "enclosed, signed by the enrollee (42 C.F.R. § 438.420)") in letter
    assert "continue coverage" not in letter and "coverage continuing" not in letter
    request = " ".join(docs["continuation_request"].split())
    assert "I ask that my benefits continue while my appeal is decided" in request
    assert "on or before July 10, 2026" in request or "on or before" in request
    assert "signature" in request
    _, _, _, chip = letters(plan_type="chip", level_of_care="php", cpt_code="H0035",
                            service_date="2026-06-12", denial_date="2026-06-11",
                            extra={"review_type": "concurrent"},
                            denial_reason="Continued stay not approved")
    assert "continuation_request" not in chip and "438.420" not in chip[APPEAL_LETTER]
    _, _, _, post = letters(plan_type="medicaid_mco")  # a claim for past care: nothing to continue
    assert "continuation_request" not in post


@pytest.mark.parametrize("denial,expected", [
    ("2026-06-10", AS_OF + timedelta(days=14)),       # far deadline: letter date + lead
    ("2026-01-10", AS_OF),                             # deadline 2026-07-09: now, not after it
    ("2025-12-01", AS_OF),                             # already late: now
])
def test_checklist_due_is_the_earlier_of_lead_time_and_deadline(denial, expected) -> None:
    rec = DenialRecord(**{**BASE, "denial_date": denial, "service_date": "2025-11-01"})
    law = law_for(rec, as_of=AS_OF)
    due = checklist_due(law, AS_OF, 14)
    assert due == expected
    if law.first_deadline.file_by >= AS_OF:
        assert due <= law.first_deadline.file_by


# --- the matrix -----------------------------------------------------------------------------------

PLAN_FIELDS = {
    "employer": {}, "employer_small_self": {"plan_funding": "self_funded", "employer_size": 30},
    "government_small": {"plan_type": "government_group", "employer_size": 30},
    "government_large_self": {"plan_type": "government_group", "plan_funding": "self_funded",
                              "employer_size": 1200},
    "church_small": {"plan_type": "church_group", "employer_size": 30},
    "church_large": {"plan_type": "church_group", "employer_size": 1200},
    "individual": {"plan_type": "individual"}, "medicaid_mco": {"plan_type": "medicaid_mco"},
    "medicaid_ffs": {"plan_type": "medicaid_ffs"}, "chip": {"plan_type": "chip"},
    "medicare": {"plan_type": "medicare"},
    "medicare_advantage": {"plan_type": "medicare_advantage"},
    "tricare": {"plan_type": "tricare"}, "fehb": {"plan_type": "fehb"},
    "unknown": {"plan_type": "unknown"}, "california": {"plan_state": "CA"},
}
CATEGORY_CODES = {Category.medical_necessity: "CO-50", Category.authorization: "CO-197",
                  Category.parity_nqtl: "CO-119", Category.timely_filing: "CO-29",
                  Category.coding: "CO-4"}
TIMING = {  # (service, denial): routine on time, routine late, urgent (concurrent)
    "on_time": {"service_date": "2026-05-04", "denial_date": "2026-06-10"},
    "late": {"service_date": "2025-10-01", "denial_date": "2025-11-01"},
    "urgent": {"service_date": "2026-06-12", "denial_date": "2026-06-11",
               "level_of_care": "residential", "cpt_code": "H0019",
               "denial_reason": "Continued stay denied on concurrent review"},
}


@pytest.mark.parametrize("plan,category,timing",
                         list(itertools.product(PLAN_FIELDS, CATEGORY_CODES, TIMING)))
def test_matrix_every_sentence_true_for_plan_category_and_timing(plan, category, timing) -> None:
    fields = {**PLAN_FIELDS[plan], **TIMING[timing],
              "adjustment_codes": CATEGORY_CODES[category]}
    rec, law, out, docs = letters(category, **fields)
    for claim, ids in out.claims.items():  # no sentence cites an entry that does not support it
        assert not [c for c in ids if claim not in REG.get(c).supports], (claim, ids)
    allowed = {c.cite for c in REG.citations(law.plan, None, rec.service_date, as_of=AS_OF,
                                             funding=rec.plan_funding and rec.plan_funding.value,
                                             state=rec.plan_state)}
    printed = {REG.get(cid).cite for cid in out.citations_printed}
    assert printed <= allowed
    letter = docs.get(APPEAL_LETTER, "")
    exception = "exception to the Medicare time limit" in letter  # no appeal window applies
    if exception:
        assert "the deadline is" not in letter and "filed within" not in letter
        return
    if out.filing.state != "on_time":
        assert "filed within the time allowed" not in letter
    if out.filing.state == "late" and letter:
        assert "good cause" in letter
    if law.expedited is not None and letter:
        assert "EXPEDITED" in letter and out.checklist_due in (None, AS_OF + timedelta(days=1))
        first = law.expedited
    else:
        first = law.first_deadline
    if category in (Category.timely_filing, Category.coding) or not law.parity.applies:
        assert "Mental health parity" not in letter
    if law.parity.applies is not True:
        assert "federal parity law" not in letter
    if letter and out.filing.state == "on_time" and first is law.first_deadline:
        assert f"the deadline is {first.file_by:%B} {first.file_by.day}" in letter
    if letter:
        title = letter.split("Re: ", 1)[1].split("\n", 1)[0]
        assert law.appeal_name in title or "exception" in title


def test_urgent_and_request_paragraphs_do_not_run_into_the_next_one() -> None:
    _, _, out, _ = letters(level_of_care="residential", cpt_code="H0019",
                           service_date="2026-06-12", denial_date="2026-06-11",
                           denial_reason="Continued stay denied on concurrent review")
    for doc in out.documents:
        for line in doc.text().split("\n"):
            assert not ("urgent controls" in line and "stated reason" in line), line
            assert not ("claims administrator above." in line and "please provide" in line), line


# --- Medicare Advantage: the route follows the network ------------------------------------------
MA = {"plan_type": "medicare_advantage", "plan_funding": "", "employer_size": "",
      "patient_dob": "1950-02-02"}


def test_a_contracted_ma_provider_disputes_payment_under_its_agreement() -> None:
    _, _, out, docs = letters(**MA, extra={"network_status": "contracted"})
    letter = docs[APPEAL_LETTER]
    assert "Re: Provider payment dispute under our participation agreement" in letter
    assert "reconsideration" not in letter.split("Enclosures")[0].lower()
    assert "Waiver of Liability" not in letter and "CMS-1696" not in letter
    assert "filed within the time allowed" not in letter  # the agreement's window, not the law's
    assert any("participation agreement" in n for n in out.notes)


def test_a_non_contracted_ma_provider_asks_in_its_own_right_with_the_waiver() -> None:
    _, _, out, docs = letters(**MA, extra={"network_status": "out-of-network"})
    letter = docs[APPEAL_LETTER]
    assert "On behalf of our patient" not in letter and "CMS-1696" not in letter
    assert "requests its reconsideration in its own right" in sentence_with(letter, "own right")
    assert "422.574(b)" in sentence_with(letter, "own right")
    assert "Waiver of Liability statement, signed" in letter
    assert out.claims["noncontract_party"] == ["ma_noncontract_party"]


def test_an_unknown_network_keeps_the_patient_s_designation_and_a_conditional_waiver() -> None:
    _, _, _, docs = letters(**MA)
    letter = docs[APPEAL_LETTER]
    assert "On behalf of our patient" in letter and "CMS-1696" in letter
    assert "Waiver of Liability statement, if our practice is not contracted" in letter


def test_an_ma_inpatient_discharge_tells_the_biller_of_the_qio_review() -> None:
    _, law, out, _ = letters(**MA, level_of_care="inpatient", cpt_code="0114",
                             service_date="2026-06-20", denial_date="2026-06-18",
                             denial_reason="Continued stay not medically necessary",
                             as_of=date(2026, 6, 21))
    assert law.expedited is not None
    qio = [n for n in out.notes if "Quality Improvement Organization" in n]
    # The registry's copy of 42 CFR 422.622 is the text before the 2006 discharge-notice rule
    # (CMS-4105-F): unverified, so the note sends the biller to the Important Message from Medicare
    # and states no deadline ("noon of the first working day" is stale).
    assert qio and "Important Message from Medicare" in qio[0]
    assert "noon" not in qio[0] and "422.622" not in qio[0]
    # Care already given (a payment request) is never expedited.
    _, past, _, _ = letters(**MA, level_of_care="inpatient", cpt_code="0114",
                            denial_reason="Continued stay not medically necessary")
    assert past.expedited is None


def test_a_bad_network_status_is_rejected_with_the_field_named() -> None:
    with pytest.raises(ValueError, match="network_status: 'sometimes' is not one of contracted"):
        DenialRecord(**BASE, extra={"network_status": "sometimes"})


# --- next level and the law behind continued coverage ---------------------------------------------
def _next_level(**fields) -> str:
    text = letters(**fields)[3][APPEAL_LETTER]
    start = text.index("If the denial is upheld")
    return text[start:text.index("\n", start)]


def test_insured_coverage_goes_to_the_state_external_review_and_self_funded_to_the_federal() -> None:
    nc = _next_level()
    assert "through the state's external review process for insured coverage" in nc
    assert "2590.715-2719(c)" in nc and "(d)(1)(i)" not in nc
    assert "Commissioner of Insurance within 120 days" in nc and "58-50-80(a)" in nc
    virginia = _next_level(plan_state="VA")
    assert "2590.715-2719(c)" in virginia and "North Carolina" not in virginia
    federal = _next_level(plan_funding="self_funded")
    assert "state's external review" not in federal and "2590.715-2719(d)(1)(i)" in federal
    unknown = _next_level(plan_funding="")  # nothing assumed: no process named, nothing cited
    assert "an independent external review." in unknown and "2719" not in unknown


def test_continued_coverage_cites_the_phs_act_with_the_erisa_and_code_provisions_that_carry_it() -> None:
    urgent = {"level_of_care": "residential", "cpt_code": "H0018", "service_date": "2026-06-20",
              "denial_date": "2026-06-18", "as_of": date(2026, 6, 21),
              "denial_reason": "Concurrent review: continued stay not medically necessary"}
    erisa = sentence_with(letters(**urgent)[3][APPEAL_LETTER], "continue coverage")
    assert all(c in erisa for c in ("300gg-19", "1185d", "9815", "2560.503-1(f)(2)"))
    church = sentence_with(letters(plan_type="church_group", plan_funding="self_funded",
                                   employer_size=1200, **urgent)[3][APPEAL_LETTER],
                           "continue coverage")
    assert "9815" in church and "1185d" not in church and "2560.503-1" not in church


# --- the treating clinician's letter of medical necessity ----------------------------------------
def test_the_letter_of_medical_necessity_is_the_clinician_s_signed_by_the_clinician() -> None:
    facts = {"clinician_credentials": "Dana Lee, LCSW, NC license C012345",
             "risk_sud": "Non-fatal fentanyl overdose on 2026-04-28, naloxone by EMS",
             "likely_harm": "Return to daily fentanyl use within days"}
    _, _, out, docs = letters(facts=facts, level_of_care="residential", cpt_code="H0018",
                              diagnosis_codes="F11.20")
    assert out.letter_types[:2] == [APPEAL_LETTER, "medical_necessity_letter"]
    lmn = docs["medical_necessity_letter"]
    assert "I am the treating clinician" in lmn
    assert "Risk. Non-fatal fentanyl overdose on 2026-04-28" in lmn  # the harm, as the risk it is
    assert "If this care is not given. Return to daily fentanyl use within days" in lmn
    closing = lmn[lmn.index("Sincerely,"):]
    assert "Dana Lee, LCSW" in closing and ORG.signer_name not in lmn
    assert "Letter of medical necessity from the treating clinician" in docs[APPEAL_LETTER]
    assert "letter of medical necessity in your name" in docs["clinician_checklist"]


def test_no_letter_of_medical_necessity_where_the_denial_is_not_clinical() -> None:
    for category in (Category.timely_filing, Category.coding, Category.credentialing):
        _, _, out, docs = letters(category)
        assert "medical_necessity_letter" not in out.letter_types and "medical_necessity_letter" \
            not in docs


# --- each program's own coverage standard; the plan's own words --------------------------------
MEDICARE = {"plan_type": "medicare", "plan_funding": "", "employer_size": "",
            "patient_dob": "1950-01-01"}


def _coverage(text: str) -> str:
    start = text.index("Coverage standard")
    return text[start:text.index("Review rights", start)]


def test_original_medicare_is_argued_as_reasonable_and_necessary() -> None:
    _, _, out, docs = letters(**MEDICARE)
    coverage = _coverage(docs[APPEAL_LETTER])
    assert "reasonable and necessary" in coverage and "1395y(a)(1)(A)" in coverage
    assert "3.6.2.2" in coverage and "meets each of those conditions" in coverage
    assert "410.43" not in coverage  # not a partial hospitalization
    assert "lcd" in [i.id for i in out.billing_items]
    assert "local coverage determination" not in coverage  # printed only when billing gives it


def test_medicare_php_cites_its_coverage_rule_and_encloses_the_certification() -> None:
    _, _, out, docs = letters(**MEDICARE, level_of_care="php", cpt_code="G0410",
                              facts={"lcd": "LCD L34616: each condition met"})
    coverage = _coverage(docs[APPEAL_LETTER])
    assert "410.43(a)" in coverage and "LCD L34616: each condition met" in coverage
    assert "certification for partial hospitalization and the plan of care" in \
        docs[APPEAL_LETTER].split("Enclosures")[1]
    assert {"lcd", "php_certification"} <= {i.id for i in out.billing_items}
    # An employer plan's PHP denial gets none of Medicare's rules.
    _, _, employer, edocs = letters(level_of_care="php", cpt_code="H0035")
    assert "410.43" not in edocs[APPEAL_LETTER] and "php_certification" not in \
        [i.id for i in employer.billing_items]


def test_the_plan_s_own_definition_of_medical_necessity_is_quoted_when_given() -> None:
    quote = '"Services a prudent clinician would provide" (SPD, Definitions, p. 62).'
    _, _, out, docs = letters(facts={"plan_mn_definition": quote})
    said = sentence_with(docs[APPEAL_LETTER], "own definition of medical necessity")
    assert quote.rstrip(".") in said
    assert "plan_mn_definition" in [i.id for i in out.billing_items]
    _, _, _, plain = letters()
    assert "own definition of medical necessity" not in plain[APPEAL_LETTER]


@pytest.mark.parametrize("plan_type,words,cite", [
    ("medicare_advantage", "independent review entity under contract with CMS", "422.592(a)"),
    ("chip", "the state's review under the CHIP rules", "457.1260"),
])
def test_every_program_names_what_comes_after_the_plan(plan_type, words, cite) -> None:
    said = sentence_with(letters(plan_type=plan_type, plan_funding="", employer_size="")[3][
        APPEAL_LETTER], words)
    assert cite in said


def test_the_deadline_sentence_is_a_paragraph_of_its_own() -> None:
    from appeals.compose.document import Paragraph, plain

    for plan_type in ("employer_group", "medicare_advantage", "medicaid_mco"):
        _, _, out, _ = letters(plan_type=plan_type)
        paragraphs = [plain(b.content) for b in out.documents[0].blocks
                      if isinstance(b, Paragraph)]
        assert any(p.startswith("This ") and "is filed within the time allowed" in p
                   for p in paragraphs), plan_type


def test_tricare_residential_care_is_argued_under_its_policy_without_day_limits() -> None:
    _, _, _, docs = letters(plan_type="tricare", plan_funding="", employer_size="",
                            level_of_care="residential", cpt_code="H0018",
                            patient_dob="2010-03-01")
    said = sentence_with(_coverage(docs[APPEAL_LETTER]), "day limits")
    assert "medically or psychologically necessary" in said and "6010.60-M" in said
    _, _, _, outpatient = letters(plan_type="tricare", plan_funding="", employer_size="")
    assert "6010.60-M" not in outpatient[APPEAL_LETTER]


# --- facts follow the review type (issue 27, item 1), on every plan type -------------------------
PLAN_TYPES = {
    "employer_group": {"plan_type": "employer_group", "plan_funding": "fully_insured"},
    "employer_self_funded": {"plan_type": "employer_group", "plan_funding": "self_funded"},
    "individual": {"plan_type": "individual"},
    "government_group": {"plan_type": "government_group", "plan_funding": "self_funded",
                         "employer_size": 1200},
    "church_group": {"plan_type": "church_group", "plan_funding": "fully_insured"},
    "medicaid_mco": {"plan_type": "medicaid_mco"}, "medicaid_ffs": {"plan_type": "medicaid_ffs"},
    "chip": {"plan_type": "chip"}, "medicare": {"plan_type": "medicare"},
    "medicare_advantage": {"plan_type": "medicare_advantage"},
    "tricare": {"plan_type": "tricare"}, "fehb": {"plan_type": "fehb"},
}
PRE_SERVICE = {"extra": {"review_type": "pre_service"}, "level_of_care": "residential", "cpt_code": "H0019",
               "service_date": "2026-07-10", "denial_date": "2026-06-28",
               "denial_reason": "Request for residential admission not approved"}


def _sent(docs: dict[str, str]) -> str:
    return "\n".join(t for k, t in docs.items() if k in (APPEAL_LETTER, "medical_necessity_letter"))


@pytest.mark.parametrize("plan", sorted(PLAN_TYPES))
@pytest.mark.parametrize("category", [Category.authorization, Category.medical_necessity])
def test_a_pre_service_denial_is_neither_ongoing_nor_retroactive(plan, category) -> None:
    _, _, _, docs = letters(category, **{**PRE_SERVICE, **PLAN_TYPES[plan]})
    text = _sent(docs).lower()
    assert "retroactiv" not in text
    assert "ongoing treatment" not in text and "continued stay" not in text


@pytest.mark.parametrize("plan", sorted(PLAN_TYPES))
def test_retroactive_authorization_only_where_the_care_already_happened(plan) -> None:
    _, _, _, past = letters(Category.authorization, **PLAN_TYPES[plan])  # a claim for past care
    assert "retroactively" in past[APPEAL_LETTER]
    _, _, _, now = letters(Category.authorization, extra={"review_type": "concurrent"},
                           level_of_care="residential", cpt_code="H0019",
                           service_date="2026-06-12", denial_date="2026-06-11",
                           denial_reason="Continued stay denied on concurrent review",
                           **PLAN_TYPES[plan])
    assert "retroactiv" not in now[APPEAL_LETTER].lower()


@pytest.mark.parametrize("plan", ["medicaid_mco", "chip", "medicaid_ffs"])
def test_a_medicaid_or_chip_letter_never_asks_the_plan_to_continue_coverage(plan) -> None:
    """Continuation of benefits is the enrollee's to request (42 CFR 438.420; a provider may not,
    438.402(c)(1)(ii)) and CHIP has no such right: the practice's letter does not ask for it."""
    _, _, _, docs = letters(extra={"review_type": "concurrent"}, level_of_care="residential",
                            cpt_code="H0019", service_date="2026-06-12",
                            denial_date="2026-06-11",
                            denial_reason="Continued stay denied on concurrent review",
                            **PLAN_TYPES[plan])
    text = docs[APPEAL_LETTER]
    assert "coverage continuing" not in text and "continue coverage" not in text


@pytest.mark.parametrize("plan", sorted(PLAN_TYPES))
@pytest.mark.parametrize("review", [PRE_SERVICE, {
    "extra": {"review_type": "concurrent"}, "level_of_care": "residential", "cpt_code": "H0019",
    "service_date": "2026-06-12", "denial_date": "2026-06-11",
    "denial_reason": "Continued stay denied on concurrent review"}])
def test_no_letter_offers_the_payer_an_extension(plan, review) -> None:
    """The 14-day extension (42 CFR 438.408(c), 422.572(b)) is the enrollee's to ask for or the
    plan's to justify; the practice's letter never offers it."""
    _, _, _, docs = letters(**{**review, **PLAN_TYPES[plan]})
    text = _sent(docs).lower()
    assert "may extend" not in text and "extension" not in text


@pytest.mark.parametrize("plan", sorted(PLAN_TYPES))
def test_the_reviewer_asked_for_is_the_rules_not_a_same_specialty_rule(plan) -> None:
    """ERISA and the ACA rules ask for a professional with appropriate training and experience in
    the field of medicine involved (29 CFR 2560.503-1(h)(3)(iii)); no federal rule says 'same
    specialty', so the letter does not claim one."""
    _, _, _, docs = letters(**PLAN_TYPES[plan])
    text = " ".join(docs[APPEAL_LETTER].split())
    assert "same or a similar specialty" not in text
    assert "appropriate training and experience in the field of medicine involved" in text


NOT_CLINICAL = {Category.timely_filing: "CO-29", Category.coding: "CO-4",
                Category.credentialing: "CO-B7"}


@pytest.mark.parametrize("plan", sorted(PLAN_TYPES))
@pytest.mark.parametrize("category", sorted(NOT_CLINICAL, key=lambda c: c.value))
def test_a_denial_that_needs_no_clinical_fact_asks_the_clinician_nothing(plan, category) -> None:
    """Timely filing, coding and credentialing are the biller's to fix: no clinician checklist, so
    such a case is never 'waiting on the clinician'."""
    _, _, out, docs = letters(category, adjustment_codes=NOT_CLINICAL[category],
                              **PLAN_TYPES[plan])
    assert "clinician_checklist" not in docs
    assert out.checklist_items == [] and out.checklist_due is None


def test_a_credentialing_denial_gets_the_billers_enrollment_tasks_not_an_empty_packet() -> None:
    _, _, out, docs = letters(Category.credentialing, adjustment_codes="CO-B7")
    assert list(docs) == ["biller_cover"]
    cover = docs["biller_cover"]
    assert "No letter goes out for this denial" in cover
    assert "retroactive enrollment or a corrected effective date" in cover
    assert {i.id for i in out.billing_items} >= {"enrollment_dates", "enrollment_correction",
                                                 "credentialing_resubmit"}


URGENT_STAY = {"extra": {"review_type": "concurrent"}, "level_of_care": "residential",
               "cpt_code": "H0019", "service_date": "2026-06-28", "denial_date": "2026-06-29",
               "denial_reason": "Continued stay denied on concurrent review"}


def test_an_urgent_tricare_case_shows_its_expedited_window_wherever_a_date_is_shown() -> None:
    """TRICARE's expedited appeal is due within 3 days of receiving the denial (32 CFR 199.10),
    not on the 90-day routine date: the letter, the biller's cover and the worklist's date (the
    line's deadline, which the case store keeps) all show it until it has closed."""
    from appeals.appeal import line_of
    from appeals.classify.rules import load_code_table

    rec, law, _, docs = letters(plan_type="tricare", **URGENT_STAY)
    assert law.urgent_window is not None and law.urgent_window.file_by == date(2026, 7, 2)
    assert "filed within the expedited window" in docs[APPEAL_LETTER]
    assert "by July 2, 2026" in " ".join(docs[APPEAL_LETTER].split())
    assert "EXPEDITED by July 2, 2026" in " ".join(docs["biller_cover"].split())
    line = line_of(rec, cls(rec, Category.medical_necessity), law, load_code_table())
    assert line.deadline == date(2026, 7, 2)
    # once the 3 days (from receipt, presumed 5 days after the notice) have passed: the routine date
    later = law_for(rec, as_of=date(2026, 7, 10))
    assert later.urgent_window is None and later.filing_deadline.file_by == date(2026, 9, 27)


@pytest.mark.parametrize("plan", ["employer_self_funded", "medicaid_mco", "individual"])
def test_file_now_programs_show_their_standard_window_not_a_zero_day_one(plan) -> None:
    """Where the expedited appeal only means 'file now' (a window of 0 days), the date shown is
    the standard window's, never the notice date as if it were already late."""
    _, law, _, _ = letters(**{**URGENT_STAY, **PLAN_TYPES[plan]})
    assert law.expedited is not None and law.urgent_window is None
    assert law.filing_deadline is law.first_deadline


def test_chip_cites_its_own_rule_beside_the_medicaid_section_it_applies() -> None:
    """CHIP managed care applies Part 438 Subpart F through 42 CFR 457.1260: an urgent CHIP letter
    cites 457.1260 with 438.408, never the Medicaid section alone."""
    _, _, _, docs = letters(plan_type="chip", **URGENT_STAY)
    expedited = sentence_with(" ".join(docs[APPEAL_LETTER].split()), "expedited timeline")
    assert "457.1260" in expedited and "438.408" in expedited
    _, _, _, medicaid = letters(plan_type="medicaid_mco", **URGENT_STAY)
    assert "457.1260" not in medicaid[APPEAL_LETTER]


ADMINISTRATIVE = {Category.timely_filing: "CO-29", Category.authorization: "CO-197"}


@pytest.mark.parametrize("plan", sorted(PLAN_TYPES))
@pytest.mark.parametrize("category", sorted(ADMINISTRATIVE, key=lambda c: c.value))
def test_a_payment_dispute_is_never_sent_to_the_patients_external_review_or_fair_hearing(
        plan, category) -> None:
    """A timely-filing denial, or a missing authorization on care already given, holds the patient
    harmless and turns on no medical judgment: external review (29 CFR 2590.715-2719(d)(1)(i) and
    45 CFR 147.136(d)(1)(i): medical judgment) and the enrollee's fair hearing are not its next
    level, in the letter or in the store's next level after an upheld decision."""
    rec, _, _, docs = letters(category, adjustment_codes=ADMINISTRATIVE[category],
                                **PLAN_TYPES[plan])
    text = " ".join(docs.get(APPEAL_LETTER, "").split())
    assert "external review" not in text.lower() and "fair hearing, which" not in text
    assert "state's review under the CHIP rules" not in text
    from appeals.law import next_levels

    later = next_levels(rec, decided_on=date(2026, 8, 1), category=category.value)
    assert not {d.level for d in later} & {"external_review", "state_fair_hearing"}


@pytest.mark.parametrize("plan", ["employer_group", "individual", "medicaid_mco", "chip"])
def test_a_medical_judgment_denial_keeps_the_patients_own_levels(plan) -> None:
    _, _, _, docs = letters(Category.medical_necessity, **PLAN_TYPES[plan])
    text = " ".join(docs[APPEAL_LETTER].split())
    assert ("external review" in text or "fair hearing" in text
            or "state's review under the CHIP rules" in text)
    # the same authorization denial decided on review of care under way is medical judgment
    _, _, _, urgent = letters(Category.authorization, adjustment_codes="CO-197",
                              **{**URGENT_STAY, **PLAN_TYPES[plan]})
    assert "provider payment dispute" not in urgent[APPEAL_LETTER]


NQTL = {"denial_reason": "Residential requires failed outpatient first",
        "level_of_care": "residential", "cpt_code": "H0019"}


@pytest.mark.parametrize("plan,statute", [
    ("employer_self_funded", "29 U.S.C. § 1185a(a)(8)"), ("individual", "42 U.S.C. § 300gg-26(a)(8)"),
    ("government_group", "42 U.S.C. § 300gg-26(a)(8)"),
    ("church_group", "42 U.S.C. § 300gg-26(a)(8)"),
])
def test_the_comparative_analysis_is_asked_of_every_plan_parity_reaches(plan, statute) -> None:
    """CAA 2021 § 203 put the comparative-analysis duty in ERISA, the PHS Act and the Code alike:
    an individual, governmental or church plan is asked for it too, under its own statute."""
    _, law, _, docs = letters(Category.parity_nqtl, **{**NQTL, **PLAN_TYPES[plan]})
    assert law.parity.applies is True
    request = " ".join(docs["documentation_request"].split())
    assert "comparative analysis" in request and statute in request
    assert statute in " ".join(docs[APPEAL_LETTER].split())


def test_a_self_funded_church_plan_is_asked_under_the_code() -> None:
    _, law, _, docs = letters(Category.parity_nqtl, plan_type="church_group",
                              plan_funding="self_funded", employer_size=300, **NQTL)
    assert law.parity.applies is True
    assert "26 U.S.C. § 9812(a)(8)" in " ".join(docs["documentation_request"].split())


def test_an_outpatient_provider_type_limit_is_not_argued_as_levels_of_care() -> None:
    _, _, _, docs = letters(Category.parity_nqtl, level_of_care="outpatient", cpt_code="90837",
                            denial_reason="Services by this provider type are not a covered "
                                          "facility type under the plan")
    text = " ".join(docs[APPEAL_LETTER].split())
    assert "intermediate levels of care" not in text
    assert "provider and facility types whose outpatient services are covered" in text


def test_no_letter_prints_a_question_put_to_the_clinician() -> None:
    """Every answer reaches a letter (none is dropped), but under the letter's own words for it,
    never the checklist's question ('Your name as you sign...'); the letter of medical necessity
    names the practice as the place of treatment."""
    from appeals.compose.checklists import load_items

    items = [i for i in load_items() if i.owner.value == "clinician"]
    facts = {i.id: f"answer {n}" for n, i in enumerate(items)}
    _, _, _, docs = letters(level_of_care="iop", cpt_code="S9480", facts=facts)
    for kind in (APPEAL_LETTER, "medical_necessity_letter"):
        text = " ".join(docs[kind].split())
        for item in items:
            assert item.prompt not in text, (kind, item.id)
    lmn = " ".join(docs["medical_necessity_letter"].split())
    assert "treating clinician for Sample Client at Lakeside Counseling Group" in lmn


@pytest.mark.parametrize("written", ["GRANT, OLIVIA", "Grant, Olivia", "OLIVIA GRANT"])
def test_a_name_prints_given_name_first_whatever_the_exports_order(written) -> None:
    _, _, _, docs = letters(patient_name=written)
    assert "Olivia Grant" in docs[APPEAL_LETTER] and "Grant, Olivia" not in docs[APPEAL_LETTER]


@pytest.mark.parametrize("plan,federal", [
    ("employer_group", False), ("employer_self_funded", True), ("individual", False),
    ("government_group", True), ("church_group", False)])
def test_simultaneous_expedited_external_review_goes_where_the_plans_external_review_goes(
        plan, federal) -> None:
    """Insured coverage takes expedited external review through the state process (29 CFR
    2590.715-2719(c), 45 CFR 147.136(c)); the federal (d)(3) process is cited only for
    self-funded coverage."""
    _, _, _, docs = letters(**{**URGENT_STAY, **PLAN_TYPES[plan]})
    said = sentence_with(" ".join(docs[APPEAL_LETTER].split()), "expedited external review")
    assert ("(d)(3)" in said) is federal
    assert ("through the state's external review process" in said) is not federal


def test_an_erisa_concurrent_urgent_letter_states_the_24_hour_rule() -> None:
    _, _, _, docs = letters(**{**URGENT_STAY, **PLAN_TYPES["employer_self_funded"]})
    said = sentence_with(" ".join(docs[APPEAL_LETTER].split()), "within 24 hours")
    assert "2560.503-1(f)(2)" in said and "at least 24 hours before" in said
    _, _, _, pre = letters(**{**PRE_SERVICE, **PLAN_TYPES["employer_self_funded"]})
    assert "within 24 hours" not in pre[APPEAL_LETTER]  # nothing under way to extend


@pytest.mark.parametrize("state,funding,said", [
    ("CA", "fully_insured", True), ("CA", "self_funded", False), ("NC", "fully_insured", False)])
def test_proprietary_criteria_where_a_state_requires_the_associations_own(state, funding,
                                                                         said) -> None:
    """California (SB 855) requires utilization review of insured coverage to use the nonprofit
    professional association's criteria: a denial on MCG says so there, and nowhere state law
    does not reach (self-funded ERISA, other states)."""
    _, _, _, docs = letters(plan_state=state, plan_funding=funding, level_of_care="residential",
                            cpt_code="H0019",
                            denial_reason="Does not meet MCG criteria for residential treatment")
    text = " ".join(docs[APPEAL_LETTER].split())
    assert ("The denial applied MCG" in text) is said
    if said:
        assert ("association for the relevant clinical specialty (Cal. Health & Safety Code "
                "§§ 1374.72, 1374.721") in text
    _, _, _, locus = letters(plan_state="CA", level_of_care="residential", cpt_code="H0019",
                             denial_reason="Does not meet LOCUS level 5 criteria")
    assert "The denial applied" not in locus[APPEAL_LETTER]  # an association's own set


def test_the_criteria_are_asked_for_under_the_documents_rule_not_the_notice_rule() -> None:
    _, _, _, docs = letters()
    said = sentence_with(" ".join(docs[APPEAL_LETTER].split()), "criteria set and edition")
    assert "2560.503-1(h)(2)(iii)" in said and "(m)(8)" in said and "(j)(5)" not in said


@pytest.mark.parametrize("fields,noted", [
    ({"plan_state": "TX"}, "the registry holds no TX law for this coverage"),
    ({"plan_state": None}, "The plan's state is not on the record"),
    ({"plan_state": "CA"}, None),                                   # the registry has CA law
    ({"plan_state": "TX", "plan_funding": "self_funded"}, None),    # state law never reaches it
    ({"plan_type": "medicare", "plan_state": "TX"}, None),
])
def test_a_state_the_registry_does_not_know_gets_the_federal_letter_and_a_note(fields,
                                                                                noted) -> None:
    """Never a guess: where state law could reach the coverage but the registry holds none for
    its state, the letter argues federal law only and the biller's cover says state law was not
    checked."""
    _, _, out, docs = letters(**fields)
    said = [n for n in out.notes if "coverage law was not" in n]
    if noted is None:
        assert said == []
    else:
        assert len(said) == 1 and noted in said[0]
        assert noted in " ".join(docs["biller_cover"].split())
        assert "State law" not in docs[APPEAL_LETTER]


@pytest.mark.parametrize("plan,parity", [({}, True), ({"plan_type": "medicare"}, False),
                                          ({"plan_type": "medicare_advantage"}, False)])
def test_an_experimental_denial_is_argued_on_its_evidence_and_asks_for_the_standard_where_parity_reaches(
        plan: dict, parity: bool) -> None:
    """Issue 31: 'experimental or investigational' is a medical judgment (medical necessity,
    the payer's reason kept), not a parity limit because the word appears. The letter argues
    the evidence for the treatment (the clinician is asked for it); where parity reaches the
    plan its parity paragraph names the label and asks for the evidentiary standard behind it,
    and where parity does not reach, no parity word."""
    from appeals.classify import classify, load_rules

    fields = {**plan, "adjustment_codes": "CO-55", "cpt_code": "90867",
              "denial_reason": "Transcranial magnetic stimulation is considered investigational"}
    if plan:
        fields.update(plan_funding=None, employer_size=None)
    record = DenialRecord(**{**BASE, **fields})
    decided = classify(record, load_rules())
    assert decided.category is Category.medical_necessity
    law = law_for(record, as_of=AS_OF)
    out = compose(record, decided, law, as_of=AS_OF, org=ORG, facts={
        "evidence_base": "Two randomized trials and the practice guideline recommend it."})
    text = {d.kind: d.text() for d in out.documents}
    letter = text[APPEAL_LETTER]
    assert "The plan called this treatment experimental or investigational" in letter
    assert "Two randomized trials and the practice guideline recommend it." in letter
    assert "Transcranial magnetic stimulation is considered investigational" in letter  # kept
    asks = "evidentiary standard used to judge this service experimental"
    assert (asks in letter) is parity
    assert ("parity" in letter.lower()) is parity
