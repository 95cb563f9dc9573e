"""Intake speed and memory on a generated 835 (a benchmark, not a test).

    python benchmarks/bench_intake.py [--claims 20000] [--lines 3]

Generates a synthetic 835 (20,000 claims x 3 service lines by default), then reads it in a fresh
process and reports service lines per second and peak memory (ru_maxrss). Run it at two sizes to
see that memory does not grow with the file (the reader streams).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from appeals.synthetic import write_835


def measure(path: str) -> dict:
    """Runs in a child process so ru_maxrss is this read alone."""
    from appeals.intake import read
    from appeals.models import Reject

    start = time.perf_counter()
    records = rejects = 0
    for item in read(path):
        if isinstance(item, Reject):
            rejects += 1
        else:
            records += 1
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"records": records, "rejects": rejects, "seconds": round(seconds, 3),
            "records_per_s": round(records / seconds), "peak_mb": round(peak_mb, 1)}


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(measure(sys.argv[2])))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=20000)
    parser.add_argument("--lines", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for claims in (args.claims // 10, args.claims):
            path = Path(tmp) / f"bench_{claims}.835"
            counts = write_835(path, claims=claims, lines_per_claim=args.lines, seed=1)
            size_mb = path.stat().st_size / 1e6
            out = subprocess.run([sys.executable, __file__, "--child", str(path)],
                                 capture_output=True, text=True, check=True).stdout
            result = json.loads(out)
            assert result["records"] == counts.lines, (result, counts)
            print(f"{claims:>6} claims, {counts.lines:>6} lines, {size_mb:5.1f} MB: "
                  f"{result['records_per_s']:>7} lines/s, {result['seconds']} s, "
                  f"peak {result['peak_mb']} MB")


if __name__ == "__main__":
    main()
