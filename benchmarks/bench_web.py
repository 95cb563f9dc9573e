"""The review desk's pages over many open cases: server time per request on one core.

    python benchmarks/bench_web.py [--cases 10000] [--db URL] [--guessers 8]

Cases are written straight into a fresh store (SQLite, or the PostgreSQL database --db names;
every column the pages read), then each page is asked for through the ASGI app in process (no
network), twenty times; the median and the worst are printed: the worklist's first page, a payer
filter, a page further down, a search by claim number and by patient name, a case page. With
--guessers N, the desk is served by uvicorn and N clients post wrong passwords while the
worklist is timed over HTTP (the sign-in throttle and argon2 off the event loop at work).
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
            "patient_key": f"patient {i}",
            "record": json.dumps({"patient_name": f"Patient {i}",
                                  "denial_reason": "Not medically necessary"})})
    with engine.begin() as conn:
        conn.execute(insert(cases), rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--db", default=None, help="an empty PostgreSQL database's URL")
    parser.add_argument("--guessers", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engine = open_store(args.db or f"sqlite:///{Path(folder) / 'bench.db'}")
        fill(engine, args.cases)
        add_user(engine, "biller", "biller", "correct horse battery")
        app = create_app(engine, secret="bench", as_of=AS_OF)
        if args.guessers:
            under_guessing(app, args.guessers)
            return
        client = TestClient(app)
        token = client.get("/login").text.split('name="csrf" value="')[1].split('"')[0]
        client.post("/login", data={"username": "biller", "password": "correct horse battery",
                                    "csrf": token})
        for label, path, params in (
                ("first page", "/", {}), ("payer filter", "/", {"payer": "payer 3"}),
                ("page 20", "/", {"page": "20"}), ("claim search", "/", {"q": "C000123"}),
                ("name search", "/", {"q": "Patient 123"}), ("case page", "/cases/5", {})):
            times = []
            for _ in range(20):
                start = time.perf_counter()
                page = client.get(path, params=params)
                times.append((time.perf_counter() - start) * 1000)
                assert page.status_code == 200
            print(f"{label:>13}: {args.cases} open cases, median {statistics.median(times):.0f} ms,"
                  f" worst {max(times):.0f} ms")


def under_guessing(app, guessers: int) -> None:
    """The worklist over HTTP, alone and while `guessers` clients post wrong passwords."""
    import http.cookiejar
    import socket
    import threading
    import urllib.parse
    import urllib.request

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"

    def session() -> urllib.request.OpenerDirector:
        return urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def token(opener) -> str:
        return opener.open(base + "/login").read().decode().split(
            'name="csrf" value="')[1].split('"')[0]

    biller = session()
    biller.open(base + "/login", urllib.parse.urlencode({
        "username": "biller", "password": "correct horse battery",
        "csrf": token(biller)}).encode())

    def timed(n: int = 20) -> list[float]:
        out = []
        for _ in range(n):
            start = time.perf_counter()
            biller.open(base + "/").read()
            out.append((time.perf_counter() - start) * 1000)
        return out

    alone = timed()
    stop = threading.Event()

    def guess(k: int) -> None:
        opener = session()
        while not stop.is_set():
            try:
                opener.open(base + "/login", urllib.parse.urlencode({
                    "username": f"guess{k}", "password": "wrong wrong wrong",
                    "csrf": token(opener)}).encode())
            except OSError:
                pass

    threads = [threading.Thread(target=guess, args=(k,), daemon=True) for k in range(guessers)]
    for t in threads:
        t.start()
    time.sleep(2)
    busy = timed()
    stop.set()
    server.should_exit = True
    print(f"worklist over HTTP alone: median {statistics.median(alone):.0f} ms; while "
          f"{guessers} clients guess passwords: median {statistics.median(busy):.0f} ms, worst "
          f"{max(busy):.0f} ms")


if __name__ == "__main__":
    main()
