"""Each hostile file of issue 29 beside a good CSV: does the week still get its output, and how
much memory does the run take?

    python benchmarks/hostile_memory.py [--out /tmp/hostile_memory] [--db sqlite|postgresql URL]

For each file, `appeals run` (one packet worker) reads the bundled denials.csv and the hostile
file; the DOCX zip bomb goes to `appeals facts import`. Reported per file: exit code, whether the
good CSV's worklist, manifest and packets were written, whether the hostile file is named in
rejects.csv or on stderr, the wall time, and the peak resident memory of the largest process of
the run (the run itself, its packet worker or the letter reader: wait4's ru_maxrss). Target:
under 1 GB each. Not a test: the figures go in the README.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from appeals.synthetic.hostile import hostile_files

GOOD = ROOT / "appeals" / "data" / "samples" / "denials.csv"
AS_OF = "2026-07-01"


def _run(args: list[str], cwd: Path) -> tuple[int, float, float, str]:
    """(exit code, seconds, peak MB of the largest process, stderr)."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "appeals", *args], cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    stderr = proc.stderr.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, time.perf_counter() - start, usage.ru_maxrss / 1024, stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/hostile_memory"))
    parser.add_argument("--db", default=None, help="store URL (default: --no-db)")
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    files = hostile_files(args.out / "inputs", bomb_mb=5000, docx_mb=1500)
    print(f"{'file':24} {'exit':>4} {'good output':>11} {'named':>5} {'seconds':>7} {'peak MB':>7}")
    for name, path in files.items():
        out = args.out / name
        if path.suffix == ".docx":
            code, secs, peak, err = _run(["facts", "import", str(path), "--to",
                                          str(out / "facts.yaml")], args.out)
            good, named = "-", name in err
        else:
            store = ["--db", args.db] if args.db else ["--no-db"]
            code, secs, peak, err = _run(
                ["run", str(GOOD), str(path), "--out", str(out), "--as-of", AS_OF,
                 "--workers", "1", "--plan-type", "employer_group", *store], args.out)
            written = all((out / f).exists() for f in ("worklist.csv", "manifest.json")) and \
                len(list((out / "packets").iterdir())) > 0 if (out / "packets").exists() else False
            good = "yes" if written else "NO"
            rejects = (out / "rejects.csv").read_text(encoding="utf-8") if (
                out / "rejects.csv").exists() else ""
            named = name in rejects or name in err
        print(f"{name:24} {code:>4} {good:>11} {'yes' if named else 'NO':>5} {secs:7.1f} "
              f"{peak:7.0f}")


if __name__ == "__main__":
    main()
