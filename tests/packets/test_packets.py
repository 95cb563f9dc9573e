"""Packets: letter choice, citations by construction, both formats, escaping, placeholders, forms."""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import shutil
import subprocess
import zipfile
from collections import Counter
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import ROOT
from docx import Document as read_docx
from pydantic import ValidationError
from pypdf import PdfReader
from typer.testing import CliRunner

from appeals.cli import app
from appeals.compose.letters import (
    APPEAL_LETTER,
    CHECKLIST,
    CORRECTED_COVER,
    COVER,
    DOC_REQUEST,
    MN_LETTER,
    ComposeError,
    article,
    compose,
)
from appeals.compose.limits import LimitTypes, limit_at_issue
from appeals.compose.settings import Org
from appeals.law import law_for, load_registry
from appeals.models import Action, Bucket, Category, Classification, DenialRecord, Owner
from appeals.packet import Settings, build, write
from appeals.render.html import footer_text
from appeals.render.pdf import html_to_pdf

AS_OF = date(2026, 7, 1)
REG = load_registry()
ORG = Org(name="Lakeside Counseling Group", address=["12 Main St", "Asheville, NC 28801"],
          phone="828-555-0100", npi="1245319599", tax_id="56-0000000",
          signer_name="Pat Biller", signer_title="Billing Manager")

PLANS = {  # practice plan type -> record fields
    "employer_group": {"plan_type": "employer_group", "plan_funding": "fully_insured",
                           "employer_size": 300, "plan_state": "NC"},
    "employer_small_self_funded": {"plan_type": "employer_group", "plan_funding": "self_funded",
                                       "employer_size": 20},
    "individual": {"plan_type": "individual"},
    "government_group": {"plan_type": "government_group", "plan_funding": "self_funded"},
    "church_group": {"plan_type": "church_group", "plan_funding": "self_funded"},
    "medicaid_mco": {"plan_type": "medicaid_mco"},
    "medicaid_ffs": {"plan_type": "medicaid_ffs"},
    "chip": {"plan_type": "chip"},
    "medicare": {"plan_type": "medicare"},
    "medicare_advantage": {"plan_type": "medicare_advantage"},
    "tricare": {"plan_type": "tricare"},
    "fehb": {"plan_type": "fehb"},
    "unknown": {},
}
CATEGORIES = {
    Category.medical_necessity: (Action.appeal, "CO-50", "Not medically necessary"),
    Category.authorization: (Action.appeal, "CO-197", "No prior authorization on file"),
    Category.parity_nqtl: (Action.appeal, "CO-50", "Residential requires failed outpatient first"),
    Category.coding: (Action.correct_and_resubmit, "CO-4", "Modifier missing"),
}
CITE_MARK = re.compile(r"(U\.S\.C\.|C\.F\.R\.|Fed\. Reg\.|O\.C\.G\.A\.|Cal\. )")


def record(plan: str, category: Category, **extra) -> DenialRecord:
    _, code, reason = CATEGORIES[category]
    fields = {"claim_id": f"T-{plan}-{category.value}", "line_number": 1, "payer_name": "Blue Ridge",
                  "patient_name": "Sample Client", "member_id": "M123", "patient_dob": "1980-01-02",
                  "provider_name": "Dr Lee", "service_date": "2026-05-04", "cpt_code": "H0035",
                  "level_of_care": "php", "diagnosis_codes": "F32.2", "billed_amount": "450.00",
                  "paid_amount": "0", "denial_date": "2026-06-10", "adjustment_codes": code,
                  "denial_reason": reason}
    fields.update(PLANS[plan])
    fields.update(extra)
    return DenialRecord(**fields)


def classification(rec: DenialRecord, category: Category) -> Classification:
    action = CATEGORIES.get(category, (Action.appeal,))[0]
    return Classification(claim_id=rec.claim_id, line_number=rec.line_number, category=category,
                          confidence=0.9, evidence=["test"], action=action, owner=Owner.billing,
                          appealable=action is Action.appeal,
                          bucket=Bucket(fix_now="x", fix_cause="y"))


def composed(plan: str, category: Category, **kw):
    rec = record(plan, category, **kw.pop("fields", {}))
    law = law_for(rec, as_of=AS_OF)
    return rec, law, compose(rec, classification(rec, category), law, as_of=AS_OF, org=ORG, **kw)


