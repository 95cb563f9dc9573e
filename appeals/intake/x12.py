"""X12 835 remittance reader (4010 and 5010), streaming, one record per service line.

Why our own reader: the Python X12 libraries measured on real remits either drop service lines
silently (pyx12), reject a whole transaction for one odd value (x12sdk / linuxforhealth), or
need hundreds of MB for a few MB of input (see README). This reader keeps going claim by claim,
reports what it could not read with the segment and line it came from, and keeps that position
on every record for the evidence trail.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError

from appeals.intake.errors import InputError, reject_from_validation
from appeals.models import DenialRecord, Reject, parse_date

CHUNK = 1 << 20
WHITESPACE = " \t\r\n"
_BLANKS = re.compile(r"[ \t\r\n]*")
# CLP06 claim filing indicators that name one plan type without doubt; the rest stay unknown.
FILING_INDICATOR_PLAN = {"MA": "medicare", "MB": "medicare", "16": "medicare_advantage",
                         "CH": "tricare", "VA": "va"}
_MASK = frozenset("9Xx-")  # the characters of a de-identified (masked) claim id
_CLAIM_ENDS = frozenset({"CLP", "LX", "PLB", "SE", "ST", "GE", "GS", "IEA", "ISA"})
# The segments of a claim (loops 2100 and 2110, 4010 and 5010). Anything else inside a claim is
# damage (a garbled CLP or SVC tag): the claim is rejected whole, never read on with the next
# claim's lines under this patient.
_CLAIM_SEGMENTS = frozenset({"CAS", "NM1", "MIA", "MOA", "REF", "DTM", "PER", "AMT", "QTY",
                             "SVC", "LQ"})
# Segments only a claim has: read outside one (after LX, or where a CLP was garbled), they are
# a claim whose CLP is lost, and are rejected together, never dropped.
_CLAIM_ONLY = frozenset({"NM1", "SVC", "CAS", "MIA", "MOA", "LQ", "AMT", "QTY"})
# The header segments of a transaction (before its claims, or of a new LX group).
_ENVELOPE = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})
MEMBER_ID_QUALIFIERS = {"MI", "HN", "MR", "II", "34", "C"}


# Claim ids in text that could not be split into segments (named in the reject, not read).
_CLAIM_IDS = re.compile(r"CLP[^A-Za-z0-9\s]([^~*|^:\s]+)")
# One segment: (1-based index in the file, 1-based line where it starts, elements). A plain
# tuple: a file has hundreds of thousands of them and only the reader looks inside.
Segment = tuple[int, int, list[str]]


def get(elements: list[str], position: int) -> str:
    """Element by its X12 position (CLP01 is get(e, 1)); missing is ''."""
    return elements[position] if position < len(elements) else ""


def where(seg: Segment) -> str:
    return f"segment {seg[0]} (line {seg[1]}, {seg[2][0]})"


@dataclass(slots=True)
class Delimiters:
    element: str
    component: str
    terminator: str
    repetition: str = ""


def _decoded_chunks(path: Path) -> Iterator[str]:
    """UTF-8 (BOM dropped) with a Latin-1 fallback from the first byte that is not UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    latin1 = False
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            if latin1:
                yield chunk.decode("latin-1")
                continue
            try:
                yield decoder.decode(chunk)
            except UnicodeDecodeError:
                latin1 = True
                yield chunk.decode("latin-1")
        if not latin1:
            yield decoder.decode(b"", final=True)


