"""`appeals intake`: JSON Lines on stdout, counts on stderr, exit codes, rejects file, no PHI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import SAMPLES, X12


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "appeals.cli", *args], capture_output=True,
                          text=True, check=False)


def test_intake_prints_json_lines_with_canonical_fields(dev_csv: Path) -> None:
    out = run("intake", str(dev_csv))
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(lines) == 61 and lines[0]["claim_id"] == "D001"
    assert {"claim_id", "adjustment_codes", "remark_codes", "plan_type"} <= set(lines[0])
    assert out.stderr.strip().endswith("61 records, 0 rejected, 0 warnings")


def test_intake_reads_835_by_content_not_extension(tmp_path: Path) -> None:
    renamed = tmp_path / "remit.csv"
    renamed.write_bytes((X12 / "835_pyx12_mult_loops_co16_n14.txt").read_bytes())
    out = run("intake", str(renamed))
    assert out.returncode == 0 and len(out.stdout.splitlines()) == 3


def test_bad_rows_go_to_rejects_and_the_batch_goes_on(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("claim_id,denial_reason,patient_dob,service_date\n"
                   "A,no auth,1980-02-31,2026-01-01\nB,no auth,,2026-01-02\n")
    rejects = tmp_path / "rejects.csv"
    out = run("intake", str(src), "--rejects", str(rejects))
    assert out.returncode == 0
    assert [json.loads(x)["claim_id"] for x in out.stdout.splitlines()] == ["B"]
    assert "row 2" in rejects.read_text() and "patient_dob" in rejects.read_text()
    # The log names the row and field but never repeats a birth date value.
    assert "1980-02-31" not in out.stderr and "row 2: patient_dob" in out.stderr


def test_unusable_input_exits_2_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    text = tmp_path / "letter.txt"
    text.write_text("hello\n")
    for path in (text, tmp_path / "missing.csv", X12 / "837p_5010_lfh_example1_commercial.837"):
        out = run("intake", str(path))
        assert out.returncode == 2
        assert "Traceback" not in out.stderr and out.stderr.splitlines()


def test_truncated_835_exits_2_but_prints_complete_claims(tmp_path: Path) -> None:
    src = (SAMPLES / "835_5010_lfh_secondary_payment.835").read_text()
    cut = tmp_path / "cut.835"
    cut.write_text(src[: src.index("LX*2")] + "LX*2~CLP*0001000053*2*751")
    out = run("intake", str(cut))
    assert out.returncode == 2 and len(out.stdout.splitlines()) == 1
    assert "fatal" in out.stderr and "Traceback" not in out.stderr
