"""Prior-authorization decisions as FHIR ClaimResponses (Da Vinci PAS): a record per denied item,
a reject per response or line that cannot be read, never a traceback."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SAMPLES

from appeals.intake import Batch, InputError, read
from appeals.models import DenialRecord, Reject

FHIR = SAMPLES / "fhir"
BUNDLE = json.loads((FHIR / "pas_response_bundle.json").read_text(encoding="utf-8"))
SINGLE = json.loads((FHIR / "pas_claim_response.json").read_text(encoding="utf-8"))
PAS = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"


def write(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def items(path: Path) -> tuple[list[DenialRecord], list[Reject]]:
    found = list(read(path))
    return ([i for i in found if isinstance(i, DenialRecord)],
            [i for i in found if isinstance(i, Reject)])


def response(bundle: dict) -> dict:
    return next(e["resource"] for e in bundle["entry"]
                if e["resource"]["resourceType"] == "ClaimResponse")


def test_a_pas_bundle_gives_a_record_per_denied_item_with_its_parties_resolved() -> None:
    """Item 1 not certified (A3) is a record; item 2 certified in total (A1) is not. The
    patient, payer, requester and the request come from the Bundle's entries by reference."""
    [record], rejects = items(FHIR / "pas_response_bundle.json")
    assert not rejects
    assert record.claim_id == "PA-2026-0412"  # the request's identifier, not the response's
    assert record.line_number == 1 and record.cpt_code == "H0035"
    assert str(record.service_date) == "2026-11-09" and str(record.denial_date) == "2026-11-04"
    assert record.patient_name == "Rowan Example" and str(record.patient_dob) == "1988-02-14"
    assert record.member_id == "BRH00977001"  # Coverage.subscriberId
    assert record.payer_name == "Blue Ridge Health"
    assert record.provider_name == "Lakeside Counseling Group"
    assert record.provider_npi == "1245319599"
    assert record.diagnosis_codes == ["F33.2"] and record.auth_number == "UM-88120-1"
    assert record.denial_reason.startswith("Not certified (A3). Does not meet medical necessity")
    assert "less intensive level of care" in record.denial_reason  # the disposition
    assert record.extra["payer_claim_id"] == "UM-88120"
    assert record.review_type == "pre_service" and "urgent" not in record.extra


def test_a_claim_response_alone_reads_its_contained_parties_and_urgency() -> None:
    [record], _ = items(FHIR / "pas_claim_response.json")
    assert (record.claim_id, record.payer_name, record.member_id) == (
        "PA-2026-0477", "Tar Heel Medicaid Plan", "THM55501")
    assert record.extra["urgent"] == "yes"  # the request's priority is stat
    assert record.auth_number == "THM-UM-3301"  # preAuthRef when the review has no number


def test_samples_run_to_packets_as_medical_necessity_appeals(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "appeals", "run", str(FHIR), "--out", str(out), "--workers", "1",
         "--payers", str(SAMPLES / "payers.yaml"), "--no-db"],
        capture_output=True, text=True, check=False, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    worklist = (out / "worklist.csv").read_text(encoding="utf-8")
    assert worklist.count("medical_necessity") >= 2
    assert sorted(p.name for p in (out / "packets").iterdir()) == ["PA-2026-0412-1",
                                                                   "PA-2026-0477-1"]


@pytest.mark.parametrize("code,expected", [("A3", "Not certified"), ("A2", "Certified - partial"),
                                           ("A6", "Modified"), ("A1", None), ("A4", None),
                                           ("NA", None)])
def test_which_review_actions_are_denials(tmp_path: Path, code: str,
                                          expected: str | None) -> None:
    bundle = copy.deepcopy(BUNDLE)
    review = response(bundle)["item"][0]["adjudication"][0]["extension"][0]["extension"][0]
    review["valueCodeableConcept"]["coding"][0]["code"] = code
    records, rejects = items(write(tmp_path / "b.json", bundle))
    assert not rejects
    if expected is None:
        assert records == []
        return
    [record] = records
    assert record.denial_reason.startswith(f"{expected} ({code})")
    assert (record.extra.get("decision") == "certified in part") == (code != "A3")


def test_an_unknown_review_action_is_that_items_reject(tmp_path: Path) -> None:
    bundle = copy.deepcopy(BUNDLE)
    review = response(bundle)["item"][0]["adjudication"][0]["extension"][0]["extension"][0]
    review["valueCodeableConcept"]["coding"][0]["code"] = "ZZ"
    records, [reject] = items(write(tmp_path / "b.json", bundle))
    assert records == [] and reject.location == "Bundle entry 1 item 1"
    assert "'ZZ' is none of" in reject.message and "fhir_pas.yaml" in reject.message


