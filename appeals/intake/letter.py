"""Denial letters (utilization-review notices, notices of adverse benefit determination) read into
denial records, from PDF (text layer or scan) or plain text.

A pre-service or concurrent denial of a residential, PHP or IOP stay comes as a letter, not an
835. The reader takes what the letter states and nothing else: member and patient, service,
dates and level of care, the payer's own reason (not its paragraphs on appeal rights), the
criteria and the reviewer it names, when the review happened and the appeal window it states.
Every field keeps the page and line it came from (`extra["found_at"]`); what is not found stays
empty and is a warning. The plan type is never read from the letter's words: it comes from
`--plan-type` or the payer directory. The labels and headings are data
(appeals/data/letter_fields.yaml).
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property, lru_cache
from importlib import resources
from itertools import pairwise
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from appeals.intake.caps import check_size
from appeals.intake.errors import InputError
from appeals.intake.pdf import read_pages
from appeals.intake.source import detect_encoding, detect_format
from appeals.models import DenialRecord, LevelOfCare, Reject, clean_text, validation_problem
from appeals.yamltext import parse_yaml


class LetterSpecError(ValueError):
    """letter_fields.yaml is malformed; the message names the entry."""


class _Named(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pattern: str

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        re.compile(v)
        return v

    @cached_property
    def regex(self) -> re.Pattern[str]:
        return re.compile(self.pattern, re.IGNORECASE)


class Criterion(_Named):
    name: str  # empty: the payer's own guideline, named by the title the letter prints
    association: bool = False  # published by its specialty's nonprofit professional association

    @cached_property
    def regex(self) -> re.Pattern[str]:
        """Case matters: a guideline's title is in capitals ("Level of Care Guidelines"); write
        (?i:...) in the pattern where it does not."""
        return re.compile(self.pattern)


class Level(_Named):
    level: LevelOfCare


class ReviewType(_Named):
    type: str


class Batches(BaseModel):
    """How a PDF of several letters is split (letter_fields.yaml `batches:`)."""

    model_config = ConfigDict(extra="forbid")
    top_lines: int = Field(ge=1)
    salutation: str
    page_of: str
    cover_sheet: str

    @field_validator("salutation", "page_of", "cover_sheet")
    @classmethod
    def _compiles(cls, v: str) -> str:
        re.compile(v)
        return v

    @cached_property
    def page_of_regex(self) -> re.Pattern[str]:
        return re.compile(self.page_of, re.IGNORECASE)

    @cached_property
    def salutation_regex(self) -> re.Pattern[str]:
        return re.compile(self.salutation, re.IGNORECASE)

    @cached_property
    def cover_regex(self) -> re.Pattern[str]:
        return re.compile(self.cover_sheet, re.IGNORECASE)


class LetterSpec(BaseModel):
    """The labels, headings and word lists of appeals/data/letter_fields.yaml, compiled."""

    model_config = ConfigDict(extra="forbid")
    schema_version: int = 1
    labels: dict[str, list[str]]
    reason_headings: list[str]
    section_headings: list[str]
    boilerplate: list[str]
    denial_words: list[str]
    criteria: list[Criterion]
    levels: list[Level]
    review_types: list[ReviewType]
    urgent: str
    reason_cues: list[str]
    findings: list[str]
    general: str
    batches: Batches

    @field_validator("reason_headings", "section_headings", "boilerplate", "denial_words",
                     "reason_cues", "findings")
    @classmethod
    def _patterns(cls, v: list[str]) -> list[str]:
        for pattern in v:
            re.compile(pattern)
        return v

    @cached_property
    def label_regex(self) -> re.Pattern[str]:
        """A label at the start of a segment, then ':' or '#', a value, or nothing."""
        labels = sorted({(lab, name) for name, labs in self.labels.items() for lab in labs},
                        key=lambda x: -len(x[0]))
        self._label_field = {lab.lower(): name for lab, name in labels}
        words = "|".join(re.escape(lab) for lab, _ in labels)
        return re.compile(rf"^\s*(?P<label>{words})(?P<sep>\s*[:#]|\s+)?(?P<value>.*)$",
                          re.IGNORECASE)

    def field_of(self, label: str) -> str:
        self.label_regex  # noqa: B018  (builds the map)
        return self._label_field[re.sub(r"\s+", " ", label.lower())]

    def _alternation(self, patterns: list[str]) -> re.Pattern[str]:
        return re.compile(r"^\s*(?:\d+[.)]\s*)?(?:" + "|".join(f"(?:{p})" for p in patterns)
                          + r")\s*(?P<colon>[:.-])?\s*(?P<rest>.*)$", re.IGNORECASE)

    @cached_property
    def reason_regex(self) -> re.Pattern[str]:
        return self._alternation(self.reason_headings)

    @cached_property
    def section_regex(self) -> re.Pattern[str]:
        return self._alternation(self.section_headings)

    @cached_property
    def boilerplate_regex(self) -> re.Pattern[str]:
        return re.compile("|".join(f"(?:{p})" for p in self.boilerplate), re.IGNORECASE)

    @cached_property
    def denial_regex(self) -> re.Pattern[str]:
        return re.compile("|".join(f"(?:{p})" for p in self.denial_words), re.IGNORECASE)

    @cached_property
    def cause_regex(self) -> re.Pattern[str]:
        return re.compile("|".join(f"(?:{p})" for p in self.reason_cues), re.IGNORECASE)

    @cached_property
    def general_regex(self) -> re.Pattern[str]:
        return re.compile(self.general, re.IGNORECASE)

    @cached_property
    def finding_regex(self) -> re.Pattern[str]:
        return re.compile("|".join(f"(?:{p})" for p in self.findings), re.IGNORECASE)

    @cached_property
    def urgent_regex(self) -> re.Pattern[str]:
        return re.compile(self.urgent, re.IGNORECASE)


@lru_cache(maxsize=2)
def load_letter_spec(path: Path | None = None) -> LetterSpec:
    name = str(path or "appeals/data/letter_fields.yaml")
    text = path.read_text(encoding="utf-8") if path else resources.files("appeals.data").joinpath(
        "letter_fields.yaml").read_text(encoding="utf-8")
    try:
        return LetterSpec.model_validate(parse_yaml(text) or {})
    except (ValidationError, re.error) as exc:
        problem = validation_problem(exc) if isinstance(exc, ValidationError) else str(exc)
        raise LetterSpecError(f"{name}: {problem}") from None


@dataclass(frozen=True)
class Line:
    page: int
    number: int  # on its page, 1-based, blank lines counted
    text: str

    @property
    def at(self) -> str:
        return f"p{self.page} l{self.number}"


def letter_lines(path: Path) -> tuple[list[Line], set[int]]:
    """The letter's lines (PDF: text layer or OCR; text: form feeds part pages), and the pages
    read by OCR."""
    if detect_format(path) == "pdf":
        pages = read_pages(path)
        lines = [Line(p.number, i, clean_text(t)) for p in pages
                 for i, t in enumerate(p.lines, start=1)]
        return lines, {p.number for p in pages if p.ocr}
    check_size(path)
    text = path.read_text(encoding=detect_encoding(path))
    return [Line(n, i, clean_text(t)) for n, page in enumerate(text.split("\f"), start=1)
            for i, t in enumerate(page.splitlines(), start=1)], set()


@dataclass
class Piece:
    """Pages of a batch: one letter, or pages that belong to none."""

    first: int
    last: int
    lines: list[Line]
    why: str = ""  # for pages of no letter

    @property
    def pages(self) -> str:
        return f"page {self.first}" if self.first == self.last else \
            f"pages {self.first}-{self.last}"


def split_batch(lines: list[Line], spec: LetterSpec) -> tuple[list[Piece], list[Piece]]:
    """The letters of a PDF that may hold several (a day's fax inbox), and the pages that belong
    to none (a fax cover sheet, pages before the first letter). A page starts a letter when it
    says "page 1 of N" (the letter then runs N pages), else when a date is in its first lines
    and a salutation on it."""
    rules = spec.batches
    page_of, salutation, cover = rules.page_of_regex, rules.salutation_regex, rules.cover_regex
    pages: dict[int, list[Line]] = {}
    for line in lines:
        pages.setdefault(line.page, []).append(line)
    letters: list[Piece] = []
    orphans: list[Piece] = []
    current: Piece | None = None
    left = 0  # pages still to come of a letter that numbers its pages
    for number, page in pages.items():
        text = "\n".join(line.text for line in page)
        mark = page_of.search(text)
        first_of = mark is not None and int(mark["k"]) == 1
        if current is not None and left > 0 and not first_of:
            current.last, left = number, left - 1
            current.lines += page
            continue
        if cover.search(text) and not spec.denial_regex.search(text):
            orphans.append(Piece(number, number, page, "a fax cover sheet"))
            current = None
            continue
        if mark is not None:
            starts = first_of
            left = int(mark["n"]) - 1 if first_of else 0
        else:
            top = "\n".join([line.text for line in page if line.text.strip()][:rules.top_lines])
            starts = bool(dates_in(top)) and any(salutation.search(line.text) for line in page)
        if starts:
            current = Piece(number, number, list(page))
            letters.append(current)
        elif current is not None:
            current.last = number
            current.lines += page
        elif orphans and orphans[-1].last == number - 1 and not orphans[-1].why:
            orphans[-1].last = number
        else:
            orphans.append(Piece(number, number, page))
    for piece in orphans:
        piece.why = piece.why or "before the first letter, and no letter's first page"
    return letters, orphans


# --- values ------------------------------------------------------------------------------------

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE = re.compile(
    rf"\b(?:(?P<m>\d{{1,2}})[/.-](?P<d>\d{{1,2}})[/.-](?P<y>\d{{4}}|\d{{2}})"
    rf"|(?P<iy>\d{{4}})-(?P<im>\d{{2}})-(?P<id>\d{{2}})"
    rf"|(?P<mn>{_MONTH})\s+(?P<md>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<my>\d{{4}})"
    rf"|(?P<dd>\d{{1,2}})\s+(?P<dm>{_MONTH})\s+(?P<dy>\d{{4}}))\b", re.IGNORECASE)
#: Two-digit years: 00-49 are 20xx, 50-99 are 19xx (fixed, so output never depends on today).
_PIVOT = 50
_NUMBER_WORDS = {"thirty": 30, "sixty": 60, "ninety": 90, "forty-five": 45, "forty five": 45,
                 "one hundred eighty": 180, "one hundred and eighty": 180, "fourteen": 14,
                 "ten": 10, "seven": 7, "fifteen": 15, "three": 3, "two": 2}
_WINDOW = re.compile(r"\b(?P<n>\d{1,3}|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
                     + r")(?:\s*\(\d{1,3}\))?\s+(?P<kind>calendar |business |working )?"
                     r"(?P<unit>days|hours)\b", re.IGNORECASE)
_CODE = re.compile(r"\b([A-Z]\d{4}|\d{5}|0\d{3}|1\d{3})\b")
_CODE_WORDS = re.compile(r"\b(?:CPT|HCPCS|procedure|service|revenue|billing)(?: code)?s?\s*"
                         r"[:#]?\s*([A-Z]\d{4}|\d{5}|0\d{3})\b", re.IGNORECASE)
_ICD = re.compile(r"\b[A-TV-Z]\d{2}(?:\.[0-9A-Z]{1,4})?\b")
_NPI = re.compile(r"\bNPI\s*[:#]?\s*(\d{10})\b", re.IGNORECASE)
_CREDENTIAL = (r"(?:M\.?D|D\.?O|Ph\.?D|Psy\.?D|LCSW|LICSW|LPC|LPCC|LMHC|LMFT|LCADC|CADC|RN|BSN|"
               r"MSN|NP|PMHNP(?:-BC)?|APRN|PA-C|MBA|MPH|DABPN|FAPA)\.?")
_REVIEWER = re.compile(
    rf"(?:Dr\.?\s+)?(?P<name>[A-Z][A-Za-z'.-]+(?:\s+[A-Z][A-Za-z'.-]+){{0,3}}),?\s+"
    rf"(?P<cred>{_CREDENTIAL}(?:,?\s*{_CREDENTIAL})*)"
    r"(?P<more>,?\s*(?:(?:a|an|who is)\s+)?(?:[a-z]+\s+){0,3}(?:board[- ]certified|specialist|"
    r"speciali[sz](?:es|ing)|licensed)[a-z &-]{0,60})?")
_REVIEWED_BY = re.compile(r"\b(?:(?:reviewed|made|decided|determined|rendered|issued|signed)"
                          r"(?:\s+[a-z]+){0,3}\s+by:?|(?:physician|medical|clinical|peer|"
                          r"psychiatric)\s+(?:reviewer|advisor|director),?)\s+", re.IGNORECASE)
#: "Golden Years Advantage has denied the medical services ..." (a notice without letterhead).
_PAYER_DENIED = re.compile(r"^(?P<v>[A-Z][\w&.'-]*(?: [A-Z][\w&.'-]*){0,5}) (?:has|have) "
                           r"(?:denied|decided|reviewed)")
_SIGNED_AS = re.compile(r"\s*(physician|peer|clinical|psychiatric|medical)?\s*(reviewer|advisor|"
                       r"director|consultant)\b", re.IGNORECASE)
_ORG_WORDS = re.compile(
    r"\b(health|healthcare|insurance|plan|care|behavioral|blue|assurance|medicaid|medicare|"
    r"mutual|hmo|benefits?|solutions|optum|magellan|carelon|beacon|evernorth|cigna|aetna|"
    r"humana|united|anthem|kaiser|wellcare|centene|molina|ambetter|amerigroup|tricare|"
    r"administrators?|life|health ?plan)\b", re.IGNORECASE)
_ID = r"(?P<v>(?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{4,})\b"
#: The facts prose letters state without labels ("member ID BRB1234, date of birth 03/14/1990").
_INLINE = {
    "member_id": re.compile(r"\b(?:member|subscriber|enrollee|medicaid|recipient)\s+"
                            r"(?:id|identification)(?:\s+(?:number|no\.?|#))?\s*[:#]?\s*" + _ID,
                            re.IGNORECASE),
    "reference": re.compile(r"\b(?:reference|case|tracking|review|request)\s*(?:number|no\.?|#|id)?"
                            r"\s*[:#]?\s*" + _ID, re.IGNORECASE),
    "patient_dob": re.compile(r"\b(?:date of birth|born|dob)\s*[:,]?\s*(?:on\s+)?(?P<v>"
                              + _DATE.pattern.replace("?P<", "?P<dob_") + ")", re.IGNORECASE),
    "denied_dates": re.compile(r"\bden(?:ied|y|ial)\b[^.]{0,80}?\b(?:from|as of|beginning|"
                               r"starting|effective|on and after|after)\s+(?P<v>"
                               + _DATE.pattern.replace("?P<", "?P<den_") + ")", re.IGNORECASE),
    "service_dates": re.compile(r"\b(?:starting|beginning|admitted on|admission on|admitted|"
                                r"(?:requested )?to (?:start|begin)(?: on)?)\s+"
                                r"(?P<v>" + _DATE.pattern.replace("?P<", "?P<svc_") + ")",
                                re.IGNORECASE),
}
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"'])")


def dates_in(text: str) -> list[date]:
    """Every calendar date the text writes (MM/DD/YYYY, YYYY-MM-DD, 'November 6, 2026', ...)."""
    out = []
    for m in _DATE.finditer(text):
        try:
            if m["m"]:
                year = int(m["y"])
                if year < 100:
                    year += 2000 if year < _PIVOT else 1900
                out.append(date(year, int(m["m"]), int(m["d"])))
            elif m["iy"]:
                out.append(date(int(m["iy"]), int(m["im"]), int(m["id"])))
            elif m["mn"]:
                out.append(date(int(m["my"]), _MONTHS[m["mn"][:3].lower()], int(m["md"])))
            else:
                out.append(date(int(m["dy"]), _MONTHS[m["dm"][:3].lower()], int(m["dd"])))
        except ValueError:
            continue  # 02/30/2026: not a date
    return out


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS[word.lower()]


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if s.strip()]


# --- reading ----------------------------------------------------------------------------------

@dataclass
class Found:
    """What a letter says, each value with the line it was read from."""

    values: dict[str, str] = field(default_factory=dict)
    at: dict[str, Line] = field(default_factory=dict)

    def put(self, name: str, value: str | None, line: Line) -> None:
        value = (value or "").strip(" \t:;,")
        if value and name not in self.values:
            self.values[name] = value
            self.at[name] = line


def _segments(text: str) -> list[str]:
    return [s for s in re.split(r"\s{2,}|\t", text) if s.strip()]


_TYPED = {"member_id", "patient_dob", "service_dates", "denied_dates", "denial_date", "reference",
          "auth_number", "provider_npi"}


def _labelled(lines: list[Line], spec: LetterSpec, found: Found) -> set[int]:
    """Label: value pairs, several to a line when a form sets them in columns ("Patient Name:
    Riley Example    ID Number: PEH-4402"); returns the indexes of the lines that held one."""
    regex = spec.label_regex
    held = set()
    for index, line in enumerate(lines):
        segments = _segments(line.text)
        i = 0
        while i < len(segments):
            m = regex.match(segments[i])
            i += 1
            if not m:
                continue
            name = spec.field_of(m["label"])
            value, sep = m["value"].strip(), m["sep"]
            if sep is None and value:
                continue  # the label ran on into a word ("Membership ...")
            if sep is not None and sep.isspace() and value and not (
                    (name in _TYPED and re.search(r"\d", value)) or " " in m["label"].strip()):
                continue  # "Member Jordan", "Facility staff": without a colon, too loose
            if not value:  # the value is the next segment, or the next line
                if i < len(segments) and not regex.match(segments[i]):
                    value = segments[i]
                    i += 1
                elif len(segments) == 1:
                    following = next((x for x in lines[index + 1:index + 3] if x.text), None)
                    if following and not regex.match(following.text) and len(
                            _segments(following.text)) == 1:
                        value = following.text
            if value:
                held.add(index)
                found.put(name, value, line)
    return held


#: Fewer words under a reason heading ("Decision: Denied") is an outcome, not the reason.
REASON_WORDS = 6


def _reason(lines: list[Line], spec: LetterSpec, labels: set[int]) -> tuple[str, Line | None]:
    """The payer's own reason: under a reason heading to the next section, without boilerplate;
    else the first paragraph after the salutation that gives a reason."""
    candidates: list[tuple[str, Line]] = []
    for index, line in enumerate(lines):
        m = spec.reason_regex.match(line.text)
        if not m or (m["colon"] is None and m["rest"]):
            continue
        parts = [m["rest"]] if m["rest"] else []
        blanks = 0
        for later_index in range(index + 1, min(index + 40, len(lines))):
            text = lines[later_index].text
            if not text:
                blanks += 1
                if blanks >= 2 and parts:
                    break
                continue
            blanks = 0
            if (spec.section_regex.match(text) or spec.reason_regex.match(text)
                    or later_index in labels or spec.boilerplate_regex.match(text)
                    or re.match(r"dear\b", text, re.IGNORECASE)):  # closings are sections
                if parts:
                    break
                continue
            parts.append(text)
        reason = _without_boilerplate(" ".join(parts), spec)
        if len(reason.split()) >= REASON_WORDS:  # "Determination: Denied" is not the reason
            return reason, line
        if reason:
            candidates.append((reason, line))
    after = next((i for i, line in enumerate(lines) if re.match(r"dear\b", line.text, re.IGNORECASE)), -1)
    body = []
    for line in lines[after + 1:]:
        if spec.section_regex.match(line.text) and not spec.reason_regex.match(line.text):
            break
        body.append(line)
    # Without a heading: the paragraph that says why, not the first that mentions medical
    # necessity. A denial joined to its cause ("denied because the records do not show")
    # outranks a finding alone, which outranks a preamble on how reviews are made; the first
    # of the best wins.
    best: tuple[int, str, Line] | None = None
    for paragraph, first in _paragraphs(body):
        text = _without_boilerplate(paragraph, spec)
        said = [s for s in sentences(text) if not spec.general_regex.match(s)]
        if not said:
            continue
        finding = any(spec.finding_regex.search(s) for s in said)
        cause = any(spec.denial_regex.search(s) and spec.cause_regex.search(s) for s in said)
        score = 2 * cause + finding
        if score and (best is None or score > best[0]):
            best = (score, text, first)
    if best is not None:
        return best[1], best[2]
    return max(candidates, key=lambda c: len(c[0])) if candidates else ("", None)


def _blocks(lines: list[Line]) -> Iterator[list[Line]]:
    """Runs of non-blank lines: the letter's paragraphs."""
    block: list[Line] = []
    for line in [*lines, Line(0, 0, "")]:
        if line.text:
            block.append(line)
        elif block:
            yield block
            block = []


def _paragraphs(lines: list[Line]) -> Iterator[tuple[str, Line]]:
    for block in _blocks(lines):
        yield " ".join(x.text for x in block), block[0]


def _without_boilerplate(text: str, spec: LetterSpec) -> str:
    text = re.sub(r"(\w)- (\w)", r"\1-\2", text)  # a compound broken at its hyphen
    return " ".join(s for s in sentences(text) if not spec.boilerplate_regex.search(s)).strip()


@dataclass(frozen=True)
class Passage:
    """A sentence of a paragraph (lines joined), which knows the line each of its words is on:
    a fact that wraps across lines is still found, and its line is still exact."""

    text: str
    lines: tuple[Line, ...]
    starts: tuple[int, ...]  # where each line begins in the paragraph's joined text
    start: int  # where this sentence begins in it

    def line_at(self, offset: int = 0) -> Line:
        return self.lines[bisect_right(self.starts, self.start + offset) - 1]


def passages(lines: list[Line]) -> list[Passage]:
    out: list[Passage] = []
    for block in _blocks(lines):
        starts, at = [], 0
        for x in block:
            starts.append(at)
            at += len(x.text) + 1
        text = " ".join(x.text for x in block)
        begin = 0
        for cut in [*(m.end() for m in _SENTENCE.finditer(text)), len(text)]:
            piece = text[begin:cut]
            if piece.strip():
                lead = len(piece) - len(piece.lstrip())
                out.append(Passage(piece.strip(), tuple(block), tuple(starts), begin + lead))
            begin = cut
    return out


def read_found(lines: list[Line], spec: LetterSpec) -> Found:
    """Everything the letter states, with where."""
    found = Found()
    labels = _labelled(lines, spec, found)
    said = passages(lines)
    plain = [p for p in said if not spec.boilerplate_regex.search(p.text)]
    for name, regex in _INLINE.items():
        _first_in(said, regex, found, name, "v")
    reason, reason_at = _reason(lines, spec, labels)
    if reason_at is not None:
        found.put("denial_reason", reason, reason_at)
    body = [line for line in lines if line.text]
    # The letterhead: its first line when that is a name (no digits, not the notice's title),
    # else the first of its lines that names an organization, never a department.
    heads = [_segments(x.text)[0] for x in body[:6] if body and x.page == body[0].page]
    for i, name in enumerate(heads):
        title = re.search(r"notice|determination|denial|^re\b|department|unit\b|division|"
                          r"confidential|privileged|important|urgent|attention|^fax\b|^page\b|"
                          r"^to\b|^date\b|^sent\b|^via\b", name, re.IGNORECASE)
        if title or re.search(r"\d", name):
            continue
        if (i == 0 and len(name.split()) <= 8) or _ORG_WORDS.search(name):
            found.put("payer_name", name, body[i])
            break
    _first_in(said, _PAYER_DENIED, found, "payer_name", "v")
    if "denial_date" not in found.values:
        for line in body[:15]:
            if dates_in(line.text) and len(line.text) <= 40:
                found.put("denial_date", line.text, line)
                break
    _first_in(said, _NPI, found, "provider_npi", 1)
    _first_in(said, _CODE_WORDS, found, "code", 1)
    _level(lines, spec, found, reason_at)
    _criteria(said, spec, found)
    _reviewer(said, body, found)
    _review(plain, spec, found)
    _window(said, spec, found)
    return found


def _first_in(said: list[Passage], regex: re.Pattern[str], found: Found, name: str,
              group: int | str) -> None:
    if name in found.values:
        return
    for passage in said:
        m = regex.search(passage.text)
        if m:
            found.put(name, m[group], passage.line_at(m.start()))
            return


def _level(lines: list[Line], spec: LetterSpec, found: Found, reason_at: Line | None) -> None:
    """The level of care the service line names, else the first one the letter names before
    its reason (the reason often names the lower level the payer would pay for)."""
    service = found.values.get("service")
    candidates = [(service, found.at["service"])] if service else []
    candidates += [(line.text, line) for line in lines if line.text and (
        reason_at is None or (line.page, line.number) < (reason_at.page, reason_at.number))
        and not spec.boilerplate_regex.search(line.text)]
    if reason_at is not None:
        candidates.append((found.values["denial_reason"], reason_at))
    for text, line in candidates:
        hits = [(m.start(), level.level) for level in spec.levels
                for m in [level.regex.search(text)] if m]
        if hits:
            found.put("level_of_care", min(hits, key=lambda h: h[0])[1].value, line)
            return


def _criteria(said: list[Passage], spec: LetterSpec, found: Found) -> None:
    names: list[str] = []
    first: Line | None = None
    for passage in said:
        for criterion in spec.criteria:
            for m in criterion.regex.finditer(passage.text):
                name = criterion.name or re.sub(r"^(The|Our|Your|Per|Using|Under)\s+", "",
                                                m.group(0))
                edition = re.search(r"(\d{1,2}(?:st|nd|rd|th)) edition", passage.text, re.IGNORECASE)
                if edition and criterion.name:
                    name = f"{name} ({edition[1]} edition)"
                bare = name.split(" (")[0]
                known = next((i for i, n in enumerate(names) if n.split(" (")[0] == bare
                              or bare.endswith(n.split(" (")[0])), None)
                if known is None:
                    names.append(name)
                    first = first or passage.line_at(m.start())
                elif len(name) > len(names[known]):
                    names[known] = name  # the same set, with its owner or edition
    if names and first is not None:
        found.put("criteria", "; ".join(names), first)


def _reviewer(said: list[Passage], body: list[Line], found: Found) -> None:
    labelled = found.values.get("reviewer")
    if labelled:
        m = _REVIEWER.search(labelled)
        if m:
            found.values["reviewer"] = m.group(0).strip(" ,.")
        return
    for passage in said:
        by = _REVIEWED_BY.search(passage.text)
        m = _REVIEWER.match(passage.text, by.end()) if by else None
        if m:
            found.put("reviewer", m.group(0).strip(" ,."), passage.line_at(m.start()))
            return
    for line, below in pairwise(body):
        m = _REVIEWER.match(line.text)  # a signature over "Physician Reviewer"
        if m and _SIGNED_AS.match(below.text):
            found.put("reviewer", m.group(0).strip(" ,."), line)
            return


def _review(plain: list[Passage], spec: LetterSpec, found: Found) -> None:
    """Pre-service, concurrent or post-service, and whether the review was urgent: the letter's
    "Type of review" line, else its own sentences (never the appeal-rights boilerplate, which
    offers an expedited appeal in every letter)."""
    stated = found.values.pop("review_type", None)
    if stated:
        line = found.at.pop("review_type")
        kind = next((r.type for r in spec.review_types if r.regex.search(stated)), None)
        if spec.urgent_regex.search(stated):
            found.put("urgent", "yes", line)
        if kind:
            found.put("review_type", kind, line)
    for passage in plain:
        if "review_type" not in found.values:
            for r in spec.review_types:
                m = r.regex.search(passage.text)
                if m:
                    found.put("review_type", r.type, passage.line_at(m.start()))
                    break
        m = spec.urgent_regex.search(passage.text)
        if (m and "urgent" not in found.values
                and re.search(r"\b(review|request)\b", passage.text, re.IGNORECASE)
                and not re.search(r"\bappeal", passage.text, re.IGNORECASE)):
            found.put("urgent", "yes", passage.line_at(m.start()))


def _window(said: list[Passage], spec: LetterSpec, found: Found) -> None:
    """The appeal window the letter states (days), and the expedited decision time (hours)."""
    for passage in said:
        if not re.search(r"\bappeal", passage.text, re.IGNORECASE):
            continue
        for m in _WINDOW.finditer(passage.text):
            line = passage.line_at(m.start())
            if m["unit"].lower() == "days":
                kind = (m["kind"] or "").strip().lower()
                found.put("appeal_window", f"{_number(m['n'])} {kind + ' ' if kind else ''}days",
                          line)
            elif spec.urgent_regex.search(passage.text):
                found.put("expedited_decision", f"{_number(m['n'])} hours", line)


# --- the record ---------------------------------------------------------------------------------

#: What a denial record from a letter needs; each one missing is a warning naming it.
EXPECTED = ("payer_name", "patient_name", "member_id", "patient_dob", "service_date",
            "level_of_care", "denial_date", "denial_reason", "review_type", "criteria",
            "reviewer", "appeal_window")


def record_from(found: Found, source: str, text_digest: str,
                plan_type: str | None = None) -> tuple[dict, list[Reject]]:
    """The record's fields and the warnings on it."""
    v, at = found.values, found.at
    warnings: list[Reject] = []

    def warn(name: str, message: str, where: str = "letter") -> None:
        warnings.append(Reject(source=source, location=where, field=name, message=message,
                               level="warning"))

    data: dict = {"claim_id": v.get("reference") or v.get("auth_number")
                  or f"LTR-{text_digest[:10]}", "line_number": 1}
    for name in ("payer_name", "patient_name", "member_id", "provider_name", "provider_npi",
                 "denial_reason", "auth_number"):
        if name in v:
            data[name] = v[name]
    if "provider_name" in data:
        data["provider_name"] = re.sub(r"\s*\(?\bNPI\b.*$", "", data["provider_name"]).strip()
    for name in ("patient_dob", "denial_date"):
        days = dates_in(v.get(name, ""))
        if days:
            data[name] = days[0]
    denied, service = dates_in(v.get("denied_dates", "")), dates_in(v.get("service_dates", ""))
    if denied:
        last_covered = re.search(r"last (covered|approved)", at["denied_dates"].text, re.IGNORECASE)
        data["service_date"] = denied[0] + timedelta(days=1) if last_covered else denied[0]
        at["service_date"] = at["denied_dates"]
    elif service:
        data["service_date"] = service[0]
        at["service_date"] = at["service_dates"]
    if "level_of_care" in v:
        data["level_of_care"] = v["level_of_care"]
    code = _CODE.search(v.get("service", "")) or None
    if code or "code" in v:
        data["cpt_code"] = code[1] if code else v["code"]
    if "diagnosis" in v:
        data["diagnosis_codes"] = _ICD.findall(v["diagnosis"].upper())
    data["plan_type"] = plan_type or "unknown"
    extra = {"letter_ocr_pages": v["ocr_pages"]} if v.get("ocr_pages") else {}
    for name in ("review_type", "criteria", "reviewer", "appeal_window", "expedited_decision"):
        if name in v:
            extra[name] = v[name]
    if v.get("urgent"):
        extra["urgent"] = "yes"
    starts, denied_on = data.get("service_date"), data.get("denial_date")
    if "review_type" not in extra and starts and denied_on and starts > denied_on:
        # Days denied after the letter's date are a prospective review: of a stay under way
        # (admitted before the letter) or of care not yet begun.
        admitted = service[0] if service else None
        extra["review_type"] = "concurrent" if admitted and admitted <= denied_on else \
            "pre_service"
        warn("review_type", f"the letter does not say; read as {extra['review_type']} from its "
             "dates (the days denied come after the letter)")
    if "reference" in v:
        extra["letter_reference"] = v["reference"]
    extra["found_at"] = "; ".join(f"{name} {at[name].at}" for name in sorted(at)
                                  if name in data or name in extra)
    data["extra"] = extra
    missing = [n for n in EXPECTED if n not in data and n not in extra]
    for name in missing:
        warn(name, f"not found in the letter: {name.replace('_', ' ')} left empty")
    if not plan_type:
        warn("plan_type", "the letter's words never decide the plan type: give --plan-type, or "
             "list the payer in the payer directory (--payers)")
    return data, warnings


def read_letter(path: Path, plan_type: str | None = None,
                spec: LetterSpec | None = None) -> Iterator[DenialRecord | Reject]:
    """A denial record from each denial letter of the file (one letter, or a batch of several,
    each with its page range), after a warning for each thing it does not state. InputError
    when the file is not a readable denial letter."""
    spec = spec or load_letter_spec()
    lines, ocr = letter_lines(path)
    source = str(path)
    letters, orphans = split_batch(lines, spec)
    if len(letters) < 2:  # one letter: all of its pages, whatever is on them
        yield from _letter(lines, ocr, source, plan_type, spec)
        return
    for piece in orphans:
        yield Reject(source=source, location=piece.pages, field="pages",
                     message=f"belongs to no letter of the batch ({piece.why}): not read",
                     raw="\n".join(line.text for line in piece.lines)[:300])
    for piece in letters:
        try:
            yield from _letter(piece.lines, ocr, source, plan_type, spec, piece)
        except InputError as exc:
            yield Reject(source=source, location=piece.pages, field="letter",
                         message=f"{exc}: read nothing from it", level="warning")


def _letter(lines: list[Line], ocr: set[int], source: str, plan_type: str | None,
            spec: LetterSpec, piece: Piece | None = None) -> Iterator[DenialRecord | Reject]:
    """The record of one letter (`piece`: its pages in a batch)."""
    text = "\n".join(line.text for line in lines)
    ocr_pages = len(ocr & {line.page for line in lines})
    if not spec.denial_regex.search(text):
        pages = len({line.page for line in lines})
        raise InputError(f"not a denial letter: no denial wording on its {pages} page(s)"
                         + (" (read by OCR)" if ocr_pages else ""))
    found = read_found(lines, spec)
    if ocr_pages:
        found.values["ocr_pages"] = str(ocr_pages)
    data, warnings = record_from(found, source, hashlib.sha256(text.encode()).hexdigest(),
                                 plan_type)
    reason_at = found.at.get("denial_reason")
    data["location"] = reason_at.at if reason_at else f"p{lines[0].page if lines else 1}"
    data["source"] = source
    if piece is not None:  # where in the batch: on the record and on each of its warnings
        data["extra"]["letter_pages"] = f"{piece.first}-{piece.last}"
        data["location"] = f"{piece.pages}: {data['location']}"
        warnings = [w.model_copy(update={"location": f"{piece.pages}: {w.location}"})
                    for w in warnings]
    yield from warnings
    for _ in range(len(data)):
        try:
            yield DenialRecord.model_validate(data)
            return
        except ValidationError as exc:  # a value the letter states but the record refuses
            problem = exc.errors()[0]
            name = str(problem["loc"][0]) if problem["loc"] else str(problem["msg"]).split(":")[0]
            name = name.removeprefix("Value error, ")
            if name not in data or name == "claim_id":
                raise InputError(f"cannot build a record from the letter: "
                                 f"{validation_problem(exc)}") from None
            where = found.at[name].at if name in found.at else "letter"
            yield Reject(source=source, location=f"{piece.pages}: {where}" if piece else where,
                         field=name, message=f"{validation_problem(exc)}; left empty",
                         level="warning")
            data.pop(name)
