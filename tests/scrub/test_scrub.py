"""Issue 18: claims checked before they go out (each edit fires, and stays quiet on a clean
line), the 837P reader, the roster and authorization files, the watch and its calendar, rules
proposed from the case store."""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import DATA, SAMPLES

from appeals.compose.settings import Payer
from appeals.intake import InputError, read
from appeals.models import DenialRecord, Reject
from appeals.scrub import scrub
from appeals.scrub.checks import Scrubber
from appeals.scrub.files import Authorization, Auths, Enrollment, Roster, read_auths, read_roster
from appeals.scrub.rules import RULE_IDS, ScrubRulesError, load_scrub_rules
from appeals.scrub.watch import from_files, to_ics
from appeals.synthetic.claims import Claim, Line, write_837

AS_OF = date(2026, 7, 1)
RULES = load_scrub_rules()


def appeals(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "appeals.cli", *map(str, args)], check=False,
                          capture_output=True, text=True, timeout=300)


# --- the bundled sample -------------------------------------------------------------------------

SAMPLE_FINDINGS = {
    ("S02", 1, "telehealth_modifier_missing"), ("S03", 1, "telehealth_modifier_without_telehealth_place"),
    ("S04", 1, "required_modifier_missing"), ("S05", 1, "add_on_without_primary"),
    ("S07", 1, "units_over_daily_max"), ("S08", 1, "diagnosis_not_billable"),
    ("S09", 1, "diagnosis_invalid"), ("S10", 1, "diagnosis_missing"),
    ("S11", 1, "authorization_missing"), ("S12", 1, "authorization_dates"),
    ("S13", 3, "authorization_units"), ("S14", 1, "provider_not_enrolled"),
    ("S15", 1, "license_expired"), ("S16", 1, "timely_filing"), ("S17", 1, "timely_filing_soon"),
    ("S18", 1, "duplicate_line"), ("S19", 1, "authorization_number_unknown"),
}


def sample(out: Path):
    return scrub([SAMPLES / "claims.837"], out, payers=SAMPLES / "payers.yaml",
                  roster=SAMPLES / "roster.csv", auths=SAMPLES / "auths.csv", as_of=AS_OF)


def test_the_bundled_sample_gives_its_known_findings_and_every_rule_fires(tmp_path):
    result = sample(tmp_path)
    got = {(f.claim_id, f.line_number, f.rule) for f in result.findings}
    assert got == SAMPLE_FINDINGS
    assert {f.rule for f in result.findings} == set(RULE_IDS)
    assert result.lines == 22 and result.exit_code == 1 and not result.rejects
    rows = list(csv.DictReader((tmp_path / "scrub.csv").open()))
    s14 = next(r for r in rows if r["claim_id"] == "S14")
    assert s14["payer_says"] == "CO-B7 / N570" and s14["prevents"] == "credentialing"
    assert s14["location"].startswith("segment ") and "SV1" in s14["location"]
    html = (tmp_path / "scrub.html").read_text()
    assert "By clinician" in html and "ROBIN PARK 1093817465" in html
    assert "JORDAN" not in html and "BR0001" not in html  # no patient names or member ids


