"""A PDF's words as numbered lines, page by page: the text layer where there is one, OCR where a
page is only an image (a fax or a scan).

PDFium (pypdfium2) reads the text layer and renders scanned pages; Tesseract (pytesseract, the
`tesseract` program from Debian) reads the rendered image. Text-layer lines are rebuilt from the
positions of the text runs, so columns on one baseline ("Member ID    BRB1234") stay one line and
a wider gap between lines becomes a blank line, as a paragraph break reads on paper. Whatever the
file, the caller gets lines or one InputError naming what is wrong, never a half-read document.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from itertools import chain, pairwise
from pathlib import Path

from appeals.intake.caps import caps, check_pdf
from appeals.intake.errors import InputError

OCR_DPI = 300
#: A page with fewer letters than this in its text layer is read as an image.
MIN_TEXT_CHARS = 20
#: A gap between lines wider than this share of a line's height is a paragraph break.
PARAGRAPH_GAP = 0.8


@dataclass(frozen=True)
class Page:
    number: int  # 1-based
    lines: tuple[str, ...]
    ocr: bool  # read by OCR (the text layer was empty)


def tesseract_available() -> bool:
    return shutil.which("tesseract") is not None


def read_pages(path: Path, password: str | None = None) -> list[Page]:
    """Every page's lines. InputError for a file that is not a readable PDF, is encrypted with a
    password we do not have, has no pages or too many, or has scanned pages and no OCR here."""
    import pypdfium2 as pdfium

    check_pdf(path)
    cap = caps()
    try:
        doc = pdfium.PdfDocument(str(path), password=password)
    except pdfium.PdfiumError as exc:
        raise InputError(_why_unreadable(path, exc)) from None
    try:
        count = len(doc)
        if count == 0:
            raise InputError("a PDF with no pages")
        if count > cap.pdf_pages:
            raise InputError(f"a PDF of {count} pages: longer than a denial letter ({cap.pdf_pages}"
                             " pages at most); give the letter's pages as a file of their own")
        pages, scanned = [], 0
        for index in range(count):
            page = doc[index]
            try:
                lines = _text_lines(page)
                if sum(len(line.strip()) for line in lines) >= MIN_TEXT_CHARS:
                    pages.append(Page(index + 1, lines, ocr=False))
                    continue
                scanned += 1
                if scanned > cap.ocr_pages:
                    raise InputError(f"more than {cap.ocr_pages} scanned pages (page "
                                     f"{index + 1} has no text layer): longer than a denial letter")
                pages.append(Page(index + 1, _ocr_lines(page, index + 1), ocr=True))
            except pdfium.PdfiumError as exc:
                raise InputError(f"page {index + 1} cannot be read: {exc}") from None
            finally:
                page.close()
        return pages
    finally:
        doc.close()


def page_texts(data: bytes) -> list[str]:
    """Each page's text layer of a PDF the toolkit wrote itself (`appeals lint` reads a packet's
    PDFs): PDFium, as for a denial letter, in its own reading order (a packet has no columns to
    keep apart), without a letter's caps or OCR."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(data)
    try:
        texts = []
        for index in range(len(doc)):
            page = doc[index]
            textpage = page.get_textpage()
            try:
                texts.append(textpage.get_text_range().replace("\r\n", "\n"))
            finally:
                textpage.close()
                page.close()
        return texts
    finally:
        doc.close()


def _why_unreadable(path: Path, exc: Exception) -> str:
    """Why PDFium refused the file, in words. PDFium's own error code can be left over from the
    previous document, so pypdf (also a dependency) looks at the file itself."""
    head = path.read_bytes()[:1024] if path.is_file() else b""
    if b"%PDF-" not in head:
        return "not a PDF (the file does not start with %PDF-), whatever its name says"
    quiet = logging.getLogger("pypdf")
    level, quiet.level = quiet.level, logging.CRITICAL  # its repair notes are not ours to print
    try:
        from pypdf import PdfReader

        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            return "the PDF is encrypted with a password: save an unprotected copy and read that"
        pages = len(reader.pages)
    except Exception:  # noqa: BLE001  (any failure here means damaged, as PDFium said)
        pages = None
    finally:
        quiet.setLevel(level)
    if pages == 0:
        return "a PDF with no pages"
    return f"a damaged PDF that cannot be opened ({str(exc).split(' (PDFium')[0]})"


