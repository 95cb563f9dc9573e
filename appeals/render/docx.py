"""Document -> DOCX with python-docx, styled by the reference document letter_templates/reference.docx.

The reference is read once per process, slimmed to the parts and styles a letter uses (Word's
default template carries 800 kB of styles that would otherwise be parsed, written and compressed
for every letter) and each letter starts from those bytes; style ids are resolved once. So a
reviewer changes fonts, colours and spacing in Word, not in code, and a letter costs a few ms. python-docx has no API for page-number fields or
checkbox content controls; the few raw OOXML elements below add them. Zip entries get a fixed
timestamp and the core properties fixed dates, so the same input gives the same bytes.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from docx import Document as open_docx
from docx.oxml.ns import qn
from docx.shared import Inches
from lxml import etree

from appeals.compose.document import (
    Checkbox,
    Document,
    Heading,
    Inlines,
    ListBlock,
    PageBreak,
    Paragraph,
    Signature,
    Table,
)
from appeals.compose.markup import template_file
from appeals.render.html import footer_text, letterhead

FIXED_ZIP_TIME = (2000, 1, 1, 0, 0, 0)
LOGO_HEIGHT = Inches(0.45)
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


#: Paragraph and table styles the writer uses; a reference document must define all of them.
STYLES = ("Normal", "Heading 2", "Heading 3", "List Bullet", "List Number", "Letterhead Name",
          "Letterhead", "Header", "Footer", "Checklist Item", "Checklist Answer", "Facts Table",
          "Grid Table")
#: Parts a letter never needs: Word 2010 style copies, web settings, thumbnails, custom XML.
_DROP_RELS = ("stylesWithEffects", "webSettings", "customXml", "thumbnail", "glossaryDocument")


class ReferenceError(ValueError):
    """The reference .docx lacks a style the writer needs."""


@dataclass(frozen=True)
class Reference:
    data: bytes
    style_ids: dict[str, str]
    text_width: int  # twips between the margins


def slim(docx) -> dict[str, str]:
    """Drop unused parts and styles from an open reference document; return name -> style id.

    Kept: the styles in STYLES, the defaults, and everything they are based on, linked to or
    followed by, so the letter looks exactly as it does in the reference.
    """
    for rels in (docx.part.rels, docx.part.package.rels):
        for r_id, rel in list(rels.items()):
            if rel.reltype.rsplit("/", 1)[-1] in _DROP_RELS:
                del rels[r_id]
    root = docx.styles.element
    by_id = {s.get(qn("w:styleId")): s for s in root.findall(qn("w:style"))}
    ids, missing = {}, []
    for name in STYLES:
        try:
            ids[name] = docx.styles[name].style_id
        except KeyError:
            missing.append(name)
    if missing:
        raise ReferenceError(f"reference.docx: missing style(s) {', '.join(missing)}")
    keep = set(ids.values()) | {i for i, s in by_id.items() if s.get(qn("w:default")) == "1"}
    todo = list(keep)
    while todo:
        style = by_id.get(todo.pop())
        for tag in ("w:basedOn", "w:link", "w:next"):
            ref = style.find(qn(tag)) if style is not None else None
            if ref is not None and ref.get(qn("w:val")) not in keep:
                keep.add(ref.get(qn("w:val")))
                todo.append(ref.get(qn("w:val")))
    for style_id, style in by_id.items():
        if style_id not in keep:
            root.remove(style)
    for latent in root.findall(qn("w:latentStyles")):
        root.remove(latent)
    body = docx.element.body
    for child in list(body):  # the reference's sample text; keep only the section properties
        if child.tag != qn("w:sectPr"):
            body.remove(child)
    return ids


@lru_cache(maxsize=4)
def reference(path: str) -> Reference:
    """The slimmed reference document for `path`, built once per process."""
    docx = open_docx(path)
    ids = slim(docx)
    section = docx.sections[0]
    section.different_first_page_header_footer = True
    for part in (section.header, section.first_page_header, section.footer,
                 section.first_page_footer):
        part.is_linked_to_previous = False  # creates the part once here, not once per letter
    width = section.page_width - section.left_margin - section.right_margin
    return Reference(package(docx), ids, int(width / 635))  # EMU -> twips


def _el(parent, tag: str, **attrs: str):
    """A child element built with lxml directly: python-docx's oxml helpers are ~10x slower."""
    return etree.SubElement(parent, qn(tag), {qn(k): v for k, v in attrs.items()})