def read_isa(text: str) -> Delimiters:
    """Delimiters from an ISA header found at the start of `text`.

    Element separator is the 4th character; ISA16 (after the 16th separator) is the component
    separator and the next character the segment terminator. A newline there with punctuation
    after it (seen in the wild) means the punctuation is the terminator.
    """
    if not text.startswith("ISA") or len(text) < 4:
        raise InputError("not an X12 interchange: no ISA header")
    sep = text[3]
    if sep.isalnum() or sep in WHITESPACE:
        raise InputError(f"ISA header: element separator {sep!r} is not punctuation")
    pos = 0
    for _ in range(16):
        pos = text.find(sep, pos + 1)
        if pos < 0:
            raise InputError("ISA header: fewer than 16 elements (wrong separators or truncated)")
    if pos + 2 >= len(text):
        raise InputError("ISA header: truncated after ISA15")
    component, terminator = text[pos + 1], text[pos + 2]
    if terminator in WHITESPACE:
        rest = text[pos + 2:].lstrip(WHITESPACE)
        if rest and not rest[0].isalnum():
            terminator = rest[0]
    elements = text[:pos].split(sep)
    repetition = elements[11] if len(elements) > 11 and elements[12:13] == ["00501"] else ""
    if repetition.isalnum():
        repetition = ""
    return Delimiters(sep, component, terminator, repetition)


@lru_cache(maxsize=8)
def _next_interchange(terminator: str) -> re.Pattern[str]:
    """Where a new ISA starts: its delimiters may differ, so the fast path stops there."""
    return re.compile(re.escape(terminator) + r"[ \t\r\n]*ISA")


def segments(path: Path) -> Iterator[Segment | Delimiters | Reject]:
    """Split the file into segments, re-reading delimiters at every ISA.

    Yields the delimiters of each interchange before its segments, and a Reject where the text
    cannot be split. Works through a buffer with a position, so the cost is linear in the file
    and memory is one chunk. Segments are yielded one at a time, not gathered per buffer:
    a megabyte of live segment lists costs more in memory traffic than the generator steps.
    """
    source = str(path)
    chunks = _decoded_chunks(path)
    buf, pos, exhausted = "", 0, False
    delims: Delimiters | None = None
    index, line, saw_any = 0, 1, False

    def refill() -> bool:
        nonlocal buf, pos, exhausted
        more = None if exhausted else next(chunks, None)
        if more is None:
            exhausted = True
            return False
        buf, pos = buf[pos:] + more, 0
        return True

    while True:
        blank_end = _BLANKS.match(buf, pos).end()
        line += buf.count("\n", pos, blank_end)
        pos = blank_end
        if pos >= len(buf):
            if refill():
                continue
            return
        if delims is None or buf.startswith("ISA", pos):
            if len(buf) - pos < 4096 and refill():
                continue
            if not buf.startswith("ISA", pos):
                if not saw_any:
                    raise InputError("not an X12 835: the file does not start with ISA")
                yield Reject(source=source, location=f"line {line}", field="envelope",
                             message="text after IEA that is not a new ISA interchange",
                             raw=buf[pos:pos + 80])
                return
            delims = read_isa(buf[pos:pos + 4096])
            saw_any = True
            yield delims
        elif delims.terminator not in WHITESPACE:
            # Fast path: every complete segment in the buffer, up to the next ISA.
            terminator, separator = delims.terminator, delims.element
            last = buf.rfind(terminator, pos)
            if last >= pos:
                isa = _next_interchange(terminator).search(buf, pos, last + 1)
                stop = isa.start() if isa else last
                for part in buf[pos:stop].split(terminator):
                    index += 1
                    text = part.strip(WHITESPACE)
                    blanks = len(part) - len(text)
                    if blanks == 0:  # the usual layouts: nothing, LF or CRLF before the text
                        pass
                    elif part[0] == "\n" and blanks == 1 or part.startswith("\r\n") and blanks == 2:
                        line += 1
                    else:
                        body = part.lstrip(WHITESPACE)
                        line += part.count("\n", 0, len(part) - len(body))
                        if text:
                            yield (index, line, text.split(separator))
                        line += body.count("\n")
                        continue
                    if text:
                        yield (index, line, text.split(separator))
                    if "\n" in text:
                        line += text.count("\n")
                pos = stop + 1
                continue
        end = buf.find(delims.terminator, pos)
        if end < 0:
            if refill():
                continue
            if not buf.startswith(("IEA", "GE"), pos):
                claims = _CLAIM_IDS.findall(buf, pos)
                lost = f"; claims in it not read: {', '.join(map(repr, claims))}" \
                    if claims else ""
                yield Reject(source=source, location=f"line {line}", field="segment",
                             message="file ends inside a segment (truncated; no terminator "
                                     f"{delims.terminator!r}){lost}", raw=buf[pos:pos + 80],
                             level="fatal")
                return
            end = len(buf)  # a last segment without its terminator (seen in the wild)
        raw = buf[pos:end]
        pos = end + 1
        index += 1
        text = raw.rstrip(WHITESPACE)
        if text:
            yield (index, line, text.split(delims.element))
        line += raw.count("\n") + (delims.terminator == "\n")


