"""Issue 13: the clinician checklist asks only what this denial needs, with examples that are
right, the criteria and measures that fit the patient's age and condition, and a purpose line
that matches the route."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from appeals.compose.checklists import ChecklistError, load_items, select
from appeals.compose.letters import compose
from appeals.law import law_for
from appeals.models import Action, Bucket, Category, Classification, DenialRecord, Owner

AS_OF = date(2026, 7, 1)
BASE = {"claim_id": "K1", "payer_name": "Blue Ridge", "plan_type": "employer_group",
        "plan_funding": "fully_insured", "employer_size": 300, "plan_state": "NC",
        "service_date": "2026-05-04", "denial_date": "2026-06-10", "cpt_code": "H0035",
        "level_of_care": "php", "diagnosis_codes": "F33.2", "adjustment_codes": "CO-50",
        "billed_amount": "400", "paid_amount": "0", "patient_dob": "1980-01-02"}
# LOCUS composite score bands (AACP): the level each composite points to.
LOCUS_BANDS = [(10, 13, 1), (14, 16, 2), (17, 19, 3), (20, 22, 4), (23, 27, 5), (28, 99, 6)]


def ids(category: Category = Category.medical_necessity, **fields) -> list[str]:
    return [i.id for i in select(DenialRecord(**{**BASE, **fields}), category)]


def composed(category: Category, action: Action = Action.appeal, facts=None, **fields):
    rec = DenialRecord(**{**BASE, **fields})
    cls = Classification(claim_id="K1", line_number=1, category=category, confidence=0.9,
                         evidence=["t"], action=action, owner=Owner.billing, appealable=True,
                         bucket=Bucket(fix_now="x", fix_cause="y"))
    return compose(rec, cls, law_for(rec, as_of=AS_OF), as_of=AS_OF, facts=facts)


def test_every_locus_example_points_to_the_level_its_composite_gives() -> None:
    examples = [i.example for i in load_items() if "LOCUS composite" in i.example
                and "CALOCUS" not in i.example]
    assert examples
    for text in examples:
        score, level = map(int, re.search(r"LOCUS composite (\d+): level (\d)", text).groups())
        assert next(lv for lo, hi, lv in LOCUS_BANDS if lo <= score <= hi) == level, text


@pytest.mark.parametrize("dob,criteria,measures", [
    ("2008-05-05", "calocus_rating", "measures_youth"),   # 17 on the date of service (18 next day)
    ("2008-05-04", "locus_rating", "measures"),           # 18 that day
    ("2022-01-01", "ecsii_rating", "measures_youth"),     # 4
    (None, "locus_rating", "measures"),                   # unknown age: read as an adult
])
def test_criteria_and_measures_follow_the_age_on_the_date_of_service(dob, criteria,
                                                                      measures) -> None:
    got = ids(patient_dob=dob)
    levels = {"locus_rating", "calocus_rating", "ecsii_rating"}
    assert [i for i in got if i in levels] == [criteria]
    assert [i for i in got if i.startswith("measures")] == [measures]


def test_a_youth_s_calocus_answer_is_the_one_the_letter_prints() -> None:
    out = composed(Category.medical_necessity, patient_dob="2010-03-01",
                   facts={"calocus_rating": "CALOCUS-CASII composite 24: level 5",
                          "measures_youth": "PHQ-A 18"})
    letter = out.documents[0].text()
    assert "CALOCUS-CASII composite 24: level 5" in letter and "PHQ-A 18" in letter
    assert "calocus_rating" not in out.placeholders and "locus_rating" not in out.placeholders
    checklist = next(d for d in out.documents if d.kind == "clinician_checklist").text()
    assert "PHQ-A" in checklist and "PHQ-9" not in checklist


def test_the_risk_item_names_locus_only_for_mental_health_care() -> None:
    items = {i.id: i for i in load_items()}
    mental = ids()
    sud = ids(diagnosis_codes="F11.20", level_of_care="residential", cpt_code="H0018")
    assert "risk" in mental and "risk_sud" not in mental and "LOCUS" in items["risk"].why
    assert "risk_sud" in sud and "risk" not in sud
    assert "LOCUS" not in items["risk_sud"].why + items["risk_sud"].prompt
    assert "overdose" in items["risk_sud"].prompt


def test_coding_asks_the_clinician_only_telehealth_facts_never_psychotherapy_time() -> None:
    """The diagnosis the note treats is the biller's to read off the note (a billing task); how a
    telehealth visit was delivered may need the clinician's addendum."""
    office = ids(Category.coding, cpt_code="90837", level_of_care="outpatient",
                 place_of_service="11")
    assert office == []
    assert [(i.id, i.owner.value) for i in select(DenialRecord(**{**BASE, "cpt_code": "90837"}),
                                                  Category.coding, owner=None)] == [
        ("primary_diagnosis", "billing")]
    by_place = ids(Category.coding, cpt_code="90837", level_of_care="outpatient",
                   place_of_service="10")
    by_modifier = ids(Category.coding, cpt_code="90837", level_of_care="outpatient",
                      place_of_service="11", modifiers="95")
    for got in (by_place, by_modifier):
        assert got == ["telehealth_modality", "patient_location"]
    assert "time_documented" in ids(Category.medical_necessity, cpt_code="90837",
                                    level_of_care="outpatient")


