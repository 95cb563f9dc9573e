"""Issue 17: denial letters (utilization-review notices) as input, text layer, plain text and
scans through OCR; every PDF a user may hand over gives one clear line, never a traceback; an
urgent concurrent denial becomes an expedited appeal at the top of the worklist."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from conftest import DATA, needs
from pypdf import PdfReader, PdfWriter

from appeals.intake import Batch, InputError, detect_format, read
from appeals.intake.letter import dates_in
from appeals.law import law_for
from appeals.models import DenialRecord, Reject
from appeals.synthetic.hostile import stream_bomb_pdf
from appeals.synthetic.letters import LetterFacts, write_letter


def letter(tmp_path: Path, layout: str = "labels", suffix: str = ".pdf", scanned: bool = False,
           facts: LetterFacts | None = None, name: str = "letter") -> Path:
    return write_letter(tmp_path / f"{name}_{layout}{suffix}", facts, layout, scanned)


def parsed(path: Path, plan_type: str | None = None) -> tuple[DenialRecord, list[Reject]]:
    items = list(read(path, plan_type=plan_type))
    records = [i for i in items if isinstance(i, DenialRecord)]
    assert len(records) == 1, items
    return records[0], [i for i in items if isinstance(i, Reject)]


def appeals(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "appeals.cli", *map(str, args)], check=False,
                          capture_output=True, text=True, timeout=timeout)


def with_plan(record: DenialRecord, **fields) -> DenialRecord:
    return DenialRecord.model_validate({**record.model_dump(), **fields})


def where(record: DenialRecord) -> dict[str, str]:
    return dict(part.split(" ", 1) for part in record.extra["found_at"].split("; "))


@pytest.mark.parametrize("suffix", [".pdf", ".txt"])
@pytest.mark.parametrize("layout", ["labels", "table"])
def test_a_letter_s_facts_are_read_with_the_page_and_line_of_each(tmp_path, layout, suffix):
    rec, warnings = parsed(letter(tmp_path, layout, suffix), plan_type="employer_group")
    assert (rec.claim_id, rec.member_id, rec.patient_name) == (
        "UM-2026-118842", "BRB123456789", "Jordan Sample")
    assert rec.patient_dob == date(1990, 3, 14) and rec.denial_date == date(2026, 11, 6)
    assert rec.service_date == date(2026, 11, 7)  # the first day denied, not the admission
    assert rec.level_of_care == "residential" and rec.cpt_code == "H0018"
    assert rec.payer_name == "Blue Ridge Behavioral Health"
    assert rec.provider_name == "Lakeside Recovery Center" and rec.plan_type == "employer_group"
    assert rec.denial_reason.startswith("The clinical information provided does not show")
    assert "right to appeal" not in rec.denial_reason and "72 hours" not in rec.denial_reason
    assert rec.extra["review_type"] == "concurrent" and rec.extra["urgent"] == "yes"
    assert rec.extra["criteria"] == "ASAM Criteria (3rd edition)"
    assert rec.extra["reviewer"].startswith("Alex Reviewer, MD, board certified in psychiatry")
    assert rec.extra["appeal_window"] == "180 days"
    at = where(rec)
    assert all(at[f].startswith("p1 l") for f in ("member_id", "patient_dob", "denial_reason",
                                                  "criteria", "reviewer", "appeal_window"))
    lines = letter_lines_text(tmp_path, layout, suffix)
    assert "BRB123456789" in lines[int(at["member_id"].split(" l")[1]) - 1]
    assert "180 days" in lines[int(at["appeal_window"].split(" l")[1]) - 1]
    assert rec.location == at["denial_reason"] and warnings == []


def letter_lines_text(tmp_path: Path, layout: str, suffix: str) -> list[str]:
    from appeals.intake.letter import letter_lines

    return [line.text for line in letter_lines(tmp_path / f"letter_{layout}{suffix}")[0]]


def test_a_prose_letter_yields_what_it_states_and_names_what_it_does_not(tmp_path):
    rec, warnings = parsed(letter(tmp_path, "prose"))
    assert (rec.member_id, rec.patient_dob, rec.claim_id) == (
        "BRB123456789", date(1990, 3, 14), "UM-2026-118842")
    assert rec.service_date == date(2026, 11, 7) and rec.level_of_care == "residential"
    assert rec.extra["reviewer"].startswith("Alex Reviewer, MD")
    assert rec.patient_name is None and rec.plan_type == "unknown"  # never guessed
    said = {w.field: w.message for w in warnings}
    assert "patient_name" in said and "plan_type" in said and "--plan-type" in said["plan_type"]
    # No "type of review" line: the dates decide (the days denied follow the letter's date).
    assert rec.extra["review_type"] == "concurrent" and "from its dates" in said["review_type"]
    assert warnings and all(w.level == "warning" and w.source.endswith(".pdf") for w in warnings)


def test_a_scanned_letter_is_read_through_ocr(tmp_path):
    if shutil.which("tesseract") is None:
        needs("Tesseract OCR (Debian package tesseract-ocr)")
    rec, _ = parsed(letter(tmp_path, "labels", scanned=True), plan_type="medicaid_mco")
    assert PdfReader(tmp_path / "letter_labels.pdf").pages[0].extract_text().strip() == ""
    assert rec.extra["letter_ocr_pages"] == "1"
    assert (rec.claim_id, rec.member_id, rec.patient_dob) == (
        "UM-2026-118842", "BRB123456789", date(1990, 3, 14))
    assert rec.level_of_care == "residential" and rec.extra["urgent"] == "yes"
    assert "24-hour residential care" in rec.denial_reason
    assert rec.extra["appeal_window"] == "180 days"


def test_only_the_letter_s_own_words_make_a_review_urgent_never_its_appeal_rights(tmp_path):
    """Every letter offers "an expedited appeal" in its rights paragraph; that is no urgency."""
    post = LetterFacts(review="Retrospective review of services already provided",
                       level_words="intensive outpatient treatment",
                       service="Intensive outpatient program (S9480)",
                       admitted=date(2026, 9, 1), denied_from=date(2026, 9, 1))
    rec, _ = parsed(letter(tmp_path, "labels", facts=post), plan_type="employer_group")
    assert rec.extra["review_type"] == "post_service" and "urgent" not in rec.extra
    assert rec.level_of_care == "iop"
    iop = LetterFacts(review="Concurrent review", level_words="intensive outpatient treatment",
                      service="Intensive outpatient program (S9480)")
    rec, _ = parsed(letter(tmp_path, "labels", facts=iop, name="iop"),
                    plan_type="employer_group")
    assert rec.extra["review_type"] == "concurrent" and "urgent" not in rec.extra
    rec = with_plan(rec, plan_funding="self_funded", employer_size=500)
    law = law_for(rec, as_of=date(2026, 11, 6))
    assert law.urgent and law.expedited is not None  # a course of IOP being cut short


@pytest.mark.parametrize("plan_type", ["medicaid_mco", "chip", "employer_group", "individual"])
def test_an_urgent_concurrent_denial_is_an_expedited_appeal_with_a_peer_to_peer(tmp_path,
                                                                               plan_type):
    """Medicaid managed care and CHIP had no expedited level: a residential stay cut short got
    a 60-day standard letter."""
    from helpers import ORG, cls

    from appeals.compose.letters import APPEAL_LETTER, compose
    from appeals.models import Category

    rec, _ = parsed(letter(tmp_path), plan_type=plan_type)
    rec = with_plan(rec, plan_funding="fully_insured", employer_size=300, plan_state="NC")
    law = law_for(rec, as_of=date(2026, 11, 6))
    assert law.expedited is not None, plan_type
    out = compose(rec, cls(rec, Category.medical_necessity), law, as_of=date(2026, 11, 6),
                  org=ORG)
    text = next(d.text() for d in out.documents if d.kind == APPEAL_LETTER)
    assert "EXPEDITED" in text and "peer-to-peer" in text
    assert "expedited timeline" in text
    assert "The denial notice names ASAM Criteria (3rd edition)." in text
    assert "Payer reference" in text and "Billed" not in text


def test_the_letter_s_own_appeal_window_is_set_against_the_law_s(tmp_path):
    from helpers import ORG, cls

    from appeals.compose.letters import compose
    from appeals.models import Category

    short = LetterFacts(window_days=30, review="Pre-service review", admitted=date(2026, 11, 20),
                        denied_from=date(2026, 11, 20))
    rec, _ = parsed(letter(tmp_path, facts=short), plan_type="employer_group")
    rec = with_plan(rec, plan_funding="self_funded", employer_size=500)
    law = law_for(rec, as_of=date(2026, 11, 6))
    notes = compose(rec, cls(rec, Category.medical_necessity), law, as_of=date(2026, 11, 6),
                    org=ORG).notes
    said = next(n for n in notes if n.startswith("The denial letter gives 30 days"))
    assert "2026-12-06" in said and "File by the earlier date" in said
    assert f"({where(rec)['appeal_window']})" in said


HOSTILE = "Denied: {{ config }} <script>alert(1)</script> & {% raw %} does not meet criteria."


def test_hostile_words_in_a_letter_reach_the_packet_as_words(tmp_path):
    from docx import Document

    facts = LetterFacts(reason=HOSTILE)
    path = letter(tmp_path, facts=facts)
    rec, _ = parsed(path)
    assert rec.denial_reason == HOSTILE
    out = tmp_path / "out"
    done = appeals("packet", path, "--out", out, "--as-of", "2026-11-06", "--plan-type",
                   "medicaid_mco")
    assert done.returncode == 0, done.stderr
    folder = next(out.iterdir())
    words = "\n".join(p.text for p in Document(str(folder / "appeal_letter.docx")).paragraphs)
    assert HOSTILE in words
    pdf = "".join(p.extract_text() for p in PdfReader(folder / "appeal_letter.pdf").pages)
    assert "<script>alert(1)</script>" in pdf and "{{ config }}" in pdf


def _pdfs(tmp_path: Path) -> dict[str, Path]:
    good = letter(tmp_path)
    source = PdfReader(good)
    made = {}

    def write(name: str, fill) -> None:
        w = PdfWriter()
        fill(w)
        made[name] = tmp_path / f"{name}.pdf"
        with made[name].open("wb") as fh:
            w.write(fh)

    write("encrypted", lambda w: (w.append(source), w.encrypt("secret")))
    write("zero_pages", lambda w: None)
    write("five_hundred_pages", lambda w: [w.add_page(source.pages[0]) for _ in range(500)])
    write("no_denial", lambda w: w.add_blank_page(612, 792))
    # a 200-inch page with no text: at 300 dpi its OCR image asked for some 14 GB
    write("giant_page", lambda w: w.add_blank_page(200 * 72, 200 * 72))
    # 200 MB of page content in 200 kB: a 5 MB one made PDFium abort the whole run (exit 134)
    made["stream_bomb"] = stream_bomb_pdf(tmp_path / "stream_bomb.pdf", 200)
    made["not_a_pdf"] = tmp_path / "not_a_pdf.pdf"
    made["not_a_pdf"].write_text("claim_id,payer\nC1,Acme\n")
    made["truncated"] = tmp_path / "truncated.pdf"
    made["truncated"].write_bytes(good.read_bytes()[:2000])
    made["empty"] = tmp_path / "empty.pdf"
    made["empty"].write_bytes(b"")
    return made


EXPECTED = {
    "encrypted": "encrypted with a password", "zero_pages": "a PDF with no pages",
    "five_hundred_pages": "a PDF of 500 pages", "not_a_pdf": "not a PDF",
    "truncated": "a damaged PDF", "empty": "the file is empty",
    "no_denial": "scanned image" if shutil.which("tesseract") is None else "not a denial letter",
    "giant_page": "scanned image" if shutil.which("tesseract") is None else
    "too large to read as a scanned letter",
    "stream_bomb": "stream 1 of the PDF inflates to over 64 MB",
}


def test_every_unusable_pdf_is_one_clear_line_and_exit_2(tmp_path):
    made = _pdfs(tmp_path)
    for name, path in made.items():
        with pytest.raises(InputError, match=EXPECTED[name]):
            list(read(path))
        done = appeals("intake", path, timeout=120)
        assert done.returncode == 2 and done.stdout == "", name
        assert "Traceback" not in done.stderr, done.stderr
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and EXPECTED[name] in errors[0] and path.name in errors[0]


def test_a_reader_that_dies_is_one_clear_line_and_the_next_letter_is_read(tmp_path):
    """Letters are read in a worker process: whatever ends it (here a kill; in life a crash in
    PDFium or Tesseract, or the memory cap) is an InputError for that file, never the run's end,
    and the next letter gets a fresh worker."""
    import os
    import threading

    from appeals.intake import worker

    stuck = tmp_path / "stuck.pdf"
    os.mkfifo(stuck)  # the worker blocks reading it, until it is killed
    first = worker._start()
    threading.Timer(1.0, first.kill).start()
    with pytest.raises(InputError, match=r"stopped the PDF reader \(killed by signal 9"):
        worker.read_letter_isolated(stuck)
    [record] = [r for r in read(letter(tmp_path)) if isinstance(r, DenialRecord)]
    assert record.claim_id == "UM-2026-118842" and worker._child is not first


def test_a_run_over_good_and_unusable_letters_writes_the_good_and_names_the_rest(tmp_path):
    made = _pdfs(tmp_path)
    folder = tmp_path / "inbox"
    folder.mkdir()
    for path in [*made.values(), tmp_path / "letter_labels.pdf"]:
        shutil.copy(path, folder / path.name)
    out = tmp_path / "out"
    done = appeals("run", folder, "--out", out, "--as-of", "2026-11-06", "--plan-type",
                   "medicaid_mco", "--no-db", "--workers", "1")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    rows = list(csv.DictReader((out / "worklist.csv").open()))
    assert [r["claim_id"] for r in rows] == ["UM-2026-118842"]
    assert rows[0]["urgent"] == "yes" and rows[0]["status"] == "packet written"
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]  # nothing half-written
    for name in made:
        assert f"{name}.pdf" in done.stderr


def test_urgent_rows_lead_the_worklist_and_the_triage_report(tmp_path):
    from appeals.synthetic.remits import write_835

    remit = tmp_path / "remit.835"
    write_835(remit, claims=30, lines_per_claim=2, seed=3)
    path = letter(tmp_path)
    out = tmp_path / "out"
    done = appeals("run", remit, path, "--out", out, "--as-of", "2026-11-06", "--plan-type",
                   "medicaid_mco", "--no-db", "--workers", "1")
    assert done.returncode in (0, 1), done.stderr
    rows = list(csv.DictReader((out / "worklist.csv").open()))
    assert rows[0]["claim_id"] == "UM-2026-118842" and rows[0]["urgent"] == "yes"
    assert float(rows[0]["score"]) < max(float(r["score"]) for r in rows)  # first all the same
    assert rows[1:] and all(r["urgent"] == "" for r in rows[1:])
    html = (out / "triage.html").read_text()
    assert "Urgent: expedited appeals to file now" in html
    assert html.index("UM-2026-118842") < html.index("Appeal deadlines in the next 14 days")


def test_a_text_letter_is_known_by_its_words_and_a_table_is_not_taken_for_one(tmp_path):
    text = letter(tmp_path, suffix=".txt")
    assert detect_format(text) == "letter"
    table = tmp_path / "export.csv"
    table.write_text("claim_id,payer_name,denial_reason,notes\n"
                     "C1,Acme,Denied: not medically necessary,Dear appeal team see notes\n")
    assert detect_format(table) == "csv"


def test_the_same_letter_gives_the_same_record_and_an_unnamed_one_a_stable_id(tmp_path):
    nameless = replace(LetterFacts(), reference="")
    first = parsed(letter(tmp_path, "prose", facts=nameless, name="a"))[0]
    again = parsed(letter(tmp_path, "prose", facts=nameless, name="b"))[0]
    assert first.claim_id.startswith("LTR-") and first.claim_id == again.claim_id
    assert first.model_dump(exclude={"source"}) == again.model_dump(exclude={"source"})


def test_a_fax_banner_above_the_letterhead_is_not_the_payer(tmp_path):
    text = letter(tmp_path, suffix=".txt").read_text()
    banner = tmp_path / "faxed.txt"
    banner.write_text("CONFIDENTIAL\nFax transmission\n" + text)
    rec, _ = parsed(banner)
    assert rec.payer_name == "Blue Ridge Behavioral Health"


def test_dates_in_the_ways_letters_write_them() -> None:
    assert dates_in("November 6, 2026; 11/07/2026; 2026-11-08; 9 Nov 2026; 02/30/2026") == [
        date(2026, 11, 6), date(2026, 11, 7), date(2026, 11, 8), date(2026, 11, 9)]
    assert dates_in("born 03/14/90") == [date(1990, 3, 14)]  # fixed pivot, not today's year


def test_a_batch_reads_letters_beside_tables_with_their_plan_type(tmp_path):
    batch = Batch([letter(tmp_path)], plan_type="chip")
    records = list(batch)
    assert [r.plan_type for r in records] == ["chip"]
    assert batch.rejects == [] and not batch.failed


FORMS = DATA / "letters"


def test_the_federal_model_notice_filled_in_by_a_plan_is_read(tmp_path):
    """DOL/HHS Model Notice of Adverse Benefit Determination (public domain), with two labels
    to a line, the reason after its label, a guideline named by its title."""
    rec, warnings = parsed(FORMS / "dol_hhs_model_notice.txt", plan_type="employer_group")
    assert (rec.payer_name, rec.patient_name, rec.member_id, rec.claim_id) == (
        "Piedmont Employee Health Plan", "Riley Example", "PEH-44021937", "PEH-2026-0917-0042")
    assert rec.service_date == date(2026, 9, 22) and rec.denial_date == date(2026, 10, 14)
    assert rec.level_of_care == "php" and rec.cpt_code == "H0035"
    assert rec.denial_reason.startswith("Partial hospitalization is not medically necessary.")
    assert "Description of Service" not in rec.denial_reason
    assert rec.extra["criteria"] == "Piedmont Behavioral Health Level of Care Guidelines (2026)"
    assert rec.extra["reviewer"] == "Morgan Doe, MD, board certified in psychiatry"
    assert rec.extra["appeal_window"] == "180 days"
    assert {w.field for w in warnings} == {"patient_dob", "review_type"}  # the form has neither


def test_the_cms_integrated_denial_notice_is_read(tmp_path):
    """CMS's Notice of Denial of Medical Coverage (public domain): no letterhead (the plan is
    named in its first sentence), a pre-service request, the plan's own 65 days."""
    rec, warnings = parsed(FORMS / "cms_integrated_denial_notice.txt",
                           plan_type="medicare_advantage")
    assert (rec.payer_name, rec.member_id, rec.patient_name) == (
        "Golden Years Advantage", "GYA-5550291", "Casey Sample")
    assert rec.service_date == date(2026, 8, 10) and rec.level_of_care == "iop"
    assert rec.extra["review_type"] == "pre_service"
    assert rec.denial_reason.startswith("the information from your provider does not show")
    assert "made by" not in rec.denial_reason
    assert rec.extra["reviewer"] == "Jordan Roe, DO, a physician who specializes in addiction " \
        "medicine"
    assert rec.extra["appeal_window"] == "65 days"
    assert {w.field for w in warnings} == {"patient_dob", "criteria"}