def test_scrub_output_is_byte_identical_run_to_run(tmp_path):
    sample(tmp_path / "a")
    sample(tmp_path / "b")
    for name in ("scrub.csv", "scrub.html", "rejects.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_the_cli_counts_and_exits_by_what_it_found(tmp_path):
    done = appeals("scrub", SAMPLES / "claims.837", "--out", tmp_path / "o", "--payers",
                   SAMPLES / "payers.yaml", "--roster", SAMPLES / "roster.csv", "--auths",
                   SAMPLES / "auths.csv", "--as-of", "2026-07-01")
    assert done.returncode == 1, done.stderr
    assert "22 lines checked: 14 errors, 3 warnings, 0 rejected rows" in done.stderr
    clean = tmp_path / "clean.837"
    write_837(clean, [Claim("C1", "Blue Ridge Health", "M1", date(2026, 6, 20),
                            (Line("90837"),))])
    done = appeals("scrub", clean, "--out", tmp_path / "c", "--as-of", "2026-07-01")
    assert done.returncode == 0 and "0 errors, 0 warnings" in done.stderr, done.stderr
    assert "Not checked: enrolment and licences (no --roster); authorizations (no --auths)" in \
        (tmp_path / "c" / "scrub.html").read_text()


# --- each edit: fires, and stays quiet on a clean line ------------------------------------------

BASE = {"claim_id": "C1", "payer_name": "Acme Health", "member_id": "M1",
        "patient_name": "Pat Sample", "patient_dob": "1990-01-01", "provider_name": "Sam Lee",
        "provider_npi": "1245319599", "service_date": "2026-06-20", "cpt_code": "90837",
        "units": "1", "place_of_service": "11", "diagnosis_codes": "F33.1",
        "billed_amount": "150"}
ROSTER = Roster([Enrollment(provider_npi="1245319599", payer_name="Acme Health",
                            effective_from="2024-01-01", license_type="LCSW",
                            license_expires="2027-01-01")])
AUTHS = Auths([Authorization(member_id="M1", payer_name="Acme Health", auth_number="A1",
                             cpt_codes="H0015", start="2026-06-01", end="2026-06-30",
                             units="10", units_used="8")])
PAYERS = {"acme health": Payer(name="Acme Health", address=["x"], scrub={
    "required_modifiers": {"H0015": ["HF"]}})}


def findings(*lines: dict, payers=PAYERS) -> set[str]:
    scrubber = Scrubber(RULES, payers, ROSTER, AUTHS, AS_OF)
    found = []
    for n, fields in enumerate(lines, start=1):
        found += scrubber.check(DenialRecord(**{**BASE, "line_number": n, **fields}))
    found += scrubber.finish()
    return {f.rule for f in found}


IOP = {"cpt_code": "H0015", "modifiers": "HF", "auth_number": "A1"}
CASES = {
    "telehealth_modifier_missing": ([{"place_of_service": "10"}],
                                    [{"place_of_service": "10", "modifiers": "95"}]),
    "telehealth_modifier_without_telehealth_place": ([{"modifiers": "GT"}],
                                                     [{"modifiers": "GT", "place_of_service": "02"}]),
    "required_modifier_missing": ([{**IOP, "modifiers": ""}], [IOP]),
    "add_on_without_primary": ([{"cpt_code": "90833"}],
                               [{"cpt_code": "99214"}, {"cpt_code": "90833"}]),
    "units_over_daily_max": ([{"units": "2"}], [{"units": "1"}]),
    "diagnosis_missing": ([{"diagnosis_codes": ""}], [{}]),
    "diagnosis_invalid": ([{"diagnosis_codes": "F33.7"}], [{"diagnosis_codes": "F33.9"}]),
    "diagnosis_not_billable": ([{"diagnosis_codes": "F33"}], [{"diagnosis_codes": "F32.A"}]),
    "authorization_missing": ([{**IOP, "member_id": "M2"}], [IOP]),
    "authorization_dates": ([{**IOP, "service_date": "2026-07-02"}], [IOP]),
    "authorization_units": ([IOP, {**IOP, "service_date": "2026-06-21"},
                             {**IOP, "service_date": "2026-06-22"}],
                            [IOP, {**IOP, "service_date": "2026-06-21"}]),
    "authorization_number_unknown": ([{"auth_number": "ZZ9"}], [{"auth_number": "A1"}]),
    "provider_not_enrolled": ([{"provider_npi": "1093817465"}], [{}]),
    "license_expired": ([{"service_date": "2026-06-20"}], [{}]),
    "timely_filing": ([{"service_date": "2026-03-01"}], [{"service_date": "2026-06-01"}]),
    "timely_filing_soon": ([{"service_date": "2026-04-10"}], [{"service_date": "2026-06-01"}]),
    "duplicate_line": ([{}, {}], [{}, {"cpt_code": "90785"}]),
}


def test_every_rule_has_its_case() -> None:
    assert set(CASES) == set(RULE_IDS)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_each_edit_fires_on_its_fault_and_stays_quiet_on_a_clean_line(rule, monkeypatch):
    fires, quiet = CASES[rule]
    if rule == "license_expired":  # this roster's licence ended before the date of service
        expired = Roster([Enrollment(provider_npi="1245319599", payer_name="Acme Health",
                                     effective_from="2024-01-01", license_expires="2026-06-01")])
        monkeypatch.setattr(sys.modules[__name__], "ROSTER", expired)
        assert rule in findings(*fires)
        monkeypatch.undo()
        assert rule not in findings(*quiet)
        return
    assert rule in findings(*fires)
    assert rule not in findings(*quiet)
    assert findings(*quiet) <= {"add_on_without_primary"} - {rule} or rule == "duplicate_line"


def test_a_payer_may_turn_an_edit_off_and_a_bad_payer_entry_is_named() -> None:
    off = {"acme health": Payer(name="Acme Health", address=["x"],
                                scrub={"off": ["units_over_daily_max"]})}
    assert "units_over_daily_max" not in findings({"units": "2"}, payers=off)
    bad = {"acme health": Payer(name="Acme Health", address=["x"],
                                scrub={"filing_limit_days": "soon"})}
    with pytest.raises(ScrubRulesError, match="Acme Health: scrub: field 'filing_limit_days'"):
        findings({}, payers=bad)


def test_a_rules_file_lays_over_the_built_in_one_and_a_broken_one_is_refused(tmp_path):
    user = tmp_path / "scrub.yaml"
    user.write_text("daily_max_units: {'90837': 2}\nrules:\n  - {id: duplicate_line, enabled: false}\n")
    rules = load_scrub_rules(user)
    assert rules.daily_max_units["90837"] == 2 and rules.daily_max_units["90834"] == 1
    assert not rules.rule("duplicate_line").enabled and rules.rule("diagnosis_invalid").enabled
    user.write_text("rules:\n  - {id: diagnosis_invalid, severity: fatal}\n")
    with pytest.raises(ScrubRulesError, match="scrub.yaml: field 'rules.6.severity'"):
        load_scrub_rules(user)


# --- the 837P reader ----------------------------------------------------------------------------

def test_the_837_reader_keeps_the_claim_s_own_subscriber_and_each_line_s_position():
    records = [r for r in read(DATA / "x12" /
                               "837p_5010_lfh_cob_example3a.837", claims=True)]
    assert all(isinstance(r, DenialRecord) for r in records) and len(records) == 3
    first = records[0]
    # The other payer's subscriber (NM1*IL T55TY666, after the CLM) is not this claim's.
    assert first.member_id == "111223333" and first.payer_name == "KEY INSURANCE COMPANY"
    assert first.patient_name == "TED SMITH" and first.patient_dob == date(1973, 5, 1)
    assert first.provider_npi == "1999996666" and first.place_of_service == "11"
    assert first.location == "segment 45 (line 45, SV1)"
    assert first.extra["diagnosis_codes_sent"] == "4779;2724;2780;53081"  # ICD-9: for the scrub


def test_a_damaged_837_rejects_the_claim_and_reads_the_rest(tmp_path):
    good = tmp_path / "c.837"
    write_837(good, [Claim("C1", "Acme", "M1", date(2026, 6, 1), (Line("90837"),)),
                     Claim("C2", "Acme", "M2", date(2026, 6, 1), (Line("90834"),))])
    text = good.read_text().replace("CLM*C1*", "CLX*C1*", 1)
    bad = tmp_path / "bad.837"
    bad.write_text(text)
    items = list(read(bad, claims=True))
    rejects = [i for i in items if isinstance(i, Reject)]
    records = [i for i in items if isinstance(i, DenialRecord)]
    assert [r.claim_id for r in records] == ["C2"]
    assert rejects and all("segment" in r.location for r in rejects)


def test_the_wrong_kind_of_x12_is_one_clear_line(tmp_path):
    remit = DATA / "x12" / "835_5010_lfh_managed_care.835"
    with pytest.raises(InputError, match="not an 837 claim file"):
        list(read(remit, claims=True))
    claims = DATA / "x12" / "837p_5010_lfh_example1_commercial.837"
    with pytest.raises(InputError, match="appeals scrub"):
        list(read(claims))
    done = appeals("scrub", remit, "--out", tmp_path / "o")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "error:" in done.stderr and "not an 837" in done.stderr


def test_a_csv_of_claims_needs_no_denial_columns(tmp_path):
    table = tmp_path / "claims.csv"
    table.write_text("claim_id,line_number,payer_name,member_id,service_date,cpt_code,units,"
                     "place_of_service,diagnosis_codes,provider_npi\n"
                     "K1,1,Acme Health,M1,2026-06-20,90837,1,10,F33.1,1245319599\n"
                     "K2,1,Acme Health,M2,2026-06-40,90837,1,11,F33.1,1245319599\n")
    result = scrub([table], tmp_path / "o", as_of=AS_OF)
    assert result.lines == 1 and [f.rule for f in result.findings] == [
        "telehealth_modifier_missing"]
    assert len(result.rejects) == 1 and result.rejects[0].location == "row 3"


# --- roster and authorizations files ------------------------------------------------------------

def test_bad_roster_and_auth_rows_are_named_and_the_rest_kept(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("provider_npi,payer_name,effective_from,effective_to\n"
                      "1245319599,Acme,2024-01-01,\n"
                      "1245319599,Acme,2025-01-01,2024-01-01\n"
                      ",,2024-01-01,\n")
    rows, bad = read_roster(roster)
    assert len(rows) == 1 and [r.location for r in bad] == ["row 3", "row 4"]
    assert "effective_to" in bad[0].field or "effective_to" in bad[0].message
    auths = tmp_path / "auths.csv"
    auths.write_text("member_id,payer_name,auth_number,cpt_codes,start,end,units\n"
                     "M1,Acme,A1,H0015;H0035,2026-06-01,2026-06-30,10\n"
                     "M1,Acme,A2,H0015,2026-06-30,2026-06-01,10\n")
    rows, bad = read_auths(auths)
    assert rows[0].cpt_codes == ["H0015", "H0035"] and bad[0].location == "row 3"
    missing = tmp_path / "no_cols.csv"
    missing.write_text("npi,payer\n1,2\n")
    with pytest.raises(InputError, match="missing column"):
        read_roster(missing)
    done = appeals("scrub", SAMPLES / "claims.837", "--out", tmp_path / "o", "--roster",
                   missing)
    assert done.returncode == 2 and "missing column(s) provider_npi, payer_name" in done.stderr


# --- the watch ----------------------------------------------------------------------------------

def test_the_watch_lists_what_comes_due_and_its_calendar_is_stable(tmp_path):
    auths, _ = read_auths(SAMPLES / "auths.csv")
    roster, _ = read_roster(SAMPLES / "roster.csv")
    items = from_files(auths, roster, date(2026, 6, 20), 30)
    kinds = {(i.kind, i.key) for i in items}
    assert ("authorization_ends", "TH-A4") in kinds and ("units_low", "TH-A13") in kinds
    assert ("review_due", "TH-A4|2026-06-22") in kinds
    assert ("enrolment_ends", "") not in kinds
    first = to_ics(items, date(2026, 6, 20))
    assert first == to_ics(list(reversed(items)), date(2026, 6, 20))  # order-free, byte-stable
    text = first.decode()
    assert text.count("BEGIN:VEVENT") == len(items) and "TH0013" not in text  # no member ids
    later = from_files(auths, roster, date(2026, 6, 21), 30)
    same = {i.uid for i in items} & {i.uid for i in later}
    assert same  # a re-import updates the same events


def test_the_watch_command_writes_the_calendar(tmp_path):
    ics = tmp_path / "due.ics"
    done = appeals("watch", "--auths", SAMPLES / "auths.csv", "--roster", SAMPLES / "roster.csv",
                   "--as-of", "2026-06-20", "--days", "30", "--no-db", "--ics", ics)
    assert done.returncode == 0, done.stderr
    assert "units_low" in done.stdout and ics.read_text().startswith("BEGIN:VCALENDAR")


# --- suggestions from the case store ------------------------------------------------------------

def test_repeated_denials_become_proposals_never_rules(tmp_path):
    from sqlalchemy import insert

    from appeals.scrub.suggest import suggest
    from appeals.store import open_store
    from appeals.store.schema import lines, runs

    engine = open_store(f"sqlite:///{tmp_path / 's.db'}")
    with engine.begin() as conn:
        conn.execute(insert(runs).values(id=1, started_at="2026-06-01T00:00:00Z",
                                         as_of=date(2026, 6, 1), toolkit_version="t",
                                         inputs="[]", lines=4))
        for n, category in enumerate(["authorization"] * 3 + ["coding"], start=1):
            conn.execute(insert(lines).values(
                run_id=1, source_sha="x", location=f"l{n}", fingerprint="", recorded_on=date(
                    2026, 6, 1), payer="acme", payer_name="Acme", claim_id=f"C{n}",
                line_number=1, service_date=date(2026, 5, 1), cpt_code="S9480",
                provider_name="Sam Lee", denied=True, category=category, reason="CO-197",
                billed=Decimal(100), paid=Decimal(0), at_stake=Decimal(100)))
    found = suggest(engine, minimum=3)
    assert [(s.payer, s.code, s.category, s.denials, s.setting) for s in found] == [
        ("Acme", "S9480", "authorization", 3, "authorization_required")]
    assert load_scrub_rules().authorization_required.count("S9480") == 1  # nothing changed


def test_the_watch_gathers_its_sources_in_the_library(tmp_path):
    """`appeals watch` is a thin wrapper: `scrub.watch.watch` reads the files, adds the store's
    items and orders them, and the command prints exactly that."""
    import json

    from appeals.scrub.watch import watch
    from appeals.store import open_store

    day = date(2026, 6, 1)
    engine = open_store(f"sqlite:///{tmp_path / 'w.db'}")
    items, bad = watch(day, 60, auths=SAMPLES / "auths.csv", roster=SAMPLES / "roster.csv",
                       engine=engine)
    assert items and not bad and items == sorted(items, key=lambda i: (i.due, i.kind, i.key))
    done = appeals("watch", "--auths", SAMPLES / "auths.csv", "--roster", SAMPLES / "roster.csv",
                   "--db", f"sqlite:///{tmp_path / 'w.db'}", "--as-of", "2026-06-01",
                   "--days", "60", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert [json.loads(line) for line in done.stdout.splitlines()] == [i.row() for i in items]
    with pytest.raises(InputError):
        watch(day, 14, auths=tmp_path / "missing.csv")
    engine.dispose()
