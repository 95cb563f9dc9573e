"""The store commands over a store of N open appeals, as a biller runs them (a new process each,
start-up included): wall time, best of three. `cases`, `case` and `watch` read; `mark`,
`approve` and `outcome` each change a different case every time.

    python benchmarks/bench_watch.py [--cases 10000]

The store is filled as benchmarks/bench_web.py fills it (every column the commands read).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_web import AS_OF, fill

from appeals.store import open_store


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10_000)
    n = parser.parse_args().cases
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'watch.db'}"
        engine = open_store(url)
        fill(engine, n)
        _ready_for_the_changes(engine)
        engine.dispose()
        day = AS_OF.isoformat()
        reads = {"watch": ["--days", "30", "--as-of", day], "cases": ["--as-of", day],
                 "case": ["5", "--as-of", day]}
        changes = {"mark": lambda i: [str(i), "closed", "--on", day, "--reason", "no_action"],
                   "approve": lambda i: [str(i), "--on", day],
                   "outcome": lambda i: [str(i), "overturned", "--on", day]}
        for name, args in [*((k, lambda _i, a=v: a) for k, v in reads.items()),
                           *changes.items(), ("--help", lambda _i: [])]:
            best = float("inf")
            for attempt in range(3):
                case = {"mark": 101, "approve": 201, "outcome": 301}.get(name, 0) + attempt
                start = time.perf_counter()
                subprocess.run([sys.executable, "-m", "appeals", name, *args(case),
                                *(["--db", url] if name != "--help" else [])],
                               check=True, capture_output=True)
                best = min(best, time.perf_counter() - start)
            print(f"appeals {name} over {n:,} open appeals: {best:.2f} s")


def _ready_for_the_changes(engine) -> None:
    """Cases 201-203 with a built packet (to approve), cases 301-303 sent (for their outcome)."""
    from sqlalchemy import update

    from appeals.store import mark
    from appeals.store.schema import cases

    with engine.begin() as conn:
        conn.execute(update(cases).where(cases.c.id.in_([201, 202, 203])).values(
            packet_path="packets/x", packet_hashes=json.dumps({"appeal_letter.pdf": "0" * 64})))
    for case in (301, 302, 303):
        mark(engine, str(case), "sent", on=AS_OF, method="fax", who="bench", override="bench")


if __name__ == "__main__":
    main()