def test_the_demo_scan_is_the_same_file_every_time(tmp_path: Path, monkeypatch) -> None:
    """The synthetic scan is an input the case store keys by its sha256: a file stamped with the
    time of writing made a second demo run record its line again."""
    import time

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = write_letter(tmp_path / "a" / "scan.pdf", scanned=True).read_bytes()
    later = time.gmtime(time.time() + 86_400 * 400)
    monkeypatch.setattr(time, "gmtime", lambda *_: later)  # a run on another day
    assert write_letter(tmp_path / "b" / "scan.pdf", scanned=True).read_bytes() == first


# --- fax batches: several letters in one PDF ---------------------------------------------------

BATCH = [
    (LetterFacts(), "labels"),
    (LetterFacts(payer="Tar Heel Health Plan", member="Casey Example", member_id="THP777001",
                 reference="TH-55-1020", letter_date=date(2026, 11, 9),
                 denied_from=date(2026, 11, 10)), "table"),
    (LetterFacts(payer="Golden Valley Health", member="Morgan Sample", member_id="GVH302",
                 reference="GV-2026-7", letter_date=date(2026, 11, 12),
                 denied_from=date(2026, 11, 13)), "prose"),
]


def batch_records(path: Path) -> tuple[list[DenialRecord], list[Reject]]:
    items = list(read(path, plan_type="employer_group"))
    return ([i for i in items if isinstance(i, DenialRecord)],
            [i for i in items if isinstance(i, Reject) and i.level != "warning"])