def _run(p, text: str, bold: bool = False, italic: bool = False, underline: bool = False) -> None:
    r = _el(p, "w:r")
    if bold or italic or underline:
        pr = _el(r, "w:rPr")
        if bold:
            _el(pr, "w:b")
        if italic:
            _el(pr, "w:i")
        if underline:
            _el(pr, "w:u", **{"w:val": "single"})
    for n, line in enumerate(text.split("\n")):
        if n:
            _el(r, "w:br")
        for m, piece in enumerate(line.split("\t")):
            if m:
                _el(r, "w:tab")
            if piece:
                t = _el(r, "w:t")
                t.text = piece
                t.set(_XML_SPACE, "preserve")


def _runs(p, inlines: Inlines, bold: bool = False) -> None:
    for i in inlines:
        _run(p, i.text, bold=bold or i.bold, italic=i.italic)


def _field(p, instr: str) -> None:
    """A simple field (PAGE, NUMPAGES): Word and LibreOffice compute it when the page is laid out."""
    _el(_el(_el(p, "w:fldSimple", **{"w:instr": instr}), "w:r"), "w:t").text = "1"


def _checkbox(p, name: str) -> None:
    """A w14:checkbox content control showing a ballot box (Word toggles it), tagged with the
    item id so a returned file can be read back."""
    sdt = _el(p, "w:sdt")
    pr = _el(sdt, "w:sdtPr")
    _el(pr, "w:tag", **{"w:val": name})
    box = _el(pr, "w14:checkbox")
    _el(box, "w14:checked", **{"w14:val": "0"})
    for tag, char in (("w14:checkedState", "2612"), ("w14:uncheckedState", "2610")):
        _el(box, tag, **{"w14:val": char, "w14:font": "MS Gothic"})
    _el(_el(_el(sdt, "w:sdtContent"), "w:r"), "w:t").text = "\u2610"


#: A checklist item's bookmark: its id, for reading a returned file back.
ITEM_MARK = "item_"


def _answer_field(p, name: str) -> None:
    """A plain-text content control tagged `name`: what the clinician types lands inside it. It
    shows a writing line (an underlined tab up to the style's tab stop) until then."""
    sdt = _el(p, "w:sdt")
    pr = _el(sdt, "w:sdtPr")
    _el(pr, "w:tag", **{"w:val": name})
    _el(pr, "w:showingPlcHdr")
    _el(pr, "w:text", **{"w:multiLine": "1"})  # the clinician may write several lines
    run = _el(_el(sdt, "w:sdtContent"), "w:r")
    _el(_el(run, "w:rPr"), "w:u", **{"w:val": "single"})
    _el(run, "w:tab")


def _styled(p, style_id: str):
    """Give paragraph element `p` a style by id (python-docx's by-name lookup scans every style)."""
    _el(p.find(qn("w:pPr")) if p.find(qn("w:pPr")) is not None else _pPr(p), "w:pStyle",
        **{"w:val": style_id})
    return p


def _pPr(p):
    pr = p.makeelement(qn("w:pPr"), {})
    p.insert(0, pr)
    return pr


def _furniture(docx, doc: Document, ids: dict[str, str]) -> None:
    section = docx.sections[0]
    head = letterhead(doc)
    first = section.first_page_header
    if head:
        name = first.paragraphs[0]
        _styled(name._p, ids["Letterhead Name"])
        logo = getattr(doc.meta.get("org"), "logo", None)
        if logo is not None:  # python-docx embeds the image part and sizes it by height
            name.add_run().add_picture(str(logo), height=LOGO_HEIGHT)
            _run(name._p, "  ")
        _run(name._p, head[0])
        for line in head[1:]:
            _run(_styled(first.add_paragraph()._p, ids["Letterhead"]), line)
    ref = footer_text(doc)
    _run(_styled(section.header.paragraphs[0]._p, ids["Header"]), ref)
    for footer in (section.footer, section.first_page_footer):
        f = _styled(footer.paragraphs[0]._p, ids["Footer"])
        _run(f, ref + "\tPage ")
        _field(f, "PAGE")
        _run(f, " of ")
        _field(f, "NUMPAGES")