@pytest.mark.parametrize("plan", list(PLANS))
@pytest.mark.parametrize("category", list(CATEGORIES))
def test_every_letter_type_for_every_plan_prints_only_allowed_citations(plan, category) -> None:
    rec, law, out = composed(plan, category)
    allowed = {c.id: c.cite for c in REG.citations(law.plan, None, rec.service_date,
                                                    funding=rec.plan_funding and
                                                    rec.plan_funding.value,
                                                    state=rec.plan_state, as_of=AS_OF)}
    assert set(out.citations_printed) <= set(allowed)
    for doc in out.documents:
        text = doc.text()
        for cid in out.citations_printed:
            text = text.replace(allowed[cid], "")
        assert not CITE_MARK.search(text), (doc.kind, CITE_MARK.search(text))
        if law.plan in ("nonfed_gov_plan", "medicaid_mco", "medicaid_ffs", "chip", "medicare_ffs",
                        "medicare_advantage", "tricare", "church_plan"):
            assert "29 C.F.R." not in doc.text() and "29 U.S.C." not in doc.text()
        has_parity = "Mental health parity" in doc.text()
        assert has_parity == (doc.kind == APPEAL_LETTER and law.parity.applies is True)


DAY_LIMIT = {"adjustment_codes": "CO-119", "level_of_care": "inpatient",
             "denial_reason": "Plan limit of 20 inpatient psychiatric days per year reached"}


@pytest.mark.parametrize("plan", list(PLANS))
def test_a_day_or_visit_limit_is_argued_as_a_quantitative_limit(plan) -> None:
    """A day limit is judged by the 'predominant / substantially all' test, not as an NQTL:
    no NQTL standard and no comparative-analysis demand (that duty covers NQTLs)."""
    rec, law, out = composed(plan, Category.parity_nqtl, fields=DAY_LIMIT)
    allowed = {c.id for c in REG.citations(law.plan, None, rec.service_date,
                                           funding=rec.plan_funding and rec.plan_funding.value,
                                           state=rec.plan_state, as_of=AS_OF)}
    assert set(out.citations_printed) <= allowed
    letters = "\n".join(d.text() for d in out.documents if d.kind != CHECKLIST)
    assert "nonquantitative" not in letters and "comparative analys" not in letters
    assert "1185a(a)(8)" not in letters
    if law.parity.applies is True and law.plan != "fehb":
        assert "This denial applies a quantitative treatment limitation: day, visit or session " \
               "limit." in letters
        assert "predominant limit of that type applied to substantially all" in letters


def test_the_limit_named_comes_from_the_rule_that_classified_the_denial() -> None:
    rec = record("employer_group", Category.parity_nqtl,
                 denial_reason="Member must complete 6 weeks of outpatient therapy before IOP")
    verdict = classification(rec, Category.parity_nqtl).model_copy(update={
        "evidence": ['text: "must complete" (fail-first) [rule parity_fail_first]'],
        "rules": ["parity_fail_first"]})
    out = compose(rec, verdict, law_for(rec, as_of=AS_OF), as_of=AS_OF, org=ORG)
    assert "nonquantitative treatment limitation: fail-first" in out.documents[0].text()
    assert "1185a(a)(8)" in out.documents[0].text()
    coded = record("employer_group", Category.parity_nqtl, adjustment_codes="CO-119",
                   denial_reason=None)
    assert limit_at_issue(coded, classification(coded, Category.parity_nqtl)).id == \
        "benefit_maximum"


def test_limit_types_are_validated_with_the_entry_named() -> None:
    data = {"types": [{"id": "a", "label": "A", "request": "r"}], "by_category": {
        "parity_nqtl": "missing"}}
    with pytest.raises(ValidationError, match="parity_nqtl: 'missing' is not a type id"):
        LimitTypes.model_validate(data)


@pytest.mark.parametrize("plan", list(PLANS))
def test_letter_types_follow_category_action_and_parity(plan) -> None:
    _, law, mn = composed(plan, Category.medical_necessity)
    expected = [APPEAL_LETTER, MN_LETTER] + ([DOC_REQUEST] if law.parity.applies is True else [])
    assert mn.letter_types == expected
    assert composed(plan, Category.parity_nqtl)[2].letter_types == [APPEAL_LETTER, MN_LETTER,
                                                                    DOC_REQUEST]
    assert composed(plan, Category.coding)[2].letter_types == [CORRECTED_COVER]
    assert [d.kind for d in mn.documents][-2:] == [CHECKLIST, COVER]


