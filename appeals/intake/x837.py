"""X12 837P (5010) professional claims about to be sent, read into one record per service line
for `appeals scrub`. It streams like the 835 reader (the same segment splitter) and keeps each
line's segment position.

Loops read: 2010BB payer (NM1*PR), 2010BA subscriber (NM1*IL, DMG), 2010CA patient (NM1*QC,
DMG), 2010AA billing provider (NM1*85), 2300 claim (CLM, HI, REF*G1, DTP*472), 2310B rendering
provider (NM1*82), 2400 lines (LX, SV1, DTP*472, REF*G1, and NM1*82 for a line's own renderer).
Other-payer loops of a claim (2320/2330: SBR, NM1*IL/PR after the CLM) never replace the
claim's own subscriber or payer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from appeals.intake.errors import InputError, reject_from_validation
from appeals.intake.x12 import Delimiters, Segment, get, segments, where
from appeals.models import DenialRecord, Reject

# The segments that may stand inside a claim (2300-2430); anything else there is damage.
_CLAIM_SEGMENTS = frozenset({
    "CLM", "DTP", "PWK", "CN1", "AMT", "REF", "K3", "NTE", "CR1", "CR2", "CRC", "HI", "HCP",
    "NM1", "N2", "N3", "N4", "PRV", "PER", "SBR", "CAS", "OI", "MOA", "LX", "SV1", "SV5", "CR3",
    "QTY", "MEA", "PS1", "LIN", "CTP", "SVD", "LQ", "FRM"})
_DATE_OF_SERVICE = "472"


@dataclass
class _Line:
    seg: Segment
    svc: list[str]
    date: str = ""
    auth: str = ""
    renderer: tuple[str, str] | None = None


@dataclass
class _Claim:
    seg: Segment
    diagnoses: list[str] = field(default_factory=list)
    date: str = ""
    auth: str = ""
    renderer: tuple[str, str] | None = None
    lines: list[_Line] = field(default_factory=list)
    other_payer: bool = False  # inside 2320/2330: NM1*IL and NM1*PR are not the claim's own
    broken: str = ""  # why the claim's lines cannot be trusted as its own
    lx: int = 0  # LX segments seen
    lx_open: bool = False  # an LX waits for its SV1


def _person(e: list[str]) -> str:
    last, first = get(e, 3), get(e, 4)
    return f"{first} {last}".strip() if first else last


def _lines(count: int) -> str:
    return f"{count} service line{'' if count == 1 else 's'}"


def _date(value: str) -> str:
    """D8 CCYYMMDD, or the first day of an RD8 range."""
    return value.split("-")[0]


class Reader837:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.source = str(path)
        self.delims: Delimiters | None = None
        self.payer = self.member_id = self.subscriber = self.patient = ""
        self.subscriber_dob = self.patient_dob = self.filing = ""
        self.billing: tuple[str, str] = ("", "")
        self.claim: _Claim | None = None
        self.in_patient = False
        self.transaction = False
        #: Where damage broke a loop (a segment that cannot stand in a claim: a lost or garbled
        #: HL, say): until the next HL, whose patient a claim is cannot be told.
        self.adrift = ""

    def __iter__(self) -> Iterator[DenialRecord | Reject]:
        saw_st = False
        for item in segments(self.path):
            if isinstance(item, Delimiters):
                self.delims = item
                continue
            if isinstance(item, Reject):
                yield from self._close()
                yield item
                continue
            sid = item[2][0]
            if sid == "ST":
                kind = get(item[2], 1)
                if kind != "837":
                    raise InputError(f"{where(item)}: transaction set {kind!r}, not an 837 "
                                     "claim file" + (" (an 835 remittance: read it with `appeals "
                                                      "run`)" if kind == "835" else ""))
                saw_st = self.transaction = True
            elif sid in ("SE", "GE", "IEA", "HL"):
                yield from self._close()
                if sid == "SE":
                    self.transaction = False
            yield from self._segment(item, sid)
        yield from self._close()
        if not saw_st:
            raise InputError("no ST transaction in the interchange: not an 837 claim file")

    def _reject(self, seg: Segment, field_name: str, message: str) -> Reject:
        return Reject(source=self.source, location=where(seg), field=field_name, message=message,
                      raw=self._raw(seg))

    def _raw(self, seg: Segment) -> str:
        sep = self.delims.element if self.delims else "*"
        return sep.join(seg[2])[:500]

    def _segment(self, seg: Segment, sid: str) -> Iterator[Reject]:
        e = seg[2]
        claim = self.claim
        if sid in ("HL", "ST"):
            self.adrift = ""
        if sid == "HL":
            level = get(e, 3)
            if level == "22":
                self.payer = self.member_id = self.subscriber = self.patient = ""
                self.subscriber_dob = self.patient_dob = ""
                self.in_patient = False
            elif level == "23":
                self.in_patient = True
                self.patient = self.patient_dob = ""
        elif sid == "SBR" and claim is None:
            self.filing = get(e, 9)
        elif sid == "SBR":
            claim.other_payer = True
        elif sid == "NM1":
            yield from self._name(seg, e)
        elif sid == "DMG" and claim is None:
            if self.in_patient:
                self.patient_dob = get(e, 2)
            else:
                self.subscriber_dob = get(e, 2)
        elif sid == "CLM":
            yield from self._close()
            if claim is not None and not claim.lines:  # two headers: whose lines follow?
                self.adrift = (f"claim {get(claim.seg[2], 1)!r} with no service line "
                               f"({where(claim.seg)})")
            self.claim = _Claim(seg)
        elif claim is None:
            if sid in ("LX", "SV1", "HI"):
                yield self._reject(seg, "CLM", f"{sid} outside a claim (a lost or garbled CLM): "
                                               "not read")
        elif sid not in _CLAIM_SEGMENTS:
            yield self._reject(seg, "segment", f"segment {sid!r} inside claim "
                                               f"{get(claim.seg[2], 1)!r} (a garbled segment, or "
                                               "a lost HL?): the claim is not read "
                                               f"({_lines(len(claim.lines))})")
            claim.lines.clear()
            self.claim = None
            self.adrift = f"a segment that cannot stand in a claim ({where(seg)})"
        elif sid == "HI":
            comp = self.delims.component if self.delims else ":"
            for element in e[1:]:
                qualifier, _, code = element.partition(comp)
                if qualifier in ("ABK", "ABF", "BK", "BF") and code:
                    claim.diagnoses.append(code.split(comp)[0])
        elif sid == "LX":
            # Lines count 1, 2, 3... in each claim, each LX before its SV1: a claim whose count
            # does not start over, or a line with no LX of its own, holds lines of another
            # claim (a moved CLM).
            claim.lx += 1
            claim.lx_open = True
            if get(e, 1) != str(claim.lx):
                claim.broken = claim.broken or (f"its line number LX*{get(e, 1)} at {where(seg)}"
                                                f" is not {claim.lx}: lines of another claim?")
        elif sid == "SV1":
            if not claim.lx_open:
                claim.broken = claim.broken or (f"the service line at {where(seg)} has no LX of "
                                                "its own: a line of another claim?")
            claim.lx_open = False
            claim.lines.append(_Line(seg, e))
        elif sid == "DTP" and get(e, 1) == _DATE_OF_SERVICE:
            if claim.lines:
                claim.lines[-1].date = _date(get(e, 3))
            else:
                claim.date = _date(get(e, 3))
        elif sid == "REF" and get(e, 1) == "G1":
            if claim.lines:
                claim.lines[-1].auth = get(e, 2)
            else:
                claim.auth = get(e, 2)

    def _name(self, seg: Segment, e: list[str]) -> Iterator[Reject]:
        entity, claim = get(e, 1), self.claim
        if entity == "82" and claim is not None:
            who = (_person(e), get(e, 9))
            if claim.lines:
                claim.lines[-1].renderer = who
            else:
                claim.renderer = who
        elif claim is not None:
            if entity in ("IL", "PR"):
                claim.other_payer = True  # 2330A/B: another insurer's, not this claim's
        elif entity == "85":
            self.billing = (get(e, 3) if get(e, 2) == "2" else _person(e), get(e, 9))
        elif entity == "PR":
            self.payer = get(e, 3)
        elif entity == "IL":
            who = (_person(e), get(e, 9))
            if (self.subscriber or self.member_id) and who != (self.subscriber, self.member_id):
                self.adrift = f"a second subscriber in one loop ({where(seg)})"
            self.subscriber, self.member_id = who
        elif entity == "QC":
            if self.patient and self.patient != _person(e):
                self.adrift = f"a second patient in one loop ({where(seg)})"
            self.patient = _person(e)
        return iter(())

    def _close(self) -> Iterator[DenialRecord | Reject]:
        claim, self.claim = self.claim, None
        if claim is None:
            return
        e = claim.seg[2]
        claim_id = get(e, 1)
        if claim.broken:
            yield self._reject(claim.seg, "LX", f"claim {claim_id!r}: {claim.broken} Not read "
                                                f"({_lines(len(claim.lines))})")
            # Its lines belonged to another claim: a CLM after it in this loop may be the one
            # moved here, with this claim's lines (a subscriber's second claim looks the same).
            self.adrift = f"claim {claim_id!r}, whose lines are not its own ({where(claim.seg)})"
            return
        if self.adrift:
            yield self._reject(claim.seg, "HL", f"claim {claim_id!r} follows {self.adrift} with "
                               "no HL between: whose patient it is cannot be told, so it is not "
                               f"read ({_lines(len(claim.lines))})")
            return
        if not claim.lines:
            yield self._reject(claim.seg, "SV1", f"claim {claim_id!r} has no service line: "
                                                 "nothing to send")
            return
        comp = self.delims.component if self.delims else ":"
        place = get(e, 5).split(comp)[0]
        patient = self.patient or self.subscriber
        dob = self.patient_dob if self.patient else self.subscriber_dob
        for number, line in enumerate(claim.lines, start=1):
            svc = line.svc
            procedure = get(svc, 1).split(comp)
            renderer = line.renderer or claim.renderer or self.billing
            data = {
                "claim_id": claim_id, "line_number": number, "payer_name": self.payer,
                "member_id": self.member_id, "patient_name": patient, "patient_dob": dob,
                "provider_name": renderer[0], "provider_npi": renderer[1],
                "service_date": line.date or claim.date,
                "cpt_code": procedure[1] if len(procedure) > 1 else "",
                "modifiers": [m for m in procedure[2:6] if m],
                "units": get(svc, 4), "place_of_service": get(svc, 5) or place,
                "diagnosis_codes": self._pointed(claim.diagnoses, get(svc, 7), comp),
                "billed_amount": get(svc, 2), "auth_number": line.auth or claim.auth,
                "extra": {k: v for k, v in (("claim_filing_indicator", self.filing),
                                            ("billing_npi", self.billing[1]),
                                            ("claim_frequency", get(e, 5).split(comp)[-1]
                                             if comp in get(e, 5) else "")) if v},
                "source": self.source, "location": where(line.seg),
            }
            data = {k: v for k, v in data.items() if v not in ("", None, [])}
            try:
                yield DenialRecord.model_validate(data)
            except ValidationError as exc:
                if "diagnosis_codes" not in {str(x["loc"][0]) for x in exc.errors() if x["loc"]}:
                    yield reject_from_validation(exc, self.source, where(line.seg),
                                                 self._raw(line.seg))
                    continue
                # A diagnosis code the payer would refuse is the scrub's finding to make, with
                # its fix: the line is read, the codes as sent kept for the rule to see.
                sent = data.pop("diagnosis_codes")
                data["extra"] = {**data["extra"], "diagnosis_codes_sent": ";".join(sent)}
                try:
                    yield DenialRecord.model_validate(data)
                except ValidationError as again:
                    yield reject_from_validation(again, self.source, where(line.seg),
                                                 self._raw(line.seg))

    @staticmethod
    def _pointed(diagnoses: list[str], pointers: str, comp: str) -> list[str]:
        """The line's diagnoses in pointer order (SV107 points into the claim's HI list); all of
        the claim's when the line points at none."""
        picked = [diagnoses[int(p) - 1] for p in pointers.split(comp)
                  if p.isdigit() and 0 < int(p) <= len(diagnoses)]
        return picked or diagnoses


def read_837(path: Path) -> Iterator[DenialRecord | Reject]:
    return iter(Reader837(path))
