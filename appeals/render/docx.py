"""Document -> DOCX with python-docx, styled by the reference document letter_templates/reference.docx.

The reference is read once per process and each letter starts from its bytes, so a reviewer changes
fonts, colours and spacing in Word, not in code. python-docx has no API for page-number fields or
checkbox content controls; the few raw OOXML elements below add them. Zip entries get a fixed
timestamp and the core properties fixed dates, so the same input gives the same bytes.
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from docx import Document as open_docx
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from appeals.compose.document import (Checkbox, Document, Heading, Inlines, ListBlock, PageBreak,
                                      Paragraph, Table)
from appeals.compose.markup import template_file
from appeals.render.html import footer_text, letterhead

FIXED_ZIP_TIME = (2000, 1, 1, 0, 0, 0)
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"


@lru_cache(maxsize=4)
def _reference_bytes(path: str) -> bytes:
    return Path(path).read_bytes()


def _runs(paragraph, inlines: Inlines) -> None:
    for i in inlines:
        for n, piece in enumerate(i.text.split("\n")):
            if n:
                paragraph.add_run().add_break()
            run = paragraph.add_run(piece)
            run.bold = i.bold or None
            run.italic = i.italic or None


def _field(paragraph, instr: str) -> None:
    fld = OxmlElement("w:fldSimple")
    fld.set(qn("w:instr"), instr)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    fld.append(run)
    paragraph._p.append(fld)


def _checkbox(paragraph) -> None:
    """A w14:checkbox content control showing a ballot box (Word toggles it)."""
    sdt = OxmlElement("w:sdt")
    pr = OxmlElement("w:sdtPr")
    box = OxmlElement("w14:checkbox")
    checked = OxmlElement("w14:checked")
    checked.set(qn("w14:val"), "0")
    box.append(checked)
    for tag, char in (("w14:checkedState", "2612"), ("w14:uncheckedState", "2610")):
        el = OxmlElement(tag)
        el.set(qn("w14:val"), char)
        el.set(qn("w14:font"), "MS Gothic")
        box.append(el)
    pr.append(box)
    content = OxmlElement("w:sdtContent")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "\u2610"
    run.append(text)
    content.append(run)
    sdt.append(pr)
    sdt.append(content)
    paragraph._p.append(sdt)


def _furniture(docx, doc: Document) -> None:
    section = docx.sections[0]
    section.different_first_page_header_footer = True
    head = letterhead(doc)
    first = section.first_page_header
    p = first.paragraphs[0]
    if head:
        p.style = docx.styles["Letterhead Name"]
        p.add_run(head[0])
        for line in head[1:]:
            first.add_paragraph(line, style=docx.styles["Letterhead"])
    ref = footer_text(doc)
    later = section.header.paragraphs[0]
    later.style = docx.styles["Header"]
    later.add_run(ref)
    for footer in (section.footer, section.first_page_footer):
        f = footer.paragraphs[0]
        f.style = docx.styles["Footer"]
        f.add_run(ref + "\tPage ")
        _field(f, "PAGE")
        f.add_run(" of ")
        _field(f, "NUMPAGES")


def _table(docx, block: Table) -> None:
    rows = ([block.header] if block.header else []) + list(block.rows)
    cols = max(len(r) for r in rows)
    table = docx.add_table(rows=0, cols=cols)
    table.style = docx.styles["Facts Table" if block.header is None else "Grid Table"]
    for n, row in enumerate(rows):
        cells = table.add_row().cells
        for cell, content in zip(cells, row):
            para = cell.paragraphs[0]
            _runs(para, content)
            if (block.header is None and cells.index(cell) == 0) or (block.header and n == 0):
                for run in para.runs:
                    run.bold = True
    if block.header is None and cols == 2:
        from docx.shared import Inches
        for row in table.rows:
            row.cells[0].width, row.cells[1].width = Inches(1.6), Inches(4.9)


def to_docx(doc: Document, templates: Path | None = None) -> bytes:
    docx = open_docx(io.BytesIO(_reference_bytes(str(template_file("reference.docx", templates)))))
    body = docx.element.body
    for child in list(body):  # the reference's sample text, keep only the section properties
        if child.tag != qn("w:sectPr"):
            body.remove(child)
    _furniture(docx, doc)
    styles = docx.styles
    for b in doc.blocks:
        if isinstance(b, Heading):
            _runs(docx.add_paragraph(style=styles[f"Heading {min(b.level + 1, 3)}"]), b.content)
        elif isinstance(b, Paragraph):
            _runs(docx.add_paragraph(style=styles["Normal"]), b.content)
        elif isinstance(b, ListBlock):
            style = styles["List Number" if b.ordered else "List Bullet"]
            for item in b.items:
                _runs(docx.add_paragraph(style=style), item)
        elif isinstance(b, Table):
            _table(docx, b)
        elif isinstance(b, Checkbox):
            p = docx.add_paragraph(style=styles["Checklist Item"])
            _checkbox(p)
            p.add_run("\t")
            _runs(p, b.content)
            answer = docx.add_paragraph("Where / wording: ", style=styles["Checklist Answer"])
            answer.add_run("\t").underline = True  # a writing line up to the style's tab stop
        elif isinstance(b, PageBreak):
            docx.add_page_break()
    props = docx.core_properties
    day = doc.meta.get("letter_date")
    stamp = datetime(day.year, day.month, day.day, tzinfo=timezone.utc) if day else datetime(
        2000, 1, 1, tzinfo=timezone.utc)
    props.created = props.modified = stamp
    props.title, props.author, props.last_modified_by = doc.title, "appeals", "appeals"
    props.revision = 1
    buf = io.BytesIO()
    docx.save(buf)
    return _fixed_zip(buf.getvalue())


def _fixed_zip(data: bytes) -> bytes:
    """Re-zip with one fixed timestamp per entry (python-docx stamps the current time)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(
            out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(entry, src.read(info.filename))
    return out.getvalue()
