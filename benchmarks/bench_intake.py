"""Intake speed and memory on a generated 835 (a benchmark, not a test).

    python benchmarks/bench_intake.py [--claims 20000] [--lines 3]
    python benchmarks/bench_intake.py --csv [--rows 100000]
    python benchmarks/bench_intake.py --fhir [--responses 5000]

Generates a synthetic 835 (20,000 claims x 3 service lines by default), then reads it in a fresh
process and reports service lines per second and peak memory (ru_maxrss). Run it at two sizes to
see that memory does not grow with the file (the reader streams).

`--csv`: the same rows as a canonical CSV, and as a practice system's export (its own headers,
'Commercial', 'Medicaid', 'Med Management') read through a column map with value maps, each
through the run's Batch; the map's cost is the difference (best of three each).

`--fhir`: a Bundle of PAS ClaimResponses (the bundled sample's, each its own request), read in a
fresh process: responses per second, each validated by fhir.resources.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from appeals.synthetic.remits import write_835


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


#: The export's headers and words for the canonical ones (the value map's rows).
EXPORT = {"claim_id": "Claim #", "payer_name": "Insurance", "plan_type": "Plan Type",
          "level_of_care": "Service Type", "service_date": "DOS", "cpt_code": "CPT",
          "billed_amount": "Charge", "adjustment_codes": "Adj Codes",
          "denial_reason": "Denial Reason"}
WORDS = {"plan_type": {"employer_group": "Commercial", "medicaid_mco": "Medicaid"},
         "level_of_care": {"outpatient": "Med Management", "iop": "Intensive Outpatient"}}
MAP = ('columns:\n' + "".join(f'  "{h}": {f}\n' for f, h in EXPORT.items())
       + "values:\n  plan_type: {Commercial: employer_group, Medicaid: medicaid_mco}\n"
       '  level_of_care: {"Med Management": outpatient, "Intensive Outpatient": iop}\n')


def write_csvs(folder: Path, rows: int) -> tuple[Path, Path, Path]:
    """The same rows as a canonical CSV and as an export with its map."""
    plain, export, mapping = folder / "plain.csv", folder / "export.csv", folder / "map.yaml"
    mapping.write_text(MAP, encoding="utf-8")
    with plain.open("w", newline="") as a, export.open("w", newline="") as b:
        canon, theirs = csv.writer(a), csv.writer(b)
        canon.writerow(EXPORT)
        theirs.writerow(EXPORT.values())
        for i in range(rows):
            plan, care = ("employer_group", "outpatient") if i % 3 else ("medicaid_mco", "iop")
            row = [f"C{i:07d}", "Blue Ridge Health", plan, care, "2026-05-04", "90837",
                   "150.00", "CO-50", "Not medically necessary"]
            canon.writerow(row)
            row[2], row[3] = WORDS["plan_type"][plan], WORDS["level_of_care"][care]
            theirs.writerow(row)
    return plain, export, mapping


def measure_batch(path: str, mapping: str | None) -> float:
    from appeals.intake import Batch

    start = time.perf_counter()
    batch = Batch([Path(path)], Path(mapping) if mapping else None)
    records = sum(1 for _ in batch)
    assert records and not batch.rejects, batch.rejects[:3]
    return records / (time.perf_counter() - start)


def bench_csv(rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        plain, export, mapping = write_csvs(Path(tmp), rows)
        best = {}
        for name, args in (("canonical CSV", [str(plain)]),
                           ("export + value maps", [str(export), str(mapping)])):
            runs = [float(subprocess.run([sys.executable, __file__, "--csv-child", *args],
                                         capture_output=True, text=True, check=True).stdout)
                    for _ in range(3)]
            best[name] = max(runs)
            print(f"{name:<20} {rows} rows: {best[name]:>8,.0f} rows/s (best of 3)")
        slower = 1 - best["export + value maps"] / best["canonical CSV"]
        print(f"the map's cost: {slower:+.1%}")


def bench_fhir(responses: int) -> None:
    from appeals.intake import read

    sample = Path(__file__).resolve().parents[1] / "appeals/data/samples/fhir"
    bundle = json.loads((sample / "pas_response_bundle.json").read_text(encoding="utf-8"))
    first = bundle["entry"][0]["resource"]
    for i in range(responses - 1):
        bundle["entry"].append({"resource": {**first, "id": f"r{i}",
                                             "request": {"identifier": {"value": f"PA-{i}"}}}})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bundle.json"
        path.write_text(json.dumps(bundle), encoding="utf-8")
        start = time.perf_counter()
        records = sum(1 for _ in read(path))
        seconds = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{responses} ClaimResponses ({path.stat().st_size / 1e6:.1f} MB): {records} "
              f"records in {seconds:.2f} s, {responses / seconds:,.0f} responses/s, "
              f"peak {peak_mb:.0f} MB")


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(measure(sys.argv[2])))
        return
    if len(sys.argv) in (3, 4) and sys.argv[1] == "--csv-child":
        print(measure_batch(sys.argv[2], sys.argv[3] if len(sys.argv) == 4 else None))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=20000)
    parser.add_argument("--lines", type=int, default=3)
    parser.add_argument("--csv", action="store_true", help="CSV with and without value maps")
    parser.add_argument("--rows", type=int, default=100000)
    parser.add_argument("--fhir", action="store_true", help="FHIR ClaimResponses per second")
    parser.add_argument("--responses", type=int, default=5000)
    args = parser.parse_args()
    if args.fhir:
        bench_fhir(args.responses)
        return
    if args.csv:
        bench_csv(args.rows)
        return
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
