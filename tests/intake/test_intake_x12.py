"""835 reader: every public sample loads; counts match independent counts; bad files are named."""

from __future__ import annotations

import re
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import X12
from hypothesis import given, settings
from hypothesis import strategies as st

from appeals.intake import InputError, read, x12
from appeals.models import DenialRecord, Reject
from appeals.synthetic.remits import write_835

REMITS = sorted(p for p in X12.iterdir() if p.suffix != ".837" and "837" not in p.name)


def split(items):
    records = [i for i in items if isinstance(i, DenialRecord)]
    rejects = [i for i in items if isinstance(i, Reject)]
    return records, rejects


def naive_counts(path: Path, skip_reversals: bool = False) -> tuple[int, int, int]:
    """Counted by hand-rolled text slicing, independent of the reader: claims, lines, CAS triples.

    The element separator is the 4th byte after any BOM; segments are split on `~` (every 835
    sample ends segments with `~`). A CAS triple counts when its reason position is non-empty.
    `skip_reversals` leaves out claims whose CLP02 is 22 (reversals: not denials, not read).
    """
    text = path.read_bytes().decode("utf-8-sig", "replace").lstrip()
    sep = text[3]
    segs = [s.strip() for s in text.split("~") if s.strip()]
    if skip_reversals:
        kept, reversal = [], False
        for s in segs:
            if s.startswith(f"CLP{sep}"):
                reversal = s.split(sep)[2] == "22"
            elif not s.startswith(("CAS", "SVC", "NM1", "REF", "DTM", "LQ", "AMT", "QTY", "MOA",
                                   "MIA", "PER")):
                reversal = False
            if not reversal:
                kept.append(s)
        segs = kept
    claims = sum(s.startswith(f"CLP{sep}") for s in segs)
    lines = sum(s.startswith(f"SVC{sep}") for s in segs)
    cas = 0
    for s in segs:
        if s.startswith(f"CAS{sep}"):
            el = s.split(sep)
            cas += sum(1 for i in range(2, len(el), 3) if el[i])
    return claims, lines, cas


@pytest.mark.parametrize("path", REMITS, ids=lambda p: p.name)
def test_every_public_835_sample_loads_without_errors(path: Path) -> None:
    records, rejects = split(list(read(path)))
    assert records, "no records"
    assert not [str(r) for r in rejects if r.level != "warning"]  # warnings at most


# Hand counts (each file opened and its CLP, SVC and CAS reason codes counted by eye; the naive
# counter reproduces them): (claims, SVC lines, CAS reason codes, records). A claim without SVC
# lines becomes one record of its own.
HAND = {
    "835_pyx12_mult_loops_co16_n14.txt": (1, 3, 3, 3),
    "835_5010_lfh_secondary_payment.835": (2, 2, 5, 3),
    "835_5010_lfh_managed_care.835": (2, 2, 5, 2),
    "835_4010_oopfactory_adamh_sud_bh.txt": (9, 9, 21, 9),
    "835_4010_tigershark_pipe_delimited.txt": (2, 2, 2, 2),
}


@pytest.mark.parametrize("name", sorted(HAND))
def test_counts_match_hand_counts(name: str) -> None:
    path = X12 / name
    claims, lines, cas, n_records = HAND[name]
    assert naive_counts(path) == (claims, lines, cas)
    records, rejects = split(list(read(path)))
    reversals = [r for r in rejects if r.field == "CLP02"]
    assert not [r for r in reversals if r.level != "warning" or "reverses" not in r.message]
    claims, lines, cas = naive_counts(path, skip_reversals=True)
    assert len(records) == n_records - len(reversals)
    assert len({(r.extra.get("transaction"), r.claim_id) for r in records}) == claims

    def claim_codes(r: DenialRecord) -> list[str]:
        value = r.extra.get("claim_adjustment_codes")
        return value.split(";") if value else []

    # Claim-level CAS is kept once per claim; a line carries it only when it has none of its own.
    line_level = sum(len(r.adjustment_codes) for r in records
                     if r.adjustment_codes != claim_codes(r))
    claim_level = sum(len(claim_codes(r)) for r in {r.claim_id: r for r in records}.values())
    assert line_level + claim_level == cas