def test_a_corrected_claim_checklist_is_for_the_corrected_claim() -> None:
    out = composed(Category.coding, Action.correct_and_resubmit, cpt_code="90837",
                   level_of_care="outpatient", place_of_service="10",
                   facts={"telehealth_modality": "real-time audio and video"})
    checklist = next(d for d in out.documents if d.kind == "clinician_checklist").text()
    assert "so the corrected claim can be sent" in checklist
    assert "reconsideration" not in checklist and "can be filed" not in checklist
    cover = out.documents[0].text()
    assert "delivered by real-time audio and video" in cover
    assert "patient_location" in out.placeholders


def test_a_placeholder_window_is_not_printed_on_the_checklist() -> None:
    out = composed(Category.medical_necessity, plan_type="", plan_funding="", employer_size="")
    assert out.filing.state == "confirm"
    checklist = next(d for d in out.documents if d.kind == "clinician_checklist").text()
    assert re.search(r"can be filed\.", checklist)


def test_stands_for_must_name_an_item(tmp_path: Path) -> None:
    (tmp_path / "extra.yaml").write_text(
        "items:\n  - {id: mine, stands_for: nothing_like_it, prompt: p, why: w, "
        "note_section: n, example: e, owner: clinician}\n", encoding="utf-8")
    with pytest.raises(ChecklistError, match="extra.yaml: item 'mine': stands_for "
                                             "'nothing_like_it' is not an item id"):
        load_items(tmp_path)


@pytest.mark.parametrize(("fields", "asked"), [
    ({"adjustment_codes": "CO-198", "auth_number": "A1", "auth_start": "2026-05-01",
      "auth_end": "2026-05-31"}, True),  # covers the date, approved amount used up
    ({"adjustment_codes": "CO-197", "auth_number": "A1", "auth_start": "2026-04-01",
      "auth_end": "2026-04-30"}, True),  # ended before the date
    ({"adjustment_codes": "CO-197"}, False),  # none on file: the clinical urgency item instead
    ({"adjustment_codes": "CO-197", "auth_number": "A1", "auth_start": "2026-05-01",
      "auth_end": "2026-05-31"}, False),  # covers it, nothing exceeded: billing adds it
])
def test_care_past_the_authorization_is_asked_of_the_clinician_as_the_letter_needs(
        fields, asked) -> None:
    """The letter's exceeded and expired branches ask for `authorization_gap`; no checklist
    item collected it, so its placeholder could never be filled."""
    out = composed(Category.authorization, **fields)
    assert ("authorization_gap" in [i.id for i in out.checklist_items]) is asked
    if asked:
        answered = composed(Category.authorization, facts={
            "authorization_gap": "New suicidal ideation at the last approved visit."}, **fields)
        letter = next(d.text() for d in answered.documents if d.kind == "appeal_letter")
        assert "New suicidal ideation at the last approved visit." in letter
        assert "why care continued past" not in letter
