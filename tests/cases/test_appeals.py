"""The appeal as the unit of work: the denied lines of one claim (or episode) that share a category
get one letter, one letter of medical necessity and one checklist; a line denied again after its
appeal was sent is the payer's decision on that level; the worklist is the open work; a store
written by the per-line version merges into appeals with its history."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from helpers import write_csv
from pypdf import PdfReader
from sqlalchemy import select

from appeals.appeal import Appeal, Grouper, assess, group
from appeals.intake import read
from appeals.models import DenialRecord
from appeals.pipeline import RunConfig, run
from appeals.settings import Settings
from appeals.store import case_history, mark, open_store
from appeals.store.engine import _alembic
from appeals.store.schema import appeal_lines, cases, events, filings

HEADER = ["claim_id", "line_number", "payer_name", "plan_type", "plan_funding", "employer_size",
          "plan_state", "member_id", "patient_name", "provider_name", "provider_npi",
          "service_date", "cpt_code", "units", "level_of_care", "billed_amount", "paid_amount",
          "denial_date", "adjustment_codes", "remark_codes", "denial_reason"]
AS_OF = date(2026, 7, 1)
#: The send gate refuses a draft packet: these tests are about the store, not the letter.
DRAFT = "a test of the store, not of the letter"


def line(claim: str, n: int, day: str, *, codes: str = "CO-197", cpt: str = "S9480",
         billed: str = "450.00", paid: str = "0.00", member: str = "M77", patient: str =
         "Olivia Grant", denied_on: str = "2026-06-10", care: str = "iop",
         remarks: str = "") -> dict:
    return {"claim_id": claim, "line_number": n, "payer_name": "Blue Ridge Health",
            "plan_type": "employer_group", "plan_funding": "self_funded", "employer_size": "300",
            "plan_state": "NC", "member_id": member, "patient_name": patient,
            "provider_name": "Lakeside Counseling Group", "provider_npi": "1245319599",
            "service_date": day, "cpt_code": cpt, "units": "1", "level_of_care": care,
            "billed_amount": billed, "paid_amount": paid, "denial_date": denied_on,
            "adjustment_codes": codes, "remark_codes": remarks, "denial_reason": ""}


def write(path: Path, rows: list[dict]) -> Path:
    return write_csv(path, rows, HEADER)


IOP_WEEK = [line("IOP1", n, f"2026-06-0{n}") for n in range(1, 5)]


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def read_records(path: Path) -> list[DenialRecord]:
    return [r for r in read(path) if isinstance(r, DenialRecord)]


def worklist(out: Path) -> list[dict]:
    with (out / "worklist.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_a_four_day_iop_claim_is_one_appeal_with_every_date_and_the_total(tmp_path: Path
                                                                          ) -> None:
    out = tmp_path / "out"
    result = run(RunConfig(inputs=[write(tmp_path / "w.csv", IOP_WEEK)], out=out, workers=1,
                           as_of=AS_OF))
    assert result.packets_written == 1
    folders = sorted(p.name for p in (out / "packets").iterdir())
    assert folders == ["IOP1-1"]
    letter = pdf_text((out / "packets" / "IOP1-1" / "appeal_letter.pdf").read_bytes())
    flat = " ".join(letter.split())
    for day in ("June 1, 2026", "June 2, 2026", "June 3, 2026", "June 4, 2026"):
        assert day in flat
    assert "$1,800.00" in flat and "Total" in flat
    assert "IOP1, lines 1, 2, 3 and 4" in flat
    assert "line 1" not in flat.replace("lines 1", "")  # never a single line's letter
    checklists = list((out / "packets").glob("*/clinician_checklist.pdf"))
    assert len(checklists) == 1
    summary = json.loads((out / "packets" / "IOP1-1" / "packet.json").read_text())
    assert [ln["line_number"] for ln in summary["lines"]] == [1, 2, 3, 4]
    assert summary["deadline_is"] == "the earliest of the lines' deadlines"
    rows = worklist(out)
    assert len(rows) == 1 and rows[0]["lines"] == "4" and rows[0]["at_stake"] == "1800.00"
    assert rows[0]["service_date"] == "2026-06-01 to 2026-06-04"


def test_a_claim_with_a_coding_line_and_two_necessity_lines_is_two_appeals(tmp_path: Path
                                                                          ) -> None:
    rows = [line("MIX1", 1, "2026-06-01", codes="CO-4", remarks="N822", cpt="90837",
                 care="outpatient"),
            line("MIX1", 2, "2026-06-01", codes="CO-50", cpt="90838", care="outpatient"),
            line("MIX1", 3, "2026-06-08", codes="CO-50", cpt="90838", care="outpatient")]
    out = tmp_path / "out"
    run(RunConfig(inputs=[write(tmp_path / "w.csv", rows)], out=out, workers=1, as_of=AS_OF))
    folders = {p.name: sorted(f.name for f in p.glob("*.pdf")) for p in (out / "packets").iterdir()}
    assert set(folders) == {"MIX1-1", "MIX1-2"}
    assert "corrected_claim_cover.pdf" in folders["MIX1-1"]
    assert "appeal_letter.pdf" not in folders["MIX1-1"]
    assert "appeal_letter.pdf" in folders["MIX1-2"]
    assert "medical_necessity_letter.pdf" in folders["MIX1-2"]
    summary = json.loads((out / "packets" / "MIX1-2" / "packet.json").read_text())
    assert [ln["line_number"] for ln in summary["lines"]] == [2, 3]


def test_lines_of_one_claim_naming_two_members_are_never_one_appeal(tmp_path: Path) -> None:
    rows = [line("TWO1", 1, "2026-06-01"), line("TWO1", 2, "2026-06-02", member="M99",
                                                patient="Someone Else")]
    out = tmp_path / "out"
    run(RunConfig(inputs=[write(tmp_path / "w.csv", rows)], out=out, workers=1, as_of=AS_OF))
    assert sorted(p.name for p in (out / "packets").iterdir()) == ["TWO1-1", "TWO1-2"]
    rejects = (out / "rejects.csv").read_text(encoding="utf-8")
    assert "claim TWO1: its denied lines name different patients, members or payers" in rejects
    assert "M99" not in rejects and "Someone Else" not in rejects  # the warning names the claim


def test_lines_of_one_claim_naming_two_payers_are_two_appeals_and_a_warning(tmp_path: Path
                                                                          ) -> None:
    rows = [line("PY1", 1, "2026-06-01"), dict(line("PY1", 2, "2026-06-02"),
                                                payer_name="Rushmore Life")]
    settings = Settings(as_of=AS_OF)
    lines = [assess(r, settings) for r in read_records(write(tmp_path / "w.csv", rows))]
    with Grouper() as grouper:
        units = list(grouper.add_all(lines).units())
        assert len(units) == 2
        assert [m for _, m in grouper.warnings] == [
            ("claim PY1: its denied lines name different patients, members or payers; they are "
            "kept as separate appeals (check the claim's lines)")]


def test_a_name_written_last_first_is_the_same_patient(tmp_path: Path) -> None:
    rows = [line("NM1", 1, "2026-06-01"), line("NM1", 2, "2026-06-02", patient="GRANT, OLIVIA")]
    settings = Settings(as_of=AS_OF)
    records = list(read_records(write(tmp_path / "w.csv", rows)))
    units = group([assess(r, settings) for r in records])
    assert len(units) == 1 and isinstance(units[0], Appeal) and len(units[0].lines) == 2


def test_episode_grouping_joins_claims_of_one_stay_and_names_every_claim(tmp_path: Path) -> None:
    rows = [line("EP1", 1, "2026-06-01"), line("EP1", 2, "2026-06-02"),
            line("EP2", 1, "2026-06-05"), line("EP3", 1, "2026-05-05")]
    settings = Settings(as_of=AS_OF)
    lines = [assess(r, settings) for r in read_records(write(tmp_path / "w.csv", rows))]
    by_claim = group(lines, "claim")
    assert sorted(len(u.lines) for u in by_claim) == [1, 1, 2]
    by_episode = group(lines, "episode")
    assert sorted(len(u.lines) for u in by_episode) == [1, 3]  # EP3 is 27 days earlier
    org = tmp_path / "org.yaml"
    org.write_text("name: Lakeside\ngroup_by: episode\n", encoding="utf-8")
    out = tmp_path / "out"
    run(RunConfig(inputs=[tmp_path / "w.csv"], out=out, workers=1, as_of=AS_OF, org=org))
    letter = " ".join(pdf_text((out / "packets" / "EP1-1" / "appeal_letter.pdf").read_bytes())
                      .split())
    assert "EP1" in letter and "EP2" in letter and "EP3" not in letter


def test_the_grouping_does_not_depend_on_the_input_order(tmp_path: Path) -> None:
    settings = Settings(as_of=AS_OF)
    records = list(read_records(write(tmp_path / "w.csv", IOP_WEEK + [
        line("OTHER", 1, "2026-06-03", codes="CO-50", care="outpatient", cpt="90837")])))
    lines = [assess(r, settings) for r in records]
    forward = [(u.key, [ln.record.line_number for ln in u.lines]) for u in group(lines)]
    backward = [(u.key, [ln.record.line_number for ln in u.lines])
                for u in group(list(reversed(lines)))]
    assert sorted(forward) == sorted(backward)
    with Grouper() as grouper:
        grouper.add_all(lines)
        assert len(grouper) == 5
        path = grouper.path
        assert path.stat().st_mode & 0o777 == 0o600  # it holds names
    assert not path.exists()


def _week2(tmp_path: Path, rows: list[dict]) -> Path:
    return write(tmp_path / "week2.csv", rows)


def test_week_two_a_denial_after_sent_is_the_decision_and_a_payment_the_overturn(
        db_url: str, tmp_path: Path) -> None:
    week1 = write(tmp_path / "week1.csv", IOP_WEEK + [
        line("PAY1", 1, "2026-06-01", codes="CO-50", cpt="90837", care="outpatient")])
    run(RunConfig(inputs=[week1], out=tmp_path / "w1", workers=1, as_of=AS_OF, db=db_url))
    engine = open_store(db_url)
    with engine.connect() as conn:
        assert conn.execute(select(sa.func.count()).select_from(cases)).scalar_one() == 2
        assert conn.execute(select(sa.func.count()).select_from(appeal_lines)
                            ).scalar_one() == 5
    mark(engine, "IOP1-3", "sent", override=DRAFT, on=date(2026, 7, 2), method="fax", who="biller")
    mark(engine, "PAY1-1", "sent", override=DRAFT, on=date(2026, 7, 2), method="portal", who="biller")
    letter = tmp_path / "w1" / "packets" / "IOP1-1" / "appeal_letter.pdf"
    sent_letter = letter.read_bytes()
    # Week 2: the payer's next remittance denies the IOP days again and pays the other claim.
    again = [dict(r, denial_date="2026-08-01") for r in IOP_WEEK]
    paid = [line("PAY1", 1, "2026-06-01", codes="CO-45", cpt="90837", care="outpatient",
                 paid="450.00", denied_on="2026-08-01")]
    out = tmp_path / "w1"  # the same folder, the week after
    result = run(RunConfig(inputs=[_week2(tmp_path, again + paid)], out=out, workers=1,
                           as_of=date(2026, 8, 3), db=db_url))
    assert result.packets_written == 0  # no fresh first-level letter
    assert letter.read_bytes() == sent_letter  # the sent letter is kept as it went out
    iop = case_history(engine, "IOP1-1", as_of=date(2026, 8, 3))
    assert iop["status"] == "upheld" and iop["level"] == 2
    # ERISA's second internal level, which the plan's own documents date (none in the registry)
    assert iop["next_level"] == "second_internal_appeal"
    decision = [e for e in iop["events"] if e["kind"] == "outcome"][-1]
    assert decision["on"] == "2026-08-01" and decision["who"] == "remittance"
    assert "the payer's decision on the appeal (level 1), upheld" in decision["note"]
    assert [(f["level"], f["method"], f["decision"], f["decided_on"]) for f in iop["filings"]
            ] == [(1, "fax", "upheld", "2026-08-01")]
    assert len(iop["appeal_lines"]) == 4
    pay = case_history(engine, "PAY1-1")
    assert pay["status"] == "overturned" and pay["filings"][0]["decision"] == "overturned"
    rows = {r["claim_id"]: r for r in worklist(out)}
    assert rows["IOP1"]["status"] == "upheld" and rows["IOP1"]["level"] == iop["next_level"]
    assert rows["IOP1"]["deadline"] == iop["deadline"]
    assert "PAY1" not in rows  # decided: no longer open work
    engine.dispose()


def test_the_worklist_carries_open_appeals_from_earlier_weeks(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    run(RunConfig(inputs=[write(tmp_path / "a.csv", IOP_WEEK)], out=tmp_path / "o1", workers=1,
                  as_of=AS_OF, db=db))
    other = [line("NEW1", 1, "2026-06-02", codes="CO-50", cpt="90837", care="outpatient")]
    run(RunConfig(inputs=[write(tmp_path / "b.csv", other)], out=tmp_path / "o2", workers=1,
                  as_of=date(2026, 7, 8), db=db))
    rows = worklist(tmp_path / "o2")
    assert sorted(r["claim_id"] for r in rows) == ["IOP1", "NEW1"]
    carried = next(r for r in rows if r["claim_id"] == "IOP1")
    assert carried["source"] == "case store" and carried["lines"] == "4"
    assert carried["deadline"] and carried["days_left"]


def test_an_unchanged_reexport_is_not_a_new_denial_this_week(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    first = write(tmp_path / "a.csv", IOP_WEEK)
    run(RunConfig(inputs=[first], out=tmp_path / "o1", workers=1, as_of=AS_OF, db=db))
    second = tmp_path / "b.csv"
    second.write_bytes(first.read_bytes() + b"\n")  # another file, the same denials
    run(RunConfig(inputs=[second], out=tmp_path / "o2", workers=1, as_of=date(2026, 7, 8),
                  db=db))
    engine = open_store(db)
    with engine.connect() as conn:  # closed: an open SQLite transaction holds the write lock
        history = conn.execute(sa.text(
            "SELECT COUNT(*) FROM lines WHERE seen_before = 1")).scalar_one()
    assert history == 4
    assert case_history(engine, "IOP1-1")["repeat_count"] == 0
    from appeals.store.history import history as weekly

    week = weekly(engine, date(2026, 7, 8))["weeks"]
    assert week["denied_this_week"] == 0  # the re-export is not this week's denial
    assert weekly(engine, AS_OF)["weeks"]["denied_this_week"] == 4
    engine.dispose()


def test_a_store_of_per_line_cases_merges_into_appeals_keeping_history(tmp_path: Path) -> None:
    """A store at schema 0003 (one case per line), as the per-line version wrote it: three lines
    of one claim and category, one of them sent, migrate into appeals with nothing dropped."""
    db = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(db)
    with engine.begin() as conn:
        command.upgrade(_alembic(conn), "0003")
        conn.execute(sa.text(
            "INSERT INTO runs (id, started_at, as_of, toolkit_version, inputs, lines) "
            "VALUES (1, '2026-06-11T00:00:00+00:00', '2026-06-11', '0.1.0', '[]', 3)"))
        for n, status in ((1, "to_work"), (2, "to_work"), (3, "sent")):
            record = json.dumps({"claim_id": "OLD1", "line_number": n,
                                 "patient_name": "Olivia Grant", "denial_date": "2026-06-10"})
            conn.execute(sa.text(
                "INSERT INTO cases (id, case_key, payer, payer_name, claim_id, line_number, "
                "service_date, cpt_code, member_id, provider, category, action, owner, reason, "
                "plan, status, deadline, billed, paid, at_stake, recovered, repeat_count, "
                "first_seen, last_seen, last_fingerprint, levels_upheld, record) VALUES "
                f"({n}, 'blue ridge health|OLD1|{n}|2026-06-0{n}|S9480', 'blue ridge health', "
                f"'Blue Ridge Health', 'OLD1', {n}, '2026-06-0{n}', 'S9480', 'M77', "
                "'1245319599', 'authorization', 'appeal', 'billing', 'CO-197', 'erisa', "
                f"'{status}', '2026-12-07', 450, 0, 450, 0, 0, '2026-06-11', '2026-06-11', "
                f"'f{n}', 0, :record)"), {"record": record})
            conn.execute(sa.text(
                "INSERT INTO events (case_id, at, on_date, who, kind, to_status, run_id) "
                f"VALUES ({n}, '2026-06-11T00:00:0{n}+00:00', '2026-06-11', 'appeals run', "
                "'opened', 'to_work', 1)"))
            conn.execute(sa.text(
                "INSERT INTO lines (run_id, source_sha, location, fingerprint, case_id, "
                "recorded_on, payer, payer_name, claim_id, line_number, cpt_code, "
                "provider_name, denied, category, reason, billed, paid, at_stake) VALUES "
                f"(1, 'sha', 'row {n}', 'f{n}', {n}, '2026-06-11', 'blue ridge health', "
                f"'Blue Ridge Health', 'OLD1', {n}, 'S9480', 'Lakeside', 1, 'authorization', "
                "'CO-197', 450, 0, 450)"))
        conn.execute(sa.text(
            "INSERT INTO events (case_id, at, on_date, who, kind, from_status, to_status, "
            "method) VALUES (3, '2026-06-20T00:00:00+00:00', '2026-06-20', 'biller', 'mark', "
            "'to_work', 'sent', 'fax')"))
    engine.dispose()
    engine = open_store(db)  # migrates to head
    with engine.connect() as conn:
        found = conn.execute(select(cases.c.id, cases.c.status, cases.c.at_stake)
                             .order_by(cases.c.id)).all()
        assert [(i, s, str(a)) for i, s, a in found] == [(1, "to_work", "900.00"),
                                                         (3, "sent", "450.00")]
        assert conn.execute(select(sa.func.count()).select_from(appeal_lines)).scalar_one() == 3
        assert conn.execute(select(sa.func.count()).select_from(events)).scalar_one() == 5
        assert conn.execute(sa.text("SELECT COUNT(*) FROM lines WHERE case_id = 1")
                            ).scalar_one() == 2
        merged = conn.execute(select(events.c.note).where(events.c.kind == "merged")).all()
        assert len(merged) == 1 and "cases 2 merged" in merged[0][0]
        assert conn.execute(select(filings.c.case_id, filings.c.level, filings.c.method)).all(
        ) == [(3, 1, "fax")]
    assert case_history(engine, "OLD1-2")["case_id"] == 1  # any of its lines finds the appeal
    engine.dispose()


@pytest.mark.parametrize("workers", [1, 2])
def test_one_worker_or_several_give_the_same_appeal_packets(tmp_path: Path, workers: int
                                                            ) -> None:
    inp = write(tmp_path / "w.csv", IOP_WEEK)
    out = tmp_path / f"o{workers}"
    run(RunConfig(inputs=[inp], out=out, workers=workers, as_of=AS_OF))
    files = json.loads((out / "manifest.json").read_text())["files"]
    reference = tmp_path / "ref.json"
    packets = {k: v for k, v in files.items() if k.startswith("packets/")}
    if reference.exists():
        assert json.loads(reference.read_text()) == packets
    assert len(packets) > 5
    again = run(RunConfig(inputs=[inp], out=out, workers=workers, as_of=AS_OF))
    assert again.packets_unchanged == 1 and again.packets_written == 0
    rerun = json.loads((out / "manifest.json").read_text())["files"]
    assert {k: v for k, v in rerun.items() if k.startswith("packets/")} == packets


def test_the_desk_rebuilds_the_whole_appeal_from_the_store(tmp_path: Path) -> None:
    """The review desk's rebuild (after the clinician's answers) makes the appeal's packet from
    every line the store holds for it, not from one line."""
    from appeals.packet import make_packet
    from appeals.store.cases import appeal_of_case

    db = f"sqlite:///{tmp_path / 's.db'}"
    run(RunConfig(inputs=[write(tmp_path / "a.csv", IOP_WEEK)], out=tmp_path / "o", workers=1,
                  as_of=AS_OF, db=db))
    engine = open_store(db)
    case_id = case_history(engine, "IOP1-2")["case_id"]
    appeal = appeal_of_case(engine, case_id, Settings(as_of=AS_OF))
    assert [ln.record.line_number for ln in appeal.lines] == [1, 2, 3, 4]
    rebuilt = make_packet(appeal, Settings(as_of=AS_OF))
    built = json.loads((tmp_path / "o" / "packets" / "IOP1-1" / "packet.json").read_text())
    assert rebuilt.summary["lines"] == built["lines"]
    assert {f["name"]: f["sha256"] for f in rebuilt.summary["files"]} == {
        f["name"]: f["sha256"] for f in built["files"]}  # the same letters, byte for byte
    engine.dispose()


def test_a_malformed_grouping_rule_names_the_file_and_the_field(tmp_path: Path) -> None:
    from appeals.appeal import GroupingError, load_grouping

    bad = tmp_path / "grouping.yaml"
    bad.write_text("schema_version: 1\nidentity: [payer]\nclaim: {same: [claim_id, colour]}\n"
                   "episode: {same: [payer], gap_days: 7}\n", encoding="utf-8")
    with pytest.raises(GroupingError, match=r"grouping.yaml: field 'claim.same.1'"):
        load_grouping(bad)


def test_lines_with_different_windows_are_filed_by_the_earliest_and_the_biller_is_told(
        tmp_path: Path) -> None:
    rows = [line("WIN1", 1, "2026-05-01", denied_on="2026-05-20"),
            line("WIN1", 2, "2026-05-02", denied_on="2026-06-10")]  # a later remittance
    out = tmp_path / "out"
    run(RunConfig(inputs=[write(tmp_path / "w.csv", rows)], out=out, workers=1, as_of=AS_OF))
    summary = json.loads((out / "packets" / "WIN1-1" / "packet.json").read_text())
    deadlines = sorted(ln["deadline"] for ln in summary["lines"])
    assert deadlines[0] < deadlines[1]
    assert worklist(out)[0]["deadline"] == deadlines[0]
    assert (f"The lines' filing windows differ: the appeal is filed by the earliest of them, "
            f"{deadlines[0]}, for all its lines.") in summary["biller_notes"]
    cover = " ".join(pdf_text((out / "packets" / "WIN1-1" / "biller_cover.pdf").read_bytes())
                     .split())
    assert f"{deadlines[0]}, for all its lines" in cover


def test_a_checklist_due_date_never_slides_and_the_watch_keeps_it_until_answered(
        tmp_path: Path) -> None:
    """A re-export of the same open denial a week later keeps the checklist's due date (in the
    store and on the checklist itself); the watch lists it, per clinician and due date, while it
    is due and after, as overdue."""
    from appeals.scrub.watch import from_store, to_ics

    db = f"sqlite:///{tmp_path / 's.db'}"
    rows = IOP_WEEK + [line("SEC1", 1, "2026-06-05", codes="CO-50", cpt="90837",
                            care="outpatient")]
    run(RunConfig(inputs=[write(tmp_path / "a.csv", rows)], out=tmp_path / "o", workers=1,
                  as_of=AS_OF, db=db))
    engine = open_store(db)
    first = case_history(engine, "IOP1-1")["case_id"]
    with engine.connect() as conn:
        stored = dict(conn.execute(select(cases.c.claim_id, cases.c.checklist_due)).all())
    assert stored["IOP1"] == stored["SEC1"] and stored["IOP1"] > AS_OF
    checklist = tmp_path / "o" / "packets" / "IOP1-1" / "clinician_checklist.pdf"
    said = " ".join(pdf_text(checklist.read_bytes()).split())
    printed = f"{stored['IOP1']:%B} {stored['IOP1'].day}, {stored['IOP1'].year}"
    assert printed in said
    later = date(2026, 7, 8)
    second = tmp_path / "b.csv"
    second.write_bytes((tmp_path / "a.csv").read_bytes() + b"\n")  # the same denials again
    run(RunConfig(inputs=[second], out=tmp_path / "o", workers=1, as_of=later, db=db))
    with engine.connect() as conn:
        again = dict(conn.execute(select(cases.c.claim_id, cases.c.checklist_due)).all())
    assert again == stored  # not a week later
    assert printed in " ".join(pdf_text(checklist.read_bytes()).split())
    overdue_day = stored["IOP1"] + timedelta(days=5)
    items = [i for i in from_store(engine, overdue_day, 14) if i.kind.startswith("checklist")]
    assert len(items) == 1  # one per clinician and due date, not one per case or line
    item = items[0]
    assert item.kind == "checklist_overdue" and item.due == stored["IOP1"]
    assert item.title == "Lakeside Counseling Group: 2 checklists overdue by 5 days"
    assert f"cases {first}, " in item.detail
    ics = to_ics(items, overdue_day).decode()
    assert ics.count("BEGIN:VEVENT") == 1 and "Olivia" not in ics and "M77" not in ics
    engine.dispose()


def test_a_week_that_carries_only_some_of_an_open_appeals_lines_still_gets_the_whole_packet(
        tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    run(RunConfig(inputs=[write(tmp_path / "a.csv", IOP_WEEK)], out=tmp_path / "w1", workers=1,
                  as_of=AS_OF, db=db))
    # The next export leaves line 1 out (filtered by date, say): the appeal is still four lines.
    result = run(RunConfig(inputs=[write(tmp_path / "b.csv", IOP_WEEK[1:])],
                           out=tmp_path / "w2", workers=1, as_of=date(2026, 7, 8), db=db))
    assert result.packets_written == 1
    assert sorted(p.name for p in (tmp_path / "w2" / "packets").iterdir()) == ["IOP1-1"]
    summary = json.loads((tmp_path / "w2" / "packets" / "IOP1-1" / "packet.json").read_text())
    assert [ln["line_number"] for ln in summary["lines"]] == [1, 2, 3, 4]
    assert worklist(tmp_path / "w2")[0]["lines"] == "4"
    engine = open_store(db)
    assert case_history(engine, "IOP1-1")["packet"].endswith("w2/packets/IOP1-1")
    engine.dispose()


def test_an_episode_is_one_appeal_whatever_order_its_lines_come_in(tmp_path: Path) -> None:
    """Lines of one stay given latest first: the date order chains them, the input order names
    the appeal; never two appeals for one episode."""
    rows = [line("LATE", 1, "2026-06-09"), line("MID", 1, "2026-06-05"),
            line("EARLY", 1, "2026-06-01")]
    settings = Settings(as_of=AS_OF)
    lines = [assess(r, settings) for r in read_records(write(tmp_path / "w.csv", rows))]
    with Grouper("episode") as grouper:
        units = list(grouper.add_all(lines).units())
    assert len(units) == 1 and [ln.record.claim_id for ln in units[0].lines] == [
        "EARLY", "MID", "LATE"]
    assert units[0].unit == 0  # named by its first line in the input


def _cases(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(cases).order_by(cases.c.id)).mappings()]


def test_a_later_line_of_a_claim_joins_its_appeal_while_it_is_not_yet_sent(tmp_path: Path
                                                                           ) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    run(RunConfig(inputs=[write(tmp_path / "a.csv", IOP_WEEK[:3])], out=tmp_path / "w1",
                  workers=1, as_of=AS_OF, db=db))
    # The payer's next remittance denies the claim's fourth day, alone in the export.
    result = run(RunConfig(inputs=[write(tmp_path / "b.csv", IOP_WEEK[3:])], out=tmp_path / "w2",
                           workers=1, as_of=date(2026, 7, 8), db=db))
    engine = open_store(db)
    assert len(_cases(engine)) == 1
    iop = case_history(engine, "IOP1-1")
    assert len(iop["appeal_lines"]) == 4
    assert any("claim IOP1 line 4 joins this appeal" in (e["note"] or "") for e in iop["events"])
    assert result.packets_written == 1
    summary = json.loads((tmp_path / "w2" / "packets" / "IOP1-1" / "packet.json").read_text())
    assert [ln["line_number"] for ln in summary["lines"]] == [1, 2, 3, 4]
    engine.dispose()


def test_a_line_denied_after_the_letter_went_out_is_an_appeal_of_its_own(tmp_path: Path
                                                                        ) -> None:
    """The sent letter covered three days; the payer's answer denies them again (the level's
    decision) and denies a fourth day for the first time: that day gets its own first-level
    packet, never a silent place in an appeal whose letter did not name it."""
    db = f"sqlite:///{tmp_path / 's.db'}"
    run(RunConfig(inputs=[write(tmp_path / "a.csv", IOP_WEEK[:3])], out=tmp_path / "w",
                  workers=1, as_of=AS_OF, db=db))
    engine = open_store(db)
    mark(engine, "IOP1-1", "sent", override=DRAFT, on=date(2026, 7, 2), method="fax",
         who="biller")
    again = [dict(r, denial_date="2026-08-01") for r in IOP_WEEK]
    result = run(RunConfig(inputs=[_week2(tmp_path, again)], out=tmp_path / "w", workers=1,
                           as_of=date(2026, 8, 3), db=db))
    sent, fresh = _cases(engine)
    assert sent["status"] == "upheld" and fresh["status"] != "sent"
    assert (fresh["claim_id"], fresh["line_number"]) == ("IOP1", 4)
    assert len(case_history(engine, "IOP1-1")["appeal_lines"]) == 3
    assert len(case_history(engine, str(fresh["id"]))["appeal_lines"]) == 1
    notes = [e["note"] or "" for e in case_history(engine, "IOP1-1")["events"]]
    assert any("claim IOP1 line 4: denied after this appeal's letter went out" in n
               for n in notes)
    assert result.packets_written == 1  # the fourth day's, not a new level-1 letter of the three
    assert (tmp_path / "w" / "packets" / "IOP1-4" / "appeal_letter.pdf").is_file()
    rows = {(r["claim_id"], r["line_number"]): r for r in worklist(tmp_path / "w")}
    assert rows[("IOP1", "1")]["status"] == "upheld" and rows[("IOP1", "4")]["lines"] == "1"
    engine.dispose()


def test_a_payment_on_some_lines_before_sending_decides_nothing(tmp_path: Path) -> None:
    """The payer pays one day of an appeal not yet sent: the money is recorded and the appeal goes
    on for the other days; no 'partially overturned' for an appeal nobody filed."""
    db = f"sqlite:///{tmp_path / 's.db'}"
    run(RunConfig(inputs=[write(tmp_path / "a.csv", IOP_WEEK)], out=tmp_path / "w1", workers=1,
                  as_of=AS_OF, db=db))
    paid = dict(IOP_WEEK[1], adjustment_codes="CO-45", paid_amount="450.00",
                denial_date="2026-07-05")
    run(RunConfig(inputs=[write(tmp_path / "b.csv", [IOP_WEEK[0], paid, *IOP_WEEK[2:]])],
                  out=tmp_path / "w2", workers=1, as_of=date(2026, 7, 8), db=db))
    engine = open_store(db)
    (case,) = _cases(engine)
    assert case["status"] in ("to_work", "waiting_on_clinician", "ready_to_send")
    assert case["recovered"] == 450 and case["at_stake"] == 3 * 450
    kinds = [e["kind"] for e in case_history(engine, "IOP1-1")["events"]]
    assert "payment" in kinds and "outcome" not in kinds
    summary = json.loads((tmp_path / "w2" / "packets" / "IOP1-1" / "packet.json").read_text())
    assert [ln["line_number"] for ln in summary["lines"]] == [1, 3, 4]
    engine.dispose()