@pytest.mark.parametrize("scanned", [False, True], ids=["text", "scanned"])
def test_a_fax_batch_is_split_into_its_letters_with_their_page_ranges(tmp_path, scanned):
    """A day's fax inbox in one PDF: a cover sheet, then three letters of three payers (the
    first two pages long when text). Each letter is its own record with its page range; the
    cover sheet belongs to none and is a reject naming its page."""
    from appeals.synthetic.letters import write_fax_batch

    if scanned and shutil.which("tesseract") is None:
        needs("Tesseract OCR (Debian package tesseract-ocr)")
    letters = list(BATCH)
    if not scanned:  # a long letter: the split must keep its second page with it
        letters[0] = (replace(BATCH[0][0], extra_paragraphs=(
            "The member's records were reviewed in full. " * 40,) * 3), "labels")
    path = tmp_path / "inbox.pdf"
    ranges = write_fax_batch(path, letters, scanned=scanned)
    assert ranges[0][0] == 2 and (ranges[0][1] == 3) is not scanned
    records, rejects = batch_records(path)
    assert [(r.claim_id, r.member_id, r.extra["letter_pages"]) for r in records] == [
        (f.reference, f.member_id, f"{first}-{last}")
        for (f, _), (first, last) in zip(letters, ranges, strict=True)]
    assert [r.payer_name for r in records] == [f.payer for f, _ in letters]
    assert [r.location.split(":")[0] for r in records] == [
        f"page {a}" if a == b else f"pages {a}-{b}" for a, b in ranges]
    [cover] = rejects
    assert cover.location == "page 1" and "a fax cover sheet" in cover.message
    assert records and all(r.level_of_care == "residential" for r in records)


