"""HTML -> PDF with WeasyPrint, set up once per process.

One FontConfiguration and one parsed stylesheet per process: a new FontConfiguration per render
leaks about 0.2 MB each time (measured in shared/domain/rendering-notes.md), and parsing the CSS
and loading the fonts is most of a small document's cost. Dates come from the document's meta tags,
so the same input gives the same bytes.

Where libharfbuzz-subset is missing, WeasyPrint subsets fonts with fontTools, which stamps each
font's `head.modified` with the clock unless SOURCE_DATE_EPOCH is set (the reproducible-builds
convention); we set it, keeping a caller's own value, so those PDFs are byte-stable too.
"""

from __future__ import annotations

import atexit
import os
from functools import lru_cache
from pathlib import Path

from appeals.compose.document import Document
from appeals.compose.markup import template_file
from appeals.render.html import to_html

FONTS = Path(__file__).parent / "fonts"


@lru_cache(maxsize=4)
def _setup(css_path: str):
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    css = CSS(string=Path(css_path).read_text(encoding="utf-8"), base_url=str(FONTS) + "/",
              font_config=fonts)
    return fonts, css


# Drop the shared FontConfiguration before interpreter teardown (its __del__ needs live modules).
atexit.register(_setup.cache_clear)


def _fix_form_appearance(_document, pdf) -> None:
    """Poppler viewers draw ticked boxes empty when NeedAppearances is true; the widgets carry
    their own appearance streams, so turn it off."""
    form = pdf.catalog.get("AcroForm")
    if form is not None:
        form["NeedAppearances"] = "false"


def html_to_pdf(html: str, css_name: str = "style.css", templates: Path | None = None,
                forms: bool = False) -> bytes:
    """Any of our HTML pages as PDF, styled by `css_name` from the template set."""
    from weasyprint import HTML

    os.environ.setdefault("SOURCE_DATE_EPOCH", "0")
    fonts, css = _setup(str(template_file(css_name, templates)))
    page = HTML(string=html, base_url=str(FONTS) + "/")
    return page.write_pdf(stylesheets=[css], font_config=fonts, pdf_forms=forms or None,
                          finisher=_fix_form_appearance if forms else None,
                          pdf_variant="pdf/ua-1")


def to_pdf(doc: Document, templates: Path | None = None, forms: bool = False) -> bytes:
    return html_to_pdf(to_html(doc, forms=forms), "style.css", templates, forms)
