"""The case store on SQLite and on a real PostgreSQL: recording runs, cases across weeks,
outcomes read off remittances, people's marks, bad stores, concurrency and SIGKILL."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import ROOT, needs
from helpers import write_csv
from sqlalchemy import create_engine, func, select, text

from appeals.cli import app
from appeals.law import next_levels
from appeals.models import DenialRecord
from appeals.pipeline import RunConfig, run
from appeals.store import (
    CaseError,
    StoreError,
    case_history,
    list_cases,
    mark,
    open_store,
    record_outcome,
)
from appeals.store.schema import cases, events, lines, runs

HEADER = ["claim_id", "line_number", "payer_name", "plan_type", "plan_funding", "employer_size",
          "plan_state", "member_id", "patient_name", "provider_name", "provider_npi",
          "service_date", "cpt_code", "level_of_care", "billed_amount", "paid_amount",
          "denial_date", "adjustment_codes", "denial_reason"]
PATIENT = "Quinn Zebulon-Testperson"
#: The send gate refuses a draft packet: these tests are about the store, not the letter.
DRAFT = "a test of the store, not of the letter"


def line(claim: str, n: int = 1, *, paid: str = "0.00", codes: str = "CO-50", cpt: str = "90837",
         denied_on: str = "2026-06-10", member: str = "M100", payer: str = "Blue Ridge Health",
         plan: str = "medicaid_mco", service: str | None = None) -> dict:
    """A line; each claim its own service date unless one is given (two claims for the same
    member, code and date are the same service reprocessed)."""
    service = service or f"2026-05-{sum(map(ord, claim)) % 28 + 1:02d}"
    return {"claim_id": claim, "line_number": n, "payer_name": payer, "plan_type": plan,
            "plan_funding": "", "employer_size": "", "plan_state": "NC", "member_id": member,
            "patient_name": PATIENT, "provider_name": "Lakeside Counseling Group",
            "provider_npi": "1245319599", "service_date": service, "cpt_code": cpt,
            "level_of_care": "outpatient", "billed_amount": "200.00", "paid_amount": paid,
            "denial_date": denied_on, "adjustment_codes": codes, "denial_reason": ""}


def week(path: Path, rows: list[dict]) -> Path:
    return write_csv(path, rows, HEADER)


def run_week(tmp_path: Path, db: str, name: str, rows: list[dict], as_of: date,
             workers: int = 1):
    inp = week(tmp_path / f"{name}.csv", rows)
    return run(RunConfig(inputs=[inp], out=tmp_path / f"out-{name}", workers=workers,
                         as_of=as_of, db=db))


def count(db: str, table, *where) -> int:
    engine = create_engine(db)
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()
    engine.dispose()
    return n


# --------------------------------------------------------------------------- schema


def test_migrations_run_up_from_empty_and_match_the_schema(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from appeals.store.engine import head_revision, revisions
    from appeals.store.schema import metadata

    engine = open_store(db_url)
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head_revision()
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert revisions()[-1] == head_revision()  # what open_store checks without alembic
    assert diff == []  # the migrations build exactly the tables the code uses
    engine.dispose()
    open_store(db_url).dispose()  # opening again migrates nothing and fails nothing


def test_sqlite_store_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    open_store(f"sqlite:///{path}").dispose()
    assert path.stat().st_mode & 0o777 == 0o600


# --------------------------------------------------------------------------- recording


def test_a_run_records_every_line_and_one_case_per_denied_line(db_url: str,
                                                                tmp_path: Path) -> None:
    rows = [line("A1"), line("A2", codes="CO-45", paid="150.00"), line("A3", codes="CO-197")]
    result = run_week(tmp_path, db_url, "w1", rows, date(2026, 6, 15))
    assert result.records == 3
    assert count(db_url, lines) == 3  # the paid line too: the denial rate needs it
    assert count(db_url, cases) == 2
    engine = open_store(db_url)
    listed = {r["claim_id"]: r for r in list_cases(engine, as_of=date(2026, 6, 15))}
    assert set(listed) == {"A1", "A3"}
    a1 = listed["A1"]
    assert a1["category"] == "medical_necessity" and a1["at_stake"] == "200.00"
    # Medicaid managed care: 60 days from the notice (42 CFR 438.402(c)(2)(ii))
    assert a1["deadline"] == "2026-08-09" and a1["days_left"] == 55
    assert a1["status"] == "waiting_on_clinician"  # its packet's checklist is unanswered
    assert listed["A3"]["category"] == "authorization"
    history = case_history(engine, "A1-1")
    assert [e["kind"] for e in history["events"]] == ["opened", "packet"]
    assert history["events"][1]["to"] == "waiting_on_clinician"
    assert history["packet_hashes"]["appeal_letter.pdf"]
    engine.dispose()


def test_a_rerun_records_nothing_twice(db_url: str, tmp_path: Path) -> None:
    rows = [line("A1"), line("A2", codes="CO-45", paid="150.00")]
    run_week(tmp_path, db_url, "w1", rows, date(2026, 6, 15))
    run_week(tmp_path, db_url, "w1", rows, date(2026, 6, 16))
    assert count(db_url, lines) == 2
    assert count(db_url, cases) == 1
    assert count(db_url, events, events.c.kind == "repeat") == 0
    assert count(db_url, runs, runs.c.finished_at.is_not(None)) == 2


def test_the_same_report_in_another_file_is_not_a_repeat_but_a_new_denial_is(
        db_url: str, tmp_path: Path) -> None:
    run_week(tmp_path, db_url, "w1", [line("A1")], date(2026, 6, 15))
    run_week(tmp_path, db_url, "w1-again", [line("A1"), line("B1")], date(2026, 6, 22))
    engine = open_store(db_url)
    assert case_history(engine, "A1-1")["repeat_count"] == 0
    run_week(tmp_path, db_url, "w2", [line("A1", denied_on="2026-06-24")], date(2026, 6, 29))
    case = case_history(engine, "A1-1", as_of=date(2026, 6, 29))
    assert case["repeat_count"] == 1
    assert count(db_url, cases) == 2
    assert "denied again" in case["events"][-1]["note"]
    assert case["deadline"] == "2026-08-23"  # the new notice starts a new window
    engine.dispose()


def test_a_later_payment_overturns_the_case_without_anyone_typing_it(
        db_url: str, tmp_path: Path) -> None:
    run_week(tmp_path, db_url, "w1", [line("A1"), line("A2")], date(2026, 6, 15))
    engine = open_store(db_url)
    mark(engine, "A1-1", "sent", override=DRAFT, on=date(2026, 6, 20), method="fax", who="biller")
    run_week(tmp_path, db_url, "w5", [
        line("A1", codes="CO-45", paid="200.00", denied_on="2026-07-20"),  # paid in full
        line("A2", codes="CO-50", paid="80.00", denied_on="2026-07-20"),  # part paid, part denied
    ], date(2026, 7, 22))
    a1 = case_history(engine, "A1-1")
    assert (a1["status"], a1["recovered"]) == ("overturned", "200.00")
    decided = a1["events"][-1]
    assert (decided["who"], decided["from"], decided["to"], decided["on"]) == (
        "remittance", "sent", "overturned", "2026-07-20")
    # A2's appeal was never sent: the part payment decides nothing, the rest is still appealed
    a2 = case_history(engine, "A2-1")
    assert (a2["status"], a2["recovered"], a2["repeat_count"]) == (
        "waiting_on_clinician", "80.00", 0)
    assert a2["events"][-1]["kind"] == "payment" and "paid 80.00" in a2["events"][-1]["note"]
    engine.dispose()


def test_a_new_claim_number_for_the_same_service_is_linked(db_url: str, tmp_path: Path) -> None:
    day = "2026-05-04"
    run_week(tmp_path, db_url, "w1", [
        line("A1", service=day), line("Z1", member="M200", service=day),
        line("D1", codes="CO-18", service="2026-05-05"),  # a duplicate of ...
        line("D0", codes="CO-45", paid="200.00", service="2026-05-05"),  # ... this paid one
    ], date(2026, 6, 15))
    run_week(tmp_path, db_url, "w2", [
        line("A1-R", denied_on="2026-06-20", service=day),  # reprocessed, denied again: linked
        line("Z9", member="M200", codes="CO-45", paid="200.00", denied_on="2026-06-21",
             service=day),
        line("Q1", member="M999", codes="CO-45", paid="200.00", service=day),  # other member
        line("D2", codes="CO-45", paid="200.00", service="2026-05-05", denied_on="2026-06-21"),
    ], date(2026, 6, 22))
    engine = open_store(db_url)
    first, again = case_history(engine, "A1-1"), case_history(engine, "A1-R-1")
    assert again["linked_case_id"] == first["case_id"]
    assert first["linked_from"] == [again["case_id"]]
    assert "reprocessed or corrected" in first["events"][-1]["note"]
    z1 = case_history(engine, "Z1-1")
    assert z1["status"] == "overturned" and "under claim Z9 line 1" in z1["events"][-1]["note"]
    assert case_history(engine, "D1-1")["status"] != "overturned"  # a duplicate stays denied
    assert count(db_url, cases) == 4
    engine.dispose()


# --------------------------------------------------------------------------- people's marks


def test_marks_and_outcomes_follow_the_lifecycle_and_keep_history(db_url: str,
                                                                  tmp_path: Path) -> None:
    run_week(tmp_path, db_url, "w1", [line("A1"), line("A2")], date(2026, 6, 15))
    engine = open_store(db_url)
    with pytest.raises(CaseError, match="cannot become upheld"):
        record_outcome(engine, "A1-1", "upheld", on=date(2026, 7, 1))
    with pytest.raises(CaseError, match="needs --reason"):
        mark(engine, "A2-1", "closed", on=date(2026, 7, 1))
    mark(engine, "A2-1", "closed", on=date(2026, 7, 1), reason="written_off", who="manager")
    mark(engine, "A1-1", "sent", override=DRAFT, on=date(2026, 6, 20), method="portal", who="biller")
    case = record_outcome(engine, "A1-1", "upheld", on=date(2026, 7, 10), who="biller")
    # The next level (the state fair hearing) is the law stage's, counted from the decision.
    record = DenialRecord.model_validate_json(case["record"])
    expected = next_levels(record, decided_on=date(2026, 7, 10))[0]
    assert (case["next_level"], case["next_deadline"]) == ("state_fair_hearing",
                                                          expected.file_by)
    assert expected.file_by == date(2026, 10, 8)
    history = case_history(engine, "A1-1", as_of=date(2026, 7, 10))
    assert history["deadline"] == "2026-10-08" and history["days_left"] == 90
    assert [(e["kind"], e["from"], e["to"], e["who"]) for e in history["events"][-2:]] == [
        ("mark", "waiting_on_clinician", "sent", "biller"),
        ("outcome", "sent", "upheld", "biller")]
    assert history["events"][-2]["method"] == "portal"
    closed = case_history(engine, "A2-1")
    assert (closed["status"], closed["closed_reason"]) == ("closed", "written_off")
    engine.dispose()


def test_next_level_for_medicare_is_the_qic_and_for_an_unknown_level_none(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'c.db'}"
    run_week(tmp_path, db, "w1", [line("M1", plan="medicare", payer="Medicare Part B")],
             date(2026, 6, 15))
    engine = open_store(db)
    mark(engine, "M1-1", "sent", override=DRAFT, on=date(2026, 6, 20))
    case = record_outcome(engine, "M1-1", "upheld", on=date(2026, 8, 1))
    assert (case["next_level"], case["next_deadline"]) == ("qic_reconsideration",
                                                          date(2027, 1, 28))  # 180 days
    mark(engine, "M1-1", "sent", override=DRAFT, on=date(2026, 8, 5))
    case = record_outcome(engine, "M1-1", "upheld", on=date(2026, 11, 1))
    assert case["next_level"] is None and case["next_deadline"] is None  # ALJ: not in registry
    engine.dispose()


def test_claim_line_that_names_two_cases_asks_for_the_number(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'c.db'}"
    run_week(tmp_path, db, "w1", [line("A1"), line("A1", payer="Other Payer", member="M9")],
             date(2026, 6, 15))
    with pytest.raises(CaseError, match="is 2 cases"):
        case_history(open_store(db), "A1-1")
    with pytest.raises(CaseError, match="not in the store"):
        case_history(open_store(db), "NOPE-1")


# --------------------------------------------------------------------------- the commands


def test_case_commands_from_the_cli(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    db = f"sqlite:///{tmp_path / 'c.db'}"
    week(tmp_path / "w1.csv", [line("A1"), line("A2", codes="CO-45", paid="150.00"),
                               line("A3", codes="CO-29", denied_on="2026-01-02",
                                    service="2025-12-01")])
    cli = CliRunner()
    result = cli.invoke(app, ["run", str(tmp_path / "w1.csv"), "--out", str(tmp_path / "o"),
                              "--as-of", "2026-06-15", "--db", db, "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert PATIENT not in result.output and "M100" not in result.output
    listed = cli.invoke(app, ["cases", "--db", db, "--format", "json", "--as-of", "2026-06-15"])
    rows = json.loads(listed.stdout)
    assert [r["claim_id"] for r in rows] == ["A3", "A1"]  # the passed deadline first
    for key in ("case_id", "claim_id", "line_number", "payer_name", "category", "status",
                "deadline", "days_left", "at_stake", "recovered", "repeat_count"):
        assert key in rows[0]
    assert rows[1]["patient_name"] == PATIENT
    redacted = cli.invoke(app, ["cases", "--db", db, "--format", "json", "--redact"]).stdout
    assert PATIENT not in redacted and "M100" not in redacted
    soon = json.loads(cli.invoke(app, ["cases", "--db", db, "--format", "json", "--as-of",
                                       "2026-06-15", "--due-within", "60"]).stdout)
    assert [r["claim_id"] for r in soon] == ["A3", "A1"]
    assert json.loads(cli.invoke(app, ["cases", "--db", db, "--format", "json", "--payer",
                                       "ridge", "--status", "sent"]).stdout) == []
    bad = cli.invoke(app, ["cases", "--db", db, "--status", "lost"])
    assert bad.exit_code == 2 and "is not one of" in bad.output
    draft = cli.invoke(app, ["mark", "A1-1", "sent", "--on", "2026-06-20", "--method", "fax",
                             "--db", db])
    # The send gate: a draft (and an unapproved parity letter) is one line and exit 2.
    assert draft.exit_code == 2 and len(draft.output.strip().splitlines()) == 1
    assert "is not ready to send: its packet is a draft: " in draft.output
    assert "placeholders left" in draft.output and "--override REASON" in draft.output
    sent = cli.invoke(app, ["mark", "A1-1", "sent", "--on", "2026-06-20", "--method", "fax",
                            "--db", db, "--override", "payer's portal closes tonight"])
    assert sent.exit_code == 0, sent.output
    comma = cli.invoke(app, ["outcome", "A1-1", "partially_overturned", "--on", "2026-07-30",
                             "--amount", "120,50", "--db", db])  # not read as $12,050
    assert comma.exit_code == 2 and "decimal comma" in comma.output
    won = cli.invoke(app, ["outcome", "A1-1", "partially_overturned", "--on", "2026-07-30",
                           "--amount", "$120.50", "--db", db])
    assert won.exit_code == 0 and "partially_overturned" in won.output
    shown = cli.invoke(app, ["case", "A1-1", "--db", db])
    assert "sent -> partially_overturned" in shown.stdout and "$120.50" in shown.stdout
    assert "sent with override: payer's portal closes tonight (not ready: its packet is a " \
           "draft" in shown.stdout
    assert "filed 2026-06-20 by fax: partially_overturned on 2026-07-30" in shown.stdout
    wrong = cli.invoke(app, ["outcome", "A1-1", "upheld", "--on", "2026-08-01", "--db", db])
    assert wrong.exit_code == 2 and "cannot become upheld" in wrong.output
    assert cli.invoke(app, ["mark", "A3-1", "sent", "--on", "2026-06-20", "--method", "pigeon",
                            "--db", db]).exit_code == 2


def test_run_and_the_worklist_mean_the_same_with_and_without_the_store(tmp_path: Path) -> None:
    inp = week(tmp_path / "w.csv", [line("A1"), line("A2", codes="CO-45", paid="150.00")])
    base = {"inputs": [inp], "workers": 1, "as_of": date(2026, 6, 15)}
    run(RunConfig(out=tmp_path / "with", db=f"sqlite:///{tmp_path / 'c.db'}", **base))
    run(RunConfig(out=tmp_path / "without", **base))

    def rows(folder: str) -> list[dict]:
        with (tmp_path / folder / "worklist.csv").open(encoding="utf-8") as fh:
            return list(csv.DictReader(fh))

    learned, fixed = rows("with"), rows("without")
    assert [{k: v for k, v in r.items() if k != "score_basis"} for r in learned] == [
        {k: v for k, v in r.items() if k != "score_basis"} for r in fixed]
    assert learned[0]["score_basis"] == fixed[0]["score_basis"].replace(
        "success 55%:", "success 55% (prior: no decided cases at this payer yet):")
    assert (tmp_path / "with" / "rejects.csv").read_bytes() == (
        tmp_path / "without" / "rejects.csv").read_bytes()
    assert "What the case store remembers" in (tmp_path / "with" / "triage.html").read_text()
    assert "What the case store remembers" not in (tmp_path / "without" / "triage.html"
                                                   ).read_text()


def test_the_worklist_learns_the_odds_from_decided_cases(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'c.db'}"
    run_week(tmp_path, db, "w1", [line(f"U{i}") for i in range(4)], date(2026, 6, 15))
    engine = open_store(db)
    for i in range(3):
        mark(engine, f"U{i}-1", "sent", override=DRAFT, on=date(2026, 6, 20))
        record_outcome(engine, f"U{i}-1", "upheld", on=date(2026, 7, 20))
    mark(engine, "U3-1", "sent", override=DRAFT, on=date(2026, 6, 20))
    record_outcome(engine, "U3-1", "overturned", on=date(2026, 7, 20))
    run_week(tmp_path, db, "w2", [line("N1", denied_on="2026-07-21")], date(2026, 7, 22))
    with (tmp_path / "out-w2" / "worklist.csv").open(encoding="utf-8") as fh:
        basis = next(r for r in csv.DictReader(fh) if r["claim_id"] == "N1")["score_basis"]
    # Beta-binomial: (0.55 x 10 + 1) / (10 + 4) = 46%, from the prior's 55%
    assert "success 46% (prior 55% as 10 cases + 1 won of 4 decided here)" in basis, basis
    engine.dispose()


def test_history_for_the_monday_meeting(tmp_path: Path) -> None:
    from appeals.store.history import history

    db = f"sqlite:///{tmp_path / 'c.db'}"
    run_week(tmp_path, db, "w1", [line("A1", denied_on="2026-05-01", service="2026-04-01"),
                                  line("A2", codes="CO-45", paid="150.00")], date(2026, 6, 1))
    run_week(tmp_path, db, "w2", [line("B1", denied_on="2026-06-20"),
                                  line("B2", codes="CO-29", denied_on="2026-06-20"),
                                  line("B3", codes="CO-45", paid="150.00")], date(2026, 6, 22))
    engine = open_store(db)
    mark(engine, "A1-1", "sent", override=DRAFT, on=date(2026, 6, 2))
    record_outcome(engine, "A1-1", "overturned", on=date(2026, 6, 30))
    h = history(engine, date(2026, 6, 22))
    reasons = {r["reason"].split(":")[0]: r for r in h["weeks"]["reasons"]}
    assert reasons["CO-50"]["repeat"] and not reasons["CO-29"]["repeat"]
    assert (h["weeks"]["new"], h["weeks"]["repeating"]) == (1, 1)
    assert [b["count"] for b in h["aging"]] == [2, 0, 0, 0]
    payer = h["rates"]["payer"][0]
    assert (payer["denied"], payer["lines"]) == (3, 5)
    assert h["outcomes"]["category"][0] | {"recovered": 0} == {
        "name": "medical_necessity", "decided": 1, "won": 1, "rate": 1.0, "recovered": 0}
    assert h["outcomes"]["category"][0]["recovered"] == Decimal("200.00")
    assert h["decision_days"] == {"cases": 1, "median": 60, "mean": 60.0}
    engine.dispose()


# --------------------------------------------------------------------------- bad stores


def _cli_run(tmp_path: Path, db: str) -> subprocess.CompletedProcess:
    inp = week(tmp_path / "w.csv", [line("A1")])
    return subprocess.run([sys.executable, "-m", "appeals", "run", str(inp), "--out",
                           str(tmp_path / "out"), "--db", db, "--workers", "1"],
                          check=False, capture_output=True, text=True, timeout=300)


def _one_clear_line(done: subprocess.CompletedProcess, *words: str) -> None:
    assert done.returncode == 2, done.stderr
    message = done.stderr.strip().splitlines()
    assert len(message) == 1 and message[0].startswith("error: case store "), done.stderr
    for w in words:
        assert w in message[0]


def test_a_store_from_a_newer_version_is_refused(db_url: str, tmp_path: Path) -> None:
    open_store(db_url).dispose()
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(StoreError, match="newer appeals"):
        open_store(db_url)
    done = _cli_run(tmp_path, db_url)
    _one_clear_line(done, "newer appeals", "9999")
    assert not (tmp_path / "out").exists()


def test_an_unreachable_server_is_one_line_without_the_password(tmp_path: Path) -> None:
    db = f"postgresql+psycopg://appeals:s3cret@/nothing?host={tmp_path}&port=1"
    done = _cli_run(tmp_path, db)
    _one_clear_line(done, "***")
    assert "s3cret" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_read_only_sqlite_store_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    as_root = os.geteuid() == 0
    if as_root:  # root writes any file: a read-only file system it is, as a clerk's share may be
        mounted = subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(folder)],
                                 check=False, capture_output=True, text=True)
        if mounted.returncode != 0:
            needs(f"mount (a read-only file system as root): {mounted.stderr.strip()}")
    path = folder / "ro.db"
    try:
        open_store(f"sqlite:///{path}").dispose()
        before = path.read_bytes()
        if as_root:
            subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        else:
            path.chmod(0o444)
            folder.chmod(0o555)
        done = _cli_run(tmp_path, f"sqlite:///{path}")
        _one_clear_line(done, "read-only")
        assert not (tmp_path / "out").exists()
        assert path.read_bytes() == before
    finally:
        if as_root:
            subprocess.run(["umount", str(folder)], check=False)
        else:
            folder.chmod(0o755)


def test_a_url_that_is_no_url(tmp_path: Path) -> None:
    _one_clear_line(_cli_run(tmp_path, "not a url"), "not a usable database URL")


# --------------------------------------------------------------------------- at once, and killed


def _synthetic_week(tmp_path: Path, name: str, n: int, every: int = 50) -> Path:
    """n lines, most of them paid (no packet to build), a denial every `every`th."""
    rows = [line(f"S{i:05d}", codes="CO-50" if i % every == 0 else "CO-45",
                 paid="0.00" if i % every == 0 else "150.00", member=f"M{i}")
            for i in range(n)]
    return week(tmp_path / f"{name}.csv", rows)


def _consistent(db: str, records: int, denials: int) -> None:
    assert count(db, lines) == records
    assert count(db, cases) == denials
    assert count(db, events, events.c.kind == "opened") == denials
    assert count(db, lines, lines.c.denied.is_(True), lines.c.case_id.is_(None)) == 0


#: `appeals run` recording in chunks of 50 lines: a few hundred lines make many transactions for
#: two runs to interleave (3,000 lines and 120 PDF packets did the same at 20 times the cost).
SMALL_CHUNKS = """
import sys
import appeals.store.record as record
record.CHUNK = 50
from appeals.cli import main
sys.argv = ["appeals", *sys.argv[1:]]
main()
"""


def test_two_runs_at_once_on_one_store_stay_consistent(db_url: str, tmp_path: Path) -> None:
    inp = _synthetic_week(tmp_path, "big", 600, every=150)  # 12 chunks each, 4 packets
    runs_ = [subprocess.Popen(
        [sys.executable, "-c", SMALL_CHUNKS, "run", str(inp), "--out", str(tmp_path / f"o{k}"),
         "--db", db_url, "--workers", "1", "--as-of", "2026-06-15"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in (1, 2)]
    for p in runs_:
        _out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    _consistent(db_url, 600, 4)


KILLER = """
import os, signal, sys
import appeals.store.record as record
record.CHUNK = 100
real = record._record
calls = [0]
def dying(conn, chunk, *args):
    n = real(conn, chunk, *args)
    calls[0] += 1
    if calls[0] == 3:  # inside the 3rd chunk's transaction, its rows written, not committed
        os.kill(os.getpid(), signal.SIGKILL)
    return n
