"""Case store benchmark (not a test: the figures go in the README).

    python benchmarks/bench_store.py [--lines 200000] [--history 1000000] [--run-lines 30000]

1. Lines recorded per second by the Recorder alone (classification and law done beforehand), on
   SQLite and on PostgreSQL (a throwaway cluster, as the tests start one; skipped with a note when
   the server is not installed).
2. The extra cost the store adds to `appeals run` on a generated remittance (same input, one
   worker, with and without --db), packets few so the lines dominate.
3. The triage report's history queries over a generated history of --history lines (10% denied,
   cases in every status, spread over a year of weekly runs), on both databases.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from contextlib import nullcontext
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from pgserver import create_database, pg_bin, temporary_cluster

from appeals.appeal import Appeal, assess, group
from appeals.intake import read
from appeals.pipeline import RunConfig, run
from appeals.settings import Settings
from appeals.store import Recorder, Status, open_store
from appeals.store.history import history
from appeals.store.record import CHUNK
from appeals.store.schema import cases, lines, runs
from appeals.synthetic.remits import write_835

AS_OF = date(2026, 7, 1)


def assessed(path: Path, limit: int) -> list:
    """The appeals and lone lines of the first `limit` lines of a remittance, grouped."""
    settings, lines = Settings(as_of=AS_OF), []
    for record in read(path):
        if len(lines) >= limit:
            break
        if hasattr(record, "claim_id"):
            lines.append(assess(record, settings))
    return group(lines)


def record_rate(url: str, units: list, source: Path) -> float:
    """Lines recorded per second, a chunk of units at a time as a run records them."""
    engine = open_store(url)
    recorder = Recorder(engine, AS_OF)
    recorder.start({source: "bench"})
    start = time.perf_counter()
    chunk, size, total = [], 0, 0
    for unit in units:
        chunk.append(unit)
        size += len(unit.lines) if isinstance(unit, Appeal) else 1
        if size >= CHUNK:
            recorder.record(chunk)
            total, chunk, size = total + size, [], 0
    if chunk:
        recorder.record(chunk)
        total += size
    recorder.finish()
    seconds = time.perf_counter() - start
    engine.dispose()
    return total / seconds


def run_cost(tmp: Path, n: int, share: float) -> tuple[float, float]:
    """Seconds of `appeals run` without and with the store (best of two each)."""
    remit = tmp / f"run-{share}.835"
    write_835(remit, claims=n // 3, lines_per_claim=3, seed=5, denial_share=share)
    best = {}
    for k, db in enumerate((None, "store", None, "store")):
        url = f"sqlite:///{tmp / f'run-{share}-{k}.db'}" if db else None
        start = time.perf_counter()
        run(RunConfig(inputs=[remit], out=tmp / f"out-{share}-{k}", workers=1, as_of=AS_OF,
                      db=url))
        best[db] = min(best.get(db, 1e9), time.perf_counter() - start)
    return best[None], best["store"]


def fill_history(url: str, n: int) -> None:
    """n lines over 52 weekly runs, a tenth denied, each denial its own case."""
    rng = random.Random(11)
    engine = open_store(url)
    payers = [f"Payer {k}" for k in range(15)]
    clinicians = [f"Clinician {k}" for k in range(40)]
    codes = ["90837", "90834", "90791", "H0015", "H0035", "99214", "90853", "H2019"]
    statuses = [s.value for s in Status]
    with engine.begin() as conn:
        run_ids = [conn.execute(insert(runs).returning(runs.c.id), {
            "started_at": "2026-01-01T00:00:00", "as_of": AS_OF - timedelta(weeks=w),
            "toolkit_version": "bench", "inputs": "[]", "lines": 0}).scalar_one()
            for w in range(52)]
    batch_lines, batch_cases = [], []
    case_id = 0
    for i in range(n):
        week = i % 52
        day = AS_OF - timedelta(weeks=week)
        denied = rng.random() < 0.1
        payer = rng.choice(payers)
        if denied:
            case_id += 1
            status = rng.choice(statuses)
            decided = day + timedelta(days=rng.randint(20, 90)) if status in (
                "overturned", "partially_overturned", "upheld") else None
            batch_cases.append({
                "id": case_id, "case_key": f"k{i}", "payer": payer.casefold(),
                "payer_name": payer, "claim_id": f"C{i}", "line_number": 1,
                "service_date": day - timedelta(days=30), "cpt_code": rng.choice(codes),
                "member_id": f"M{i % 50000}", "provider": "p", "category": rng.choice(
                    ["medical_necessity", "authorization", "coding", "eligibility"]),
                "action": "appeal", "owner": "billing", "reason": f"CO-{rng.choice([50, 197, 16])}",
                "plan": "erisa_group", "status": status, "denial_date": day,
                "deadline": day + timedelta(days=180), "billed": Decimal("200.00"),
                "paid": Decimal(0), "at_stake": Decimal("200.00"),
                "recovered": Decimal("200.00") if status == "overturned" else Decimal(0),
                "repeat_count": 0, "first_seen": day, "last_seen": day, "decided_on": decided,
                "last_fingerprint": "x", "levels_upheld": 0, "record": "{}"})
        batch_lines.append({
            "run_id": run_ids[week], "source_sha": f"s{week}", "location": f"line {i}",
            "fingerprint": "x", "case_id": case_id if denied else None, "recorded_on": day,
            "payer": payer.casefold(), "payer_name": payer, "claim_id": f"C{i}",
            "line_number": 1, "service_date": day - timedelta(days=30),
            "cpt_code": rng.choice(codes), "provider_name": rng.choice(clinicians),
            "denied": denied, "category": "medical_necessity" if denied else "not_a_denial",
            "reason": f"CO-{rng.choice([50, 197, 16])}" if denied else "CO-45",
            "billed": Decimal("200.00"), "paid": Decimal(0) if denied else Decimal("150.00"),
            "at_stake": Decimal("200.00") if denied else Decimal(0), "denial_date": day})
        if len(batch_lines) >= 20000 or i == n - 1:
            with engine.begin() as conn:
                if batch_cases:
                    conn.execute(insert(cases), batch_cases)
                conn.execute(insert(lines), batch_lines)
            batch_lines, batch_cases = [], []
    engine.dispose()


def time_history(url: str) -> float:
    engine = open_store(url)
    history(engine, AS_OF)  # warm the connection and the caches, as a second run would be
    start = time.perf_counter()
    history(engine, AS_OF)
    seconds = time.perf_counter() - start
    engine.dispose()
    return seconds


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=200_000)
    ap.add_argument("--history", type=int, default=1_000_000)
    ap.add_argument("--run-lines", type=int, default=30_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        remits = {}
        for share in (0.1, 0.3):
            remit = remits[share] = tmp / f"bench-{share}.835"
            write_835(remit, claims=args.lines // 3 + 1, lines_per_claim=3, seed=3,
                      denial_share=share)
            items = assessed(remit, args.lines)
            rate = record_rate(f"sqlite:///{tmp / f'rate-{share}.db'}", items, remit)
            print(f"recording {len(items):,} lines, {share:.0%} of claims denied: SQLite "
                  f"{rate:,.0f} lines/s", flush=True)
        bindir = pg_bin()
        if bindir is None:
            print("  PostgreSQL: not installed (apt-get install postgresql); skipped")
        with temporary_cluster(bindir) if bindir else nullcontext() as server:
            if server:
                url = create_database(*server, "rate")
                print(f"  the same on PostgreSQL: {record_rate(url, items, remit):,.0f} lines/s",
                      flush=True)
            for lines_, share in ((args.run_lines, 0.002), (args.run_lines // 10, 0.1)):
                without, with_store = run_cost(tmp, lines_, share)
                print(f"appeals run, {lines_:,} lines, {share:.1%} of claims denied, 1 worker: "
                      f"{without:.1f} s without the store, {with_store:.1f} s with it "
                      f"(+{(with_store / without - 1):.1%})", flush=True)
            print(f"history queries over {args.history:,} lines:", flush=True)
            url = f"sqlite:///{tmp / 'history.db'}"
            fill_history(url, args.history)
            print(f"  SQLite:     {time_history(url):.2f} s", flush=True)
            if server:
                url = create_database(*server, "history")
                fill_history(url, args.history)
                print(f"  PostgreSQL: {time_history(url):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
