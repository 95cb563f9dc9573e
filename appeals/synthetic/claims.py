"""Synthetic behavioral-health 837P claim files (no real people): the scrub's bundled sample, its
tests and its benchmark. A valid 5010 envelope with correct segment counts; each claim is a
subscriber loop (payer, member, birth date), a CLM with its place of service and diagnoses, the
rendering clinician, an optional prior-authorization number and its service lines.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TextIO


@dataclass(frozen=True)
class Line:
    code: str
    modifiers: tuple[str, ...] = ()
    units: int = 1
    charge: str = "150.00"
    day: date | None = None  # the claim's date unless given


@dataclass(frozen=True)
class Claim:
    claim_id: str
    payer: str
    member_id: str
    day: date
    lines: tuple[Line, ...]
    member: tuple[str, str] = ("SAMPLE", "JORDAN")  # last, first
    dob: date = date(1990, 3, 14)
    place: str = "11"
    diagnoses: tuple[str, ...] = ("F331",)
    renderer: tuple[str, str, str] = ("LEE", "SAM", "1245319599")  # last, first, NPI
    auth: str = ""
    extra_lines: tuple[str, ...] = field(default=())


def _segments(claim: Claim, hl: int) -> list[str]:
    last, first = claim.member
    segs = [
        f"HL*{hl}*1*22*0", "SBR*P*18*******CI",
        f"NM1*IL*1*{last}*{first}****MI*{claim.member_id}",
        f"DMG*D8*{claim.dob:%Y%m%d}*U",
        f"NM1*PR*2*{claim.payer.upper()}*****PI*{zlib.crc32(claim.payer.encode()) % 99999:05d}",
    ]
    total = sum(float(line.charge) for line in claim.lines)
    segs.append(f"CLM*{claim.claim_id}*{total:.2f}***{claim.place}:B:1*Y*A*Y*Y")
    if claim.diagnoses:
        segs.append("HI*" + "*".join(f"{'ABK' if i == 0 else 'ABF'}:{d}"
                                     for i, d in enumerate(claim.diagnoses)))
    if claim.auth:
        segs.append(f"REF*G1*{claim.auth}")
    rl, rf, npi = claim.renderer
    segs.append(f"NM1*82*1*{rl}*{rf}****XX*{npi}")
    pointers = ":".join(str(i + 1) for i in range(min(len(claim.diagnoses), 4))) or "1"
    for n, line in enumerate(claim.lines, start=1):
        procedure = ":".join(("HC", line.code, *line.modifiers))
        segs += [f"LX*{n}", f"SV1*{procedure}*{line.charge}*UN*{line.units}***{pointers}",
                 f"DTP*472*D8*{(line.day or claim.day):%Y%m%d}"]
    return segs


def write_837(out: Path | TextIO, claims: Iterable[Claim], stamp: date = date(2026, 7, 1)) -> int:
    """Write the claims as one 837P transaction; returns the number of service lines."""
    if isinstance(out, Path):
        with out.open("w", encoding="ascii", newline="") as fh:
            return write_837(fh, claims, stamp)
    out.write(f"ISA*00*          *00*          *ZZ*LAKESIDE       *ZZ*CLEARINGHOUSE  *"
              f"{stamp:%y%m%d}*1200*^*00501*000000001*0*T*:~\n")
    out.write(f"GS*HC*LAKESIDE*CLEARINGHOUSE*{stamp:%Y%m%d}*1200*1*X*005010X222A1~\n")
    header = ["ST*837*0001*005010X222A1", f"BHT*0019*00*1*{stamp:%Y%m%d}*1200*CH",
              "NM1*41*2*LAKESIDE COUNSELING GROUP*****46*LCG01", "PER*IC*BILLING*TE*8285550100",
              "NM1*40*2*CLEARINGHOUSE*****46*CH01", "HL*1**20*1",
              "NM1*85*2*LAKESIDE COUNSELING GROUP*****XX*1245319599", "N3*12 MAIN ST",
              "N4*ASHEVILLE*NC*28801", "REF*EI*561234567"]
    count, lines = len(header), 0
    for seg in header:
        out.write(seg + "~\n")
    for hl, claim in enumerate(claims, start=2):
        for seg in _segments(claim, hl):
            out.write(seg + "~\n")
            count += 1
        lines += len(claim.lines)
    out.write(f"SE*{count + 1}*0001~\nGE*1*1~\nIEA*1*000000001~\n")
    return lines


#: What a generated batch bills: sessions, add-ons with their E/M, programs, a share of telehealth.
_SESSIONS = [("90837", ()), ("90834", ()), ("90832", ()), ("90791", ()), ("90847", ()),
             ("H0015", ("HF",)), ("H0035", ("HF",)), ("S9480", ("HF",))]
_PAYERS = ["BLUE RIDGE HEALTH", "TAR HEEL MEDICAID PLAN", "RUSHMORE LIFE"]
_AUTHORIZED = {"H0015", "H0035", "S9480"}


def auths_for(claims: Iterable[Claim], start: date = date(2026, 5, 1)) -> str:
    """auths.csv rows covering the generated claims' authorized codes (ample units)."""
    rows = ["member_id,payer_name,auth_number,cpt_codes,start,end,units,units_used"]
    for claim in claims:
        if claim.auth:
            rows.append(f"{claim.member_id},{claim.payer},{claim.auth},"
                        f"{';'.join(sorted(_AUTHORIZED))},{start},{start + timedelta(days=90)},"
                        "100,0")
    return "\n".join(rows) + "\n"


def generated(lines: int, seed: int = 11, start: date = date(2026, 5, 1)) -> Iterator[Claim]:
    """About `lines` service lines of mostly clean claims (one a patient-day), deterministic.
    Codes a payer authorizes carry an authorization number `A-<member id>` (see auths_for)."""
    rng = random.Random(seed)
    n = made = 0
    while made < lines:
        n += 1
        code, mods = rng.choice(_SESSIONS)
        place = "10" if rng.random() < 0.2 else "11"
        tele = ("95",) if place == "10" else ()
        body = [Line(code, (*mods, *tele))]
        if rng.random() < 0.15:  # an E/M with psychotherapy add-on
            body = [Line("99214", tele), Line("90833", tele)]
        member = f"M{rng.randrange(10**7):07d}"
        yield Claim(claim_id=f"G{n:07d}", payer=rng.choice(_PAYERS), member_id=member,
                    day=start + timedelta(days=rng.randrange(50)), lines=tuple(body),
                    place=place, diagnoses=(rng.choice(["F331", "F411", "F1120", "F4310"]),),
                    auth=f"A-{member}" if code in _AUTHORIZED else "")
        made += len(body)