record._record = dying
from appeals.cli import main
sys.argv = ["appeals", *sys.argv[1:]]
main()
"""


def test_a_run_killed_mid_way_leaves_whole_chunks_and_the_next_run_completes_it(
        db_url: str, tmp_path: Path) -> None:
    inp = _synthetic_week(tmp_path, "big", 1000, every=100)
    args = [str(inp), "--out", str(tmp_path / "o"), "--db", db_url, "--workers", "1",
            "--as-of", "2026-06-15"]
    killed = subprocess.run([sys.executable, "-c", KILLER, "run", *args], check=False,
                            capture_output=True, text=True, timeout=600)
    assert killed.returncode == -signal.SIGKILL
    assert count(db_url, lines) == 200  # two committed chunks; the third is gone whole
    assert count(db_url, runs, runs.c.finished_at.is_(None)) == 1
    assert count(db_url, cases) == 2  # the denials of lines 0 and 100
    again = subprocess.run([sys.executable, "-m", "appeals", "run", *args], check=False,
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    _consistent(db_url, 1000, 10)
    assert count(db_url, events, events.c.kind == "packet") == 10  # the killed run's cases too


def test_amounts_keep_their_cents(db_url: str, tmp_path: Path) -> None:
    run_week(tmp_path, db_url, "w1", [line("A1") | {"billed_amount": "1234567.89"}],
             date(2026, 6, 15))
    engine = create_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(select(cases.c.at_stake)).scalar_one() == Decimal("1234567.89")
    engine.dispose()


def _remit(path: Path, paid_on: str, claims: list[tuple[str, str, str, list[str]]]) -> Path:
    """A small 835: (claim id, CLP02 status, paid, CAS segments) per claim, one 90837 line."""
    body = [f"BPR*I*0*C*CHK{'*' * 12}{paid_on}", "TRN*1*T1*1", "N1*PR*BLUE RIDGE HEALTH",
            "N1*PE*LAKESIDE COUNSELING GROUP*XX*1245319599"]
    for claim, status, paid, adjustments in claims:
        sign = "-" if status == "22" else ""
        body += [f"CLP*{claim}*{status}*{sign}200*{sign}{paid}**12*PCN{claim}{status}",
                 "NM1*QC*1*TESTPERSON*QUINN****MI*M100",
                 f"SVC*HC:90837*{sign}200*{sign}{paid}**1", "DTM*472*20260504", *adjustments]
    segments = ["ST*835*0001", *body]
    segments.append(f"SE*{len(segments) + 1}*0001")
    text = ("ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *260610*1200*^*"
            "00501*000000001*0*T*:~GS*HP*SENDER*RECEIVER*20260610*1200*1*X*005010X221A1~"
            + "~".join(segments) + "~GE*1*1~IEA*1*000000001~")
    path.write_text(text, encoding="ascii")
    return path


def test_an_835_reversal_and_readjudication_overturns_the_case(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'c.db'}"
    first = _remit(tmp_path / "june.835", "20260610", [("C77", "4", "0", ["CAS*CO*50*200"])])
    run(RunConfig(inputs=[first], out=tmp_path / "o1", workers=1, as_of=date(2026, 6, 15),
                  db=db))
    engine = open_store(db)
    assert case_history(engine, "C77-1")["status"] in ("waiting_on_clinician", "ready_to_send")
    mark(engine, "C77-1", "sent", override=DRAFT, on=date(2026, 6, 20))
    later = _remit(tmp_path / "july.835", "20260720", [
        ("C77", "22", "0", ["CAS*CO*50*200"]),  # takes the denial back ...
        ("C77", "1", "180", ["CAS*CO*45*20"])])  # ... and pays it, less the contract
    run(RunConfig(inputs=[later], out=tmp_path / "o2", workers=1, as_of=date(2026, 7, 22),
                  db=db))
    case = case_history(engine, "C77-1")
    assert (case["status"], case["recovered"]) == ("overturned", "180.00")
    assert case["events"][-1]["on"] == "2026-07-20" and case["events"][-1]["who"] == "remittance"
    assert count(db, cases) == 1
    engine.dispose()


def test_the_report_names_payers_as_they_are_written(tmp_path: Path) -> None:
    """Categories are put in words in the history section; payer names are not (a capitalize
    would print "Blue ridge health")."""
    db = f"sqlite:///{tmp_path / 'c.db'}"
    run_week(tmp_path, db, "w1", [line("A1")], date(2026, 6, 1))
    engine = open_store(db)
    mark(engine, "A1-1", "sent", override=DRAFT, on=date(2026, 6, 2))
    record_outcome(engine, "A1-1", "overturned", on=date(2026, 6, 30))
    run_week(tmp_path, db, "w2", [line("B1", denied_on="2026-06-20")], date(2026, 7, 1))
    html = (tmp_path / "out-w2" / "triage.html").read_text(encoding="utf-8")
    section = html[html.index("What the case store remembers"):]
    assert "<td>Blue Ridge Health</td>" in section and "Blue ridge health" not in section
    assert "<td>Medical necessity</td>" in section
    engine.dispose()


def test_a_value_postgresql_would_refuse_is_a_reject_at_intake_on_every_backend(
        db_url: str, tmp_path: Path) -> None:
    """A claim id over 100 characters or a payer name over 200 once killed the whole run on
    PostgreSQL (a driver traceback printing member ids; the run left unfinished) while SQLite took
    it. The limits table sizes the columns and refuses the value at intake on both: the good line
    is recorded, the run finishes, the rejects name the field."""
    from appeals.store.schema import runs

    result = run_week(tmp_path, db_url, "w1", [
        line("OK1"), line("L" * 150), line("P1", payer="Blue Ridge " + "x" * 250)],
        date(2026, 6, 15))
    assert result.records == 1 and result.rejected == 2
    rejects = (tmp_path / "out-w1" / "rejects.csv").read_text(encoding="utf-8")
    assert "claim_id" in rejects and "payer_name" in rejects and "L" * 150 not in rejects[:200]
    assert count(db_url, cases) == 1
    assert count(db_url, runs, runs.c.finished_at.is_(None)) == 0


def add_gone_run(engine) -> None:
    """A run row left unfinished by a process of this machine that has ended."""
    import socket
    import subprocess
    import sys

    from sqlalchemy import insert

    from appeals.store.schema import runs

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    with engine.begin() as conn:
        conn.execute(insert(runs), {"started_at": "2026-06-15T00:00:00+00:00",
                                    "as_of": date(2026, 6, 15), "toolkit_version": "x",
                                    "inputs": "[]", "lines": 0, "pid": int(gone.stdout),
                                    "host": socket.gethostname()[:255]})


def test_one_run_one_outcome_a_store_failure_is_one_line_and_a_gone_run_is_closed(
        db_url: str, tmp_path: Path, monkeypatch) -> None:
    """A store failure mid-run: one line without statement or values (the driver's traceback
    printed every member id of the chunk), the run's row says it failed, nothing half-written.
    A run whose process is gone is closed as abandoned by the next run on the machine."""

    from sqlalchemy.exc import OperationalError

    from appeals.store import StoreError
    from appeals.store.record import Recorder
    from appeals.store.schema import runs

    run_week(tmp_path, db_url, "w1", [line("OK1")], date(2026, 6, 15))
    engine = create_engine(db_url)
    add_gone_run(engine)

    def broken(self, results):
        raise OperationalError("UPDATE cases SET member_id=%(m)s", {"m": "M100"},
                               Exception("disk I/O error"))

    monkeypatch.setattr(Recorder, "packets", broken)
    with pytest.raises(StoreError) as failed:
        run_week(tmp_path, db_url, "w2", [line("OK2")], date(2026, 6, 22))
    said = str(failed.value)
    assert "OperationalError" in said and "M100" not in said and "UPDATE" not in said
    assert not (tmp_path / "out-w2" / "manifest.json").exists()
    with engine.connect() as conn:
        outcomes = [o for (o,) in conn.execute(select(runs.c.outcome).order_by(runs.c.id))]
    engine.dispose()
    assert outcomes[0] == "finished"
    assert outcomes[1].startswith("abandoned: its process ended without finishing")
    assert outcomes[2].startswith("failed: OperationalError")
    assert count(db_url, runs, runs.c.finished_at.is_(None)) == 0


def test_doctor_closes_runs_whose_process_is_gone_and_names_a_broken_override(
        db_url: str, tmp_path: Path) -> None:
    """`appeals doctor`: a run left unfinished by a process that is gone is closed as abandoned
    (no run needed to notice it); a reviewer's registry with a typo fails the check, exit 1."""
    import subprocess
    import sys

    from appeals.doctor import FAIL, checkup
    from appeals.store import open_store
    from appeals.store.schema import runs

    open_store(db_url).dispose()
    engine = create_engine(db_url)
    add_gone_run(engine)
    checks = {c.name: c for c in checkup(db_url)}
    assert checks["runs"].state == "ok" and "closed 1 run(s)" in checks["runs"].detail
    with engine.connect() as conn:
        [(outcome,)] = conn.execute(select(runs.c.outcome)).all()
    engine.dispose()
    assert outcome == "abandoned: its process ended without finishing (closed by appeals doctor)"
    assert checks.values() and all(c.state != FAIL for c in checks.values()), checks

    broken = tmp_path / "registry.yaml"
    broken.write_text("version: x\nentries: [{id: 1}]\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "appeals", "doctor", "--db", db_url,
                           "--registry", str(broken)], capture_output=True, text=True, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    [line] = [ln for ln in done.stdout.splitlines() if ln.startswith("FAILED")]
    assert line.startswith("FAILED   data files:") and "registry.yaml" in line


