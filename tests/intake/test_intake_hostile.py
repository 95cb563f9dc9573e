"""Issue 14: no silent loss, no wrong patient. Every input row or service line ends as exactly one
record or one reject, and no line is ever read under a claim or patient it did not come with.

The examples are the findings of the hostile review; the properties (hypothesis) generate
damaged files and check the invariant with an oracle that does not share the readers' code."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appeals.intake import InputError, read
from appeals.models import DenialRecord, Reject
from appeals.synthetic.remits import write_835

HEADER = ["claim_id", "member_id", "patient_name", "adjustment_codes", "denial_reason",
          "billed_amount"]


def split(items) -> tuple[list[DenialRecord], list[Reject]]:
    items = list(items)
    return ([i for i in items if isinstance(i, DenialRecord)],
            [i for i in items if isinstance(i, Reject)])


def export(rows: int) -> str:
    """A CSV export whose every row carries its number in claim id, member id and name."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER)
    for n in range(1, rows + 1):
        w.writerow([f"R{n:04d}", f"M{n:04d}", f"Pat {n:04d}", "CO-50", f"Reason {n}", "150.00"])
    return buf.getvalue()


def same_row(record: DenialRecord) -> bool:
    """Every number a record carries is its own row's."""
    numbers = {m for field in (record.claim_id, record.member_id or "", record.patient_name or "")
               for m in re.findall(r"\d{4}", field)}
    return len(numbers) <= 1


def lines_spanned(item: DenialRecord | Reject) -> int:
    """How many physical lines a record or reject stands for: "row 4" one, "rows 2-3" two."""
    where = item.location or ""
    if where.startswith("rows "):
        first, _, last = where[5:].partition("-")
        return int(last) - int(first) + 1
    return 1


def data_lines(text: str) -> int:
    return sum(1 for line in text.splitlines()[1:] if line.strip())


# --- CSV findings ------------------------------------------------------------------------------
def test_an_unterminated_quote_rejects_its_row_and_swallows_no_other(tmp_path: Path) -> None:
    lines = export(19).splitlines()
    lines[3] = lines[3].replace("Pat 0003", '"Pat 0003')  # the closing quote never comes
    path = tmp_path / "lost_quote.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    records, rejects = split(read(path))
    assert len(records) == 18 and [r.location for r in rejects] == ["row 4"]
    assert "closing quote" in rejects[0].message
    assert records and all(same_row(r) for r in records)
    assert sorted(r.claim_id for r in records) == [f"R{n:04d}" for n in range(1, 20) if n != 3]


def test_a_lost_quote_before_the_last_row_is_caught_too(tmp_path: Path) -> None:
    lines = export(3).splitlines()
    lines[2] = lines[2].replace("Pat 0002", '"Pat 0002')
    path = tmp_path / "near_end.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    records, rejects = split(read(path))
    assert [r.claim_id for r in records] == ["R0001", "R0003"] and len(rejects) == 1


def test_a_quoted_reason_over_several_lines_is_one_row(tmp_path: Path) -> None:
    text = export(2) + 'R0003,M0003,Pat 0003,CO-50,"first line\nsecond line\nthird",150\n'
    path = tmp_path / "multiline.csv"
    path.write_text(text, encoding="utf-8")
    records, rejects = split(read(path))
    assert not rejects and records[-1].location == "rows 4-6"
    assert records[-1].denial_reason.split() == ["first", "line", "second", "line", "third"]


def test_a_value_over_its_limit_rejects_only_its_row_and_is_never_quoted_whole(
        tmp_path: Path) -> None:
    """Limits as data (appeals/data/limits.yaml): a reason over 5,000 characters, a 100 kB claim
    id, a 1 MB reason: each one reject naming the row and the field, quoting a short part; the
    rows around them are read."""
    long_reason = "x" * 200_000  # over the csv module's default 128 KB field limit too
    endless = "y" * 1_100_000
    text = export(1) + f"R0002,M0002,Pat 0002,CO-50,{long_reason},1\n" + \
        f"R0003,M0003,Pat 0003,CO-50,{endless},1\n" + "R0004,M0004,Pat 0004,CO-50,ok,1\n" + \
        f"{'Z' * 100_000},M0005,Pat 0005,CO-50,ok,1\n" + "R0006,M0006,Pat 0006,CO-50,ok,1\n"
    path = tmp_path / "long.csv"
    path.write_text(text, encoding="utf-8")
    records, rejects = split(read(path))
    assert [r.claim_id for r in records] == ["R0001", "R0004", "R0006"]
    assert [r.location for r in rejects] == ["row 3", "row 4", "row 6"]
    assert rejects[0].field == "denial_reason"
    assert rejects[0].message.startswith("200,000 characters, more than the 5,000")
    assert rejects[2].field == "claim_id" and rejects[2].message.startswith("100,000 characters")
    assert rejects and all(len(r.raw) < 2_100 and len(r.message) < 1_100 for r in rejects)


