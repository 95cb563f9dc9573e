"""Issue 13: remittance lines get their plan from the payer directory (per payer, per group),
the packet's cover sheet tells the biller what is left, and letters print people's names as
people write them."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest
from docx import Document as Docx

from appeals.compose.settings import SettingsError, load_payers, with_plan_facts
from appeals.intake import read
from appeals.models import DenialRecord, PlanType
from appeals.packet import Settings, build
from appeals.pipeline import RunConfig, run

AS_OF = date(2026, 7, 1)
SEP = "~\n"

# A small 835: one payer, three denied claims; two carry a group number (REF*1L), one none.
REMIT = SEP.join([
    ("ISA*00*          *00*          *ZZ*PAYER          *ZZ*CLINIC         *260610*1200*^*00501*"
     "000000001*0*T*:"),
    "GS*HP*PAYER*CLINIC*20260610*1200*1*X*005010X221A1",
    "ST*835*0001", "BPR*I*0*C*NON************20260610", "TRN*1*T1*1999999999",
    "DTM*405*20260610",
    "N1*PR*BLUE RIDGE HEALTH", "N1*PE*LAKESIDE COUNSELING GROUP*XX*1245319599", "LX*1",
    "CLP*G1*4*200*0**12*PCN1", "NM1*QC*1*MCDONALD*JORDAN****MI*M1", "REF*1L*shp-0100",
    "SVC*HC:90837*200*0**1", "DTM*472*20260504", "CAS*CO*50*200",
    "CLP*G2*4*200*0**12*PCN2", "NM1*QC*1*SAMPLE*RILEY****MI*M2", "REF*1L*BRH-2210",
    "SVC*HC:90837*200*0**1", "DTM*472*20260504", "CAS*CO*50*200",
    "CLP*G3*4*200*0**12*PCN3", "NM1*QC*1*EXAMPLE*AVERY****MI*M3", "REF*1L*OTHER-9",
    "SVC*HC:90837*200*0**1", "DTM*472*20260504", "CAS*CO*50*200",
    "SE*22*0001", "GE*1*1", "IEA*1*000000001", ""])

DIRECTORY = """
- name: Blue Ridge Health
  aliases: [BLUE RIDGE HEALTH]
  address: ["PO Box 1", "Raleigh, NC 27601"]
  groups:
    SHP-0100: {plan_type: government_group, plan_funding: self_funded, employer_size: 4000,
               plan_state: NC}
    brh-2210: {plan_type: employer_group, plan_funding: fully_insured, employer_size: 35}
- name: Tar Heel Medicaid Plan
  address: ["PO Box 2", "Durham, NC 27701"]
  plan: {plan_type: medicaid_mco, plan_state: NC}