def test_every_hostile_file_gives_the_same_records_and_rejects_on_both_backends(
        postgres_url: str, tmp_path: Path) -> None:
    """Issue 29's acceptance: the hostile files of the review, run on SQLite and on PostgreSQL,
    give the same worklist and the same rejects (paths aside); the good line is in both."""
    from appeals.synthetic.hostile import hostile_files

    files = [p for p in hostile_files(tmp_path / "in").values() if p.suffix != ".docx"]
    good = week(tmp_path / "in" / "good.csv", [line("OK1")])
    seen = {}
    for name, url in (("sqlite", f"sqlite:///{tmp_path / 'c.db'}"), ("postgresql", postgres_url)):
        out = tmp_path / f"out-{name}"
        run(RunConfig(inputs=[good, *files], out=out, workers=1, as_of=date(2026, 7, 1), db=url))
        seen[name] = {f: (out / f).read_text(encoding="utf-8").replace(str(out), "OUT")
                      for f in ("worklist.csv", "rejects.csv")}
    assert seen["sqlite"] == seen["postgresql"]
    worklist, rejects = seen["sqlite"]["worklist.csv"], seen["sqlite"]["rejects.csv"]
    assert "OK1" in worklist
    for path in files:
        assert path.name in rejects, path.name


def test_denial_rates_count_only_inputs_that_hold_paid_lines(tmp_path: Path) -> None:
    """A denied-claims export lists denials only: over it every rate read 100 %. Rates come
    from the inputs with paid lines (remittances); with none, the report says they need one."""
    from appeals.report import render_history
    from appeals.store.history import history

    db = f"sqlite:///{tmp_path / 'c.db'}"
    run_week(tmp_path, db, "w1", [line("A1"), line("A2", codes="CO-197")], date(2026, 6, 15))
    engine = open_store(db)
    h = history(engine, date(2026, 6, 15))
    assert h["rates"]["payer"] == [] and h["rates_basis"] == 0
    assert "Denial rates need the remittance" in render_history(h)
    assert "100%" not in render_history(h)
    run_week(tmp_path, db, "w2", [line("B1"), line("B2", codes="CO-45", paid="150.00")],
             date(2026, 6, 22))
    h = history(engine, date(2026, 6, 22))
    [payer] = h["rates"]["payer"]
    assert (payer["denied"], payer["lines"]) == (1, 2)  # the first export's denials not in it
    engine.dispose()


def test_the_cases_table_shows_the_nearest_50_and_says_how_many_more(tmp_path: Path) -> None:
    """`appeals cases` printed every case of the store (10 s for 10,000); the table now shows
    the first 50 by deadline and says how many match, `--all` and `--limit` show more, and JSON
    is every case unless limited."""
    import json
    import sys

    from typer.testing import CliRunner

    from appeals.cli import app

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_web import AS_OF, fill

    url = f"sqlite:///{tmp_path / 'many.db'}"
    engine = open_store(url)
    fill(engine, 60)
    engine.dispose()
    common = ["--db", url, "--as-of", AS_OF.isoformat()]

    def cases(*more: str) -> str:
        done = CliRunner().invoke(app, ["cases", *common, *more])
        assert done.exit_code == 0, done.output
        return done.output

    assert "50 cases of 60 (nearest deadline first; --all for every one)" in cases()
    assert "60 cases" in cases("--all") and " of 60" not in cases("--all")
    assert "5 cases of 60" in cases("--limit", "5")
    assert len(json.loads(cases("--format", "json"))) == 60