def test_a_row_with_no_code_and_no_reason_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(export(1) + "R0002,M0002,Pat 0002,,,150\n", encoding="utf-8")
    records, rejects = split(read(path))
    assert [r.claim_id for r in records] == ["R0001"]
    assert rejects[0].location == "row 3" and "all empty" in rejects[0].message


# --- 835 findings ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def remit() -> str:
    buf = io.StringIO()
    write_835(buf, claims=6, lines_per_claim=3, seed=4, denial_share=1.0)
    return buf.getvalue()


def claims_and_patients(text: str) -> dict[str, str]:
    """Oracle: claim id -> patient (NM1*QC last name) straight from the segments."""
    out, claim = {}, None
    for seg in text.replace("\n", "").split("~"):
        e = seg.split("*")
        if e[0] == "CLP":
            claim = e[1]
        elif e[0] == "NM1" and len(e) > 3 and e[1] == "QC" and claim:
            out[claim] = e[3]
    return out


def patient_ok(record: DenialRecord, truth: dict[str, str]) -> bool:
    """A record's patient is the one its claim came with (names print as 'FIRST LAST')."""
    return record.claim_id in truth and (record.patient_name or "").endswith(truth[record.claim_id])


def test_a_garbled_clp_rejects_the_damaged_claim_and_attaches_no_line_elsewhere(
        tmp_path: Path, remit: str) -> None:
    truth = claims_and_patients(remit)
    damaged = remit.replace("CLP*SYN0000002", "LP*SYN0000002", 1)
    path = tmp_path / "garbled_clp.835"
    path.write_text(damaged, encoding="ascii")
    records, rejects = split(read(path))
    assert records and all(patient_ok(r, truth) for r in records)
    assert {r.claim_id for r in records} == set(truth) - {"SYN0000001", "SYN0000002"}
    (reject,) = rejects
    assert "'SYN0000001'" in reject.message and "'LP'" in reject.message
    assert reject.location.startswith("segment ")


def test_a_garbled_svc_rejects_its_claim_rather_than_merging_lines(tmp_path: Path,
                                                                   remit: str) -> None:
    start = remit.index("CLP*SYN0000003")
    second_svc = remit.index("SVC*", remit.index("SVC*", start) + 1)
    damaged = remit[:second_svc] + "SV*" + remit[second_svc + 4:]
    path = tmp_path / "garbled_svc.835"
    path.write_text(damaged, encoding="ascii")
    records, rejects = split(read(path))
    assert "SYN0000003" not in {r.claim_id for r in records}
    assert len(rejects) == 1 and "'SYN0000003'" in rejects[0].message


def test_a_garbled_st_is_an_error_not_an_empty_success(tmp_path: Path, remit: str) -> None:
    path = tmp_path / "garbled_st.835"
    path.write_text(remit.replace("ST*835*", "SX*835*", 1), encoding="ascii")
    with pytest.raises(InputError, match="no 835 transaction could be read"):
        list(read(path))
    lost_terminator = remit.replace("005010X221A1~\n", "005010X221A1", 1)
    path.write_text(lost_terminator, encoding="ascii")
    with pytest.raises(InputError, match="no 835 transaction"):
        list(read(path))


def test_an_se_moved_up_names_every_claim_it_cuts_off(tmp_path: Path, remit: str) -> None:
    cut = remit.index("CLP*SYN0000004")
    path = tmp_path / "se_early.835"
    path.write_text(remit[:cut] + "SE*20*0001~\n" + remit[cut:], encoding="ascii")
    records, rejects = split(read(path))
    fatal = [r for r in rejects if r.level == "fatal"]
    assert len(fatal) == 1 and all(f"'SYN000000{n}'" in fatal[0].message for n in (4, 5, 6))
    assert {r.claim_id for r in records} == {f"SYN000000{n}" for n in (1, 2, 3)}


