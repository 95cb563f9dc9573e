"""Reading a returned checklist: which case it is (its own Subject property, written when the
packet was made) and, per item, whether it was ticked and the clinician's words.

PDF: the AcroForm's fields (`<item>` check box, `<item>_where` text), as pypdf reads them, which
covers what Acrobat, Preview, Chrome, Edge, pypdf and LibreOffice write (a check box's value is
any name other than /Off; the text is the field's /V). DOCX: the content controls tagged with the
item ids (w14:checkbox's checked state, the plain-text control's text).
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from appeals.compose.letters import IDENTITY_PREFIX
from appeals.intake.caps import check_pdf, check_zip
from appeals.intake.errors import InputError
from appeals.models import clean_text
from appeals.render.docx import ITEM_MARK
from appeals.render.html import CASE_MARK

WHERE = "_where"


class AnswersError(ValueError):
    """The file is not a checklist this toolkit made, or cannot be read; names the file."""


@dataclass
class Answer:
    ticked: bool = False
    text: str = ""


@dataclass
class Returned:
    path: Path
    sha256: str
    claim_id: str
    line_number: int
    service_date: str
    items_digest: str
    denial_date: str = ""
    answers: dict[str, Answer] = field(default_factory=dict)

    @property
    def case(self) -> str:
        return f"{self.claim_id}-{self.line_number}"


def read_returned(path: Path) -> Returned:
    data = path.read_bytes()
    kind = "pdf" if data[:5] == b"%PDF-" else "docx" if data[:2] == b"PK" else None
    if kind is None:
        raise AnswersError(f"{path}: not a PDF or DOCX file")
    try:
        (check_pdf if kind == "pdf" else check_zip)(path)
    except InputError as exc:
        raise AnswersError(f"{path}: {exc}") from None
    try:
        subject, answers = (_pdf if kind == "pdf" else _docx)(path)
    except AnswersError:
        raise
    except Exception as exc:  # noqa: BLE001 (a damaged file is one clear line, not a traceback)
        raise AnswersError(f"{path}: cannot read the {kind.upper()}: {type(exc).__name__}: "
                           f"{exc}") from None
    if not subject.startswith(IDENTITY_PREFIX):
        # Many PDF tools and every scanner drop the document's properties: the case printed in
        # the footer of every page says which case it is (no items digest or dates then).
        found = _CASE_PRINTED.search(_printed(path, kind))
        if found is None:
            raise AnswersError(f"{path}: not a clinician checklist made by appeals (neither its "
                               "Subject property nor its pages name a case)")
        return Returned(path=path, sha256=hashlib.sha256(data).hexdigest(),
                        claim_id=found["claim"], line_number=int(found["line"]),
                        service_date="", items_digest="", answers=answers)
    try:
        identity = json.loads(subject[len(IDENTITY_PREFIX):])
        return Returned(path=path, sha256=hashlib.sha256(data).hexdigest(),
                        claim_id=str(identity["claim_id"]),
                        line_number=int(identity["line_number"]),
                        service_date=str(identity.get("service_date") or ""),
                        denial_date=str(identity.get("denial_date") or ""),
                        items_digest=str(identity.get("items") or ""), answers=answers)
    except (ValueError, KeyError, TypeError) as exc:
        raise AnswersError(f"{path}: its case identity is damaged ({exc})") from None


#: A footer's tab is an element, not text: "...D007-1" runs into "Page 1 of 2".
_CASE_PRINTED = re.compile(rf"{re.escape(CASE_MARK)}\s+(?P<claim>\S+)-(?P<line>\d+)(?!\d)")


def _printed(path: Path, kind: str) -> str:
    """The words printed on the pages (PDF) or in the footers (DOCX)."""
    if kind == "pdf":
        from pypdf import PdfReader

        return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)
    from lxml import etree

    with zipfile.ZipFile(path) as z:
        return "\n".join("".join(etree.fromstring(z.read(n)).itertext())
                         for n in z.namelist() if n.startswith("word/footer"))


def _text(value: object) -> str:
    """Control characters out, layout kept (a clinician's line breaks are theirs)."""
    lines = [clean_text(line) or "" for line in str(value or "").replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip()


def _pdf(path: Path) -> tuple[str, dict[str, Answer]]:
    from pypdf import PdfReader

    reader = PdfReader(path)
    subject = (reader.metadata.subject if reader.metadata else None) or ""
    answers: dict[str, Answer] = {}
    for key, fld in (reader.get_fields() or {}).items():
        name, value = str(key), fld.get("/V")  # pypdf's string types, as plain str
        if name.endswith(WHERE):
            answers.setdefault(name[:-len(WHERE)], Answer()).text = _text(value)
        elif fld.get("/FT") == "/Btn":
            answers.setdefault(name, Answer()).ticked = str(value or "") not in ("", "/Off", "Off")
    return str(subject), answers


W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
W14 = "{http://schemas.microsoft.com/office/word/2010/wordml}"


def _docx(path: Path) -> tuple[str, dict[str, Answer]]:
    from lxml import etree

    with zipfile.ZipFile(path) as z:
        body = etree.fromstring(z.read("word/document.xml"))
        core = etree.fromstring(z.read("docProps/core.xml")) if "docProps/core.xml" in \
            z.namelist() else None
    subject = ""
    if core is not None:
        found = core.find("{http://purl.org/dc/elements/1.1/}subject")
        subject = found.text or "" if found is not None else ""
    answers: dict[str, Answer] = {}
    current = ""  # the item whose bookmark came last (LibreOffice keeps those, not the tags)
    for node in body.iter(f"{W}bookmarkStart", f"{W}sdt"):
        # An item's bookmark stands before its check box, or inside it (LibreOffice moves it).
        for mark in node.iter(f"{W}bookmarkStart"):
            name = mark.get(f"{W}name") or ""
            if name.startswith(ITEM_MARK):
                current = name[len(ITEM_MARK):]
        if node.tag == f"{W}bookmarkStart":
            continue
        tag = node.find(f"{W}sdtPr/{W}tag")
        name = tag.get(f"{W}val") or "" if tag is not None else ""
        box = node.find(f"{W}sdtPr/{W14}checkbox/{W14}checked")
        if box is not None:
            answers.setdefault(name or current, Answer()).ticked = box.get(f"{W14}val") in (
                "1", "true")
        elif name.endswith(WHERE) or (not name and node.find(f"{W}sdtPr/{W}text") is not None):
            content = node.find(f"{W}sdtContent")  # the writing line alone reads as no words
            words = "" if content is None else _docx_text(content)
            answers.setdefault(name[:-len(WHERE)] if name else current, Answer()).text = \
                _text(words)
    answers.pop("", None)
    return subject, answers


def _docx_text(element) -> str:
    """The text typed into a content control: runs joined, paragraphs and breaks as newlines."""
    out: list[str] = []
    for node in element.iter(f"{W}t", f"{W}br", f"{W}p", f"{W}tab"):
        if node.tag == f"{W}t":
            out.append(node.text or "")
        elif node.tag in (f"{W}br", f"{W}p") and out:
            out.append("\n")
        elif node.tag == f"{W}tab" and out:
            out.append(" ")
    return "".join(out)