def test_large_deidentified_4010_counts() -> None:
    path = X12 / "835_4010_oopfactory_deident_large.dat"
    records, rejects = split(list(read(path)))
    assert naive_counts(path)[1:] == (1552, 2439)  # every line and CAS triple of the file
    # Reversal claims (CLP02 22) are warnings, not records; the rest is read line for line.
    assert {r.field for r in rejects} == {"CLP02"} and len(rejects) == 8
    _claims, lines, cas = naive_counts(path, skip_reversals=True)
    assert len(records) == lines
    assert sum(len(r.adjustment_codes) for r in records) == cas
    # CLP06 "MB" is Medicare Part B: the plan type is known from the remit itself.
    assert {r.plan_type.value for r in records} <= {"medicare", "unknown"}
    assert any(r.plan_type == "medicare" for r in records)


def test_line_fields_are_mapped_from_the_remit() -> None:
    records, _ = split(list(read(X12 / "835_4010_oopfactory_adamh_sud_bh.txt")))
    first = records[0]
    assert first.claim_id == "444444"
    assert first.cpt_code == "H0005" and first.modifiers == ["HF", "H9"]
    assert str(first.billed_amount) == "56.70" and str(first.paid_amount) == "56.52"
    assert first.adjustment_codes == ["CO-42"]
    assert first.service_date.isoformat() == "2004-02-05"
    assert first.denial_date.isoformat() == "2004-03-15"
    assert first.payer_name == "ASHTABULA COUNTY ADAMH BD"
    assert first.location.startswith("segment ") and "line" in first.location
    assert first.denial_reason is None


def test_composite_separator_mismatch_is_resplit_with_a_warning() -> None:
    records, _ = split(list(read(X12 / "835_5010_lfh_secondary_payment.835")))
    line = next(r for r in records if r.cpt_code == "12345")
    assert line.modifiers == ["26"]
    assert any("ISA16" in w for w in line.warnings)


def test_remark_codes_from_lq_and_moa() -> None:
    records, _ = split(list(read(X12 / "835_pyx12_mult_loops_co16_n14.txt")))
    co16 = [r for r in records if "CO-16" in r.adjustment_codes]
    assert co16 and all("N14" in r.remark_codes for r in co16)
    medicare, _ = split(list(read(X12 / "835_5010_lfh_medicare_part_a.835")))
    assert any("MA02" in r.remark_codes for r in medicare)


def test_bad_header_date_falls_back_to_production_date() -> None:
    records, _ = split(list(read(X12 / "835_5010_lfh_managed_care.835")))
    assert records and all(r.denial_date.isoformat() == "2002-03-14" for r in records)
    assert records and all(any("BPR16" in w for w in r.warnings) for r in records)


def test_837_is_refused_with_a_reason() -> None:
    """A claim file is not a remittance: one clear line pointing at the command that reads it."""
    with pytest.raises(InputError, match="an 837 claim file, not a remittance.*appeals scrub"):
        list(read(X12 / "837p_5010_lfh_example1_commercial.837"))


@pytest.fixture
def synthetic(tmp_path: Path) -> Path:
    path = tmp_path / "syn.835"
    write_835(path, claims=40, lines_per_claim=3, seed=3)
    return path


def test_synthetic_835_is_valid_and_balanced(synthetic: Path) -> None:
    text = synthetic.read_text()
    segs = [s.strip() for s in text.split("~") if s.strip()]
    st = segs.index(next(s for s in segs if s.startswith("ST*")))
    se = next(i for i, s in enumerate(segs) if s.startswith("SE*"))
    assert int(segs[se].split("*")[1]) == se - st + 1
    records, rejects = split(list(read(synthetic)))
    assert not rejects and len(records) == 120
    by_claim: dict[str, list[DenialRecord]] = {}
    for r in records:
        by_claim.setdefault(r.claim_id, []).append(r)
    for clp in (s for s in segs if s.startswith("CLP*")):
        el = clp.split("*")
        lines = by_claim[el[1]]
        assert sum(r.billed_amount for r in lines) == Decimal(el[3])
        cas_total = sum(
            Decimal(a.split(":")[1])
            for r in lines for a in r.extra["adjustment_amounts"].split(";"))
        assert Decimal(el[3]) - Decimal(el[4]) == \
            cas_total
    codes = {c for r in records for c in r.adjustment_codes}
    assert {"CO-45"} <= codes and codes & {"CO-197", "CO-50", "CO-151", "CO-B7", "CO-252"}


