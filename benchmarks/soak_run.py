"""Soak: `appeals run` over a generated remittance of LINES service lines, 2 workers.

    python benchmarks/soak_run.py [LINES] [DENIAL_SHARE]     # default 1,000,000 lines, 0.002

Reports the main process's and the workers' peak memory, the time, and whether worklist.csv and
manifest.json account for every line (the manifest counts every line; the worklist's appeals
cover every denied one). Few lines are
denied by default so the packets (about 0.1 s each) do not dominate: the soak is about the
lines. Not a test: the figures go in the README.
"""

from __future__ import annotations

import csv
import json
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from appeals.pipeline import RunConfig, run
from appeals.synthetic.remits import write_835


def main() -> int:
    lines = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    share = float(sys.argv[2]) if len(sys.argv) > 2 else 0.002
    with tempfile.TemporaryDirectory() as tmp:
        remit = Path(tmp) / "soak.835"
        counts = write_835(remit, claims=lines // 3, lines_per_claim=3, seed=13,
                           denial_share=share)
        print(f"input: {remit.stat().st_size / 1e6:.0f} MB, {counts.lines:,} lines, "
              f"{counts.denied_lines:,} denied")
        start = time.perf_counter()
        result = run(RunConfig(inputs=[remit], out=Path(tmp) / "out", workers=2,
                               as_of=date(2026, 7, 1)))
        seconds = time.perf_counter() - start
        main_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        with (Path(tmp) / "out" / "worklist.csv").open(encoding="utf-8") as fh:
            appeals = list(csv.DictReader(fh))
        manifest = json.loads((Path(tmp) / "out" / "manifest.json").read_text())
        # Every line is read into the report and the manifest's count; the worklist has a row
        # per appeal, and its appeals cover every denied line.
        covered = sum(int(r["lines"]) for r in appeals)
        complete = (counts.lines == manifest["counts"]["lines"] == result.records
                    and covered == counts.denied_lines
                    and len(appeals) == manifest["counts"]["rows"] == result.packets_written)
        print(f"{counts.lines:,} lines in {seconds:.0f} s ({counts.lines / seconds:,.0f} lines/s); "
              f"packets {result.packets_written:,} (appeals, covering {covered:,} denied lines); "
              f"peak RSS: main {main_mb:.0f} MB, worker {result.worker_peak_mb:.0f} MB; "
              f"manifest lines {manifest['counts']['lines']:,}: "
              f"{'every line counted' if complete else 'LOST'}")
        return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
