"""Confusion matrix and every miss of the classifier on a labeled set.

    python scripts/evaluate_dev_set.py [DENIALS.csv LABELS.csv]

Defaults to the development set in tests/data (copied from shared/samples/dev). A primary
category counts as correct when it is the label or one of its `also_ok`.
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path

from appeals.classify import classify, load_rules
from appeals.intake import read
from appeals.models import Category, DenialRecord

HERE = Path(__file__).resolve().parent.parent / "tests" / "data"


def evaluate(denials: Path, labels: Path) -> dict:
    rules = load_rules()
    truth = {row["claim_id"]: row for row in csv.DictReader(labels.open())}
    matrix: Counter = Counter()
    misses, appealable_misses, n = [], [], 0
    for record in read(denials):
        if not isinstance(record, DenialRecord) or record.claim_id not in truth:
            continue
        label = truth[record.claim_id]
        result = classify(record, rules)
        ok = {label["category"], *filter(None, label["also_ok"].split(";"))}
        n += 1
        matrix[(label["category"], result.category.value)] += 1
        if result.category.value not in ok:
            misses.append((record.claim_id, label["category"], result.category.value,
                           result.evidence))
        if str(result.appealable).lower() != label["appealable"]:
            appealable_misses.append((record.claim_id, label["appealable"], result.appealable))
    return {"n": n, "matrix": matrix, "misses": misses, "appealable_misses": appealable_misses}


def main() -> None:
    denials, labels = (Path(a) for a in sys.argv[1:3]) if len(sys.argv) > 2 else (
        HERE / "denials.csv", HERE / "labels.csv")
    out = evaluate(denials, labels)
    cats = [c.value for c in Category]
    short = {c: c[:6] for c in cats}
    print("label \\ predicted".ljust(26) + " ".join(short[c].rjust(6) for c in cats))
    for label in cats:
        row = [out["matrix"][(label, p)] for p in cats]
        if any(row):
            print(label.ljust(26) + " ".join(str(v or ".").rjust(6) for v in row))
    correct = out["n"] - len(out["misses"])
    print(f"\nprimary category correct (label or also_ok): {correct}/{out['n']}")
    print(f"appealable correct: {out['n'] - len(out['appealable_misses'])}/{out['n']}")
    for claim, want, got, evidence in out["misses"]:
        print(f"  miss {claim}: labeled {want}, got {got}; evidence: {'; '.join(evidence)}")
    for claim, want, got in out["appealable_misses"]:
        print(f"  appealable miss {claim}: labeled {want}, got {got}")


if __name__ == "__main__":
    main()
