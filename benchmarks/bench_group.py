"""Grouping lines into appeals (a benchmark, not a test): time and memory for N lines.

    python benchmarks/bench_group.py [--lines 1000000] [--group-by claim|episode]

The lines are made from the synthetic 835's assessed lines, renumbered into claims of one to five
lines (an IOP week, a residential stay per day), and streamed into the Grouper one at a time, as
a run does; assessing them is not timed. Two figures: the grouping itself (keys, the sort and the
units' assignment: what decides which lines share an appeal) and the whole pass with every line
spooled to disk and read back as an Appeal, which a run also pays.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

from appeals.appeal import Appeal, Grouper, assess
from appeals.intake import read
from appeals.models import DenialRecord
from appeals.settings import Settings
from appeals.synthetic.remits import write_835


def rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--group-by", choices=("claim", "episode"), default="claim")
    args = parser.parse_args()
    settings = Settings(as_of=date(2026, 7, 1))
    with tempfile.TemporaryDirectory() as folder:
        remit = Path(folder) / "bench.835"
        write_835(remit, claims=200, lines_per_claim=3, seed=5)
        base = [assess(r, settings) for r in read(remit) if isinstance(r, DenialRecord)]

        def lines():
            claim, left = 0, 0
            for i in range(args.lines):
                if left == 0:
                    claim, left = claim + 1, 1 + claim % 5
                left -= 1
                line = base[i % len(base)]
                yield replace(line, record=line.record.model_copy(update={
                    "claim_id": f"G{claim}", "line_number": 1 + i % 5}))

        start_rss = rss_mb()
        peak = start_rss
        made = 0.0
        with Grouper(args.group_by, folder=Path(folder)) as grouper:
            t0 = time.perf_counter()
            for n, line in enumerate(lines()):
                m0 = time.perf_counter()
                made -= m0
                grouper.add(line)
                made += time.perf_counter()
                if n % 100_000 == 0:
                    peak = max(peak, rss_mb())
            grouper._flush()
            added = made
            t1 = time.perf_counter()
            grouper._assign()
            assigned = time.perf_counter() - t1
            grouper._assign = lambda: None  # already done
            t2 = time.perf_counter()
            appeals = sum(1 for u in grouper.units() if isinstance(u, Appeal))
            read_back = time.perf_counter() - t2
            peak = max(peak, rss_mb())
            del t0
    print(f"{args.lines:,} lines grouped by {args.group_by}: {appeals:,} appeals")
    print(f"  spooling each line (keys + payload) {added:6.1f} s "
          f"({args.lines / added:,.0f} lines/s)")
    print(f"  grouping (sort and units)           {assigned:6.1f} s")
    print(f"  reading the appeals back            {read_back:6.1f} s")
    print(f"  memory: {start_rss:.0f} MB before, peak {peak:.0f} MB")


if __name__ == "__main__":
    main()