def page(*lines: str) -> str:
    return "\n".join(lines)


def test_page_numbers_decide_where_a_letter_ends_and_stray_pages_are_named(tmp_path):
    """The page-count rule: 'Page 1 of 2' starts a letter that runs two pages, even when its
    second page looks like a letter's first (a date at the top, a salutation); a notice
    without salutation starts one by its 'Page 1 of 1'. A page before the first letter is a
    reject naming it; a letter in the batch that denies nothing is a warning, not a record."""
    first = page("Blue Ridge Health", "November 6, 2026", "RE: Notice of Adverse Benefit "
                 "Determination", "Member: Jordan Sample", "Member ID: BRB123456789",
                 "Reference Number: UM-1", "Dear Jordan Sample:",
                 "Your request for residential treatment is denied.", "You may appeal.",
                 "Page 1 of 2")
    second = page("November 6, 2026", "Dear Jordan Sample:", "Reason for our decision:",
                  "Residential care is not medically necessary.", "Page 2 of 2")
    notice = page("Tar Heel Health Plan", "November 9, 2026", "NOTICE OF DENIAL",
                  "Member ID: THP777001", "Reference Number: TH-2",
                  "Intensive outpatient treatment is not approved.", "Page 1 of 1")
    approval = page("Golden Valley Health", "November 12, 2026", "Dear Provider:",
                    "Your request is approved for 10 sessions.", "Page 1 of 1")
    stray = page("handwritten note: call back Tuesday")
    path = tmp_path / "inbox.txt"
    pages = (stray, first, second, notice, approval)
    path.write_text("\f".join(pages), encoding="utf-8")
    items = list(read(path, plan_type="employer_group"))
    records = [i for i in items if isinstance(i, DenialRecord)]
    assert [(r.claim_id, r.extra["letter_pages"]) for r in records] == [("UM-1", "2-3"),
                                                                         ("TH-2", "4-4")]
    assert records[0].denial_reason.startswith("Residential care is not medically necessary")
    notes = {(r.location, r.level): r.message for r in items if isinstance(r, Reject)
             and r.field in ("pages", "letter")}
    assert "before the first letter" in notes[("page 1", "error")]
    assert "not a denial letter" in notes[("page 5", "warning")]