def test_an_invalid_response_is_one_reject_and_the_others_are_read(tmp_path: Path) -> None:
    bundle = copy.deepcopy(BUNDLE)
    broken = copy.deepcopy(response(bundle))
    del broken["patient"], broken["insurer"]
    broken["id"] = "resp-broken"
    bundle["entry"].append({"resource": broken})
    records, [reject] = items(write(tmp_path / "b.json", bundle))
    assert [r.claim_id for r in records] == ["PA-2026-0412"]
    assert reject.location == "Bundle entry 7" and "not a valid FHIR ClaimResponse" in \
        reject.message and reject.field in ("insurer", "patient")


def test_an_error_response_is_a_warning_not_a_denial(tmp_path: Path) -> None:
    single = copy.deepcopy(SINGLE)
    single["outcome"] = "error"
    single["error"] = [{"code": {"coding": [{"code": "15"}]}}]
    records, [reject] = items(write(tmp_path / "e.json", single))
    assert records == [] and reject.level == "warning" and "errors: 15" in reject.message


@pytest.mark.parametrize("document,message", [
    ({"resourceType": "Patient", "id": "x"}, "a FHIR Patient, not a ClaimResponse"),
    ({"resourceType": "ClaimResponse"}, None),  # every required element missing
    ({"resourceType": "Bundle", "type": "collection"}, None),
    ({"resourceType": "Bundle", "type": "collection",
      "entry": [{"resource": {"resourceType": "Patient", "id": "p"}}]}, None),
])
def test_wrong_or_empty_documents_are_named_never_a_traceback(
        tmp_path: Path, document: dict, message: str | None) -> None:
    path = write(tmp_path / "x.json", document)
    if message is not None:
        with pytest.raises(InputError, match=message):
            list(read(path))
    batch = Batch([path])
    assert list(batch) == [] and batch.rejects and batch.unusable


def test_deep_nesting_is_refused_by_its_depth(tmp_path: Path) -> None:
    """Past the cap of limits.yaml (40), and far past what json itself can parse."""
    single = copy.deepcopy(SINGLE)
    nested: dict = {"url": "http://example.org/x", "valueString": "deep"}
    for _ in range(45):
        nested = {"url": "http://example.org/x", "extension": [nested]}
    single["extension"] = [nested]
    with pytest.raises(InputError, match="nested deeper than the 40 levels"):
        list(read(write(tmp_path / "deep.json", single)))
    deepest = tmp_path / "deepest.json"
    deepest.write_text('{"resourceType": "ClaimResponse", "x": ' + "[" * 200_000
                       + "]" * 200_000 + "}", encoding="utf-8")
    with pytest.raises(InputError, match="nested deeper"):
        list(read(deepest))


def test_a_10_mb_bundle_is_read_whole_and_a_10_mb_reason_is_one_reject(tmp_path: Path) -> None:
    bundle = copy.deepcopy(BUNDLE)
    first = response(bundle)
    entries = []
    for i in range(5000):  # over 10 MB of responses, each its own request
        copied = copy.deepcopy(first)
        copied["id"] = f"resp-{i}"
        copied["request"] = {"identifier": {"value": f"PA-{i:05d}"}}
        entries.append({"resource": copied})
    bundle["entry"] += entries
    path = write(tmp_path / "big.json", bundle)
    assert path.stat().st_size > 10_000_000
    records, rejects = items(path)
    assert len(records) == 5001 and not rejects
    huge = copy.deepcopy(SINGLE)
    huge["disposition"] = "x" * 10_000_000
    records, [reject] = items(write(tmp_path / "huge.json", huge))
    assert records == [] and reject.field == "denial_reason"


def test_ndjson_reads_each_line_and_rejects_a_bad_one(tmp_path: Path) -> None:
    path = tmp_path / "decisions.ndjson"
    path.write_text(json.dumps(SINGLE) + "\n{not json\n" + json.dumps(BUNDLE) + "\n"
                    + json.dumps({"resourceType": "Patient"}) + "\n", encoding="utf-8")
    records, rejects = items(path)
    assert [r.claim_id for r in records] == ["PA-2026-0477", "PA-2026-0412"]
    assert [(r.location, r.message[:20]) for r in rejects] == [
        ("line 2", "not valid JSON: Expe"), ("line 4", "a FHIR Patient, not ")]
