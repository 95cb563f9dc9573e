"""The main job at scale: `appeals run` on a generated 835, with 1 and with 2 workers.

    python benchmarks/bench_run.py [PACKETS] [WORKERS...]     # default: 2000 packets, 1 and 2

Reports wall time, packets per second, the speed-up, peak memory per worker (the largest RSS a
packet worker reported after a packet; with 1 worker the packets are built in the main process) and where the time goes:
intake, classify and law in the main process, compose, DOCX, PDF and writing summed over the
workers, and the report. Not a test: the figures go in the README.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from appeals.classify import classify, load_rules
from appeals.intake import read
from appeals.packet import needs_packet
from appeals.pipeline import RunConfig, run
from appeals.synthetic.remits import write_835


def generate(folder: Path, packets: int) -> Path:
    """A synthetic 835 holding about `packets` lines that need a packet."""
    rules, claims = load_rules(), max(10, packets // 2)
    while True:
        path = folder / "bench.835"
        write_835(path, claims=claims, lines_per_claim=3, seed=11, denial_share=0.35)
        found = sum(1 for r in read(path) if not hasattr(r, "field")
                    and needs_packet(classify(r, rules)))
        if found >= packets:
            return path
        claims = int(claims * packets / max(found, 1) * 1.02) + 1


def main(packets: int, worker_counts: list[int]) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench_run_"))
    try:
        source = generate(folder, packets)
        print(f"input: {source.stat().st_size / 1e6:.1f} MB 835")
        base = None
        for workers in worker_counts:
            out = folder / f"out{workers}"
            start = time.perf_counter()
            result = run(RunConfig(inputs=[source], out=out, workers=workers,
                                   as_of=date(2026, 7, 1), force=True))
            wall = time.perf_counter() - start
            built = result.packets_written
            base = base or wall
            s = result.seconds
            work = {k.removeprefix("packets_"): v for k, v in s.items()
                    if k.startswith("packets_") and k != "packets_wall"}
            stages = {"intake": s.get("intake", 0), "classify": s.get("classify", 0),
                      "law": s.get("law", 0), **work, "report": s.get("report", 0)}
            total = sum(stages.values())
            print(f"workers={workers}: {result.records} lines, {built} packets in {wall:.0f} s "
                  f"({built / wall:.1f} packets/s, speed-up {base / wall:.2f}x), "
                  f"peak RSS per worker {result.worker_peak_mb:.0f} MB, exit {result.exit_code}")
            print("   time share (CPU seconds summed over processes): " + ", ".join(
                f"{k} {v / total:.0%}" for k, v in stages.items()))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    counts = [int(a) for a in sys.argv[2:]] or [1, 2]
    main(n, counts)