"""


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    remit, payers = tmp_path / "r.835", tmp_path / "payers.yaml"
    remit.write_text(REMIT, encoding="ascii")
    payers.write_text(DIRECTORY, encoding="utf-8")
    return remit, payers


def records(remit: Path) -> dict[str, DenialRecord]:
    return {r.claim_id: r for r in read(remit) if isinstance(r, DenialRecord)}


def test_the_group_number_on_a_remittance_picks_the_plan(files) -> None:
    remit, payers = files
    directory = load_payers(payers)
    recs = records(remit)
    assert recs["G1"].extra["group_number"] == "shp-0100"
    assert recs["G1"].plan_type is PlanType.unknown
    state = with_plan_facts(recs["G1"], directory["blue ridge health"])
    assert (state.plan_type, state.plan_funding.value, state.employer_size, state.plan_state) == (
        PlanType.government_group, "self_funded", 4000, "NC")
    assert state.extra["plan_facts_from"] == "payer directory: Blue Ridge Health, group SHP-0100"
    small = with_plan_facts(recs["G2"], directory["blue ridge health"])
    assert small.plan_type is PlanType.employer_group and small.employer_size == 35
    # A group the directory does not know, on a payer with no plan of its own: still unknown.
    other = with_plan_facts(recs["G3"], directory["blue ridge health"])
    assert other.plan_type is PlanType.unknown and "plan_facts_from" not in other.extra


def test_the_record_s_own_plan_wins_and_a_contradiction_is_a_warning(files) -> None:
    _, payers = files
    payer = load_payers(payers)["tar heel medicaid plan"]
    own = DenialRecord(claim_id="C1", payer_name="Tar Heel Medicaid Plan", plan_type="chip")
    kept = with_plan_facts(own, payer)
    assert kept.plan_type is PlanType.chip and kept.plan_state == "NC"
    assert kept.warnings == [("plan_type: the record says chip, the payer directory: Tar Heel "
                              "Medicaid Plan says medicaid_mco; the record's is used")]
    assert with_plan_facts(kept, payer).warnings == kept.warnings  # not repeated on a second pass


def test_the_law_follows_the_directory_plan(files) -> None:
    remit, payers = files
    settings = Settings.load(payers=payers, as_of=AS_OF)
    plans = {}
    for rec in records(remit).values():
        packet = build(rec, settings)
        plans[rec.claim_id] = (packet.law.plan, packet.summary["filing"])
    # The state plan of 4,000 is a large self-funded government plan; 35 employees insured is a
    # small group plan (parity only through the essential-health-benefit rule).
    assert plans["G1"][0].startswith("nonfed_gov") and plans["G1"][1] == "on_time"
    assert plans["G2"][0] != "unknown" and plans["G2"][1] == "on_time"
    assert plans["G3"] == ("unknown", "confirm")


def test_a_bad_directory_entry_names_the_file_the_entry_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "payers.yaml"
    path.write_text("- name: X\n  address: [a]\n  groups:\n    G1: {plan_type: medicaid}\n",
                    encoding="utf-8")
    with pytest.raises(SettingsError, match=r"payers.yaml: payer 1: field 'groups.G1.plan_type'"):
        load_payers(path)


def test_a_run_takes_plans_from_the_directory_and_the_cover_says_what_is_left(files,
                                                                             tmp_path) -> None:
    remit, payers = files
    out = tmp_path / "out"
    result = run(RunConfig(inputs=[remit], out=out, workers=1, as_of=AS_OF, payers=payers))
    assert result.failed == 0
    rows = {r["claim_id"]: r for r in csv.DictReader((out / "worklist.csv").open())}
    assert rows["G1"]["plan"].startswith("nonfed_gov") and rows["G1"]["deadline"]
    assert rows["G3"]["plan"] == "unknown" and rows["G3"]["filing"].startswith("confirm plan type")
    cover = "\n".join(p.text for p in Docx(out / rows["G3"]["packet"] / "biller_cover.docx")
                      .paragraphs)
    assert "Confirm the plan type" in cover and "group OTHER-9" in cover
    assert "Fill in: filing deadline from the denial notice" in cover
    known = out / rows["G1"]["packet"]
    assert "Confirm the plan type" not in (known / "biller_cover.pdf").read_bytes().decode(
        "latin-1")
    doc = Docx(known / "biller_cover.docx")
    cells = {r.cells[0].text: r.cells[1].text for t in doc.tables for r in t.rows}
    assert cells["Plan"].endswith("(from the payer directory: Blue Ridge Health, group SHP-0100)")
    assert cells["Denial"] == "CO-50: medical necessity"
    summary = json.loads((known / "packet.json").read_text())
    assert "biller_cover.pdf" in [f["name"] for f in summary["files"]]
    # The remittance's capitals are not printed: names read as people write them.
    letter = Docx(known / "appeal_letter.docx")
    patient = {r.cells[0].text: r.cells[1].text for t in letter.tables for r in t.rows}["Patient"]
    assert patient == "Jordan McDonald"


def test_clinicians_never_see_internal_category_names(tmp_path: Path) -> None:
    settings = Settings.load(as_of=AS_OF)
    rec = DenialRecord(claim_id="L1", payer_name="Blue Ridge", plan_type="employer_group",
                       plan_funding="fully_insured", employer_size=300, service_date="2026-05-04",
                       denial_date="2026-06-10", cpt_code="90837", level_of_care="outpatient",
                       adjustment_codes="CO-119", denial_reason="Annual visit limit reached.",
                       billed_amount="200", paid_amount="0")
    packet = build(rec, settings)
    assert packet.classification.category.value == "parity_nqtl"
    text = "\n".join(d.text() for d in packet.composed.documents)
    assert "parity nqtl" not in text.lower() and "parity_nqtl" not in text
    checklist = next(d for d in packet.composed.documents if d.kind == "clinician_checklist")
    assert "CO-119 (day, visit or session limit)" in checklist.text()


def test_the_network_comes_from_the_record_else_the_directory(files) -> None:
    from appeals.compose.settings import Payer, network_of

    payer = Payer(name="P", address=["x"], network="contracted")
    assert network_of(DenialRecord(claim_id="N1"), payer) == "contracted"
    assert network_of(DenialRecord(claim_id="N1", extra={"network_status": "non-par"}),
                      payer) == "non_contracted"
    assert network_of(DenialRecord(claim_id="N1"), None) is None


def test_a_user_code_table_override_reaches_the_letter_as_well_as_the_worklist(
        tmp_path: Path) -> None:
    """Design §6: compose read the built-in code table, so a practice's meaning for a code
    reached the worklist but not the letter."""
    user = tmp_path / "rules.yaml"
    user.write_text("codes:\n  - {code_type: CARC, code: '50', short_meaning: 'Practice wording "
                    "for CO-50', category: medical_necessity, action: appeal, owner: clinician, "
                    "weight: 1}\n", encoding="utf-8")
    settings = Settings.load(rules=user, as_of=AS_OF)
    rec = DenialRecord(claim_id="U1", payer_name="Blue Ridge", plan_type="employer_group",
                       plan_funding="fully_insured", employer_size=300, service_date="2026-05-04",
                       denial_date="2026-06-10", cpt_code="90837", adjustment_codes="CO-50",
                       billed_amount="200", paid_amount="0")
    letter = build(rec, settings).composed.documents[0].text()
    assert "CO-50: Practice wording for CO-50" in letter