@dataclass(slots=True)
class _Line:
    start: Segment
    svc: list[str]
    dates: dict[str, str] = field(default_factory=dict)
    cas: list[tuple[str, str]] = field(default_factory=list)  # ("CO-50", "120.00")
    remarks: list[str] = field(default_factory=list)
    refs: dict[str, str] = field(default_factory=dict)
    allowed: str = ""


@dataclass(slots=True)
class _Claim:
    """What the claim-level segments say (lines carry their own)."""

    patient_name: str = ""
    member_id: str = ""
    provider_name: str = ""
    provider_npi: str = ""
    dates: dict[str, str] = field(default_factory=dict)
    cas: list[tuple[str, str]] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    refs: dict[str, str] = field(default_factory=dict)
    lines: list[_Line] = field(default_factory=list)


@dataclass(slots=True)
class _Transaction:
    start: Segment
    control: str
    version: str
    payer_name: str = ""
    payee_name: str = ""
    payee_npi: str = ""
    payment_date: str = ""
    production_date: str = ""
    denial_date: date | None | bool = False  # resolved once from the two above
    count: int = 1
    warnings: list[str] = field(default_factory=list)


def _cas_pairs(elements: list[str]) -> list[tuple[str, str]]:
    """("CO-50", amount) for each reason of a CAS segment (up to six per segment)."""
    size = len(elements)
    if size <= 5:  # one reason, the usual case
        if size > 2 and elements[2]:
            return [(f"{elements[1]}-{elements[2]}", elements[3] if size > 3 else "")]
        return []
    group = elements[1]
    return [(f"{group}-{elements[i]}", elements[i + 1] if i + 1 < size else "")
            for i in range(2, min(size, 20), 3) if elements[i]]


def _person(e: list[str]) -> str:
    # NM103 last, NM104 first, NM105 middle: printed first, middle, last.
    return " ".join([part for part in e[4:6] + e[3:4] if part])


#: A value that ends in a segment's name (NM1, CLP, SVC...) after other characters: the
#: segment terminator between them was lost and two segments ran together.
_SEGMENT_AT_END = re.compile(r"(?<=[A-Za-z0-9])(?:NM1|CLP|SVC|CAS|DTM|REF|AMT|PER|MIA|MOA|QTY|"
                             r"PLB|TS3|TS2|BPR|TRN|LX)$")


def _procedure(svc: list[str], delims: Delimiters, warnings: list[str]) -> tuple[str, str, list[str]]:
    """(qualifier, code, modifiers) from the SVC01 composite.

    Some files use another component separator in SVC01 than ISA16 declares; when the declared
    one is absent and a usual one is present, split on that and say so.
    """
    composite = svc[1] if len(svc) > 1 else ""
    sep = delims.component
    if sep not in composite:
        for alt in (">", ":", "^", "<"):
            if alt != sep and alt in composite:
                warnings.append(f"SVC01 {composite!r} uses {alt!r}, not the ISA16 separator {sep!r}")
                sep = alt
                break
    parts = composite.split(sep)
    qualifier = parts[0] if parts else ""
    code = parts[1] if len(parts) > 1 else ""
    return qualifier, code, [m for m in parts[2:6] if m]


