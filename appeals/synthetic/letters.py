"""Synthetic denial letters (no real people) in the layouts payers use, as text-layer PDF, as a
scanned page (an image-only PDF, what a fax becomes) or as plain text: for the demo, the tests
and the letter-reading benchmark.

Layouts: `labels` (a "Label: value" block, headed sections), `table` (label and value in two
columns without colons, the reviewer in the signature), `prose` (no labels: the facts in
sentences, as some plans write to members).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

LAYOUTS = ("labels", "table", "prose")


@dataclass(frozen=True)
class LetterFacts:
    payer: str = "Blue Ridge Behavioral Health"
    member: str = "Jordan Sample"
    member_id: str = "BRB123456789"
    dob: date = date(1990, 3, 14)
    provider: str = "Lakeside Recovery Center"
    npi: str = "1234567893"
    reference: str = "UM-2026-118842"
    service: str = "Residential substance use disorder treatment (H0018)"
    level_words: str = "residential treatment"
    admitted: date = date(2026, 11, 2)
    denied_from: date = date(2026, 11, 7)
    letter_date: date = date(2026, 11, 6)
    review: str = "Concurrent review (urgent)"
    reason: str = ("The clinical information provided does not show that 24-hour residential care "
                   "is still needed. The member has been medically stable for five days, is "
                   "attending groups and has no withdrawal symptoms. Per ASAM Criteria "
                   "dimensions 1 through 3, treatment can continue at a lower level of care, "
                   "such as intensive outpatient treatment.")
    criteria: str = "The ASAM Criteria, 3rd edition, level 3.5"
    reviewer: str = "Alex Reviewer, MD, board certified in psychiatry and addiction medicine"
    window_days: int = 180
    diagnosis: str = "F11.20"
    extra_paragraphs: tuple[str, ...] = field(default=())


def _when(d: date) -> str:
    return f"{d:%B} {d.day}, {d.year}"


def _rights(f: LetterFacts) -> list[str]:
    return [
        (f"You have the right to appeal this decision. You must file your appeal within "
         f"{f.window_days} days from the date of this notice. If waiting for a standard decision "
         "could seriously harm your health, you may ask for an expedited appeal; we will decide "
         "within 72 hours."),
        ("Your provider may ask for a peer-to-peer conversation with the reviewer by calling "
         "1-800-555-0199. You may ask for copies of the documents and criteria used, free of "
         "charge. If you disagree with the appeal decision, you may have the right to an "
         "external review."),
        "Language assistance is available at no cost. TTY 711.",
    ]


def letter_html(f: LetterFacts, layout: str = "labels") -> str:
    """The letter as HTML (every value escaped)."""
    e = html.escape
    top = (f"<p><b>{e(f.payer)}</b><br>Utilization Management Department<br>PO Box 100, "
           f"Asheville, NC 28801</p><p>{_when(f.letter_date)}</p>"
           f"<p>{e(f.provider)}<br>12 Main St<br>Asheville, NC 28801</p>")
    rights = "".join(f"<p>{e(p)}</p>" for p in _rights(f))
    more = "".join(f"<p>{e(p)}</p>" for p in f.extra_paragraphs)
    if layout == "labels":
        body = (
            f"<p><b>RE: Notice of Adverse Benefit Determination</b><br>"
            f"Member: {e(f.member)}<br>Member ID: {e(f.member_id)}<br>"
            f"Date of Birth: {f.dob:%m/%d/%Y}<br>Reference Number: {e(f.reference)}<br>"
            f"Provider: {e(f.provider)} (NPI {e(f.npi)})<br>Service Requested: {e(f.service)}<br>"
            f"Diagnosis: {e(f.diagnosis)}<br>"
            f"Admission Date: {f.admitted:%m/%d/%Y}<br>Dates Denied: {f.denied_from:%m/%d/%Y} "
            f"forward<br>Type of Review: {e(f.review)}</p>"
            f"<p>Dear {e(f.member)}:</p><p>We reviewed the request for continued stay in "
            f"{e(f.level_words)}. Based on our review, the request is denied as of "
            f"{_when(f.denied_from)}.</p>"
            f"<p><b>Reason for our decision:</b><br>{e(f.reason)}</p>{more}"
            f"<p><b>Criteria used:</b> {e(f.criteria)}</p>"
            f"<p>This decision was made by {e(f.reviewer)}.</p>"
            f"<p><b>Your right to appeal</b></p>{rights}<p>Sincerely,</p><p>Utilization "
            "Management</p>")
    elif layout == "table":
        rows = [("Member Name", f.member), ("Member ID", f.member_id),
                ("Date of Birth", f"{f.dob:%m/%d/%Y}"), ("Case Number", f.reference),
                ("Facility", f.provider), ("Level of Care Requested", f.service),
                ("Dates of Service", f"{f.admitted:%m/%d/%Y} - ongoing"),
                ("Denied Dates", f"{f.denied_from:%m/%d/%Y} and after"),
                ("Review Type", f.review)]
        table = "".join(f"<tr><td style='width:45%'>{e(k)}</td><td>{e(v)}</td></tr>"
                        for k, v in rows)
        body = (
            f"<p><b>NOTICE OF NON-CERTIFICATION</b></p><table style='width:100%'>{table}</table>"
            f"<p>Dear Provider:</p><p>The request for {e(f.level_words)} was reviewed and is not "
            "approved.</p>"
            f"<p><b>Clinical Rationale</b></p><p>{e(f.reason)}</p>{more}"
            f"<p>The reviewer applied {e(f.criteria)}.</p>"
            f"<p><b>Appeal Rights</b></p>{rights}<p>Sincerely,</p>"
            f"<p>{e(f.reviewer)}<br>Physician Reviewer</p>")
    elif layout == "prose":
        body = (
            f"<p>Dear {e(f.member)},</p><p>We received a request from {e(f.provider)} for "
            f"{e(f.level_words)} for you starting {_when(f.admitted)} (member ID "
            f"{e(f.member_id)}, date of birth {f.dob:%m/%d/%Y}, reference {e(f.reference)}). "
            f"We have denied coverage for days from {_when(f.denied_from)} because "
            f"{e(f.reason[0].lower() + f.reason[1:])}</p>{more}"
            f"<p>We used {e(f.criteria)} to make this decision. The decision was made by "
            f"{e(f.reviewer)}.</p>{rights}<p>Sincerely,</p><p>{e(f.payer)}</p>")
    else:
        raise ValueError(f"unknown layout {layout!r}; one of {', '.join(LAYOUTS)}")
    return ("<html><head><style>@page { size: Letter; margin: 2cm } body { font-family: "
            "'Liberation Serif'; font-size: 11pt } td { padding: 2pt 0 }</style></head><body>"
            + top + body + "</body></html>")


#: A fax cover sheet, the first page of a day's fax inbox: it belongs to no letter.
COVER_SHEET = (
    "<html><head><style>@page { size: Letter; margin: 2cm } body { font-family: "
    "'Liberation Sans'; font-size: 14pt }</style></head><body><h1>FAX COVER SHEET</h1>"
    "<p>To: Lakeside Recovery Center, Utilization Review</p><p>From: Payer correspondence "
    "center</p><p>Number of pages (including cover): {pages}</p><p>Please deliver the "
    "enclosed notices to the attending provider.</p></body></html>")


def write_fax_batch(path: Path, letters: list[tuple[LetterFacts, str]], scanned: bool = False,
                    cover: bool = True) -> list[tuple[int, int]]:
    """Several letters in one PDF (a day's fax inbox), after a cover sheet: each letter's
    (first, last) page."""
    import weasyprint

    documents = [weasyprint.HTML(string=letter_html(f, layout)).render() for f, layout in letters]
    pages, ranges, at = [], [], 1 + cover
    for document in documents:
        ranges.append((at, at + len(document.pages) - 1))
        at += len(document.pages)
        pages += document.pages
    if cover:
        sheet = weasyprint.HTML(string=COVER_SHEET.replace("{pages}", str(len(pages) + 1))).render()
        pages = sheet.pages + pages
    _write_pdf(path, documents[0].copy(pages).write_pdf(), scanned)
    return ranges


def write_letter(path: Path, facts: LetterFacts | None = None, layout: str = "labels",
                 scanned: bool = False) -> Path:
    """The letter as a text-layer PDF, a scanned (image-only) PDF, or (`.txt`) plain text."""
    import weasyprint

    facts = facts or LetterFacts()
    document = weasyprint.HTML(string=letter_html(facts, layout))
    data = document.write_pdf()
    if path.suffix.lower() == ".txt":  # the words as a text layer gives them, page by page
        from appeals.intake.pdf import read_pages

        pdf = path.with_suffix(".tmp.pdf")
        pdf.write_bytes(data)
        try:
            pages = read_pages(pdf)
        finally:
            pdf.unlink()
        path.write_text("\f".join("\n".join(p.lines) for p in pages) + "\n", encoding="utf-8")
        return path
    _write_pdf(path, data, scanned)
    return path


def _write_pdf(path: Path, data: bytes, scanned: bool) -> None:
    """The PDF as it is, or (`scanned`) each page as an image, what a fax machine makes."""
    if not scanned:
        path.write_bytes(data)
        return
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    images = [pdf[i].render(scale=200 / 72).to_pil().convert("L") for i in range(len(pdf))]
    # Pillow stamps the time of writing unless told: a fixed stamp keeps the demo's input (and so
    # the case store's key for its lines) the same from one run to the next.
    stamp = datetime(2026, 1, 1, tzinfo=UTC).timetuple()
    images[0].save(path, format="PDF", resolution=200, save_all=True, append_images=images[1:],
                   creationDate=stamp, modDate=stamp)
