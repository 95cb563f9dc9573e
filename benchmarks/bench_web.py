"""The review desk's worklist page over 10,000 open cases: server time per request on one core.

    python benchmarks/bench_web.py [--cases 10000]

Cases are written straight into a fresh SQLite store (every column the page reads), then the
page is asked for through the ASGI app in process (no network), twenty times; the median and the
worst are printed, for the first page, a payer filter and a page further down.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert
from starlette.testclient import TestClient

from appeals.store import open_store
from appeals.store.schema import cases
from appeals.store.users import add_user
from appeals.web import create_app

AS_OF = date(2026, 7, 1)


def fill(engine, n: int) -> None:
    rows = []
    for i in range(n):
        rows.append({
            "case_key": f"k{i}", "payer": f"payer {i % 7}", "payer_name": f"Payer {i % 7}",
            "claim_id": f"C{i:06d}", "line_number": 1, "service_date": AS_OF - timedelta(days=60),
            "cpt_code": "90837", "member_id": f"M{i:06d}", "provider": "1245319599",
            "category": ("medical_necessity", "authorization", "coding")[i % 3],
            "action": "appeal", "owner": "clinician", "reason": "CO-50: not medically necessary",
            "plan": "erisa_group", "status": ("to_work", "waiting_on_clinician")[i % 2],
            "denial_date": AS_OF - timedelta(days=20),
            "deadline": AS_OF + timedelta(days=i % 180), "billed": Decimal(200),
            "paid": Decimal(0), "at_stake": Decimal(200), "first_seen": AS_OF,
            "last_seen": AS_OF, "last_fingerprint": f"{i:064d}",
            "record": json.dumps({"patient_name": f"Patient {i}",
                                  "denial_reason": "Not medically necessary"})})
    with engine.begin() as conn:
        conn.execute(insert(cases), rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engine = open_store(f"sqlite:///{Path(folder) / 'bench.db'}")
        fill(engine, args.cases)
        add_user(engine, "biller", "biller", "correct horse battery")
        client = TestClient(create_app(engine, secret="bench", as_of=AS_OF))
        token = client.get("/login").text.split('name="csrf" value="')[1].split('"')[0]
        client.post("/login", data={"username": "biller", "password": "correct horse battery",
                                    "csrf": token})
        for label, params in (("first page", {}), ("payer filter", {"payer": "payer 3"}),
                              ("page 20", {"page": "20"})):
            times = []
            for _ in range(20):
                start = time.perf_counter()
                page = client.get("/", params=params)
                times.append((time.perf_counter() - start) * 1000)
                assert page.status_code == 200
            print(f"{label:>13}: {args.cases} open cases, median {statistics.median(times):.0f} ms,"
                  f" worst {max(times):.0f} ms")


if __name__ == "__main__":
    main()
