"""Rendering speed: our DOCX and PDF writers next to the bare libraries on the same content.

    python benchmarks/bench_render.py [N]

Reports letters/s for DOCX and pages/s for PDF on one core, and RSS growth over the PDF renders
(memory must stay flat). Not a test: figures go in the README.
"""

from __future__ import annotations

import io
import sys
import time
from datetime import date

from appeals.compose.letters import compose
from appeals.compose.settings import Org
from appeals.law import law_for
from appeals.models import Action, Bucket, Category, Classification, DenialRecord, Owner
from appeals.pipeline import rss_mb
from appeals.render.docx import to_docx
from appeals.render.html import to_html
from appeals.render.pdf import to_pdf


def letter():
    rec = DenialRecord(claim_id="B1", payer_name="Blue Ridge", plan_type="employer_group",
                       plan_funding="fully_insured", employer_size=300, patient_name="Sample",
                       member_id="M1", service_date="2026-05-04", cpt_code="H0035",
                       level_of_care="php", diagnosis_codes="F32.2", billed_amount="450",
                       denial_date="2026-06-10", adjustment_codes="CO-50",
                       denial_reason="Not medically necessary")
    cls = Classification(claim_id="B1", line_number=1, category=Category.medical_necessity,
                         confidence=1, evidence=[], action=Action.appeal, owner=Owner.clinician,
                         appealable=True, bucket=Bucket(fix_now="", fix_cause=""))
    out = compose(rec, cls, law_for(rec), as_of=date(2026, 7, 1), org=Org(name="Lakeside"))
    return out.documents[0]


def timed(fn, n: int) -> float:
    fn()  # warm
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def bare_docx(doc) -> bytes:
    import docx
    d = docx.Document()
    for line in doc.text().splitlines():
        d.add_paragraph(line)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def bare_pdf(html: str) -> bytes:
    from weasyprint import HTML
    return HTML(string=html).write_pdf()


def main(n: int) -> None:
    from pypdf import PdfReader

    doc = letter()
    pages = len(PdfReader(io.BytesIO(to_pdf(doc))).pages)
    html = to_html(doc)
    t_docx, t_bare_docx = timed(lambda: to_docx(doc), n), timed(lambda: bare_docx(doc), n)
    before = rss_mb()
    t_pdf = timed(lambda: to_pdf(doc), n)
    after = rss_mb()
    t_bare_pdf = timed(lambda: bare_pdf(html), n)
    print(f"letter: {pages} pages, {n} renders each, one core")
    print(f"DOCX  ours {1 / t_docx:6.1f} letters/s ({t_docx * 1000:.0f} ms)   "
          f"bare python-docx {1 / t_bare_docx:6.1f} letters/s")
    print(f"PDF   ours {pages / t_pdf:6.1f} pages/s ({t_pdf * 1000:.0f} ms/letter)   "
          f"bare WeasyPrint (no CSS, new FontConfiguration) {pages / t_bare_pdf:6.1f} pages/s")
    print(f"RSS over our {n} PDF renders: {before:.0f} -> {after:.0f} MB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