@pytest.mark.parametrize("plan,name,deadline", [
    ("employer_group", "internal appeal", "December 7, 2026"),
    ("individual", "internal appeal", "December 7, 2026"),
    ("government_group", "internal appeal", "December 7, 2026"),
    ("medicaid_mco", "Medicaid plan appeal", "August 9, 2026"),
    ("medicare", "Medicare redetermination", "October 8, 2026"),
    ("medicare_advantage", "Medicare Advantage reconsideration", "August 9, 2026"),
    ("tricare", "TRICARE reconsideration", "September 8, 2026"),
])
def test_appeal_letter_is_named_for_the_plan_and_prints_its_deadline(plan, name, deadline) -> None:
    _, _, out = composed(plan, Category.medical_necessity)
    text = out.documents[0].text()
    assert f"Re: Request for {article(name)}" in text
    assert f"the deadline is {deadline}" in text


def test_medicare_letter_names_no_parity_and_no_erisa() -> None:
    _, _, out = composed("medicare_advantage", Category.parity_nqtl, fields={"claim_id": "MA1"})
    text = "\n".join(d.text() for d in out.documents if d.kind != CHECKLIST)
    assert "MHPAEA" not in text and "2560.503-1" not in text and "parity" not in text.lower()


def test_sud_residential_letter_uses_asam_and_mental_health_uses_locus() -> None:
    _, _, sud = composed("employer_group", Category.medical_necessity,
                         fields={"diagnosis_codes": "F11.20", "level_of_care": "residential",
                                     "cpt_code": "H0018"})
    assert "ASAM Criteria" in sud.documents[0].text()
    assert "asam_dimensions" in [i.id for i in sud.checklist_items]
    _, _, mh = composed("employer_group", Category.medical_necessity)
    assert "LOCUS" in mh.documents[0].text()
    assert "asam_dimensions" not in [i.id for i in mh.checklist_items]


def test_checklist_is_targeted_by_code() -> None:
    _, _, group = composed("employer_group", Category.medical_necessity,
                           fields={"cpt_code": "90853", "level_of_care": "outpatient"})
    ids = [i.id for i in group.checklist_items]
    assert "group_participation" in ids and "time_documented" not in ids
    _, _, timed = composed("employer_group", Category.medical_necessity,
                           fields={"cpt_code": "90837", "level_of_care": "outpatient"})
    ids = [i.id for i in timed.checklist_items]
    assert {"time_documented", "frequency_rationale"} <= set(ids)
    assert "group_participation" not in ids and "php_hours_physician" not in ids


def test_without_facts_placeholders_are_marked_and_with_facts_they_are_filled() -> None:
    _, _, bare = composed("employer_group", Category.medical_necessity)
    assert "[CLINICIAN: functional impairment" in bare.documents[0].text()
    assert "functional_impairment" in bare.placeholders
    facts = {"functional_impairment": "Missed 6 of 10 workdays."}
    _, _, filled = composed("employer_group", Category.medical_necessity, facts=facts)
    text = filled.documents[0].text()
    assert "Missed 6 of 10 workdays." in text
    assert "[CLINICIAN: functional impairment" not in text


HOSTILE = ("{{ 7*7 }} {% for x in y %}loop{% endfor %} <script>alert(1)</script> AT&T &amp; "
           "]]> **bold** [link](http://x.test) \\[ ] (evil) | pipe | `tick`\x0b\x00end")