def test_synthetic_835_is_deterministic(tmp_path: Path) -> None:
    a, b = tmp_path / "a.835", tmp_path / "b.835"
    write_835(a, claims=30, seed=9)
    write_835(b, claims=30, seed=9)
    assert a.read_bytes() == b.read_bytes()


# --- malformed input -----------------------------------------------------------------------

def test_missing_se_is_reported_and_claims_are_kept(tmp_path: Path, synthetic: Path) -> None:
    text = synthetic.read_text()
    bad = tmp_path / "nose.835"
    bad.write_text(re.sub(r"SE\*\d+\*0001~\n", "", text))
    records, rejects = split(list(read(bad)))
    assert len(records) == 120
    assert any(r.field == "envelope" and "no SE" in r.message for r in rejects)


def test_truncated_file_is_fatal_but_complete_claims_are_kept(tmp_path: Path,
                                                              synthetic: Path) -> None:
    text = synthetic.read_text()
    bad = tmp_path / "cut.835"
    bad.write_text(text[: len(text) // 2])
    records, rejects = split(list(read(bad)))
    assert 0 < len(records) < 120
    assert any(r.level == "fatal" for r in rejects)
    assert any("cut off" in r.message or "truncated" in r.message for r in rejects)


def test_wrong_separators_in_isa_are_an_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "sep.835"
    bad.write_text("ISA 00 x 00 y ZZ SENDER~GS*HP~")
    with pytest.raises(InputError, match="separator"):
        list(read(bad))


def test_isa_cut_short_is_an_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "short.835"
    bad.write_text("ISA*00*          *00*")
    with pytest.raises(InputError, match="ISA header"):
        list(read(bad))


def test_bad_value_in_one_claim_rejects_only_that_line(tmp_path: Path, synthetic: Path) -> None:
    text = synthetic.read_text()
    bad = tmp_path / "baddate.835"
    bad.write_text(text.replace("DTM*472*", "DTM*472*2026X", 1))
    records, rejects = split(list(read(bad)))
    assert len(records) == 119
    (reject,) = rejects
    assert reject.field == "service_date" and "segment" in reject.location
    assert "SYN0000001" in reject.location


def test_latin1_and_bom_files_load(tmp_path: Path) -> None:
    src = (X12 / "835_pyx12_mult_loops_co16_n14.txt").read_text()
    latin = tmp_path / "latin.835"
    latin.write_bytes(src.replace("BACH", "BÄCH").encode("latin-1"))
    records, _ = split(list(read(latin)))
    assert records[0].patient_name.endswith("BÄCH")
    bom = tmp_path / "bom.835"
    bom.write_bytes(b"\xef\xbb\xbf" + src.encode())
    assert len(split(list(read(bom)))[0]) == 3


ISA = ("ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *260610*1200*^*"
       "00501*000000001*0*T*:~")


@settings(max_examples=150, deadline=None)
@given(layout=st.lists(st.tuples(
    st.sampled_from(["", "\n", "\r\n", " ", " \n", "\n\n", "\t", "\r\n\r\n "]),  # before
    st.sampled_from(["CLP*1*4*90", "SVC*HC:90837*90", "NTE*two\nlines", ""]),  # "" is ~~
    st.sampled_from(["", " ", "\n", "\r\n"])),  # before its terminator
    max_size=40), chunk=st.sampled_from([7, 64, 1 << 20]))
def test_segments_carry_their_index_and_starting_line(layout, chunk) -> None:
    """Whatever blanks and line breaks surround them, and wherever the reads split the file,
    each segment is found with its ordinal and the line its text starts on."""
    text = ISA + "".join(f"{before}{body}{after}~" for before, body, after in layout)
    expected, offset = [], 0
    for index, part in enumerate(text.split("~")[:-1], start=1):
        body = part.strip(" \t\r\n")
        if body:
            start = offset + part.index(body)
            expected.append((index, text.count("\n", 0, start) + 1, body.split("*")))
        offset += len(part) + 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "layout.835"
        path.write_bytes(text.encode())
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(x12, "CHUNK", chunk)
            found = [s for s in x12.segments(path) if type(s) is tuple]
    assert found == expected
