"""Helpers tests of several rooms share (tests/ is on the path through conftest.py): a practice,
a classification built by hand, a checklist PDF filled in as a clinician would, an export written
as a CSV."""

from __future__ import annotations

import csv
from pathlib import Path

from pypdf import PdfReader, PdfWriter

from appeals.compose.settings import Org
from appeals.models import Action, Bucket, Category, Classification, DenialRecord, Owner

ORG = Org(name="Lakeside Counseling Group", address=["12 Main St", "Asheville, NC 28801"],
          phone="828-555-0100", signer_name="Pat Biller", signer_title="Billing Manager")
ACTIONS = {Category.medical_necessity: Action.appeal, Category.authorization: Action.appeal,
           Category.parity_nqtl: Action.appeal, Category.timely_filing: Action.appeal,
           Category.coding: Action.correct_and_resubmit,
           Category.credentialing: Action.verify_and_resubmit}


def cls(rec: DenialRecord, category: Category, evidence: list[str] | None = None
        ) -> Classification:
    """A classification of `rec` as `category`, with that category's usual action."""
    return Classification(claim_id=rec.claim_id, line_number=rec.line_number, category=category,
                          confidence=0.9, evidence=evidence or ["test"], action=ACTIONS[category],
                          owner=Owner.billing, appealable=True,
                          bucket=Bucket(fix_now="x", fix_cause="y"))


def fill_pdf(src: Path, dst: Path, values: dict[str, str], ticks: list[str]) -> Path:
    """A checklist PDF with its form fields filled and boxes ticked, as a PDF reader saves it."""
    writer = PdfWriter(clone_from=PdfReader(src))
    fields = {f"{k}_where": v for k, v in values.items()} | {k: "/on" for k in ticks}
    for page in writer.pages:
        writer.update_page_form_field_values(page, fields, auto_regenerate=False)
    writer.write(dst)
    return dst


def write_csv(path: Path, rows: list[dict], header: list[str] | None = None, *,
              encoding: str = "utf-8", lineterminator: str = "\r\n") -> Path:
    """`rows` as a practice system's CSV export (the columns: `header`, else the first row's)."""
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.DictWriter(fh, header or list(rows[0]), lineterminator=lineterminator)
        writer.writeheader()
        writer.writerows(rows)
    return path