def _text_lines(page) -> tuple[str, ...]:
    """The text layer's runs, grouped into lines by baseline, left to right (two spaces between
    runs far apart, as columns are), with a blank line where the gap above a line is wider than
    a paragraph break."""
    textpage = page.get_textpage()
    try:
        runs = _runs(textpage)
    finally:
        textpage.close()
    rows: list[list[_Run]] = []
    for run in sorted(runs, key=lambda r: (-r.top, r.left)):
        middle = (run.top + run.bottom) / 2
        if rows and rows[-1][0].bottom <= middle <= rows[-1][0].top:  # the row's baseline
            rows[-1].append(run)
        else:
            rows.append([run])
    lines: list[str] = []
    above: _Run | None = None
    for row in rows:
        row.sort(key=lambda r: r.left)
        first = row[0]
        height = max(first.top - first.bottom, 1.0)
        if above is not None and above.bottom - first.top > PARAGRAPH_GAP * height:
            lines.append("")
        text = first.text
        for before, run in pairwise(row):
            gap = run.left - before.right
            if gap > 1.5 * height:
                text = text.rstrip() + "  " + run.text.lstrip()
            elif gap < 0.1 * height or text.endswith(" ") or run.text.startswith(" "):
                text += run.text
            else:
                text += " " + run.text
        lines.append(text.strip())
        above = first
    return tuple(lines)


@dataclass(frozen=True)
class _Run:
    top: float
    bottom: float
    left: float
    right: float
    text: str


def _runs(textpage) -> list[_Run]:
    """PDFium's text rectangles, each character in exactly one of them (the one holding its
    centre). PDFium's own text of a rectangle takes every character touching it, so a letter an
    italic word overhangs came twice ("Example: M" then " Mother")."""
    rects = [textpage.get_rect(i) for i in range(textpage.count_rects())]
    count = textpage.count_chars()
    whole = textpage.get_text_range(0, count) if count else ""
    chars = whole if len(whole) == count else [textpage.get_text_range(i, 1)
                                                for i in range(count)]
    texts: list[list[str]] = [[] for _ in rects]
    at = 0  # characters come in the rectangles' order: look from the current one on
    for i, char in enumerate(chars):
        left, bottom, right, top = textpage.get_charbox(i)
        if right > left or top > bottom:
            x, y = (left + right) / 2, (bottom + top) / 2
            found = next((k for k in chain(range(at, len(rects)), range(at)) if
                          rects[k][0] <= x <= rects[k][2] and rects[k][1] <= y <= rects[k][3]),
                         None)
            at = at if found is None else found
        if rects:  # a generated space or line break (no box) stays with the run it follows
            texts[at].append(" " if char in "\r\n" else char)
    joined = ("".join(text) for text in texts)
    return [_Run(top, bottom, left, right, text)
            for (left, bottom, right, top), text in zip(rects, joined, strict=True)
            if text.strip()]


def _ocr_lines(page, number: int) -> tuple[str, ...]:
    if not tesseract_available():
        raise InputError(f"page {number} is a scanned image and Tesseract (the `tesseract` "
                         "program, Debian package tesseract-ocr) is not installed here")
    import pytesseract

    width, height = page.get_size()  # points, 72 to the inch
    pixels = (width * OCR_DPI / 72) * (height * OCR_DPI / 72)
    most = caps().ocr_pixels
    if not 0 < pixels <= most:
        raise InputError(f"page {number} is {width / 72:.1f} by {height / 72:.1f} inches: too "
                         f"large to read as a scanned letter (over {most:,} pixels at "
                         f"{OCR_DPI} dpi)")
    image = page.render(scale=OCR_DPI / 72).to_pil().convert("L")
    # One thread: the run's workers already use every core; OpenMP inside each would fight them.
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    try:
        text = pytesseract.image_to_string(image, lang="eng", timeout=120)
    except (pytesseract.TesseractError, RuntimeError, OSError) as exc:
        raise InputError(f"page {number}: OCR failed ({str(exc).strip() or type(exc).__name__})"
                         ) from None
    return tuple(line.rstrip() for line in text.splitlines())