def _docx_text(data: bytes) -> str:
    doc = read_docx(io.BytesIO(data))
    parts = [p.text for p in doc.sections[0].first_page_header.paragraphs]
    parts += [p.text for p in doc.paragraphs]
    parts += [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return "\n".join(parts)


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture(scope="module")
def hostile_packet():
    rec = record("employer_group", Category.medical_necessity, denial_reason=HOSTILE,
                 patient_name="O'Brien <b>&</b> {{ 7*7 }}")
    settings = Settings(org=ORG, as_of=AS_OF, facts={rec.claim_id: {"why_now": HOSTILE}})
    return build(rec, settings, classification(rec, Category.medical_necessity))


def test_hostile_text_prints_literally_in_both_formats(hostile_packet) -> None:
    for name in ("appeal_letter.docx", "appeal_letter.pdf"):
        data = hostile_packet.files[name]
        text = _docx_text(data) if name.endswith("docx") else _pdf_text(data)
        flat = re.sub(r"\s+", " ", text)
        assert "{{ 7*7 }}" in flat and "49" not in flat.replace("2026", "")
        assert "{% for x in y %}loop{% endfor %}" in flat
        assert "<script>alert(1)</script>" in flat
        assert "AT&T &amp;" in flat and "]]>" in flat
        assert "**bold** [link](http://x.test)" in flat
        assert "O'Brien <b>&</b>" in flat
        assert "\x0b" not in text and "\x00" not in text


def _words(text: str) -> list[str]:
    return sorted(re.findall(r"\w+", text))


def test_docx_and_pdf_say_the_same_words(hostile_packet) -> None:
    for doc in hostile_packet.composed.documents:
        docx_words = _words(_docx_text(hostile_packet.files[f"{doc.kind}.docx"]))
        pdf_text = _pdf_text(hostile_packet.files[f"{doc.kind}.pdf"])
        pdf_text = re.sub(r"Page \d+ of \d+", " ", pdf_text)
        pdf_text = re.sub(r"(?m)^\d+\. ", "", pdf_text)  # list numbers: Word numbers the list itself
        pdf_text = " ".join(pdf_text.split()).replace(footer_text(doc), " ")  # a footer may wrap
        assert docx_words == _words(pdf_text), doc.kind


def test_checklist_pdf_is_a_fillable_form(hostile_packet) -> None:
    reader = PdfReader(io.BytesIO(hostile_packet.files["clinician_checklist.pdf"]))
    fields = reader.get_fields()
    items = [i.id for i in hostile_packet.composed.checklist_items]
    assert set(items) <= set(fields)
    assert {f"{i}_where" for i in items} <= set(fields)
    assert fields[items[0]].get("/FT") == "/Btn"
    assert str(reader.trailer["/Root"]["/AcroForm"]["/NeedAppearances"]) == "False"


def test_docx_checklist_has_checkbox_controls(hostile_packet) -> None:
    xml = read_docx(io.BytesIO(hostile_packet.files["clinician_checklist.docx"])).element.xml
    assert xml.count("<w14:checkbox>") == len(hostile_packet.composed.checklist_items)


def test_docx_tables_have_fixed_widths_inside_the_margins(hostile_packet) -> None:
    xml = read_docx(io.BytesIO(hostile_packet.files["appeal_letter.docx"])).element.xml
    assert '<w:tblLayout w:type="fixed"/>' in xml
    widths = [int(w) for w in re.findall(r'<w:tblW w:w="(\d+)"', xml)]
    assert widths and max(widths) <= 9360  # 6.5 inches of text width, in twips


def test_word_default_reference_is_slimmed_and_a_missing_style_is_named(tmp_path: Path) -> None:
    from docx import Document as new_docx

    from appeals.render.docx import ReferenceError, to_docx
    new_docx().save(tmp_path / "reference.docx")  # Word's default: none of our own styles
    doc = composed("employer_group", Category.medical_necessity)[2].documents[0]
    with pytest.raises(ReferenceError, match="Letterhead Name.*Checklist Item"):
        to_docx(doc, tmp_path)
    names = set(zipfile.ZipFile(io.BytesIO(to_docx(doc))).namelist())
    assert not {"word/stylesWithEffects.xml", "docProps/thumbnail.jpeg"} & names


def test_org_logo_is_drawn_in_both_formats() -> None:
    from appeals.compose.settings import load_org
    from appeals.render.docx import to_docx
    from appeals.render.pdf import to_pdf

    org = load_org(ROOT / "appeals" / "data" / "samples" / "org.yaml")
    assert org.logo is not None
    rec = record("employer_group", Category.medical_necessity)
    doc = compose(rec, classification(rec, Category.medical_necessity), law_for(rec, as_of=AS_OF),
                  as_of=AS_OF, org=org).documents[0]
    names = zipfile.ZipFile(io.BytesIO(to_docx(doc))).namelist()
    assert any(n.startswith("word/media/") for n in names)
    page = PdfReader(io.BytesIO(to_pdf(doc))).pages[0]
    assert page.images, "no image on the first page"
    assert not PdfReader(io.BytesIO(to_pdf(composed("employer_group", Category.medical_necessity)
                                           [2].documents[0]))).pages[0].images


def test_pdf_bytes_do_not_depend_on_where_the_logo_is_kept(tmp_path: Path, fresh_pdfs) -> None:
    from appeals.compose.settings import load_org
    from appeals.render.pdf import to_pdf

    sample = load_org(ROOT / "appeals" / "data" / "samples" / "org.yaml")
    rec = record("employer_group", Category.medical_necessity)
    pdfs = []
    for folder in ("a", "b/c"):
        (tmp_path / folder).mkdir(parents=True)
        logo = tmp_path / folder / sample.logo.name
        shutil.copy(sample.logo, logo)
        org = sample.model_copy(update={"logo": logo})
        doc = compose(rec, classification(rec, Category.medical_necessity),
                      law_for(rec, as_of=AS_OF), as_of=AS_OF, org=org).documents[0]
        pdfs.append(to_pdf(doc))
    assert pdfs[0] == pdfs[1]


def test_same_input_gives_byte_identical_files(hostile_packet, fresh_pdfs) -> None:
    again = build(hostile_packet.record, Settings(org=ORG, as_of=AS_OF, facts={
        hostile_packet.record.claim_id: {"why_now": HOSTILE}}), hostile_packet.classification)
    assert again.files == hostile_packet.files


def test_pdf_is_byte_stable_when_fonts_are_subset_by_fonttools(monkeypatch, fresh_pdfs) -> None:
    """Without libharfbuzz-subset WeasyPrint falls back to fontTools, which stamps the clock into
    each embedded font unless SOURCE_DATE_EPOCH is set."""
    import fontTools.misc.timeTools as font_time
    import weasyprint.pdf.fonts as weasy_fonts

    monkeypatch.setattr(weasy_fonts, "harfbuzz_subset", None)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    clock = itertools.count(1_800_000_000, 3_600)  # an hour passes at every font save
    monkeypatch.setattr(font_time, "time", SimpleNamespace(time=lambda: next(clock)))
    html = ('<html lang="en"><head><title>t</title></head>'
            "<body><p>Same words &amp; same bytes</p></body></html>")
    assert html_to_pdf(html) == html_to_pdf(html)


def test_user_template_cannot_print_a_citation_that_does_not_apply(tmp_path: Path) -> None:
    (tmp_path / "appeal_letter.md.j2").write_text("Appeal under {{ cite('erisa_appeal_window_180') }}")
    with pytest.raises(ComposeError, match="does not apply to plan type 'medicaid_mco'"):
        composed("medicaid_mco", Category.medical_necessity, templates=tmp_path)


def test_user_templates_run_in_the_sandbox(tmp_path: Path) -> None:
    (tmp_path / "appeal_letter.md.j2").write_text("{{ claim.__class__.__mro__ }}")
    with pytest.raises(ComposeError, match="SecurityError|UndefinedError"):
        composed("employer_group", Category.medical_necessity, templates=tmp_path)


def test_packet_command_writes_folders_with_hashes(dev_csv: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["packet", str(dev_csv), "--out", str(tmp_path), "--claim",
                                      "D002", "--as-of", "2026-07-01"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "D002-1"
    summary = json.loads((folder / "packet.json").read_text())
    names = {f["name"] for f in summary["files"]}
    assert {"appeal_letter.docx", "appeal_letter.pdf", "clinician_checklist.pdf"} <= names
    for f in summary["files"]:
        import hashlib
        assert hashlib.sha256((folder / f["name"]).read_bytes()).hexdigest() == f["sha256"]
    assert "Sample Client" not in (folder / "packet.json").read_text()
    assert not list(tmp_path.glob(".*tmp*"))


def test_write_replaces_an_existing_packet_whole(hostile_packet, tmp_path: Path) -> None:
    first = write(hostile_packet, tmp_path)
    (first / "stale.txt").write_text("old")
    again = write(hostile_packet, tmp_path)
    assert again == first and not (again / "stale.txt").exists()


@pytest.mark.libreoffice
def test_docx_opens_in_libreoffice(hostile_packet, tmp_path: Path) -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        if os.environ.get("CI_REQUIRE_LIBREOFFICE"):
            pytest.fail("LibreOffice should be installed by .ci/run")
        pytest.skip("LibreOffice is not installed")
    for name in ("appeal_letter.docx", "clinician_checklist.docx"):
        (tmp_path / name).write_bytes(hostile_packet.files[name])
    subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path}/profile", "--headless",
                    "--convert-to", "pdf", "--outdir", str(tmp_path / "lo"),
                    str(tmp_path / "appeal_letter.docx"),
                    str(tmp_path / "clinician_checklist.docx")],
                   check=True, capture_output=True, timeout=180)
    text = _pdf_text((tmp_path / "lo" / "appeal_letter.pdf").read_bytes())
    assert "Lakeside Counseling Group" in text and "Page 1 of" in text
    assert Counter(re.findall(r"Page \d+ of \d+", text))


