"""Issue 14: an interrupted run leaves no worker alive and no record on disk it can remove.

Runs `appeals run` as a real process on a generated 835, interrupts it while packets are being
built, and looks at what remains (processes and files)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appeals.synthetic.remits import write_835

pytestmark = [pytest.mark.skipif(not sys.platform.startswith("linux"),
                                 reason="reads /proc for the workers (Linux only)"),
              pytest.mark.usefixtures("fresh_pdfs")]  # interrupted while it renders


def children(pid: int) -> set[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text() if (task / "children").exists() else ""
        out.update(int(p) for p in text.split())
    return out


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def start(tmp_path: Path) -> tuple[subprocess.Popen, Path, set[int]]:
    remit = tmp_path / "big.835"
    write_835(remit, claims=400, lines_per_claim=3, seed=2)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "appeals", "run", str(remit), "--out",
                             str(out), "--workers", "2", "--as-of", "2026-07-01"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    workers: set[int] = set()
    while time.monotonic() < deadline:
        workers |= children(proc.pid)
        built = list((out / "packets").glob("*/packet.json")) if (out / "packets").exists() else []
        if len(built) >= 3 and len(workers) >= 2:
            break
        if proc.poll() is not None:
            pytest.fail(f"the run ended before it could be interrupted: {proc.stderr.read()!r}")
        time.sleep(0.1)
    spools = list(out.glob(".jobs.tmp-*"))
    assert spools and stat.S_IMODE(spools[0].stat().st_mode) == 0o600  # the records on disk
    return proc, out, workers


def wait_gone(pids: set[int], seconds: float = 15) -> set[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    return {p for p in pids if alive(p)}


def test_sigterm_stops_like_ctrl_c_and_removes_the_spool(tmp_path: Path) -> None:
    proc, out, workers = start(tmp_path)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 130
    assert "interrupted" in proc.stderr.read().decode()
    assert not wait_gone(workers)
    assert not list(out.glob(".jobs.tmp-*")) and not (out / "manifest.json").exists()
    assert not list((out / "packets").glob(".*tmp-*"))  # no half-written packet


def test_workers_die_with_a_killed_run(tmp_path: Path) -> None:
    proc, out, workers = start(tmp_path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert not wait_gone(workers), "workers outlived the killed run"
    # SIGKILL cannot be caught: the spool stays (0600) until the next run into this folder.
    leftover = list(out.glob(".jobs.tmp-*"))
    assert leftover and stat.S_IMODE(leftover[0].stat().st_mode) == 0o600
