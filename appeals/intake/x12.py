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
_CLAIM_ENDS = frozenset({"CLP", "LX", "PLB", "SE", "ST", "GE", "GS", "IEA", "ISA"})
MEMBER_ID_QUALIFIERS = {"MI", "HN", "MR", "II", "34", "C"}


@dataclass(slots=True)
class Segment:
    index: int  # 1-based position in the file
    line: int  # 1-based line where the segment starts
    elements: list[str]

    @property
    def id(self) -> str:
        return self.elements[0]

    def get(self, position: int) -> str:
        """Element by its X12 position (CLP01 is get(1)); missing is ''."""
        return self.elements[position] if position < len(self.elements) else ""

    def where(self) -> str:
        return f"segment {self.index} (line {self.line}, {self.id})"


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


@dataclass(slots=True)
class _DelimiterNote:
    delims: Delimiters


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


def segments(path: Path) -> Iterator[Segment | _DelimiterNote | Reject]:
    """Split the file into segments, re-reading delimiters at every ISA.

    Works through a buffer with a position (no re-slicing per segment), so the cost is linear
    in the file and memory is one chunk.
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
            yield _DelimiterNote(delims)
        elif delims.terminator not in WHITESPACE:
            # Fast path: every complete segment in the buffer at once, up to the next ISA.
            last = buf.rfind(delims.terminator, pos)
            if last >= pos:
                offset = pos
                for part in buf[pos:last].split(delims.terminator):
                    body = part.lstrip(WHITESPACE)
                    lead = len(part) - len(body)
                    if lead:
                        line += part.count("\n", 0, lead)
                    if body.startswith("ISA"):  # new delimiters: the slow path reads them
                        pos = offset + lead
                        break
                    index += 1
                    text = body.rstrip(WHITESPACE)
                    if text:
                        yield Segment(index, line, text.split(delims.element))
                    line += body.count("\n")
                    offset += len(part) + 1
                else:
                    pos = last + 1
                continue
        end = buf.find(delims.terminator, pos)
        if end < 0:
            if refill():
                continue
            if not buf.startswith(("IEA", "GE"), pos):
                yield Reject(source=source, location=f"line {line}", field="segment",
                             message="file ends inside a segment (truncated; no terminator "
                                     f"{delims.terminator!r})", raw=buf[pos:pos + 80],
                             level="fatal")
                return
            end = len(buf)  # a last segment without its terminator (seen in the wild)
        raw = buf[pos:end]
        pos = end + 1
        index += 1
        text = raw.rstrip(WHITESPACE)
        if text:
            yield Segment(index, line, text.split(delims.element))
        line += raw.count("\n") + (delims.terminator == "\n")


@dataclass
class _Line:
    start: Segment
    svc: list[str]
    dates: dict[str, str] = field(default_factory=dict)
    cas: list[tuple[str, str, str]] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    refs: dict[str, str] = field(default_factory=dict)
    allowed: str = ""


@dataclass
class _Claim:
    start: Segment
    clp: Segment
    patient_name: str = ""
    member_id: str = ""
    provider_name: str = ""
    provider_npi: str = ""
    dates: dict[str, str] = field(default_factory=dict)
    cas: list[tuple[str, str, str]] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    refs: dict[str, str] = field(default_factory=dict)
    lines: list[_Line] = field(default_factory=list)


@dataclass
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


def _cas_triples(seg: Segment) -> list[tuple[str, str, str]]:
    group = seg.get(1)
    out = []
    for i in range(2, min(len(seg.elements), 20), 3):
        reason = seg.elements[i]
        if reason:
            out.append((group, reason, seg.get(i + 1)))
    return out


def _person(seg: Segment) -> str:
    last, first, middle = seg.get(3), seg.get(4), seg.get(5)
    return " ".join(p for p in (first, middle, last) if p)


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


class Reader835:
    """Streams DenialRecords and Rejects out of one 835 file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.source = str(path)
        self.delims = Delimiters("*", ":", "~")
        self.tx: _Transaction | None = None
        self.claim: _Claim | None = None
        self.line: _Line | None = None
        self.in_interchange = False
        self.version = ""

    def __iter__(self) -> Iterator[DenialRecord | Reject]:
        last: Segment | None = None
        claim_segment = self._claim_segment
        for item in segments(self.path):
            if type(item) is Segment:
                last = item
                sid = item.elements[0]
                tx = self.tx
                if tx is not None:
                    tx.count += 1
                    if self.claim is not None and sid not in _CLAIM_ENDS:  # the hot path
                        claim_segment(item, sid)
                        continue
                yield from self._segment(item, sid)
                continue
            if isinstance(item, _DelimiterNote):
                self.delims = item.delims
                continue
            if isinstance(item, Reject):
                yield from self._close_claim(truncated=True)
                yield item
                self.tx = None
        if last is None:
            raise InputError("no X12 segments found")
        if self.tx is not None:
            yield from self._close_claim(truncated=True)
            yield self._reject(last, "envelope", f"transaction ST {self.tx.control} has no SE "
                               "(file truncated)", level="fatal")
        elif self.in_interchange:
            yield self._reject(last, "envelope", "interchange has no IEA (file truncated)",
                               level="fatal")

    def _reject(self, seg: Segment, field_name: str, message: str,
                level: str = "error") -> Reject:
        return Reject(source=self.source, location=seg.where(), field=field_name,
                      message=message, raw=self.delims.element.join(seg.elements)[:200],
                      level=level)

    def _segment(self, seg: Segment, sid: str) -> Iterator[DenialRecord | Reject]:
        """Envelope and header segments (the caller has counted the segment already)."""
        tx = self.tx
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
            self.version = seg.get(8)
        elif sid == "ST":
            if tx is not None:
                yield from self._close_claim()
                yield self._reject(seg, "envelope", f"transaction ST {tx.control} has no SE "
                                   "before the next ST; its claims were kept", "warning")
            if seg.get(1) != "835":
                self.tx = None
                yield self._reject(seg, "ST01", f"transaction set {seg.get(1)!r} is not an 835 "
                                   "remittance (837 claims and others are not denial input)")
                return
            self.tx = _Transaction(seg, seg.get(2), getattr(self, "version", ""))
        elif sid == "SE":
            if tx is None:
                return
            yield from self._close_claim()
            declared = seg.get(1)
            if declared.isdigit() and int(declared) != tx.count:
                tx.warnings.append(f"SE01 says {declared} segments, counted {tx.count}")
                yield self._reject(seg, "SE01", f"segment count {declared} does not match "
                                   f"the {tx.count} segments counted; claims kept", "warning")
            self.tx = None
        elif tx is None:
            return
        elif sid == "BPR":
            tx.payment_date = seg.get(16)
        elif sid == "DTM" and self.claim is None:
            if seg.get(1) == "405":
                tx.production_date = seg.get(2)
        elif sid == "N1" and self.claim is None:
            if seg.get(1) == "PR":
                tx.payer_name = seg.get(2)
            elif seg.get(1) == "PE":
                tx.payee_name = seg.get(2)
                if seg.get(3) == "XX":
                    tx.payee_npi = seg.get(4)
        elif sid in ("LX", "PLB"):
            yield from self._close_claim()
        elif sid == "CLP":
            yield from self._close_claim()
            self.claim = _Claim(seg, seg)

    def _claim_segment(self, seg: Segment, sid: str) -> None:
        claim, line = self.claim, self.line
        assert claim is not None
        if sid == "SVC":
            self.line = _Line(seg, seg.elements)
            claim.lines.append(self.line)
        elif sid == "CAS":
            (line.cas if line else claim.cas).extend(_cas_triples(seg))
        elif sid == "DTM":
            (line.dates if line else claim.dates)[seg.get(1)] = seg.get(2)
        elif sid == "LQ" and line is not None:
            if seg.get(1) == "HE":
                line.remarks.append(seg.get(2))
            else:
                line.refs[f"LQ_{seg.get(1)}"] = seg.get(2)
        elif sid == "REF":
            (line.refs if line else claim.refs).setdefault(seg.get(1), seg.get(2))
        elif sid == "AMT" and line is not None and seg.get(1) == "B6":
            line.allowed = seg.get(2)
        elif line is None and sid == "NM1":
            qual = seg.get(1)
            if qual == "QC":
                claim.patient_name = _person(seg)
                if not claim.member_id and seg.get(8) in MEMBER_ID_QUALIFIERS:
                    claim.member_id = seg.get(9)
            elif qual == "IL" and seg.get(9):
                claim.member_id = seg.get(9)
            elif qual == "82":
                claim.provider_name = _person(seg) if seg.get(2) == "1" else seg.get(3)
                if seg.get(8) == "XX":
                    claim.provider_npi = seg.get(9)
        elif line is None and sid == "MOA":
            claim.remarks.extend(r for r in seg.elements[3:8] if r)
        elif line is None and sid == "MIA":
            picks = [5] + list(range(20, 25))
            claim.remarks.extend(seg.get(i) for i in picks if seg.get(i))

    def _close_claim(self, truncated: bool = False) -> Iterator[DenialRecord | Reject]:
        claim, tx = self.claim, self.tx
        self.claim = self.line = None
        if claim is None or tx is None:
            return
        if truncated:
            yield self._reject(claim.start, "CLP", f"claim {claim.clp.get(1)!r} is cut off by "
                               "the end of the file; it may be incomplete", level="fatal")
            return
        yield from self._records(tx, claim)

    def _denial_date(self, tx: _Transaction, seg: Segment) -> date | None:
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

    def _records(self, tx: _Transaction, claim: _Claim) -> Iterator[DenialRecord | Reject]:
        clp = claim.clp
        claim_codes = [f"{g}-{r}" for g, r, _ in claim.cas]
        base: dict = {
            "claim_id": clp.get(1),
            "payer_name": tx.payer_name,
            "plan_type": FILING_INDICATOR_PLAN.get(clp.get(6), ""),
            "member_id": claim.member_id,
            "patient_name": claim.patient_name,
            "provider_name": claim.provider_name or tx.payee_name,
            "provider_npi": claim.provider_npi or tx.payee_npi,
            "denial_date": self._denial_date(tx, clp),
            "auth_number": claim.refs.get("G1") or claim.refs.get("BB"),
        }
        extra = {k: v for k, v in (
            ("claim_status", clp.get(2)), ("claim_filing_indicator", clp.get(6)),
            ("payer_claim_id", clp.get(7)), ("transaction", tx.control),
            ("x12_version", tx.version)) if v}
        if claim_codes:
            extra["claim_adjustment_codes"] = ";".join(claim_codes)
        if claim.refs.get("EA"):
            extra["medical_record_number"] = claim.refs["EA"]
        claim_date = claim.dates.get("232") or claim.dates.get("472")
        lines = claim.lines or [None]
        for number, svc_line in enumerate(lines, start=1):
            data = dict(base)
            data["line_number"] = number
            warnings = list(tx.warnings)
            line_extra = dict(extra)
            if svc_line is None:
                seg = clp
                data.update(billed_amount=clp.get(3), paid_amount=clp.get(4),
                            service_date=claim_date, adjustment_codes=claim_codes,
                            remark_codes=claim.remarks)
                amounts = claim.cas
            else:
                seg = svc_line.start
                svc = svc_line.svc
                qualifier, code, modifiers = _procedure(svc, self.delims, warnings)
                codes = [f"{g}-{r}" for g, r, _ in svc_line.cas] or claim_codes
                amounts = svc_line.cas or claim.cas
                data.update(
                    cpt_code=code, modifiers=modifiers,
                    billed_amount=svc[2] if len(svc) > 2 else "",
                    paid_amount=svc[3] if len(svc) > 3 else "",
                    units=(svc[5] if len(svc) > 5 else "") or "",
                    service_date=svc_line.dates.get("472") or svc_line.dates.get("150")
                    or claim_date,
                    adjustment_codes=codes,
                    remark_codes=svc_line.remarks + claim.remarks,
                )
                if svc_line.refs.get("G1") or svc_line.refs.get("BB"):
                    data["auth_number"] = svc_line.refs.get("G1") or svc_line.refs.get("BB")
                line_extra["procedure_qualifier"] = qualifier
                for ref, name in (("6R", "line_control_number"), ("0K", "payer_policy_id"),
                                  ("LQ_RX", "ncpdp_reject_code")):
                    if svc_line.refs.get(ref):
                        line_extra[name] = svc_line.refs[ref]
                if svc_line.allowed:
                    line_extra["allowed_amount"] = svc_line.allowed
                if len(svc) > 4 and svc[4]:
                    line_extra["revenue_code"] = svc[4]
                if qualifier not in ("HC", "AD", "NU", "HP", "WK", "") and code:
                    # Local/masked codes (ZZ, XX, ER...) are kept as they are, not shape-checked.
                    line_extra["procedure_code"] = code
                    data["cpt_code"] = code if _plausible_code(code) else ""
                    if not data["cpt_code"]:
                        warnings.append(f"procedure {qualifier}:{code} is not a CPT/HCPCS shape; "
                                        "kept in extra.procedure_code")
            if amounts:
                line_extra["adjustment_amounts"] = ";".join(f"{g}-{r}:{a}" for g, r, a in amounts)
            data["extra"] = line_extra
            data["source"] = self.source
            data["location"] = seg.where()
            data["warnings"] = warnings
            try:  # blanks are left to the defaults: fewer validator calls, same record
                yield DenialRecord.model_validate(
                    {k: v for k, v in data.items() if v is not None and v != "" and v != []})
            except ValidationError as exc:
                yield reject_from_validation(exc, self.source,
                                             f"{seg.where()}, claim {clp.get(1)!r} line {number}",
                                             self.delims.element.join(seg.elements))


def _plausible_code(code: str) -> bool:
    return len(code) in (4, 5) and code.isalnum()


def read_835(path: Path) -> Iterator[DenialRecord | Reject]:
    return iter(Reader835(path))