def test_a_body_that_does_not_use_the_declared_separator_says_so(tmp_path: Path,
                                                                 remit: str) -> None:
    head, body = remit.split("~", 1)
    path = tmp_path / "pipes.835"
    path.write_text(head + "~" + body.replace("*", "|"), encoding="ascii")
    with pytest.raises(InputError) as info:
        list(read(path))
    assert "no 835 transaction" in str(info.value)


# --- properties: damaged files never lose a row silently nor move a line -------------------------
@st.composite
def damaged_csv(draw) -> str:
    text = export(draw(st.integers(2, 12)))
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 3))):
        row = draw(st.integers(1, len(lines) - 1))
        line = lines[row]
        at = draw(st.integers(0, max(len(line) - 2, 0)))
        damage = draw(st.sampled_from(['"', "\x00", ",", "", "\u00e9", "y" * 3000, '""']))
        cut = draw(st.booleans())
        lines[row] = line[:at] + damage + line[at + (1 if cut else 0):]
    return "".join(lines)


HOSTILE = settings(max_examples=150, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow,
                                          HealthCheck.function_scoped_fixture])


def read_damaged(folder: Path, name: str, text: str, fmt: str | None = None):
    """(records, rejects) of a damaged file, or None when the whole file is refused, loudly."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    try:
        return split(read(path, fmt=fmt))
    except InputError:
        return None


@HOSTILE
@given(damaged_csv())
def test_every_csv_row_ends_as_one_record_or_one_reject(tmp_path: Path, text: str) -> None:
    if (result := read_damaged(tmp_path, "damaged.csv", text)) is None:
        return
    records, rejects = result
    assert not [r.claim_id for r in records if not same_row(r)]  # none, or each its own row
    # A quote that opens a field and closes on a later line makes one CSV row of several lines:
    # it is read (or rejected) once, naming every line it spans ("rows 2-3"), never dropped.
    assert sum(map(lines_spanned, records + rejects)) == data_lines(text)


@st.composite
def damaged_835(draw, remit: str) -> str:
    segs = remit.split("~")
    body = range(3, len(segs) - 3)  # inside the transaction
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.sampled_from(list(body)))
        kind = draw(st.sampled_from(["garble_tag", "drop", "repeat", "move", "truncate"]))
        seg = segs[i]
        if kind == "garble_tag":
            tag = seg.strip().split("*", 1)[0]
            segs[i] = seg.replace(tag, tag[1:] or "X", 1)
        elif kind == "drop":
            segs[i] = ""
        elif kind == "repeat":
            segs.insert(i, seg)
        elif kind == "move":
            j = draw(st.sampled_from(list(body)))
            segs.insert(j, segs.pop(i))
        else:
            segs = segs[:i]
            break
    return "~".join(s for s in segs if s != "") + "~"


@HOSTILE
@given(data=st.data())
def test_no_835_line_is_read_under_another_claim_or_patient(tmp_path: Path, remit: str,
                                                            data) -> None:
    text = data.draw(damaged_835(remit))
    truth = claims_and_patients(text)
    if (result := read_damaged(tmp_path, "damaged.835", text)) is None:
        return
    records, rejects = result
    assert not [r.claim_id for r in records if not patient_ok(r, truth)]
    for claim in truth:  # every claim the oracle sees is read or named in a reject
        mine = [r for r in records if r.claim_id == claim]
        named = any(claim in (r.message + r.raw) for r in rejects)
        assert mine or named, claim


# --- amounts and dates: one rule each, stated ----------------------------------------------------
@pytest.mark.parametrize("value,fragment", [
    ("-150", "billed_amount: negative"),
    ("(150.00)", "billed_amount: negative"),
    ("150,00", "a decimal comma"),
    ("1E+308", "not an amount"),
    ("99999999", "not a plausible amount"),
])
def test_amounts_that_cannot_be_billed_are_rejected(value: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)):
        DenialRecord(claim_id="A1", adjustment_codes="CO-50", billed_amount=value)


def test_amounts_in_the_usual_spellings_are_read() -> None:
    for value, amount in (("$1,234.50", "1234.50"), ("150", "150"), (".50", "0.50")):
        assert str(DenialRecord(claim_id="A1", billed_amount=value).billed_amount) == amount
    assert DenialRecord(claim_id="A1", paid_amount="(20.00)").paid_amount == -20  # a takeback


def test_paid_more_than_billed_is_kept_with_a_warning_and_nothing_at_stake() -> None:
    r = DenialRecord(claim_id="A1", billed_amount="100", paid_amount="120")
    assert r.amount_at_stake == 0 and "more than billed_amount" in r.warnings[0]


@pytest.mark.parametrize("fields,fragment", [
    ({"service_date": "1899-05-04"}, "service_date: 1899-05-04 is outside 1990-01-01 to 2050-12-31"),
    ({"service_date": "2099-05-04"}, "outside 1990-01-01 to 2050-12-31"),
    ({"denial_date": "2099-01-01"}, "denial_date: 2099-01-01 is outside"),
    ({"patient_dob": "2026-06-01", "service_date": "2026-05-04"}, "after the date of service"),
    ({"patient_dob": "1850-01-01"}, "patient_dob: 1850-01-01 is before 1900-01-01"),
])
def test_dates_outside_their_window_are_rejected(fields: dict, fragment: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)):
        DenialRecord(claim_id="A1", adjustment_codes="CO-50", **fields)


def test_a_negative_amount_never_reaches_a_letter(tmp_path: Path) -> None:
    path = tmp_path / "neg.csv"
    path.write_text(export(1).replace("150.00", "-150"), encoding="utf-8")
    records, rejects = split(read(path))
    assert not records and rejects[0].field == "billed_amount"


# --- the same row or the same file twice is one record ---------------------------------------------
def test_an_exact_duplicate_row_is_read_once_with_a_warning(tmp_path: Path) -> None:
    from appeals.intake import Batch

    lines = export(3).splitlines()
    path = tmp_path / "dup.csv"
    path.write_text("\n".join(lines + [lines[2]]) + "\n", encoding="utf-8")
    batch = Batch([path])
    assert [r.claim_id for r in batch] == ["R0001", "R0002", "R0003"]
    (warning,) = batch.rejects
    assert warning.level == "warning" and warning.location == "row 5"
    assert "claim 'R0002' line 1 repeats an earlier line" in warning.message


def test_the_same_export_given_twice_is_read_once(tmp_path: Path) -> None:
    from appeals.intake import Batch

    first, second = tmp_path / "week.csv", tmp_path / "week-copy.csv"
    first.write_text(export(4), encoding="utf-8")
    second.write_text(export(4), encoding="utf-8")
    batch = Batch([first, second])
    assert len(list(batch)) == 4 and batch.records == 4
    assert [r.message for r in batch.rejects] == [f"the same bytes as {first}: read once"]


def test_a_mistyped_item_id_in_the_facts_file_is_named(tmp_path: Path) -> None:
    from appeals.compose.settings import SettingsError
    from appeals.packet import Settings

    facts = tmp_path / "facts.yaml"
    facts.write_text("D001:\n  why_now: Panic attacks rose.\n  why_nwo: typo\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"facts.yaml: claim 'D001': unknown item id "
                                            r"'why_nwo' \(the known ids: "):
        Settings.load(facts=facts)
    facts.write_text("D001:\n  why_now: Panic attacks rose.\n", encoding="utf-8")
    assert Settings.load(facts=facts).facts == {"D001": {"why_now": "Panic attacks rose."}}


def test_a_folder_given_as_input_stands_for_its_input_files(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from appeals.cli import app
    from appeals.intake import Batch

    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "b.csv").write_text(export(2), encoding="utf-8")
    (folder / "a.csv").write_text(export(1).replace("R0001", "A0001"), encoding="utf-8")
    (folder / "notes.md").write_text("not an input", encoding="utf-8")
    assert [r.claim_id for r in Batch([folder])] == ["A0001", "R0001", "R0002"]
    with pytest.raises(InputError, match="a folder, not a file"):
        list(read(folder))
    result = CliRunner().invoke(app, ["run", str(folder), "--out", str(tmp_path / "out"),
                                      "--workers", "1", "--as-of", "2026-07-01"])
    assert "reading 2 input file(s)" in result.output and "a.csv, b.csv" in result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    assert CliRunner().invoke(app, ["run", str(empty), "--out", str(tmp_path / "o2")]
                              ).exit_code == 2


def test_a_clp_copied_over_a_lost_one_is_not_read_for_the_second_patient(tmp_path: Path,
                                                                         remit: str) -> None:
    """Claim 2's CLP lost and claim 1's repeated in its place: claim 1's id and amounts would
    head claim 2's patient. The copy is rejected and names where the first was read. (Were the
    copy first, the genuine claim would be the one rejected, still naming the other: a
    conflict flagged, not prevented; see README.)"""
    one = remit[remit.index("CLP*SYN0000001"):remit.index("~", remit.index("CLP*SYN0000001"))]
    two = remit[remit.index("CLP*SYN0000002"):remit.index("~", remit.index("CLP*SYN0000002"))]
    path = tmp_path / "copied_clp.835"
    path.write_text(remit.replace(two, one, 1), encoding="ascii")
    records, rejects = split(read(path))
    truth = claims_and_patients(remit)
    names = {r.patient_name for r in records if r.claim_id == "SYN0000001"}
    assert len(names) == 1 and names.pop().endswith(truth["SYN0000001"])
    (reject,) = rejects
    assert "the same CLP was read at segment 16" in reject.message


@st.composite
def damaged_jsonl(draw) -> str:
    import json

    lines = [json.dumps({"claim_id": f"R{n:04d}", "member_id": f"M{n:04d}",
                         "patient_name": f"Pat {n:04d}", "adjustment_codes": "CO-50",
                         "billed_amount": "150.00"}) for n in range(1, draw(st.integers(2, 8)))]
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        at = draw(st.integers(0, len(lines[i])))
        lines[i] = lines[i][:at] + draw(st.sampled_from(['"', "}", ",", "\x00", "[", ""])) + \
            lines[i][at + draw(st.integers(0, 2)):]
    return "\n".join(lines) + "\n"


@HOSTILE
@given(damaged_jsonl())
def test_every_json_line_ends_as_one_record_or_one_reject(tmp_path: Path, text: str) -> None:
    if (result := read_damaged(tmp_path, "damaged.jsonl", text, fmt="jsonl")) is None:
        return
    records, rejects = result
    assert not [r.claim_id for r in records if not same_row(r)]
    assert len(records) + len(rejects) == sum(1 for line in text.splitlines() if line.strip())


def test_a_megabyte_claim_id_in_an_835_is_one_reject(tmp_path: Path, remit: str) -> None:
    """Once a 1 MB claim id stopped the week in the triage PDF's layout; now it never gets past
    intake, and the other claims are read."""
    huge = remit.replace("CLP*SYN0000002", "CLP*" + "9" * 1_000_000, 1)
    path = tmp_path / "huge.835"
    path.write_text(huge, encoding="utf-8")
    records, rejects = split(read(path))
    assert records and all(len(r.claim_id) <= 100 for r in records)
    assert any(r.field == "claim_id" and r.message.startswith("1,000,000 characters")
               for r in rejects)
    assert rejects and all(len(r.raw) < 2_100 for r in rejects)


def test_a_nul_byte_in_one_cell_rejects_its_row_not_the_file(tmp_path: Path) -> None:
    """Once one NUL byte in one cell refused the whole CSV as a binary file."""
    text = export(3).replace("Pat 0002", "Pat\x000002")
    path = tmp_path / "nul.csv"
    path.write_bytes(text.encode("utf-8"))
    records, rejects = split(read(path))
    assert [r.claim_id for r in records] == ["R0001", "R0003"]
    assert [(r.location, r.field) for r in rejects] == [("row 3", "patient_name")]
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes(export(3).encode("utf-16-le"))  # a binary-looking file is still refused
    with pytest.raises(InputError, match="binary file"):
        list(read(utf16))


def test_a_line_break_inside_a_quoted_id_is_one_reject_and_no_phantom_record(
        tmp_path: Path) -> None:
    """Once it gave both a reject and a phantom record whose claim id was the second half."""
    text = export(3).replace("R0002,", '"R00\n02",', 1)
    path = tmp_path / "split.csv"
    path.write_text(text, encoding="utf-8")
    records, rejects = split(read(path))
    assert [r.claim_id for r in records] == ["R0001", "R0003"]
    assert [(r.location, r.field) for r in rejects] == [("rows 3-4", "claim_id")]


def test_one_windows_row_in_a_utf8_export_garbles_no_other_name(tmp_path: Path) -> None:
    """Once one Latin-1 row made the whole file read as Latin-1 (every other patient's name
    garbled, no warning) and cp1252 curly quotes read as control characters."""
    rows = [b"claim_id,member_id,patient_name,adjustment_codes,denial_reason,billed_amount",
            "R1,M1,Zoë Martínez,CO-50,ok,100".encode(),
            'R2,M2,José “Pepe” Ruiz,CO-50,ok,100'.encode("cp1252"),
            "R3,M3,Ana Peña,CO-50,ok,100".encode()]
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"\n".join(rows) + b"\n")
    records, rejects = split(read(path))
    assert [r.patient_name for r in records] == ["Zoë Martínez", "José “Pepe” Ruiz", "Ana Peña"]
    assert [(r.location, r.field, r.level) for r in rejects] == [
        ("line 3", "encoding", "warning")]
    assert "Windows-1252" in rejects[0].message


def test_a_lost_segment_terminator_is_a_warning_naming_the_field(tmp_path: Path,
                                                                remit: str) -> None:
    """Once a lost `~` gave member id '456789123NM1' with no warning."""
    flat = remit.replace("~\n", "~")  # one line, as most payers send it
    start = flat.index("NM1*QC")
    end = flat.index("~", start)
    damaged = flat[:end] + flat[end + 1:]  # NM1*QC...*MI*ID runs into the next NM1 segment
    path = tmp_path / "lost.835"
    path.write_text(damaged, encoding="utf-8")
    records, _ = split(read(path))
    joined = [r for r in records if r.member_id and r.member_id.endswith("NM1")]
    assert joined and all(any("member_id: 'NM1' at its end is a segment's name" in w
                              for w in r.warnings) for r in joined)


def test_a_clp_copied_into_another_transaction_for_another_patient_is_rejected(
        tmp_path: Path, remit: str) -> None:
    """Once the same-transaction copy was flagged but a copy in another transaction of the file
    output the claim twice under two patients with no warning."""
    head, rest = remit.split("ST*835*", 1)
    body, tail = ("ST*835*" + rest).split("GE*", 1)
    start = body.index("CLP*SYN0000001")
    nm1 = body.index("NM1*QC*1*", start)
    last = body[nm1 + len("NM1*QC*1*"):].split("*", 1)[0]
    second = body.replace("ST*835*0001", "ST*835*0002").replace("SE*", "SE*", 1)
    second = second[:nm1] + second[nm1:].replace(f"NM1*QC*1*{last}*", "NM1*QC*1*OTHERPERSON*", 1)
    path = tmp_path / "two.835"
    path.write_text(head + body + second + "GE*" + tail.replace("GE*1*", "GE*2*", 1),
                    encoding="utf-8")
    records, rejects = split(read(path))
    assert not [r for r in records if r.claim_id == "SYN0000001"
                and (r.patient_name or "").upper().startswith("OTHERPERSON")]
    assert any("the same CLP was read at" in r.message and "another patient" in r.message
               for r in rejects)


def test_a_lost_clp_names_where_the_other_claim_begins_and_counts_its_lines(
        tmp_path: Path, remit: str) -> None:
    """Once a lost CLP made the next claim's lines vanish into the previous claim's reject,
    unnamed and uncounted."""
    start = remit.index("CLP*SYN0000003")
    end = remit.index("~", start) + 1
    path = tmp_path / "lost_clp.835"
    path.write_text(remit[:start] + remit[end:].lstrip("\n"), encoding="utf-8")
    records, rejects = split(read(path))
    merged = [r for r in rejects if "another claim's whose CLP was lost" in r.message]
    assert len(merged) == 1
    assert "6 service lines with it" in merged[0].message  # 3 lines each, both claims'
    assert "SYN0000003" not in {r.claim_id for r in records}


# --- 837P: every line one record or one reject, never under another patient ----------------------
@pytest.fixture(scope="module")
def claims837() -> str:
    from datetime import date

    from appeals.synthetic.claims import Claim, Line, write_837

    buf = io.StringIO()
    write_837(buf, [Claim(f"K{n:03d}", "Blue Ridge Health", f"M{n:04d}", date(2026, 6, n),
                          tuple(Line(code) for code in ("90837", "90785")[:1 + n % 2]),
                          member=(f"PAT{n:04d}", "SAM")) for n in range(1, 7)])
    return buf.getvalue()


def lines_837(text: str) -> dict[str, int]:
    """Oracle: claim id -> the SV1 lines after its CLM, from the segments alone."""
    out: dict[str, int] = {}
    claim = None
    for seg in text.replace("\n", "").split("~"):
        e = seg.split("*")
        if e[0] == "HL":
            claim = None
        elif e[0] == "CLM" and len(e) > 1:
            claim = e[1]
            out.setdefault(claim, 0)
        elif e[0] == "SV1" and claim:
            out[claim] += 1
    return out


@HOSTILE
@given(data=st.data())
def test_no_837_line_is_read_under_another_patient_or_lost(tmp_path: Path, claims837: str,
                                                          data) -> None:
    text = data.draw(damaged_835(claims837))  # the same damage: garble, drop, repeat, move, cut
    truth = lines_837(text)
    path = tmp_path / "damaged.837"
    path.write_text(text, encoding="ascii")
    try:
        records, rejects = split(read(path, claims=True))
    except InputError:
        return
    for r in records:  # claim K004 was made for member M0004: that one, or none at all
        assert r.claim_id in truth and (r.member_id or "M" + r.claim_id[1:]).endswith(
            r.claim_id[1:]), (r.claim_id, r.member_id)
    for claim, lines in truth.items():
        mine = [r for r in records if r.claim_id == claim]
        named = any(claim in (r.message + r.raw) for r in rejects)
        assert len(mine) == lines or named, (claim, len(mine), lines)


@pytest.mark.parametrize("damage,named", [
    # the HL before K004's loop lost: its subscriber's NM1*IL read as K003's other insurer's
    (lambda t: t.replace("HL*5*1*22*0~\n", ""), "K004"),
    # K001's subscriber segment moved into K003's loop: two subscribers, which one is K003's?
    (lambda t: t.replace("NM1*IL*1*PAT0001*SAM****MI*M0001~\n", "").replace(
        "NM1*IL*1*PAT0003*SAM****MI*M0003~\n",
        "NM1*IL*1*PAT0003*SAM****MI*M0003~\nNM1*IL*1*PAT0001*SAM****MI*M0001~\n"), "K003"),
    # K002's CLM moved into K001's lines: K001's second line would be read as K002's
    (lambda t: t.replace("CLM*K002*150.00***11:B:1*Y*A*Y*Y~\n", "").replace(
        "LX*2~\nSV1*HC:90785*150.00*UN*1***1~\nDTP*472*D8*20260601~",
        "LX*2~\nCLM*K002*150.00***11:B:1*Y*A*Y*Y~\nSV1*HC:90785*150.00*UN*1***1~\n"
        "DTP*472*D8*20260601~"), "K002"),
    # K001's CLM moved after K003's first line, whose LX is lost: K001 would take K003's lines
    # and patient (found by the fuzz property under xdist, 2026-12-08)
    (lambda t: t.replace("CLM*K001*300.00***11:B:1*Y*A*Y*Y~\n", "").replace(
        "CLM*K003*300.00***11:B:1*Y*A*Y*Y~\nHI*ABK:F331~\nNM1*82*1*LEE*SAM****XX*1245319599~\n"
        "LX*1~\nSV1*HC:90837*150.00*UN*1***1~\n",
        "CLM*K003*300.00***11:B:1*Y*A*Y*Y~\nSV1*HC:90837*150.00*UN*1***1~\n"
        "CLM*K001*300.00***11:B:1*Y*A*Y*Y~\nHI*ABK:F331~\nNM1*82*1*LEE*SAM****XX*1245319599~\n"
        "LX*1~\nSV1*HC:90837*150.00*UN*1***1~\n"), "K001"),
])
def test_an_837_claim_whose_patient_the_damage_hides_is_named_not_guessed(
        tmp_path: Path, claims837: str, damage, named: str) -> None:
    path = tmp_path / "damaged.837"
    path.write_text(damage(claims837), encoding="ascii")
    records, rejects = split(read(path, claims=True))
    assert named not in {r.claim_id for r in records}
    [reject] = [r for r in rejects if f"claim {named!r}" in r.message]
    assert "not read (" in reject.message.lower() and "service line" in reject.message
    for r in records:  # its own member, or none where the damage took it
        assert r.member_id in (None, "M" + r.claim_id[1:].rjust(4, "0")), r.claim_id
