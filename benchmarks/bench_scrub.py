"""Scrubbing a generated 837P: lines per second on one core and memory as the file grows.

    python benchmarks/bench_scrub.py [--lines 100000]

The file is generated (appeals.synthetic.claims) with an authorizations file covering it, then
`appeals.scrub.scrub` reads it with the sample payer directory and roster and writes scrub.csv
and scrub.html. Peak RSS
is printed for a tenth of the file and for all of it: the reader streams, and what the checks
keep grows with patient-days, not with lines.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "appeals" / "data" / "samples"
CHILD = """
import resource, sys, time
from datetime import date
from pathlib import Path
from appeals.scrub import scrub
S = Path(sys.argv[3])
start = time.perf_counter()
r = scrub([Path(sys.argv[1])], Path(sys.argv[2]), payers=S / "payers.yaml",
          roster=S / "roster.csv", auths=Path(sys.argv[1]).with_suffix(".auths.csv"),
          as_of=date(2026, 6, 30))
seconds = time.perf_counter() - start
print(r.lines, seconds, r.errors + r.warnings,
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def run(path: Path, out: Path) -> tuple[int, float, int, int]:
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), str(out), str(SAMPLES)],
                          check=True, capture_output=True, text=True)
    lines, seconds, found, rss = done.stdout.split()
    return int(lines), float(seconds), int(found), int(rss)


def main() -> None:
    from appeals.synthetic.claims import auths_for, generated, write_837

    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        for size in (args.lines // 10, args.lines):
            path = base / f"claims_{size}.837"
            claims = list(generated(size, start=date(2026, 5, 1)))
            wrote = write_837(path, claims)
            path.with_suffix(".auths.csv").write_text(auths_for(claims))
            lines, seconds, found, rss = run(path, base / f"out_{size}")
            print(f"{lines:>8} lines ({path.stat().st_size / 1e6:.1f} MB, {wrote} written): "
                  f"{seconds:.2f} s, {lines / seconds:,.0f} lines/s on one core, {found} "
                  f"findings, peak RSS {rss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