def _gather(segs: list[Segment]) -> _Claim:
    """The claim's segments after its CLP, sorted into claim level and service lines."""
    claim = _Claim()
    line: _Line | None = None
    for seg in segs:
        e = seg[2]
        sid = e[0]
        if sid == "SVC":
            line = _Line(seg, e)
            claim.lines.append(line)
        elif sid == "CAS":
            (line or claim).cas.extend(_cas_pairs(e))
        elif sid == "DTM":
            if len(e) > 2:
                (line or claim).dates[e[1]] = e[2]
        elif sid == "REF":
            if len(e) > 2:
                (line or claim).refs.setdefault(e[1], e[2])
        elif sid == "LQ":
            if line is not None and len(e) > 2:
                if e[1] == "HE":
                    line.remarks.append(e[2])
                else:
                    line.refs[f"LQ_{e[1]}"] = e[2]
        elif sid == "AMT":
            if line is not None and len(e) > 2 and e[1] == "B6":
                line.allowed = e[2]
        elif line is not None:
            continue
        elif sid == "NM1":
            qualifier = get(e, 1)
            if qualifier == "QC":
                claim.patient_name = _person(e)
                if not claim.member_id and get(e, 8) in MEMBER_ID_QUALIFIERS:
                    claim.member_id = get(e, 9)
            elif qualifier == "IL" and get(e, 9):
                claim.member_id = get(e, 9)
            elif qualifier == "82":
                claim.provider_name = _person(e) if get(e, 2) == "1" else get(e, 3)
                if get(e, 8) == "XX":
                    claim.provider_npi = get(e, 9)
        elif sid == "MOA":
            claim.remarks.extend(r for r in e[3:8] if r)
        elif sid == "MIA":
            claim.remarks.extend(r for r in (get(e, i) for i in (5, 20, 21, 22, 23, 24)) if r)
    return claim