def _table(end, block: Table, ids: dict[str, str], text_width: int) -> None:
    """A table with fixed column widths (twips), so Word and LibreOffice never autofit it wider
    than the page; label | value tables get a narrow label column."""
    rows = ([block.header] if block.header else []) + list(block.rows)
    cols = max(len(r) for r in rows)
    facts = block.header is None
    widths = ([text_width * 1 // 4, text_width - text_width // 4] if facts and cols == 2
              else [text_width // cols] * cols)
    tbl = end.makeelement(qn("w:tbl"), {})
    end.addprevious(tbl)
    pr = _el(tbl, "w:tblPr")
    _el(pr, "w:tblStyle", **{"w:val": ids["Facts Table" if facts else "Grid Table"]})
    _el(pr, "w:tblW", **{"w:w": str(sum(widths)), "w:type": "dxa"})
    _el(pr, "w:tblLayout", **{"w:type": "fixed"})
    grid = _el(tbl, "w:tblGrid")
    for w in widths:
        _el(grid, "w:gridCol", **{"w:w": str(w)})
    for n, row in enumerate(rows):
        tr = _el(tbl, "w:tr")
        head = bool(block.header) and n == 0
        if head:
            _el(_el(tr, "w:trPr"), "w:tblHeader")  # repeats on each page
        for col, w in enumerate(widths):
            tc = _el(tr, "w:tc")
            _el(_el(tc, "w:tcPr"), "w:tcW", **{"w:w": str(w), "w:type": "dxa"})
            p = _el(tc, "w:p")  # every cell needs a paragraph, even past a short row's end
            if col < len(row):
                _runs(p, row[col], bold=head or (facts and col == 0))


def to_docx(doc: Document, templates: Path | None = None) -> bytes:
    ref = reference(str(template_file("reference.docx", templates)))
    docx = open_docx(io.BytesIO(ref.data))
    ids = ref.style_ids
    _furniture(docx, doc, ids)
    end = docx.element.body.find(qn("w:sectPr"))

    def para(style: str):
        p = end.makeelement(qn("w:p"), {})
        end.addprevious(p)
        return _styled(p, ids[style])

    marks = 0
    for b in doc.blocks:
        if isinstance(b, Heading):
            _runs(para(f"Heading {min(b.level + 1, 3)}"), b.content)
        elif isinstance(b, Paragraph):
            _runs(para("Normal"), b.content)
        elif isinstance(b, ListBlock):
            for item in b.items:
                _runs(para("List Number" if b.ordered else "List Bullet"), item)
        elif isinstance(b, Table):
            _table(end, b, ids, ref.text_width)
        elif isinstance(b, Checkbox):
            p = para("Checklist Item")
            marks += 1  # LibreOffice drops content-control tags but keeps bookmarks
            _el(p, "w:bookmarkStart", **{"w:id": str(marks), "w:name": f"{ITEM_MARK}{b.name}"})
            _el(p, "w:bookmarkEnd", **{"w:id": str(marks)})
            _checkbox(p, b.name)
            _run(p, "\t")
            _runs(p, b.content)
            answer = para("Checklist Answer")
            _run(answer, "Where / wording: ")
            _answer_field(answer, f"{b.name}_where")
        elif isinstance(b, PageBreak):
            _el(_el(para("Normal"), "w:r"), "w:br", **{"w:type": "page"})
        elif isinstance(b, Signature):
            before = end.getprevious()  # the closing is never alone on a page: what precedes it
            if before is not None and before.tag == qn("w:p"):  # goes with it
                pr = before.find(qn("w:pPr"))
                if pr is not None and pr.find(qn("w:keepNext")) is None:
                    keep = pr.makeelement(qn("w:keepNext"), {})
                    style = pr.find(qn("w:pStyle"))  # keepNext follows pStyle in the schema
                    if style is not None:
                        style.addnext(keep)
                    else:
                        pr.insert(0, keep)
            for n, line in enumerate(b.blocks):
                p = para("Normal")
                pr = p.find(qn("w:pPr"))  # children in the schema's order
                if n < len(b.blocks) - 1:
                    _el(pr, "w:keepNext")
                _el(pr, "w:keepLines")
                if n == 0:  # room for a handwritten signature
                    _el(pr, "w:spacing", **{"w:before": "200", "w:after": "680"})
                _runs(p, line.content)
    props = docx.core_properties
    day = doc.meta.get("letter_date")
    stamp = datetime(day.year, day.month, day.day, tzinfo=UTC) if day else datetime(
        2000, 1, 1, tzinfo=UTC)
    props.created = props.modified = stamp
    props.title, props.author, props.last_modified_by = doc.title, "appeals", "appeals"
    props.subject = str(doc.meta.get("identity") or "")
    props.revision = 1
    return package(docx)


def package(docx) -> bytes:
    """The .docx zip written in one pass, every entry with one fixed timestamp.

    python-docx's own save stamps the current time on each entry; re-zipping its output would
    compress everything twice. [Content_Types].xml lists every part explicitly (valid OPC).
    """
    pkg = docx.part.package
    parts = sorted(pkg.iter_parts(), key=lambda part: str(part.partname))
    types = "".join(f'<Override PartName="{p.partname}" ContentType="{p.content_type}"/>'
                    for p in parts)
    entries = [("[Content_Types].xml", (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://'
        'schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default '
        f'Extension="xml" ContentType="application/xml"/>{types}</Types>').encode()),
        ("_rels/.rels", pkg.rels.xml)]
    for part in parts:
        entries.append((part.partname.membername, part.blob))
        if len(part.rels):
            entries.append((part.partname.rels_uri.membername, part.rels.xml))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            entry = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(entry, data)
    return out.getvalue()
