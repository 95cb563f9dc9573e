"""Build letter_templates/reference.docx, the style source of every DOCX the toolkit writes.

Run once when the house style changes (`python scripts/make_reference_docx.py`); reviewers may
instead edit the .docx in Word, keeping the style names below, which the DOCX writer uses.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches, Pt, RGBColor

from appeals.render.docx import package, slim

NAVY, GREY = RGBColor(0x1F, 0x3A, 0x5F), RGBColor(0x44, 0x44, 0x44)
FONT = "Liberation Serif"


def _font(style, size: float, bold: bool = False, color: RGBColor | None = None) -> None:
    style.font.name = FONT
    fonts = style.element.rPr.rFonts
    fonts.set(qn("w:eastAsia"), FONT)
    for attr in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"):  # theme fonts win
        fonts.attrib.pop(qn(f"w:{attr}"), None)
    style.font.size = Pt(size)
    style.font.bold = bold
    if color is not None:
        style.font.color.rgb = color


def _paragraph_style(doc, name: str, base: str = "Normal"):
    try:
        return doc.styles[name]
    except KeyError:
        style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = doc.styles[base]
        return style


def _bottom_border(style) -> None:
    ppr = style.element.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, val in (("w:val", "single"), ("w:sz", "10"), ("w:space", "4"), ("w:color", "1F3A5F")):
        bottom.set(qn(key), val)
    borders.append(bottom)
    ppr.append(borders)


def build(out: Path) -> None:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Inches(8.5), Inches(11)
    section.left_margin = section.right_margin = Inches(1)
    section.top_margin, section.bottom_margin = Inches(1), Inches(0.9)
    section.header_distance = section.footer_distance = Inches(0.45)

    normal = doc.styles["Normal"]
    _font(normal, 11)
    normal.paragraph_format.space_after = Pt(7)
    normal.paragraph_format.line_spacing = 1.12
    for name, size in (("Heading 2", 11.5), ("Heading 3", 11)):
        h = doc.styles[name]
        _font(h, size, bold=True, color=NAVY)
        h.paragraph_format.space_before, h.paragraph_format.space_after = Pt(12), Pt(4)
        h.paragraph_format.keep_with_next = True
    for name in ("List Bullet", "List Number"):
        _font(doc.styles[name], 11)
        doc.styles[name].paragraph_format.space_after = Pt(2)

    name = _paragraph_style(doc, "Letterhead Name")
    _font(name, 15, bold=True, color=NAVY)
    name.paragraph_format.space_after = Pt(0)
    head = _paragraph_style(doc, "Letterhead")
    _font(head, 8.5, color=GREY)
    head.paragraph_format.space_after = Pt(0)
    _bottom_border(head)  # every letterhead line gets it; Word merges adjacent borders into one
    for name in ("Header", "Footer"):
        style = doc.styles[name]
        _font(style, 8.5, color=GREY)
        style.paragraph_format.tab_stops.clear_all()  # Word's centre stop would take the number
        style.paragraph_format.tab_stops.add_tab_stop(Inches(6.5), WD_TAB_ALIGNMENT.RIGHT)

    item = _paragraph_style(doc, "Checklist Item")
    item.paragraph_format.left_indent = Inches(0.35)
    item.paragraph_format.first_line_indent = Inches(-0.35)
    item.paragraph_format.tab_stops.add_tab_stop(Inches(0.35))
    item.paragraph_format.space_after = Pt(2)
    item.paragraph_format.keep_with_next = True
    answer = _paragraph_style(doc, "Checklist Answer")
    _font(answer, 10, color=GREY)
    answer.paragraph_format.left_indent = Inches(0.35)
    answer.paragraph_format.space_after = Pt(10)
    answer.paragraph_format.tab_stops.add_tab_stop(Inches(6.4), WD_TAB_ALIGNMENT.RIGHT)

    for name in ("Facts Table", "Grid Table"):
        style = doc.styles.add_style(name, WD_STYLE_TYPE.TABLE)
        style.base_style = doc.styles["Normal Table"]
        _font(style, 10.5)
        style.paragraph_format.space_after = Pt(1)
    doc.core_properties.title = "appeals reference document"
    slim(doc)  # what the writer would do on load anyway; keeps the shipped file small
    out.write_bytes(package(doc))


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else
          Path(__file__).parent.parent / "letter_templates" / "reference.docx")
