"""`appeals watch` and `appeals cases` over a store of N open appeals, as a biller runs them
(a new process each, start-up included): wall time, best of three.

    python benchmarks/bench_watch.py [--cases 10000]

The store is filled as benchmarks/bench_web.py fills it (every column the commands read).
"""

from __future__ import annotations

import argparse
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
        engine.dispose()
        for command in (["watch", "--days", "30"], ["cases"], ["--help"]):
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                subprocess.run([sys.executable, "-m", "appeals", *command,
                                *(["--db", url, "--as-of", AS_OF.isoformat()]
                                  if command[0] != "--help" else [])],
                               check=True, capture_output=True)
                best = min(best, time.perf_counter() - start)
            print(f"appeals {' '.join(command)} over {n:,} open appeals: {best:.2f} s")


if __name__ == "__main__":
    main()