def test_a_single_letter_with_page_numbers_is_one_letter(tmp_path):
    """One letter, pages numbered, a cover sheet in front: read as today, one record."""
    cover = page("FAX COVER SHEET", "Number of pages: 3")
    first = page("Blue Ridge Health", "November 6, 2026", "Member ID: BRB123456789",
                 "Reference Number: UM-9", "Dear Provider:", "The stay is denied.",
                 "You may appeal.", "Page 1 of 2")
    second = page("Reason for our decision:", "Not medically necessary.", "Page 2 of 2")
    path = tmp_path / "one.txt"
    pages = (cover, first, second)
    path.write_text("\f".join(pages), encoding="utf-8")
    [record] = [i for i in read(path, plan_type="employer_group")
                if isinstance(i, DenialRecord)]
    assert record.claim_id == "UM-9" and "letter_pages" not in record.extra


# --- the payer's reason, not the letter's preamble ----------------------------------------------

PREAMBLE_LETTERS = {
    "commercial": (
        ("Evergreen Health Plan\nNovember 3, 2026\nMember: Riley Example\nMember ID: EHP4401\n"
        "Reference Number: EH-77\n\nDear Riley Example:\n\nEvergreen Health Plan reviews "
        "requests for medical necessity using nationally recognized clinical criteria. A "
        "licensed clinician reviewed the request your provider sent for partial "
        "hospitalization.\n\nAfter that review, the request is denied because the records do "
        "not show that you need daily structured treatment: your symptoms have improved and "
        "you attend school.\n\nYou may appeal this decision within 180 days.\n"),
        "After that review, the request is denied because the records do not show"),
    "medicaid": (
        ("Piedmont Community Care\nNovember 5, 2026\nMember ID: PCC88102\nCase Number: "
        "PC-2026-19\n\nDear Provider:\n\nWe make decisions about whether services are "
        "medically necessary for our members. This notice explains our decision.\n\nYour "
        "request for intensive outpatient services was not approved. The notes sent show that "
        "the member is stable in weekly therapy and has no recent hospital stays.\n\n"
        "You can ask for an appeal within 60 days.\n"),
        "Your request for intensive outpatient services was not approved. The notes sent show"),
    "conditional preamble": (
        ("Coastal Behavioral Health\nNovember 8, 2026\nMember ID: CBH5550\nReference: CB-4401\n\n"
        "Dear Dana Sample:\n\nWhen a request does not meet our criteria, we send this notice "
        "and a physician makes the final decision.\n\nThe request for residential treatment is "
        "denied as the member has been medically stable for seven days and can be treated in "
        "a less restrictive setting.\n\nYou have the right to appeal.\n"),
        "The request for residential treatment is denied as the member has been medically"),
}


