"""HTML -> PDF with WeasyPrint, set up once per process.

One FontConfiguration and one parsed stylesheet per process: a new FontConfiguration per render
leaks about 0.2 MB each time (measured in shared/domain/rendering-notes.md), and parsing the CSS
and loading the fonts is most of a small document's cost. Dates come from the document's meta tags,
so the same input gives the same bytes.

Where libharfbuzz-subset is missing, WeasyPrint subsets fonts with fontTools, which stamps each
font's `head.modified` with the clock unless SOURCE_DATE_EPOCH is set (the reproducible-builds
convention); we set it, keeping a caller's own value, so those PDFs are byte-stable too.

Because the same HTML and stylesheet give the same bytes, a folder named by APPEALS_PDF_CACHE
keeps each PDF by a digest of what went in (the HTML, the stylesheet's text, the form flag, this
code's and WeasyPrint's versions) and a document met again is not laid out again. Off unless
set: the test suite sets it for a session (its determinism tests turn it off). The folder holds
the letters' words: it is written owner-only, like a run's output.
"""

from __future__ import annotations

import atexit
import hashlib
import os
from functools import lru_cache
from pathlib import Path

from appeals.compose.document import Document
from appeals.compose.markup import template_file
from appeals.render.html import to_html

FONTS = Path(__file__).parent / "fonts"


@lru_cache(maxsize=4)
def _setup(css_path: str):
    """The fonts, the parsed stylesheet, and the stylesheet's text (the PDF cache's key is made
    from the very text the PDFs are styled with)."""
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    text = Path(css_path).read_text(encoding="utf-8")
    css = CSS(string=text, base_url=str(FONTS) + "/", font_config=fonts)
    return fonts, css, text


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
    fonts, css, css_text = _setup(str(template_file(css_name, templates)))
    cached = _cached(html, css_text, forms)
    if cached is not None and cached.is_file():
        return cached.read_bytes()
    page = HTML(string=html, base_url=str(FONTS) + "/")
    data = page.write_pdf(stylesheets=[css], font_config=fonts, pdf_forms=forms or None,
                          finisher=_fix_form_appearance if forms else None,
                          pdf_variant="pdf/ua-1")
    if cached is not None:
        _keep(cached, data)
    return data


CACHE_ENV = "APPEALS_PDF_CACHE"


def _cached(html: str, css_text: str, forms: bool) -> Path | None:
    """Where the PDF of this input is kept, when a cache folder is set."""
    folder = os.environ.get(CACHE_ENV)
    if not folder:
        return None
    digest = hashlib.sha256(_code_version().encode())
    for part in (css_text.encode(), b"forms" if forms else b"", html.encode()):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    key = digest.hexdigest()
    return Path(folder) / key[:2] / f"{key}.pdf"


@lru_cache(maxsize=1)
def _code_version() -> str:
    """What else decides the bytes: WeasyPrint's version, the toolkit's, this module's code."""
    import weasyprint

    from appeals import __version__

    own = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    return f"weasyprint {weasyprint.__version__}; appeals {__version__}; {own}"


def _keep(path: Path, data: bytes) -> None:
    """Written whole or not at all (another process may be reading the same key), owner-only."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    spare = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(spare, path)


def to_pdf(doc: Document, templates: Path | None = None, forms: bool = False) -> bytes:
    return html_to_pdf(to_html(doc, forms=forms), "style.css", templates, forms)