class Reader835:
    """Streams DenialRecords and Rejects out of one 835 file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.source = str(path)
        self.delims = Delimiters("*", ":", "~")
        self.tx: _Transaction | None = None
        self.claim: list[Segment] | None = None  # the open claim's segments, CLP first
        self.damage: Segment | None = None  # the open claim's first segment that is not a claim's
        self.orphans: list[Segment] = []  # segments outside any transaction, not yet reported
        self.strays: list[Segment] = []  # claim segments with no claim open, not yet reported
        self.transactions = 0  # ST segments read, of any set
        # CLP -> the first patient it was read for, across the file's transactions: a copy in
        # another transaction for another patient is as suspect as one in the same transaction
        self.patients: dict[str, tuple[str, Segment]] = {}
        self.other_set = False  # inside a transaction set that is not an 835
        self.in_interchange = False
        self.version = ""

    def __iter__(self) -> Iterator[DenialRecord | Reject]:
        last: Segment | None = None
        for item in segments(self.path):
            if type(item) is tuple:
                last = item
                sid = item[2][0]
                tx = self.tx
                if tx is not None:
                    tx.count += 1
                    claim = self.claim
                    if claim is not None and sid not in _CLAIM_ENDS:  # the hot path
                        claim.append(item)
                        if sid not in _CLAIM_SEGMENTS and self.damage is None:
                            self.damage = item
                        continue
                yield from self._segment(item, sid)
            elif isinstance(item, Delimiters):
                self.delims = item
            else:
                yield from self._close_claim(truncated=True)
                yield item
                self.tx = None
        if last is None:
            raise InputError("no X12 segments found")
        yield from self._flush_strays()
        yield from self._flush_orphans()
        if self.transactions == 0:
            raise InputError("no 835 transaction could be read (no ST*835 segment; a damaged "
                             "ST, or a lost segment terminator?)")
        if self.tx is not None:
            yield from self._close_claim(truncated=True)
            yield self._reject(last, "envelope", f"transaction ST {self.tx.control} has no SE "
                               "(file truncated)", level="fatal")
        elif self.in_interchange:
            yield self._reject(last, "envelope", "interchange has no IEA (file truncated)",
                               level="fatal")

    def _reject(self, seg: Segment, field_name: str, message: str,
                level: str = "error") -> Reject:
        return Reject(source=self.source, location=where(seg), field=field_name,
                      message=message, raw=self.delims.element.join(seg[2])[:200],
                      level=level)

    def _segment(self, seg: Segment, sid: str) -> Iterator[DenialRecord | Reject]:
        """Envelope and header segments (the caller has counted the segment already)."""
        tx = self.tx
        e = seg[2]
        if tx is None and sid not in _ENVELOPE:
            self.orphans.append(seg)  # reported as one reject when the run ends
            return
        yield from self._flush_orphans()
        if tx is not None and self.claim is None and sid in _CLAIM_ONLY:
            self.strays.append(seg)
            return
        yield from self._flush_strays()
        if tx is not None and sid in ("GE", "IEA", "ISA", "GS"):
            yield from self._close_claim()
            yield self._reject(seg, "envelope", f"transaction ST {tx.control} has no SE "
                               f"before {sid}; its claims were kept", "warning")
            self.tx = tx = None
        if sid == "ISA":
            self.in_interchange = True
        elif sid == "IEA":
            self.in_interchange = False
        elif sid == "GS":
            self.version = get(e, 8)
        elif sid == "ST":
            if tx is not None:
                yield from self._close_claim()
                yield self._reject(seg, "envelope", f"transaction ST {tx.control} has no SE "
                                   "before the next ST; its claims were kept", "warning")
            self.transactions += 1
            self.other_set = get(e, 1) != "835"
            if self.other_set:
                self.tx = None
                yield self._reject(seg, "ST01", f"transaction set {get(e, 1)!r} is not an 835 "
                                   "remittance (837 claims and others are not denial input)")
                return
            self.tx = _Transaction(seg, get(e, 2), self.version)
        elif sid == "SE":
            self.other_set = False
            if tx is None:
                return
            yield from self._close_claim()
            declared = get(e, 1)
            if declared.isdigit() and int(declared) != tx.count:
                tx.warnings.append(f"SE01 says {declared} segments, counted {tx.count}")
                yield self._reject(seg, "SE01", f"segment count {declared} does not match "
                                   f"the {tx.count} segments counted; claims kept", "warning")
            self.tx = None
        elif tx is None:
            return
        elif sid == "BPR":
            tx.payment_date = get(e, 16)
        elif sid == "DTM" and self.claim is None:
            if get(e, 1) == "405":
                tx.production_date = get(e, 2)
        elif sid == "N1" and self.claim is None:
            if get(e, 1) == "PR":
                tx.payer_name = get(e, 2)
            elif get(e, 1) == "PE":
                tx.payee_name = get(e, 2)
                if get(e, 3) == "XX":
                    tx.payee_npi = get(e, 4)
        elif sid in ("LX", "PLB"):
            yield from self._close_claim()
        elif sid == "CLP":
            yield from self._close_claim()
            self.claim = [seg]

    def _flush_strays(self) -> Iterator[Reject]:
        """Claim segments read where no claim is open: one reject over their span."""
        if not self.strays:
            return
        segs, self.strays = self.strays, []
        lines = sum(seg[2][0] == "SVC" for seg in segs)
        yield Reject(source=self.source, location=_span(segs), field="CLP",
                     message=f"{len(segs)} claim segment(s) with no claim before them (a lost "
                             f"or garbled CLP?): {lines} service line(s) not read",
                     raw=self.delims.element.join(segs[0][2])[:200])

    def _flush_orphans(self) -> Iterator[Reject]:
        """Segments read outside any transaction (a damaged ST, an SE moved up, a lost
        terminator): one reject naming their span and every claim among them."""
        if not self.orphans:
            return
        segs, self.orphans = self.orphans, []
        claims = [get(seg[2], 1) for seg in segs if seg[2][0] == "CLP"] or _CLAIM_IDS.findall(
            self.delims.terminator.join(self.delims.element.join(seg[2]) for seg in segs))
        if self.other_set and not claims:
            return  # the body of a set refused at its ST (an 837): said once there
        tag = segs[0][2][0]
        hint = ""
        if len(tag) > 3 and any(sep in tag for sep in "|^*:!~"):
            hint = (f"; the segments do not use the element separator {self.delims.element!r} "
                    "that ISA declares")
        lost = f"; claims not read: {', '.join(repr(c) for c in claims)}" if claims else ""
        yield Reject(source=self.source, location=_span(segs), field="envelope",
                     message=f"{len(segs)} segment(s) outside any 835 transaction (a damaged ST "
                             f"or SE, or a lost terminator?){hint}{lost}",
                     raw=self.delims.element.join(segs[0][2])[:200], level="fatal")

    def _close_claim(self, truncated: bool = False) -> Iterator[DenialRecord | Reject]:
        segs, tx = self.claim, self.tx
        damage, self.damage = self.damage, None
        self.claim = None
        if segs is None or tx is None:
            return
        if damage is not None:
            yield self._reject(damage, "CLP", f"claim {get(segs[0][2], 1)!r} (from "
                               f"{where(segs[0])}) holds {damage[2][0][:20]!r}, which is not a "
                               "segment of a claim (a garbled CLP or SVC?): the claim and "
                               f"the {len(segs)} segments up to the next claim "
                               f"({_lines_held(segs)}) are rejected, since the lines after it "
                               "may belong to another patient")
            return
        if truncated:
            yield self._reject(segs[0], "CLP", f"claim {get(segs[0][2], 1)!r} is cut off by "
                               "the end of the file; it may be incomplete", level="fatal")
            return
        if get(segs[0][2], 2) == "22":
            yield self._reject(segs[0], "CLP02", f"claim {get(segs[0][2], 1)!r} reverses an "
                               "earlier payment (CLP02 22): not a denial, so not read as one "
                               "(the corrected claim that follows it is)", "warning")
            return
        problem = _out_of_order(segs) or _other_patient(segs, self.patients)
        if problem:
            yield self._reject(segs[0], "CLP", f"claim {get(segs[0][2], 1)!r}: {problem}; the "
                               f"claim is rejected whole, {_lines_held(segs)} (a repeated, moved "
                               "or damaged segment?)")
            return
        yield from self._records(tx, segs)

    def _denial_date(self, tx: _Transaction) -> date | None:
        """BPR16 payment date, else DTM*405; an unreadable header date is said once, not fatal."""
        if tx.denial_date is False:
            tx.denial_date = None
            for name, value in (("BPR16", tx.payment_date), ("DTM*405", tx.production_date)):
                try:
                    tx.denial_date = parse_date(value)
                except ValueError as exc:
                    tx.warnings.append(f"{name}: {exc}; not used as the denial date")
                if tx.denial_date:
                    break
        return tx.denial_date  # type: ignore[return-value]

    def _records(self, tx: _Transaction, segs: list[Segment]) -> Iterator[DenialRecord | Reject]:
        """One record per service line (or one for a claim without lines).

        Only fields with a value go to the model (blanks are its defaults): fewer validator
        calls for the same record. This runs for every line of every file, hence the plain
        `if value: data[name] = value` style.
        """
        clp_seg = segs[0]
        clp = clp_seg[2]
        claim = _gather(segs[1:])
        claim_id = get(clp, 1)
        claim_codes = [code for code, _ in claim.cas]
        claim_date = claim.dates.get("232") or claim.dates.get("472")
        base = _present(
            claim_id=claim_id, payer_name=tx.payer_name,
            plan_type=FILING_INDICATOR_PLAN.get(get(clp, 6)), member_id=claim.member_id,
            patient_name=claim.patient_name,
            provider_name=claim.provider_name or tx.payee_name,
            provider_npi=claim.provider_npi or tx.payee_npi,
            denial_date=self._denial_date(tx),
            auth_number=claim.refs.get("G1") or claim.refs.get("BB"),
            source=self.source)
        extra = _present(
            claim_status=get(clp, 2), claim_filing_indicator=get(clp, 6),
            payer_claim_id=get(clp, 7), transaction=tx.control, x12_version=tx.version,
            claim_adjustment_codes=";".join(claim_codes),
            medical_record_number=claim.refs.get("EA"), group_number=claim.refs.get("1L"),
            contract_class=claim.refs.get("CE"))
        swallowed = [f"{name}: {value[-3:]!r} at its end is a segment's name (a lost segment "
                     "terminator joined two segments?)" for name, value in (
                         ("member_id", claim.member_id), ("claim_id", get(clp, 1)))
                     if value and _SEGMENT_AT_END.search(value)]
        for number, svc_line in enumerate(claim.lines or [None], start=1):
            warnings = tx.warnings.copy() + swallowed
            data = base.copy()
            line_extra = extra.copy()
            if svc_line is None:
                seg = clp_seg
                data.update(_present(
                    billed_amount=get(clp, 3), paid_amount=get(clp, 4), service_date=claim_date,
                    adjustment_codes=claim_codes, remark_codes=claim.remarks))
                amounts = claim.cas
            else:
                seg = svc_line.start
                svc = svc_line.svc
                size = len(svc)
                qualifier, code, modifiers = _procedure(svc, self.delims, warnings)
                if code:
                    data["cpt_code"] = code
                if modifiers:
                    data["modifiers"] = modifiers
                if size > 2 and svc[2]:
                    data["billed_amount"] = svc[2]
                if size > 3 and svc[3]:
                    data["paid_amount"] = svc[3]
                if size > 5 and svc[5]:
                    data["units"] = svc[5]
                dates = svc_line.dates
                service_date = dates.get("472") or dates.get("150") or claim_date
                if service_date:
                    data["service_date"] = service_date
                codes = [c for c, _ in svc_line.cas] or claim_codes
                if codes:
                    data["adjustment_codes"] = codes
                remarks = svc_line.remarks + claim.remarks
                if remarks:
                    data["remark_codes"] = remarks
                if qualifier:
                    line_extra["procedure_qualifier"] = qualifier
                refs = svc_line.refs
                if refs:
                    auth = refs.get("G1") or refs.get("BB")
                    if auth:
                        data["auth_number"] = auth
                    for ref, name in _LINE_REFS:
                        if refs.get(ref):
                            line_extra[name] = refs[ref]
                if svc_line.allowed:
                    line_extra["allowed_amount"] = svc_line.allowed
                if size > 4 and svc[4]:
                    line_extra["revenue_code"] = svc[4]
                if code and qualifier not in _SHAPE_CHECKED_QUALIFIERS:
                    # Local/masked codes (ZZ, XX, ER...) are kept as they are, not shape-checked.
                    line_extra["procedure_code"] = code
                    if not _plausible_code(code):
                        del data["cpt_code"]
                        warnings.append(f"procedure {qualifier}:{code} is not a CPT/HCPCS shape; "
                                        "kept in extra.procedure_code")
                amounts = svc_line.cas or claim.cas
            if amounts:
                line_extra["adjustment_amounts"] = ";".join([f"{c}:{a}" for c, a in amounts])
            data["line_number"] = number
            data["extra"] = line_extra
            data["location"] = where(seg)
            if warnings:
                data["warnings"] = warnings
            try:
                yield DenialRecord.model_validate(data)
            except ValidationError as exc:
                yield reject_from_validation(exc, self.source,
                                             f"{where(seg)}, claim {claim_id!r} line {number}",
                                             self.delims.element.join(seg[2]))


# Claim-level (loop 2100) segments that never follow a service line.
_CLAIM_HEADER_ONLY = frozenset({"NM1", "MIA", "MOA", "PER"})


def _span(segs: list[Segment]) -> str:
    first, last = segs[0], segs[-1]
    return (f"segments {first[0]}-{last[0]} (lines {first[1]}-{last[1]})" if len(segs) > 1
            else where(first))


def _other_patient(segs: list[Segment], seen: dict[str, tuple[str, Segment]]) -> str:
    """'' unless this very CLP (claim id, amounts, payer claim number alike) was read earlier in
    the file (`seen`, any transaction) for another patient: a copy standing in for a lost or moved
    segment, which would send one patient's claim under another's name. A masked claim id
    (de-identified files write every one as 9s or Xs) is exempt."""
    claim = get(segs[0][2], 1)
    if not claim or set(claim) <= _MASK:
        return ""
    patient = next(("*".join(seg[2][3:10]) for seg in segs
                    if seg[2][0] == "NM1" and get(seg[2], 1) == "QC"), "")
    first = seen.setdefault("*".join(segs[0][2]), (patient, segs[0]))
    if first[0] == patient:
        return ""
    return (f"the same CLP was read at {where(first[1])} for another patient (a repeated or "
            "moved segment?); this one is not read: check both against the payer's remittance")


def _lines_held(segs: list[Segment]) -> str:
    """How many service lines a rejected claim takes with it, so none vanishes uncounted."""
    n = sum(1 for seg in segs if seg[2][0] == "SVC")
    return f"{n} service line{'s' if n != 1 else ''} with it" if n else "no service line"


def _out_of_order(segs: list[Segment]) -> str:
    """What makes a claim's segments unreadable as one claim of one patient, or ''."""
    patients = 0
    lines = False
    for seg in segs[1:]:
        sid = seg[2][0]
        if sid == "SVC":
            lines = True
        elif sid in _CLAIM_HEADER_ONLY and lines:
            if sid == "NM1" and get(seg[2], 1) == "QC":
                return (f"a patient (NM1*QC) at {where(seg)} after its service lines: from there "
                        "on, the segments are another claim's whose CLP was lost")
            return f"{sid} at {where(seg)} comes after a service line"
        if sid == "NM1" and get(seg[2], 1) == "QC":
            patients += 1
    if patients != 1:
        if not patients:
            return "it has no patient (NM1*QC, required in every 835 claim)"
        second = [seg for seg in segs if seg[2][0] == "NM1" and get(seg[2], 1) == "QC"][1]
        return (f"it names {patients} patients (NM1*QC); from {where(second)} on, the segments "
                "are another claim's whose CLP was lost")
    return ""


def _present(**values: object) -> dict:
    """The values that say something: blanks are left to the model's defaults."""
    return {k: v for k, v in values.items() if v is not None and v != "" and v != []}


# Line REF/LQ qualifiers kept in `extra`, and the procedure code qualifiers (CPT/HCPCS, ABC,
# NUBC, HIPPS, ...) whose codes are shape-checked as CPT/HCPCS.
_LINE_REFS = (("6R", "line_control_number"), ("0K", "payer_policy_id"),
              ("LQ_RX", "ncpdp_reject_code"))
_SHAPE_CHECKED_QUALIFIERS = frozenset({"HC", "AD", "NU", "HP", "WK", ""})


def _plausible_code(code: str) -> bool:
    return len(code) in (4, 5) and code.isalnum()


def read_835(path: Path) -> Iterator[DenialRecord | Reject]:
    return iter(Reader835(path))