@pytest.mark.parametrize("name", PREAMBLE_LETTERS)
def test_the_reason_is_the_passage_that_says_why_not_the_preamble(tmp_path, name):
    """A utilization-management letter without a reason heading opens by saying how reviews
    are made (medical necessity, criteria, a conditional 'when a request does not meet...');
    the reason read is the passage that says why this request was denied."""
    text, start = PREAMBLE_LETTERS[name]
    path = tmp_path / "letter.txt"
    path.write_text(text, encoding="utf-8")
    record, _ = parsed(path, plan_type="employer_group")
    assert record.denial_reason.startswith(start), record.denial_reason


def test_every_generated_demo_input_is_byte_stable(tmp_path: Path) -> None:
    """Two demos give the same manifest: each input the demo writes (its 835, its letters, the
    scan among them) is the same bytes whatever the folder and the day."""
    from appeals.demo import demo_inputs

    first = demo_inputs(tmp_path / "a")
    second = demo_inputs(tmp_path / "b")
    made = [(a, b) for a, b in zip(first, second, strict=True) if a != b]  # the written ones
    assert len(made) == 3  # the 835 and the two letters
    assert made and all(a.read_bytes() == b.read_bytes() for a, b in made)


def test_a_letter_overhanging_an_italic_word_is_read_once(tmp_path: Path) -> None:
    """An italic letter overhangs the run beside it: PDFium's text of each run took that letter
    twice ("Example: M" then " Mother", "not " then "t covered"); each character is now read in
    one run only, and `appeals lint` reads our PDFs with the same library."""
    from appeals.intake.pdf import page_texts, read_pages
    from appeals.render.pdf import html_to_pdf

    html = ("<p>Example: <em>Mother and patient present.</em></p>"
            "<p>Reason: <em>Admitted on a Saturday evening.</em></p>"
            "<p><b>Decision:</b> denied &amp; <i>not</i> covered.</p>")
    path = tmp_path / "italic.pdf"
    path.write_bytes(html_to_pdf(f'<html lang="en"><body>{html}</body></html>'))
    lines = [line for page in read_pages(path) for line in page.lines if line]
    assert lines[:3] == ["Example: Mother and patient present.",
                     "Reason: Admitted on a Saturday evening.",
                     "Decision: denied & not covered."]
    assert "Example: Mother" in page_texts(path.read_bytes())[0]
