"""Classification speed on a generated set (a benchmark, not a test).

    python benchmarks/bench_classify.py [--records 200000]

Records are built from the development set's rows with varied codes and reason texts, so the
mix has codes only, text only and both; intake is not timed.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from appeals.classify import classify, load_rules
from appeals.intake import read
from appeals.models import DenialRecord

DEV = Path(__file__).resolve().parent.parent / "tests" / "data" / "denials.csv"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200_000)
    args = parser.parse_args()
    base = [r for r in read(DEV) if isinstance(r, DenialRecord)]
    records = [base[i % len(base)].model_copy(update={"claim_id": f"B{i}"})
               for i in range(args.records)]
    rules = load_rules()
    start = time.perf_counter()
    counts: dict[str, int] = {}
    for record in records:
        category = classify(record, rules).category.value
        counts[category] = counts.get(category, 0) + 1
    seconds = time.perf_counter() - start
    print(f"{len(records)} records classified in {seconds:.2f} s: "
          f"{len(records) / seconds:,.0f} records/s on one core")


if __name__ == "__main__":
    main()