@pytest.mark.parametrize("lines", range(30, 64, 3))
def test_the_closing_and_the_signer_share_a_page_whatever_the_body_length(lines) -> None:
    """Bodies of 30 to 63 lines put the page break at every point of the signature block, and
    past it (from 56 lines the block would start a page of its own)."""
    from appeals.compose.document import from_markdown
    from appeals.render.pdf import to_pdf

    body = "\n\n".join(f"Line {n} of the letter body." for n in range(lines))
    doc = from_markdown(f"{body}\n\n@@signature\nSincerely,\n\nPat Signer  \nBilling Manager\n",
                        "appeal_letter", "Appeal letter", {"letter_date": AS_OF})
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(to_pdf(doc))).pages]
    closing = [n for n, text in enumerate(pages) if "Sincerely," in text]
    assert closing and "Pat Signer" in pages[closing[0]] and "Billing Manager" in pages[closing[0]]
    # and never on a page of its own: a page that holds the closing holds the letter's words too
    assert "of the letter body." in pages[closing[0]]


def test_docx_keeps_the_signature_block_together(hostile_packet) -> None:
    body = read_docx(io.BytesIO(hostile_packet.files["appeal_letter.docx"])).paragraphs
    closing = next(i for i, p in enumerate(body) if p.text == "Sincerely,")
    assert body[closing].paragraph_format.keep_with_next is True
    assert body[closing - 1].paragraph_format.keep_with_next is True  # never alone on a page
    assert body[closing + 1].text.startswith(ORG.signer_name)
    assert body[closing].paragraph_format.space_after.pt >= 30  # room to sign by hand


