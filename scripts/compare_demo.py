"""What a change did to `appeals demo`'s output: two demo folders compared, for a redesign's proof
that nothing changed that should not have.

    python scripts/compare_demo.py BEFORE/out/demo AFTER/out/demo

Prints the manifests' counts, which packet files differ (packet.json compared without its
`input_key`, which fingerprints the templates and data and so changes with any of them), and
the case stores' content without ids and timestamps: each case (found by claim and line) with
its status, amounts, deadline, readiness and score, its events' kinds and moves, and the
recorded lines. Exit 0 always: the lines are for a person to read.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

CASE_FIELDS = ("status", "category", "action", "owner", "reason", "plan", "deadline",
               "deadline_rule", "billed", "paid", "at_stake", "recovered", "repeat_count",
               "checklist_due", "packet_ready", "score", "first_seen", "last_seen")


def packet_files(folder: Path) -> dict[str, str]:
    files = json.loads((folder / "manifest.json").read_text())["files"]
    out = {k: v for k, v in files.items() if k.startswith("packets/")
           and not k.endswith("packet.json")}
    for summary in sorted((folder / "packets").glob("*/packet.json")):
        data = json.loads(summary.read_text())
        data.pop("input_key", None)
        out[str(summary.relative_to(folder))] = json.dumps(data, sort_keys=True)
    return out


def store(folder: Path) -> dict[tuple, dict]:
    db = sqlite3.connect(folder / "appeals.db")
    db.row_factory = sqlite3.Row
    here = str(folder.resolve())  # packet paths in notes: the same demo in another clone
    cases = {}
    for row in db.execute("SELECT * FROM cases ORDER BY id"):
        case = {k: row[k] for k in CASE_FIELDS}
        case["events"] = [(e["kind"], e["who"], e["from_status"], e["to_status"],
                           (e["note"] or "").replace(here, "<demo>"))
                          for e in db.execute("SELECT * FROM events WHERE case_id = ? "
                                              "ORDER BY id", (row["id"],))]
        case["lines"] = sorted((r["location"], r["claim_id"], r["line_number"], r["category"],
                                r["billed"], r["at_stake"]) for r in db.execute(
            "SELECT * FROM lines WHERE case_id = ?", (row["id"],)))
        cases[(row["claim_id"], row["line_number"])] = case
    db.close()
    return cases


def main(before: Path, after: Path) -> None:
    counts = [json.loads((f / "manifest.json").read_text())["counts"] for f in (before, after)]
    print(f"counts before {counts[0]}\n       after  {counts[1]}")
    old, new = packet_files(before), packet_files(after)
    same = [k for k, v in old.items() if new.get(k) == v]
    changed = sorted({k.split("/")[1] for k, v in old.items() if k in new and new[k] != v})
    gone = sorted({k.split("/")[1] for k in old if k not in new} - set(changed))
    added = sorted({k.split("/")[1] for k in new if k not in old})
    print(f"packet files: {len(old)} before, {len(same)} identical after; folders changed "
          f"{changed or 'none'}; gone {gone or 'none'}; new {added or 'none'}")
    a, b = store(before), store(after)
    differ = []
    for key, case in a.items():
        if key not in b:
            continue
        for name, value in case.items():
            if str(b[key][name]) != str(value):
                differ.append(f"{key[0]}-{key[1]} {name}: {value!r} -> {b[key][name]!r}")
    print(f"cases: {len(a)} before, {len(b)} after; {len(set(a) & set(b))} found in both; "
          f"{len(differ)} differences in them")
    for line in differ[:40]:
        print("  " + line[:300])


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
