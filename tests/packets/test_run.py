"""`appeals run`: the folder, determinism across workers, resume, failures, Ctrl-C, redaction."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import DATA, ROOT, SAMPLES
from helpers import write_csv
from pypdf import PdfReader
from typer.testing import CliRunner

from appeals.cli import app
from appeals.intake import rejects_csv
from appeals.models import Action, Bucket, Category, Classification, Reject
from appeals.pipeline import PACKETS, RunConfig, run
from appeals.report import render_html, triage
from appeals.synthetic.remits import write_835
from appeals.worklist import PriorityError, Row, load_priority, score

AS_OF = date(2026, 7, 1)


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _subset(tmp_path: Path, claims: set[str]) -> Path:
    """A few dev-set rows (both appeals and corrected claims) as their own CSV."""
    rows = _rows(DATA / "denials.csv")
    return write_csv(tmp_path / "subset.csv", [r for r in rows if r["claim_id"] in claims],
                     list(rows[0]), lineterminator="\n")


SMALL = {"D001", "D010", "D023", "D024", "D040"}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _leftovers(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if ".tmp-" in p.name or ".old-" in p.name]


@pytest.fixture(scope="module")
def dev_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run2")
    result = run(RunConfig(inputs=[DATA / "denials.csv"], out=out, workers=2, as_of=AS_OF,
                           org=SAMPLES / "org.yaml", payers=SAMPLES / "payers.yaml"))
    return out, result


def test_dev_set_run_writes_packets_worklist_report_rejects_and_manifest(dev_run) -> None:
    out, result = dev_run
    assert result.exit_code == 0 and result.records == 61 and result.failed == 0
    rows = _rows(out / "worklist.csv")
    assert len(rows) == result.packets_written + result.packets_unchanged  # one per appeal
    assert sum(int(r["lines"]) for r in rows) < 61  # paid and contractual lines are no work
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    assert [int(r["priority"]) for r in rows] == list(range(1, len(rows) + 1))
    with_packet = [r for r in rows if r["packet"]]
    assert len(with_packet) == result.packets_written == 55
    assert with_packet and all((out / r["packet"] / "packet.json").is_file() for r in with_packet)
    assert {r["status"] for r in rows} == {"packet written"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["inputs"][0]["sha256"] == _sha(DATA / "denials.csv")
    assert set(manifest["versions"]) >= {"appeals", "registry", "rules_sha256",
                                         "templates_sha256"}
    on_disk = {str(p.relative_to(out)) for p in out.rglob("*")
               if p.is_file() and p.name != "manifest.json"}
    assert set(manifest["files"]) == on_disk
    assert manifest["files"] and all(_sha(out / name) == digest
                                     for name, digest in manifest["files"].items())
    html = (out / "triage.html").read_text()
    for heading in ("Top 10 denial reasons", "Appeal deadlines in the next 14 days",
                    "Fix the cause", "Parity-related denials", "By CPT/HCPCS code",
                    "By rendering provider", "By level of care", "<svg"):
        assert heading in html
    pdf = PdfReader(out / "triage.pdf")
    assert len(pdf.pages) >= 2 and "Parity-related denials" in "".join(
        p.extract_text() for p in pdf.pages)


def test_output_is_byte_identical_with_one_or_two_workers(dev_run, tmp_path: Path,
                                                          fresh_pdfs) -> None:
    out, _ = dev_run
    again = run(RunConfig(inputs=[DATA / "denials.csv"], out=tmp_path, workers=1, as_of=AS_OF,
                          org=SAMPLES / "org.yaml", payers=SAMPLES / "payers.yaml"))
    assert again.exit_code == 0
    assert (tmp_path / "manifest.json").read_bytes() == (out / "manifest.json").read_bytes()


def test_parity_rows_and_deadlines_reach_the_worklist(dev_run) -> None:
    out, _ = dev_run
    rows = {r["claim_id"]: r for r in _rows(out / "worklist.csv")}
    assert rows["D040"]["category"] == "parity_nqtl" and rows["D040"]["nqtl"]
    medicare = [r for r in rows.values() if r["plan"] == "medicare_ffs"]
    assert medicare and all(r["parity_applies"] == "no" and not r["nqtl"] for r in medicare)
    appeal = rows["D001"]
    assert appeal["deadline"] and int(appeal["days_left"]) == (
        date.fromisoformat(appeal["deadline"]) - AS_OF).days


def test_835_samples_run_end_to_end(tmp_path: Path) -> None:
    synthetic = tmp_path / "bh.835"
    write_835(synthetic, claims=4, lines_per_claim=2, seed=3)
    inputs = [synthetic] + sorted(p for p in SAMPLES.iterdir() if p.suffix in (".835", ".txt"))
    result = run(RunConfig(inputs=inputs, out=tmp_path / "out", workers=2, as_of=AS_OF))
    assert result.exit_code == 0 and result.failed == 0  # the samples carry warnings only
    rows = _rows(tmp_path / "out" / "worklist.csv")
    assert result.records > 8 and len(rows) == result.packets_written  # the appeals: the work
    assert not any(r["category"] == "not_a_denial" for r in rows)
    report = (tmp_path / "out" / "triage.html").read_text(encoding="utf-8")
    assert f"{result.records} lines from" in report  # the report still reads every line
    rejects = _rows(tmp_path / "out" / "rejects.csv")
    assert rejects and {r["level"] for r in rejects} == {"warning"}


def test_rerun_keeps_unchanged_packets_and_force_or_tampering_rebuilds(tmp_path: Path) -> None:
    src = _subset(tmp_path, SMALL)
    config = RunConfig(inputs=[src], out=tmp_path / "out", workers=1, as_of=AS_OF)
    first = run(config)
    assert first.packets_written == 5
    letter = tmp_path / "out" / PACKETS / "D001-1" / "appeal_letter.pdf"
    stamp = letter.stat().st_mtime_ns
    second = run(config)
    assert (second.packets_written, second.packets_unchanged) == (0, 5)
    assert letter.stat().st_mtime_ns == stamp
    letter.write_bytes(b"edited by hand")
    third = run(config)
    assert (third.packets_written, third.packets_unchanged) == (1, 4)
    forced = run(RunConfig(inputs=[src], out=tmp_path / "out", workers=1, as_of=AS_OF,
                           force=True))
    assert forced.packets_written == 5
    assert (tmp_path / "out" / "manifest.json").read_bytes() == _rebuilt_manifest(tmp_path, src)


def _rebuilt_manifest(tmp_path: Path, src: Path) -> bytes:
    run(RunConfig(inputs=[src], out=tmp_path / "fresh", workers=1, as_of=AS_OF))
    return (tmp_path / "fresh" / "manifest.json").read_bytes()


def test_other_letter_date_or_settings_rebuild_the_packets(tmp_path: Path) -> None:
    src = _subset(tmp_path, {"D001"})
    run(RunConfig(inputs=[src], out=tmp_path / "out", workers=1, as_of=AS_OF))
    later = run(RunConfig(inputs=[src], out=tmp_path / "out", workers=1, as_of=date(2026, 7, 2)))
    assert later.packets_written == 1
    with_org = run(RunConfig(inputs=[src], out=tmp_path / "out", workers=1,
                             as_of=date(2026, 7, 2), org=SAMPLES / "org.yaml"))
    assert with_org.packets_written == 1


def test_packets_no_longer_produced_are_removed(tmp_path: Path) -> None:
    run(RunConfig(inputs=[_subset(tmp_path, SMALL)], out=tmp_path / "out", workers=1,
                  as_of=AS_OF))
    (tmp_path / "out" / PACKETS / "notes").mkdir()  # not ours: left alone
    result = run(RunConfig(inputs=[_subset(tmp_path, {"D001"})], out=tmp_path / "out",
                           workers=1, as_of=AS_OF))
    assert result.stale_removed == 4
    assert sorted(p.name for p in (tmp_path / "out" / PACKETS).iterdir()) == ["D001-1", "notes"]


def _failing_templates(tmp_path: Path, claim: str) -> Path:
    folder = tmp_path / "templates"
    (folder / "parts").mkdir(parents=True)
    builtin = ROOT / "letter_templates" / "parts" / "signature.md.j2"
    (folder / "parts" / "signature.md.j2").write_text(
        f'{{% if claim.claim_id == "{claim}" %}}{{{{ no_such_value }}}}{{% endif %}}'
        + builtin.read_text(encoding="utf-8"), encoding="utf-8")
    return folder


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_record_is_reported_and_the_run_goes_on(tmp_path: Path, workers: int) -> None:
    src = _subset(tmp_path, SMALL)
    run(RunConfig(inputs=[src], out=tmp_path / "out", workers=workers, as_of=AS_OF))
    result = run(RunConfig(inputs=[src], out=tmp_path / "out", workers=workers, as_of=AS_OF,
                           templates=_failing_templates(tmp_path, "D001")))
    assert (result.failed, result.packets_written, result.exit_code) == (1, 4, 1)
    rows = {r["claim_id"]: r for r in _rows(tmp_path / "out" / "worklist.csv")}
    assert rows["D001"]["status"] == "failed" and "no_such_value" in rows["D001"]["error"]
    # the packet of the earlier run was built from other templates: removed, not left as current
    assert not rows["D001"]["packet"] and not (tmp_path / "out" / PACKETS / "D001-1").exists()
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert not any("D001-1" in name for name in manifest["files"])
    rejects = _rows(tmp_path / "out" / "rejects.csv")
    assert [(r["field"], r["location"]) for r in rejects] == [("packet", "row 2")]
    assert _leftovers(tmp_path / "out") == []


def test_a_line_that_cannot_be_classified_is_listed_not_lost(tmp_path: Path,
                                                              monkeypatch) -> None:
    from appeals import appeal as pipeline

    real = pipeline.classify

    def classify(record, rules):
        if record.claim_id == "D023":
            raise RuntimeError("rule table broken")
        return real(record, rules)

    monkeypatch.setattr(pipeline, "classify", classify)
    result = run(RunConfig(inputs=[_subset(tmp_path, SMALL)], out=tmp_path / "out", workers=1,
                           as_of=AS_OF))
    assert (result.failed, result.packets_written, result.exit_code) == (1, 4, 1)
    rows = _rows(tmp_path / "out" / "worklist.csv")
    assert len(rows) == 5 and rows[-1]["claim_id"] == "D023"
    assert rows[-1]["status"] == "failed" and "rule table broken" in rows[-1]["error"]
    assert [r["field"] for r in _rows(tmp_path / "out" / "rejects.csv")] == ["classify"]


def test_ctrl_c_between_packets_leaves_whole_packets_only(tmp_path: Path) -> None:
    src = _subset(tmp_path, SMALL)
    out = tmp_path / "out"

    def interrupt(phase: str, done: int, total: int | None) -> None:
        if phase == "packets" and done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(RunConfig(inputs=[src], out=out, workers=2, as_of=AS_OF), progress=interrupt)
    assert _leftovers(out) == []
    assert not (out / "worklist.csv").exists() and not (out / "manifest.json").exists()
    for folder in (out / PACKETS).iterdir():  # whatever was written is whole
        summary = json.loads((folder / "packet.json").read_text())
        assert summary["files"] and all(_sha(folder / f["name"]) == f["sha256"]
                                        for f in summary["files"])
    resumed = run(RunConfig(inputs=[src], out=out, workers=2, as_of=AS_OF))
    assert resumed.packets_unchanged >= 2
    assert resumed.packets_unchanged + resumed.packets_written == 5


def test_ctrl_c_during_a_packet_write_leaves_no_partial_folder(tmp_path: Path,
                                                               monkeypatch) -> None:
    from appeals import pipeline

    real_write, calls = pipeline.write, []

    def write(packet, out, name=None):
        calls.append(name)
        if len(calls) == 3:  # half a folder, then the key press
            half = out / f".{name}.tmp-999"
            half.mkdir()
            (half / "appeal_letter.pdf").write_bytes(b"%PDF-1.7 partial")
            raise KeyboardInterrupt
        return real_write(packet, out, name)

    out = tmp_path / "out"
    run(RunConfig(inputs=[_subset(tmp_path, {"D001"})], out=out, workers=1, as_of=AS_OF))
    assert (out / "manifest.json").is_file()
    monkeypatch.setattr(pipeline, "write", write)
    with pytest.raises(KeyboardInterrupt):
        run(RunConfig(inputs=[_subset(tmp_path, SMALL)], out=out, workers=1, as_of=AS_OF))
    assert _leftovers(out) == []
    assert len(list((out / PACKETS).iterdir())) == 3  # D001 kept, two written, none half
    assert not (out / "manifest.json").exists()  # the folder no longer claims to be complete


def test_redacted_worklist_and_report_hold_no_patient_identifiers(tmp_path: Path) -> None:
    src = _subset(tmp_path, SMALL)
    people = {v for r in _rows(src) for v in (r["patient_name"], r["member_id"]) if v}
    assert people
    plain = run(RunConfig(inputs=[src], out=tmp_path / "plain", workers=1, as_of=AS_OF))
    assert plain.exit_code == 0
    assert any(p in (tmp_path / "plain" / "worklist.csv").read_text() for p in people)
    run(RunConfig(inputs=[src], out=tmp_path / "red", workers=1, as_of=AS_OF, redact=True))
    worklist = (tmp_path / "red" / "worklist.csv").read_text()
    assert "patient_name" not in worklist.splitlines()[0]
    pdf_text = "".join(p.extract_text() for p in PdfReader(tmp_path / "red" / "triage.pdf").pages)
    for text in (worklist, (tmp_path / "red" / "triage.html").read_text(), pdf_text):
        assert not any(p in text for p in people)


def test_redacted_rejects_hold_no_raw_row_nor_a_person_s_value(tmp_path: Path) -> None:
    src = _subset(tmp_path, SMALL)
    lines = src.read_text().splitlines()
    bad_dob = lines[1].replace("1979-11-30", "1979-02-30")  # rejected: not a calendar date
    lost_quote = lines[2].replace("Sample Client", '"Sample Client')
    src.write_text("\n".join([lines[0], bad_dob, lost_quote, *lines[3:]]) + "\n")
    run(RunConfig(inputs=[src], out=tmp_path / "plain", workers=1, as_of=AS_OF))
    plain = (tmp_path / "plain" / "rejects.csv").read_text()
    assert "Sample Client" in plain and "1979-02-30" in plain
    run(RunConfig(inputs=[src], out=tmp_path / "red", workers=1, as_of=AS_OF, redact=True))
    redacted = _rows(tmp_path / "red" / "rejects.csv")
    assert {r["field"] for r in redacted} >= {"patient_dob", "row"}
    text = (tmp_path / "red" / "rejects.csv").read_text()
    assert "Sample Client" not in text and "1979-02-30" not in text and "BRH" not in text


def test_command_exit_codes_and_logs_without_phi(tmp_path: Path) -> None:
    src = _subset(tmp_path, SMALL)
    runner = CliRunner()
    missing = runner.invoke(app, ["run", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o")])
    assert missing.exit_code == 2
    bad_priority = tmp_path / "priority.yaml"
    bad_priority.write_text("schema_version: 1\n")
    assert runner.invoke(app, ["run", str(src), "--out", str(tmp_path / "o"), "--priority",
                               str(bad_priority)]).exit_code == 2
    bad_org = tmp_path / "org.yaml"
    bad_org.write_text("name: [unclosed\n")
    assert runner.invoke(app, ["run", str(src), "--out", str(tmp_path / "o"), "--org",
                               str(bad_org)]).exit_code == 2
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    mixed = runner.invoke(app, ["run", str(src), str(garbage), "--out", str(tmp_path / "o"),
                                "--workers", "1", "--as-of", "2026-07-01",
                                "--templates", str(_failing_templates(tmp_path, "D010"))])
    assert mixed.exit_code == 2  # one input unusable; the rest is still done
    assert (tmp_path / "o" / "manifest.json").is_file()
    assert "D010-1: packet failed" in mixed.stderr
    people = {v for r in _rows(src) for v in (r["patient_name"], r["member_id"],
                                              r["patient_dob"]) if v}
    assert not any(p in mixed.stderr for p in people)


def _classification(category: Category, action: Action = Action.appeal) -> Classification:
    return Classification(claim_id="C", line_number=1, category=category, confidence=1,
                          evidence=[], action=action, owner="billing", appealable=True,
                          bucket=Bucket(fix_now="", fix_cause=""))


def test_priority_score_weighs_deadline_amount_and_likelihood() -> None:
    prio = load_priority()
    mn = _classification(Category.medical_necessity)
    soon, _ = score(mn, 3, Decimal(500), prio)
    later, _ = score(mn, 50, Decimal(500), prio)
    late, basis = score(mn, -2, Decimal(500), prio)
    assert soon > later > late and "deadline passed 2 d ago: 0.0" in basis
    assert score(mn, 10, Decimal(5000), prio)[0] > score(mn, 10, Decimal(50), prio)[0]
    assert score(_classification(Category.coding, Action.correct_and_resubmit), 10,
                 Decimal(500), prio)[0] > score(_classification(Category.timely_filing), 10,
                                                Decimal(500), prio)[0]
    assert score(_classification(Category.not_a_denial, Action.no_action), 1, Decimal(9),
                 prio) == (0.0, "no action needed")


def test_malformed_priority_file_names_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "priority.yaml"
    bad.write_text((ROOT / "appeals" / "data" / "priority.yaml")
                   .read_text().replace("horizon_days: 60", "horizon_days: -1"))
    with pytest.raises(PriorityError, match=r"priority.yaml: field 'deadline.horizon_days'"):
        load_priority(bad)


def test_worklist_and_rejects_open_formulas_as_text(tmp_path: Path) -> None:
    rows = _rows(DATA / "denials.csv")
    rows[0]["denial_reason"] = '=HYPERLINK("http://x.invalid","click")'
    src = write_csv(tmp_path / "hostile.csv", rows[:3], lineterminator="\n")
    run(RunConfig(inputs=[src], out=tmp_path / "out", workers=1, as_of=AS_OF))
    worklist = {r["claim_id"]: r for r in _rows(tmp_path / "out" / "worklist.csv")}
    assert worklist[rows[0]["claim_id"]]["denial_reason"].startswith("'=HYPERLINK")
    hostile = Reject(source="f.csv", location="row 2", field="x", message="=1+1", raw="@SUM(A1)")
    cells = next(csv.DictReader(io.StringIO(rejects_csv([hostile]).decode())))
    assert (cells["message"], cells["raw"]) == ("'=1+1", "'@SUM(A1)")


def test_report_prints_hostile_text_literally() -> None:
    hostile = "<script>alert(1)</script> {{ 7*7 }} & ]]>"
    row = {"score": 1.0, "score_basis": "", "status": "packet written", "claim_id": hostile,
           "line_number": 1, "patient_name": "P", "member_id": "M", "payer_name": hostile,
           "plan": "erisa_group", "plan_label": "Group", "parity_applies": "yes",
           "category": "parity_nqtl", "reason": hostile, "action": "appeal", "owner": "billing",
           "fix_now": hostile, "fix_cause": hostile, "appeal_name": "internal appeal",
           "deadline": "2026-07-05", "days_left": 4, "billed": Decimal(10), "paid": Decimal(0),
           "at_stake": Decimal(10), "nqtl": "fail_first", "cpt_code": hostile,
           "provider_name": hostile, "level_of_care": "", "packet": "packets/x", "error": ""}
    html = render_html(triage([Row(**row)], {"as_of": AS_OF, "inputs": ["a.csv"], "org": hostile,
                                      "redacted": False, "versions": {"registry": "r"},
                                      "rejects": 0, "unusable": []}))
    assert "<script>" not in html and "&lt;script&gt;" in html and "{{ 7*7 }}" in html
    assert " 49 " not in html and "]]&gt;" in html  # not evaluated; & and ]]> escaped


def test_pdf_report_text_matches_worklist_totals(dev_run) -> None:
    out, _ = dev_run
    rows = _rows(out / "worklist.csv")
    at_stake = sum(Decimal(r["at_stake"]) for r in rows if r["action"] != "no_action")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(
        (out / "triage.pdf").read_bytes())).pages)
    assert f"${at_stake:,.2f}" in text


def test_row_store_keeps_settled_rows_on_disk_and_gives_them_back_in_worklist_order(
        tmp_path: Path) -> None:
    import stat

    from appeals.worklist import RowStore

    store = RowStore(tmp_path)
    base = {"urgent": "", "days_left": None, "source": "s", "location": "l", "line_number": 1}
    low = store.append(Row(**base, score=1, claim_id="LOW"))
    high = store.append(Row(**base, score=9, claim_id="HIGH"))
    store.settle(low)
    store[high].status = "packet written"  # an open row still changes in memory
    store.settle(high)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert [r.claim_id for r in store] == ["LOW", "HIGH"]  # arrival order
    assert [(r.claim_id, r.priority) for r in store.ordered()] == [("HIGH", 1), ("LOW", 2)]
    assert store[high].status == "packet written" and len(store) == 2
    store.close()
    assert not store.path.exists()


def test_row_store_sorts_through_run_files_when_keys_overflow(tmp_path: Path,
                                                            monkeypatch) -> None:
    from appeals.worklist import RowStore

    monkeypatch.setattr(RowStore, "KEYS_IN_MEMORY", 3)
    store = RowStore(tmp_path)
    scores = [5, 1, 9, 3, 7, 2, 8, 9]
    for n, points in enumerate(scores):
        store.settle(store.append(Row(urgent="", days_left=None, source="s",
                                      location=f"l{n}", line_number=1, score=points,
                                      claim_id=f"C{n}")))
    assert len(list(tmp_path.glob(".rows.tmp-*.keys*"))) == 2
    got = [(r.score, r.location) for r in store.ordered()]
    assert got == sorted(((s, f"l{n}") for n, s in enumerate(scores)), key=lambda x: (-x[0], x[1]))
    store.close()
    assert not list(tmp_path.glob(".rows.tmp-*"))


def test_everything_a_run_writes_is_the_owners_alone(tmp_path: Path) -> None:
    """Worklist, rejects, report, manifest and every packet file are 0600 and folders 0700
    whatever the shell's umask (they hold names and member ids); a practice that shares them
    with a group says so in its settings (0640, 0750)."""
    import os
    import stat

    old = os.umask(0o022)
    try:
        run(RunConfig(inputs=[SAMPLES / "multi_line.csv"], out=tmp_path / "o", workers=2,
                      as_of=date(2026, 7, 1)))
        org = tmp_path / "org.yaml"
        org.write_text("name: Lakeside\naddress: [1 Main St]\nphone: '1'\n"
                       "group_readable: true\n", encoding="utf-8")
        run(RunConfig(inputs=[SAMPLES / "multi_line.csv"], out=tmp_path / "g", workers=1,
                      as_of=date(2026, 7, 1), org=org))
    finally:
        os.umask(old)
    for root, want_file, want_dir in ((tmp_path / "o", 0o600, 0o700),
                                      (tmp_path / "g", 0o640, 0o750)):
        for path in [root, *root.rglob("*")]:
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode == (want_dir if path.is_dir() else want_file), (path, oct(mode))
