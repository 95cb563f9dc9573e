"""Synthetic behavioral-health 835 remittances (no real people), for demos, tests and benchmarks.

Public remits carry few behavioral-health denials, so the toolkit makes its own: a valid 5010
envelope (ISA/GS/ST ... SE/GE/IEA with correct counts), BPR02 equal to the sum of CLP04, every
claim balanced (CLP03 - CLP04 = sum of CAS), psychotherapy and SUD codes, and the denials a BH
practice meets (CO-197, CO-50, CO-151, CO-B7, CO-252 with N-codes). Output is deterministic for
a seed and written as a stream, so a 20,000-claim file costs no memory.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TextIO

SERVICES = [  # (code, modifiers, charge, share of the charge the payer allows)
    ("90837", "", "210.00", "0.62"), ("90834", "", "160.00", "0.65"), ("90832", "", "95.00", "0.7"),
    ("90791", "", "240.00", "0.6"), ("90853", "HQ", "70.00", "0.7"), ("90847", "", "150.00", "0.65"),
    ("H0015", "HF", "185.00", "0.7"), ("H0035", "", "420.00", "0.65"), ("H0018", "", "780.00", "0.6"),
    ("H0020", "HF", "28.00", "0.8"), ("90833", "", "90.00", "0.7"), ("99214", "", "160.00", "0.6"),
    ("97153", "", "120.00", "0.7"), ("90868", "", "310.00", "0.6"),
]
# (CARC with group CO, the RARC that explains it)
DENIALS = [
    ("197", "N54"), ("50", "N661"), ("151", "N435"), ("B7", "N570"), ("252", "N706"),
    ("16", "M62"), ("29", None), ("18", None), ("96", "N130"), ("119", "N587"), ("4", "N822"),
]
PAYERS = [("BLUE RIDGE HEALTH", "CI"), ("TAR HEEL MEDICAID PLAN", "MC"),
          ("GOLDEN YEARS ADVANTAGE", "16"), ("MEDICARE PART B", "MB"), ("EXCHANGE BRONZE PPO", "12")]
FIRST = ["ALEX", "SAM", "JORDAN", "RILEY", "CASEY", "MORGAN", "TAYLOR", "JAMIE", "DREW", "AVERY"]
LAST = ["TESTPERSON", "SYNTHETIC", "EXAMPLE", "SAMPLE", "FICTION", "DEMO"]
NPIS = ["1245319599", "1730115635", "1497758544", "1558362987"]


@dataclass
class Counts:
    claims: int = 0
    lines: int = 0
    adjustments: int = 0
    denied_lines: int = 0
    segments: int = 0


def _money(d: Decimal) -> str:
    return f"{d.quantize(Decimal('0.01'))}"


def _claim(rng: random.Random, n: int, lines: int, denial_share: float, start: date,
           counts: Counts, indicator: str) -> tuple[list[str], Decimal]:
    """Segments of one balanced claim and its payment."""
    dos = start + timedelta(days=rng.randrange(60))
    segs: list[str] = []
    body: list[str] = []
    billed_total = paid_total = patient_total = Decimal(0)
    for i in range(lines):
        code, mods, charge, share = SERVICES[rng.randrange(len(SERVICES))]
        billed = Decimal(charge)
        composite = f"HC:{code}" + (f":{mods}" if mods else "")
        adjustments: list[str] = []
        remark = None
        if rng.random() < denial_share:
            reason, remark = DENIALS[rng.randrange(len(DENIALS))]
            paid = Decimal(0)
            adjustments.append(f"CAS*CO*{reason}*{charge}")
            counts.denied_lines += 1
        else:
            allowed = (billed * Decimal(share)).quantize(Decimal("0.01"))
            copay = Decimal("20.00") if allowed > 40 else Decimal(0)
            paid = allowed - copay
            adjustments.append(f"CAS*CO*45*{_money(billed - allowed)}")
            if copay:
                adjustments.append(f"CAS*PR*3*{_money(copay)}")
                patient_total += copay
        counts.adjustments += len(adjustments)
        body.append(f"SVC*{composite}*{charge}*{_money(paid)}**1")
        body.append(f"DTM*472*{dos + timedelta(days=i * 7):%Y%m%d}")
        body.extend(adjustments)
        body.append(f"REF*6R*{n:06d}{i + 1:02d}")
        if remark:
            body.append(f"LQ*HE*{remark}")
        billed_total += billed
        paid_total += paid
        counts.lines += 1
    status = "4" if paid_total == 0 else "1"
    claim_id = f"SYN{n:07d}"
    first, last = FIRST[n % len(FIRST)], LAST[(n // len(FIRST)) % len(LAST)]
    segs.append(f"CLP*{claim_id}*{status}*{_money(billed_total)}*{_money(paid_total)}*"
                f"{_money(patient_total)}*{indicator}*PCN{n:09d}*11*1")
    segs.append(f"NM1*QC*1*{last}*{first}****MI*SYN{n:08d}")
    segs.append(f"NM1*82*1*CLINICIAN*{FIRST[(n + 3) % len(FIRST)]}****XX*{NPIS[n % len(NPIS)]}")
    segs.append(f"DTM*232*{dos:%Y%m%d}")
    segs.extend(body)
    counts.claims += 1
    return segs, paid_total


def iter_claims(claims: int, lines_per_claim: int, seed: int, denial_share: float,
                start: date, counts: Counts, per_transaction: int
                ) -> Iterator[tuple[int, list[str], Decimal]]:
    rng = random.Random(seed)
    for n in range(1, claims + 1):
        _, indicator = PAYERS[((n - 1) // per_transaction + 1) % len(PAYERS)]
        segs, paid = _claim(rng, n, lines_per_claim, denial_share, start, counts, indicator)
        yield n, segs, paid


def write_835(out: Path | TextIO, claims: int = 200, lines_per_claim: int = 3, seed: int = 7,
              denial_share: float = 0.35, payment_date: date = date(2026, 6, 10),
              claims_per_transaction: int = 5000) -> Counts:
    """Write a synthetic 835; returns what it wrote (for tests and benchmarks)."""
    if isinstance(out, Path):
        with out.open("w", encoding="ascii", newline="") as fh:
            return write_835(fh, claims, lines_per_claim, seed, denial_share, payment_date,
                             claims_per_transaction)
    counts = Counts()
    start = payment_date - timedelta(days=90)
    stamp = f"{payment_date:%y%m%d}"
    out.write(f"ISA*00*          *00*          *ZZ*SYNTHPAYER     *ZZ*SYNTHCLINIC    *{stamp}*"
              f"1200*^*00501*{seed:09d}*0*T*:~\n")
    out.write(f"GS*HP*SYNTHPAYER*SYNTHCLINIC*{payment_date:%Y%m%d}*1200*1*X*005010X221A1~\n")
    transactions = 0
    pending: list[tuple[list[str], Decimal]] = []

    def flush() -> None:
        nonlocal transactions
        if not pending:
            return
        transactions += 1
        total = sum((p for _, p in pending), Decimal(0))
        payer, _ = PAYERS[transactions % len(PAYERS)]
        header = [
            f"ST*835*{transactions:04d}",
            (f"BPR*I*{_money(total)}*C*ACH*CCP*01*999999999*DA*123456789*1999999999**01*"
            f"999999999*DA*987654321*{payment_date:%Y%m%d}"),
            f"TRN*1*EFT{seed:04d}{transactions:05d}*1999999999",
            f"DTM*405*{payment_date:%Y%m%d}",
            f"N1*PR*{payer}", "N3*PO BOX 1000", "N4*RALEIGH*NC*27601",
            "PER*BL*PROVIDER SERVICES*TE*8005550100",
            "N1*PE*LAKESIDE COUNSELING GROUP*XX*1245319599", "N3*12 LAKE ST",
            "N4*ASHEVILLE*NC*28801", "REF*TJ*561234567", "LX*1",
        ]
        n_segs = len(header) + sum(len(s) for s, _ in pending) + 1
        for seg in header:
            out.write(seg + "~\n")
        for segs, _ in pending:
            for seg in segs:
                out.write(seg + "~\n")
        out.write(f"SE*{n_segs}*{transactions:04d}~\n")
        counts.segments += n_segs
        pending.clear()

    for _, segs, paid in iter_claims(claims, lines_per_claim, seed, denial_share, start,
                                      counts, claims_per_transaction):
        pending.append((segs, paid))
        if len(pending) >= claims_per_transaction:
            flush()
    flush()
    out.write(f"GE*{transactions}*1~\nIEA*1*{seed:09d}~\n")
    return counts