def test_a_signature_block_holds_paragraphs_only() -> None:
    from appeals.compose.document import from_markdown

    with pytest.raises(ValueError, match="signature block holds paragraphs only"):
        from_markdown("@@signature\n- a list\n", "x", "X")


def test_checklist_form_prompts_are_not_broken_mid_sentence(hostile_packet) -> None:
    """WeasyPrint's flex layout broke the first prompt after 'does not' (issue 13)."""
    text = PdfReader(io.BytesIO(hostile_packet.files["clinician_checklist.pdf"])).pages[0]
    lines = text.extract_text().splitlines()
    assert not [line for line in lines if len(line.split()) == 1 and line.strip().isalpha()
                and line.strip().islower()], lines


def test_the_pdf_cache_gives_the_bytes_weasyprint_gives(tmp_path: Path, monkeypatch) -> None:
    """APPEALS_PDF_CACHE keeps a PDF by what went in: the same input read back is the same bytes
    as a fresh render; another input (or stylesheet) is another entry; the files are the
    owner's alone."""
    import stat

    from appeals.render.pdf import CACHE_ENV, html_to_pdf

    monkeypatch.delenv(CACHE_ENV, raising=False)
    page = '<html lang="en"><body><p>Claim C1 &amp; {{ 7*7 }}</p></body></html>'
    fresh = html_to_pdf(page)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    assert html_to_pdf(page) == fresh  # rendered and kept
    kept = list((tmp_path / "cache").rglob("*.pdf"))
    assert len(kept) == 1 and kept[0].read_bytes() == fresh
    assert stat.S_IMODE(kept[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(kept[0].parent.stat().st_mode) == 0o700
    assert html_to_pdf(page) == fresh  # read back
    other = html_to_pdf(page.replace("C1", "C2"))
    assert other != fresh and len(list((tmp_path / "cache").rglob("*.pdf"))) == 2
    assert html_to_pdf(page, "triage.css") != fresh  # the stylesheet is part of the key
    assert len(list((tmp_path / "cache").rglob("*.pdf"))) == 3
