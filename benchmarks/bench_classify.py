"""Classification speed (a benchmark, not a test), on three mixes; intake is not timed.

    python benchmarks/bench_classify.py [--records 200000]

- dev set: the 61 development rows repeated (codes only, text only and both);
- 835: the lines of a generated behavioral-health 835 (code sets repeat as in real remits);
- all distinct: dev rows, each with a reason text of its own, so nothing is reused between
  records (the worst case: every decision is worked out from scratch).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from appeals.classify import classify, load_rules
from appeals.intake import read
from appeals.models import DenialRecord
from appeals.synthetic.remits import write_835

DEV = Path(__file__).resolve().parent.parent / "tests" / "data" / "denials.csv"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200_000)
    args = parser.parse_args()
    n = args.records
    base = [r for r in read(DEV) if isinstance(r, DenialRecord)]
    with tempfile.TemporaryDirectory() as folder:
        remit = Path(folder) / "bench.835"
        write_835(remit, claims=n // 3 + 1, lines_per_claim=3, seed=5)
        synthetic = [r for r in read(remit) if isinstance(r, DenialRecord)][:n]
    mixes = {
        "dev set": [base[i % len(base)].model_copy(update={"claim_id": f"B{i}"})
                    for i in range(n)],
        "835": synthetic,
        "all distinct": [base[i % len(base)].model_copy(update={
            "claim_id": f"B{i}", "denial_reason": f"{base[i % len(base)].denial_reason or ''} "
                                                  f"(ref {i})"}) for i in range(n)],
    }
    for name, records in mixes.items():
        rules = load_rules()  # a fresh rule set: nothing remembered from the previous mix
        start = time.perf_counter()
        for record in records:
            classify(record, rules)
        seconds = time.perf_counter() - start
        print(f"{name:>12}: {len(records)} records in {seconds:.2f} s: "
              f"{len(records) / seconds:,.0f} records/s on one core")


if __name__ == "__main__":
    main()
