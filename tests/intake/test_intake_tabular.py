"""CSV and JSON intake: canonical schema, column maps, encodings, bad rows, round trips."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLES
from helpers import write_csv
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from appeals.intake import Batch, InputError, load_column_map, read, write_rejects
from appeals.models import CANONICAL_FIELDS, DenialRecord, Reject

MAPS = ROOT / "appeals" / "data" / "column_maps"


def split(items):
    return ([i for i in items if isinstance(i, DenialRecord)],
            [i for i in items if isinstance(i, Reject)])


def test_dev_set_reads_completely(dev_csv: Path) -> None:
    records, rejects = split(list(read(dev_csv)))
    assert len(records) == 61 and not rejects
    d021 = next(r for r in records if r.claim_id == "D021")
    assert d021.auth_start == date(2026, 1, 1) and d021.auth_units == Decimal(24)
    assert next(r for r in records if r.claim_id == "D098").adjustment_codes == ["CO-45", "PR-3"]


write = write_csv


def test_lists_dates_and_money_in_every_accepted_layout(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", [
        {"claim_id": "A1", "adjustment_codes": "CO-50, PR-2", "remark_codes": "N130 M62",
         "modifiers": "95;GT", "diagnosis_codes": "f4310", "service_date": "05/04/2026",
         "denial_date": "20260610", "billed_amount": "$1,250.50", "plan_type": "Medicare FFS"},
    ])
    (record,) = split(list(read(path)))[0]
    assert record.adjustment_codes == ["CO-50", "PR-2"]
    assert record.remark_codes == ["N130", "M62"]
    assert record.modifiers == ["95", "GT"]
    assert record.diagnosis_codes == ["F43.10"]
    assert record.service_date == date(2026, 5, 4) and record.denial_date == date(2026, 6, 10)
    assert record.billed_amount == Decimal("1250.50")
    assert record.plan_type == "medicare"


@pytest.mark.parametrize("field,value,expected", [
    ("level_of_care", "Intensive Outpatient", "iop"),
    ("level_of_care", "Partial Hospitalization Program", "php"),
    ("level_of_care", "RTC", "residential"),
    ("level_of_care", "Opioid Treatment Program", "mat"),
    ("plan_funding", "Level-funded", "self_funded"),
    ("plan_funding", "ASO", "self_funded"),
    ("plan_funding", "Insured", "fully_insured"),
    ("plan_type", "Medicaid Managed Care", "medicaid_mco"),
    ("plan_type", "Employer-sponsored", "employer_group"),
    ("plan_type", "Medicare Part B", "medicare"),
    ("plan_type", "  ", "unknown"),
])
def test_practice_system_spellings_of_plan_and_level_of_care(field: str, value: str,
                                                            expected: str) -> None:
    assert getattr(DenialRecord(claim_id="S1", **{field: value}), field) == expected


@pytest.mark.parametrize("value,expected", [
    ("CO 50", ["CO-50"]),
    ("co 50; pr 2", ["CO-50", "PR-2"]),
    ("OA 23 CO 45", ["OA-23", "CO-45"]),
    ("CO-050", ["CO-50"]),
    ("CO-B7", ["CO-B7"]),
])
def test_adjustment_codes_as_exports_space_and_pad_them(value: str, expected: list[str]) -> None:
    assert DenialRecord(claim_id="S3", adjustment_codes=value).adjustment_codes == expected


@pytest.mark.parametrize("value", ["Medicaid", "commercial", "Government"])
def test_a_plan_type_the_law_cannot_place_is_rejected_with_what_to_say(value: str) -> None:
    with pytest.raises(ValidationError, match="is ambiguous: say"):
        DenialRecord(claim_id="S2", plan_type=value)


@pytest.mark.parametrize("field,value,fragment", [
    ("service_date", "2026-02-30", "not a calendar date"),
    ("service_date", "next tuesday", "not a date"),
    ("billed_amount", "12,3x", "not an amount"),
    ("cpt_code", "9083", None),  # a 4-digit revenue code is allowed
    ("cpt_code", "90834X", "CPT/HCPCS"),
    ("diagnosis_codes", "F41.1;banana", "ICD-10-CM"),
    ("adjustment_codes", "XY-50", "group-code/CARC"),
    ("plan_type", "platinum", "not a plan_type the toolkit knows, and the payer directory"),
    ("level_of_care", "spa day", "is not one of"),
    ("auth_end", "2025-01-01", "before auth_start"),
])
def test_bad_field_is_rejected_with_row_and_field(tmp_path: Path, field: str, value: str,
                                                  fragment: str | None) -> None:
    row = {"claim_id": "B1", "adjustment_codes": "CO-197", "auth_start": "2026-01-01",
           "service_date": "2026-01-05", "denial_reason": "Not covered", field: value}
    path = write(tmp_path / "b.csv", [row, {**row, "claim_id": "B2", field: ""}])
    batch = Batch([path])  # as a run reads it: a plan fact may yet come from the directory
    records = list(batch)
    rejects = [r for r in batch.rejects if r.level == "error"]
    if fragment is None:
        assert len(records) == 2
        return
    assert [r.claim_id for r in records] == ["B2"]
    (reject,) = rejects
    assert reject.location == "row 2" and reject.field == field
    assert fragment in reject.message and reject.source == str(path)


def test_missing_required_column_is_an_input_error(tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", [{"id": "1", "adjustment_codes": "CO-50"}])
    with pytest.raises(InputError, match="missing required column claim_id"):
        list(read(path))


def test_text_and_empty_files_are_input_errors(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("Dear colleague\nplease see attached\n")
    with pytest.raises(InputError, match="not a CSV, JSON, X12 835 or denial letter"):
        list(read(text))
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="empty"):
        list(read(empty))


def test_shifted_row_is_rejected_not_misread(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("claim_id,denial_reason,billed_amount\nX1,no auth,$1,000\nX2,ok,5\n")
    records, rejects = split(list(read(path)))
    assert [r.claim_id for r in records] == ["X2"]
    assert rejects[0].field == "row" and "cells" in rejects[0].message


def test_encodings_bom_latin1_and_semicolons(tmp_path: Path) -> None:
    row = {"claim_id": "E1", "denial_reason": "Café visit limit", "patient_name": "Zoë Test"}
    bom = write(tmp_path / "bom.csv", [row], encoding="utf-8-sig")
    latin = write(tmp_path / "latin.csv", [row], encoding="latin-1")
    semi = tmp_path / "semi.csv"
    semi.write_text("claim_id;denial_reason\nE1;Café visit limit\n")
    for path in (bom, latin, semi):
        (record,) = split(list(read(path)))[0]
        assert record.claim_id == "E1" and record.denial_reason == "Café visit limit"


def test_unknown_columns_are_kept_in_extra(tmp_path: Path) -> None:
    path = write(tmp_path / "e.csv", [{"claim_id": "X", "denial_reason": "r", "Visit Type": "tele"}])
    (record,) = split(list(read(path)))[0]
    assert record.extra == {"Visit Type": "tele"}


def test_column_map_renames_vendor_headers(tmp_path: Path) -> None:
    path = write(tmp_path / "vendor.csv", [{
        "PatientControlNumber": "V1", "CARC": "CO-197", "RARC": "N54", "CheckDate": "06/10/2026",
        "ChargeAmount": "150", "PayerMessage": "no auth", "Clinic Location": "North"}])
    (record,) = split(list(read(path, MAPS / "clearinghouse_denial_report.yaml")))[0]
    assert record.claim_id == "V1" and record.adjustment_codes == ["CO-197"]
    assert record.plan_state == "NC"  # from the map's defaults
    assert record.extra == {"Clinic Location": "North"}


def test_malformed_column_map_names_the_entry(tmp_path: Path) -> None:
    bad = tmp_path / "map.yaml"
    bad.write_text("columns:\n  Claim: claim_number\n")
    path = write(tmp_path / "x.csv", [{"Claim": "1", "adjustment_codes": "CO-50"}])
    with pytest.raises(InputError, match="'Claim'.*not a canonical field"):
        list(read(path, bad))


def test_json_array_and_json_lines(tmp_path: Path) -> None:
    objs = [{"claim_id": "J1", "adjustment_codes": ["CO-50"], "billed_amount": 150.25},
            {"claim_id": "J2", "adjustment_codes": "CO-197", "service_date": "bad"}]
    arr = tmp_path / "a.json"
    arr.write_text(json.dumps(objs))
    lines = tmp_path / "a.jsonl"
    lines.write_text("\n".join(json.dumps(o) for o in objs) + "\n{broken\n")
    for path, n_rejects in ((arr, 1), (lines, 2)):
        records, rejects = split(list(read(path)))
        assert [r.claim_id for r in records] == ["J1"]
        assert records[0].billed_amount == Decimal("150.25")
        assert len(rejects) == n_rejects


def test_rejects_file_has_the_documented_columns(tmp_path: Path) -> None:
    reject = Reject(source="f.csv", location="row 3", field="service_date", message="bad",
                    raw="a,b")
    out = tmp_path / "rejects.csv"
    assert write_rejects([reject], out) == 1
    assert out.read_text().splitlines() == ["source,location,field,message,raw,level",
                                            "f.csv,row 3,service_date,bad,\"a,b\",error"]


def test_npi_check_digit_warns_but_keeps(tmp_path: Path) -> None:
    path = write(tmp_path / "n.csv", [{"claim_id": "N", "denial_reason": "x",
                                       "provider_npi": "1245319598"}])
    (record,) = split(list(read(path)))[0]
    assert any("check digit" in w for w in record.warnings)
    good = write(tmp_path / "g.csv", [{"claim_id": "N", "denial_reason": "x",
                                       "provider_npi": "1245319599"}])
    assert not split(list(read(good)))[0][0].warnings


def test_control_characters_are_dropped() -> None:
    r = DenialRecord(claim_id="C\x0b1", denial_reason="bad\x00 text\x1f")
    assert r.claim_id == "C1" and r.denial_reason == "bad text"


# --- round trip: a record written as canonical CSV or JSON reads back equal ----------------

codes = st.sampled_from(["CO-50", "CO-197", "PR-1", "OA-23", "CO-B7", "PI-204"])
text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30).map(str.strip)
money = st.decimals(min_value=0, max_value=99999, places=2, allow_nan=False)
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31))

records = st.builds(
    DenialRecord,
    claim_id=st.from_regex(r"[A-Z0-9][A-Z0-9\-]{0,12}", fullmatch=True),
    line_number=st.integers(1, 99),
    payer_name=text, patient_name=text, denial_reason=text,
    plan_type=st.sampled_from(["employer_group", "medicaid_mco", "medicare", "unknown"]),
    cpt_code=st.sampled_from(["90834", "H0015", "0114", "90853", None]),
    modifiers=st.lists(st.sampled_from(["95", "HQ", "GT", "HF"]), max_size=2),
    diagnosis_codes=st.lists(st.sampled_from(["F41.1", "F10.20", "F32.2"]), max_size=3),
    billed_amount=money, paid_amount=money, service_date=days,
    adjustment_codes=st.lists(codes, min_size=1, max_size=3), remark_codes=st.lists(
        st.sampled_from(["N130", "M62", "MA130"]), max_size=2),
)


def canonical(r: DenialRecord) -> dict:
    return r.model_dump(include=set(CANONICAL_FIELDS))


@settings(max_examples=60, deadline=None)
@given(st.lists(records, min_size=1, max_size=5))
def test_csv_round_trip(tmp_path_factory, batch: list[DenialRecord]) -> None:
    path = tmp_path_factory.mktemp("rt") / "rt.csv"
    buf = io.StringIO()
    w = csv.DictWriter(buf, CANONICAL_FIELDS, lineterminator="\n")
    w.writeheader()
    for r in batch:
        w.writerow(r.canonical_row())
    path.write_text(buf.getvalue(), encoding="utf-8")
    back, rejects = split(list(read(path)))
    assert not rejects
    assert [canonical(r) for r in back] == [canonical(r) for r in batch]


@settings(max_examples=60, deadline=None)
@given(st.lists(records, min_size=1, max_size=5))
def test_jsonl_round_trip(tmp_path_factory, batch: list[DenialRecord]) -> None:
    path = tmp_path_factory.mktemp("rt") / "rt.jsonl"
    path.write_text("".join(r.model_dump_json() + "\n" for r in batch), encoding="utf-8")
    back, rejects = split(list(read(path)))
    assert not rejects
    assert [canonical(r) for r in back] == [canonical(r) for r in batch]


def test_bundled_sample_csv_is_the_canonical_schema() -> None:
    header = (SAMPLES / "denials.csv").read_text().splitlines()[0].split(",")
    assert tuple(header) == CANONICAL_FIELDS


#: A plausible value for each field a shipped map may name.
SAMPLE_VALUES = {
    "claim_id": "PM-1001", "line_number": "1", "payer_name": "Blue Ridge Health",
    "plan_type": "employer_group", "plan_funding": "self_funded", "employer_size": "300",
    "plan_state": "NC", "member_id": "BRH001", "patient_name": "Sample Client",
    "patient_dob": "1980-01-02", "provider_name": "Lakeside Counseling",
    "provider_npi": "1245319599", "service_date": "2026-05-04", "cpt_code": "90837",
    "modifiers": "95", "units": "1", "place_of_service": "11", "diagnosis_codes": "F33.1",
    "level_of_care": "outpatient", "billed_amount": "150.00", "paid_amount": "0.00",
    "denial_date": "2026-06-10", "adjustment_codes": "CO-50", "remark_codes": "N386",
    "denial_reason": "Not medically necessary", "auth_number": "A-77",
    "auth_start": "2026-05-01", "auth_end": "2026-07-31", "auth_units": "12"}


@pytest.mark.parametrize("shipped", sorted(MAPS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_map_loads_and_reads_a_file_in_its_own_shape(tmp_path: Path,
                                                                   shipped: Path) -> None:
    """The README's example map once did not load ('Claim #' read as a comment): each shipped
    map loads and reads an export with exactly its headers into the fields it names."""
    columns = load_column_map(shipped)
    assert columns.columns
    row = {header: SAMPLE_VALUES[field] for header, field in columns.columns.items()}
    path = write(tmp_path / "export.csv", [row])
    records, rejects = split(list(read(path, shipped)))
    assert [r for r in rejects if r.level != "warning"] == []
    (record,) = records
    for header, field in columns.columns.items():
        value = getattr(record, field)
        assert value not in (None, "", []), (header, field)


@pytest.mark.parametrize("line,header", [
    ("  Claim #: claim_id", "Claim #"), ("  Group #: member_id", "Group #"),
    ("  Auth: Number: auth_number", "Auth: Number")])
def test_a_header_yaml_would_misread_is_named_with_the_quotes_to_add(tmp_path: Path, line: str,
                                                                     header: str) -> None:
    bad = tmp_path / "map.yaml"
    bad.write_text(f"name: export\ncolumns:\n  DOS: service_date\n{line}\n", encoding="utf-8")
    with pytest.raises(InputError, match=rf"line 4: the header '{re.escape(header)}'.*"
                                         rf'"{re.escape(header)}": '):
        load_column_map(bad)
    fixed = tmp_path / "fixed.yaml"
    fixed.write_text(f'columns:\n  "{header}": {line.rsplit(": ", 1)[1]}\n', encoding="utf-8")
    assert header in load_column_map(fixed).columns


def test_a_value_map_reads_an_exports_own_words(tmp_path: Path) -> None:
    """44 of 60 rows of a real export were rejected for ordinary words ('Commercial',
    'Medicaid', 'Med Management'). A map's `values:` translates them per column, without regard
    to case or spacing; `from_directory` leaves the field to the payer directory."""
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        'name: PM export\ncolumns:\n  "Claim #": claim_id\n  Insurance: payer_name\n'
        "  Plan: plan_type\n  Service: level_of_care\n  Codes: adjustment_codes\n"
        "values:\n  plan_type: {Commercial: from_directory, Medicaid: medicaid_mco}\n"
        '  level_of_care: {"Med Management": outpatient}\n', encoding="utf-8")
    path = write(tmp_path / "export.csv", [
        {"Claim #": "V1", "Insurance": "Blue Ridge", "Plan": "commercial",
         "Service": "Med  Management", "Codes": "CO-50"},
        {"Claim #": "V2", "Insurance": "Tar Heel", "Plan": "MEDICAID",
         "Service": "Med Management", "Codes": "CO-50"},
        {"Claim #": "V3", "Insurance": "Tar Heel", "Plan": "Tricare Prime",
         "Service": "Med Management", "Codes": "CO-50"}])
    batch = Batch([path], mapping)
    by_claim = {r.claim_id: r for r in batch}
    assert by_claim["V1"].plan_type.value == "unknown"  # for the payer directory to say
    assert by_claim["V2"].plan_type.value == "medicaid_mco"
    assert {r.level_of_care.value for r in by_claim.values()} == {"outpatient"}
    # 'Tricare Prime' is not listed and no directory can say: that row only is rejected
    assert [(r.location, r.level) for r in batch.rejects if r.field == "plan_type"] == [
        ("row 4", "error"), ("1 lines", "warning")]
    bad = tmp_path / "bad.yaml"
    bad.write_text("values:\n  plan_kind: {Commercial: from_directory}\n", encoding="utf-8")
    with pytest.raises(InputError, match="'plan_kind': not a canonical field nor one"):
        load_column_map(bad)


def test_an_unknown_value_keeps_the_row_when_the_directory_knows_the_plan(
        tmp_path: Path) -> None:
    """An export's word for a plan fact that the map does not translate keeps its row when the
    payer directory supplies the fact, and rejects it only when nothing can. Each unknown word
    is listed once for the run (not once per row) with the map entry that reads it, and with
    that entry saved the same export reads with no warning at all."""
    import subprocess
    import sys

    directory = tmp_path / "payers.yaml"
    directory.write_text("- name: Tar Heel\n  address: [PO Box 1]\n"
                         "  plan: {plan_type: medicaid_mco, plan_state: NC}\n", encoding="utf-8")
    rows = [{"claim_id": f"U{i}", "payer_name": payer, "plan_type": word,
             "level_of_care": care, "adjustment_codes": "CO-50"}
            for i, (payer, word, care) in enumerate([
                ("Tar Heel", "State Plan", "outpatient"), ("TAR HEEL", "state plan", "IOP"),
                ("Tar Heel", "State Plan", "outpatient"), ("Nobody Health", "State Plan", "iop"),
                ("Tar Heel", "Medicaid", "Med Check"), ("Tar Heel", "commercial", "Med Check")])]
    path = write(tmp_path / "export.csv", rows)

    def intake(*more: str) -> tuple[list[dict], list[dict]]:
        rejects = tmp_path / "rejects.csv"
        done = subprocess.run([sys.executable, "-m", "appeals", "intake", str(path),
                               "--payers", str(directory), "--rejects", str(rejects), *more],
                              capture_output=True, text=True, check=True)
        assert "Traceback" not in done.stderr
        with rejects.open(encoding="utf-8") as fh:
            listed = list(csv.DictReader(fh)) if rejects.exists() else []
        return [json.loads(line) for line in done.stdout.splitlines()], listed

    records, listed = intake()
    assert {r["claim_id"]: r["plan_type"] for r in records} == {
        "U0": "medicaid_mco", "U1": "medicaid_mco", "U2": "medicaid_mco"}
    errors = [(r["location"], r["field"]) for r in listed if r["level"] == "error"]
    # U3: no directory entry for its payer; U4, U5: 'Med Check' is no level of care, and
    # nothing else could say what it is
    assert errors == [("row 5", "plan_type"), ("row 6", "level_of_care"),
                      ("row 7", "level_of_care")]
    once = {r["message"].split(" is not")[0]: r for r in listed if r["level"] == "warning"}
    # once each, however spelt (a map matches without regard to case); the plan words of rows
    # rejected for their level of care are not counted: nothing was read of those rows
    assert set(once) == {"'State Plan'", "'Med Check'"}
    state = once["'State Plan'"]
    assert state["location"] == "4 lines" and "3 read with the payer directory's plan_type" \
        in state["message"] and "1 rejected" in state["message"]
    assert 'values: {plan_type: {"State Plan": from_directory}}' in state["message"]
    assert once["'Med Check'"]["location"] == "2 lines"

    mapping = tmp_path / "map.yaml"
    mapping.write_text('values:\n  plan_type: {"State Plan": from_directory, '
                       "Medicaid: medicaid_mco, commercial: from_directory}\n"
                       '  level_of_care: {"Med Check": outpatient}\n', encoding="utf-8")
    records, listed = intake("--columns", str(mapping))
    assert len(records) == 6 and [r["level"] for r in listed] == []  # U3: plan type unknown
    assert {r["claim_id"]: r["plan_type"] for r in records}["U3"] == "unknown"


def test_every_field_the_toolkit_reads_is_mappable_and_listed(tmp_path: Path) -> None:
    """Group number, the payer's claim number, review type, network status, urgency could not
    be mapped (only the canonical fields could), though the toolkit reads them. Now a map names
    any field of `appeals columns --fields`, value maps included."""
    import subprocess
    import sys

    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        'columns:\n  "Claim #": claim_id\n  "Group #": group_number\n  ICN: payer_claim_id\n'
        "  Review: review_type\n  Network: network_status\n  Codes: adjustment_codes\n"
        'values:\n  review_type: {"Pre-Auth": pre_service}\n'
        "  network_status: {PAR: contracted}\n", encoding="utf-8")
    path = write(tmp_path / "export.csv", [
        {"Claim #": "G1", "Group #": "GRP-77", "ICN": "2026111000123", "Review": "pre-auth",
         "Network": "par", "Codes": "CO-197"}])
    [record] = split(list(read(path, mapping)))[0]
    assert record.extra["group_number"] == "GRP-77"
    assert record.extra["payer_claim_id"] == "2026111000123"
    assert record.review_type == "pre_service" and record.network_status == "contracted"
    listed = subprocess.run([sys.executable, "-m", "appeals", "columns", "--fields"],
                            capture_output=True, text=True, check=True).stdout
    for name in ("claim_id", "group_number", "review_type", "payer_claim_id", "urgent"):
        assert any(line.split()[0] == name for line in listed.splitlines()), name


def test_a_map_proposed_from_a_real_shaped_export_reads_it_with_no_hand_edits(
        tmp_path: Path) -> None:
    """`appeals columns FILE` proposes a map from a practice system's headers ('Claim #',
    'Group #', 'DOS', 'Adj Codes'...) and values ('Commercial', 'Medicaid', 'Med Management');
    saved as printed, it reads the export with zero rejects. A header it cannot place is named
    and kept as an extra column."""
    import subprocess
    import sys

    export = tmp_path / "denied_claims.csv"
    export.write_text(
        "Claim #,Patient Name,Subscriber ID,Insurance,Plan Type,Service Type,DOS,CPT,Charge,"
        "Paid,Denied On,Adj Codes,Denial Reason,Group #,Clinic Location\n"
        'PM-1,"Sample, Avery",BRH001,Blue Ridge Health,Commercial,Med Management,05/04/2026,'
        "99214,150.00,0.00,06/10/2026,CO-50,Not medically necessary,GRP-77,North\n"
        'PM-2,"Example, Jordan",TH002,Tar Heel Medicaid,Medicaid,Intensive Outpatient,'
        "05/05/2026,H0015,180.00,0.00,06/11/2026,CO-197,No authorization,,South\n",
        encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "appeals", "columns", str(export)],
                          capture_output=True, text=True, check=True)
    proposed = tmp_path / "map.yaml"
    proposed.write_text(done.stdout, encoding="utf-8")
    assert '"Claim #": claim_id' in done.stdout and '"Group #": group_number' in done.stdout
    assert '# not matched: "Clinic Location"' in done.stdout
    assert "0 row(s) would be rejected" in done.stderr
    records, rejects = split(list(read(export, proposed)))
    assert not [r for r in rejects if r.level != "warning"] and len(records) == 2
    pm2 = next(r for r in records if r.claim_id == "PM-2")
    assert pm2.level_of_care.value == "iop" and pm2.plan_type.value == "unknown"
    assert pm2.extra["Clinic Location"] == "South"
    assert next(r for r in records if r.claim_id == "PM-1").extra["group_number"] == "GRP-77"


def test_intake_with_the_payer_directory_prints_what_a_run_reads(tmp_path: Path) -> None:
    """`appeals intake --payers` gives each record the plan facts the directory gives it, as
    `appeals run` does: a plan type the map leaves to the directory is filled there."""
    import json
    import subprocess
    import sys

    export = write(tmp_path / "x.csv", [{"Claim #": "X1", "Insurance": "TAR HEEL MEDICAID PLAN",
                                         "Plan Type": "Medicaid", "Adj Codes": "CO-50"}])
    mapping = tmp_path / "map.yaml"
    mapping.write_text('columns:\n  "Claim #": claim_id\n  Insurance: payer_name\n'
                       '  Plan Type: plan_type\n  Adj Codes: adjustment_codes\n'
                       "values:\n  plan_type: {Medicaid: from_directory}\n", encoding="utf-8")

    def intake(*more: str) -> dict:
        done = subprocess.run([sys.executable, "-m", "appeals", "intake", str(export),
                               "--columns", str(mapping), *more],
                              capture_output=True, text=True, check=True)
        return json.loads(done.stdout.splitlines()[0])

    assert intake()["plan_type"] == "unknown"
    found = intake("--payers", str(ROOT / "appeals" / "data" /
                                   "samples" / "payers.yaml"))
    assert found["plan_type"] == "medicaid_mco" and found["plan_state"] == "NC"
