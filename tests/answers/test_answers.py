"""The clinician's answers back: checklists made by the project, filled as a clinician's software
would fill them (pypdf for the PDF form, Word's XML for the DOCX, LibreOffice round-tripping the
DOCX as a person editing it would), read, checked, imported, and found in the rebuilt letters."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import pytest
import yaml
from conftest import SAMPLES
from helpers import fill_pdf
from lxml import etree
from pypdf import PdfReader, PdfWriter
from typer.testing import CliRunner

from appeals.answers import AnswersError, import_answers, read_returned
from appeals.cli import app
from appeals.intake import read
from appeals.lint import lint_packet
from appeals.packet import Settings, build, write
from appeals.pipeline import RunConfig, run
from appeals.store import approve, case_history, open_store

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
W14 = "{http://schemas.microsoft.com/office/word/2010/wordml}"
AS_OF = date(2026, 7, 1)
HOSTILE = "{{ 7*7 }} {% if x %}<script>alert(1)</script> & Co \u0007bell"


@pytest.fixture(scope="module")
def checklist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packet folder of sample claim D007 (an IOP medical-necessity denial)."""
    out = tmp_path_factory.mktemp("packet")
    record = next(r for r in read(SAMPLES / "denials.csv") if getattr(r, "claim_id", "") == "D007")
    settings = Settings.load(as_of=AS_OF)
    return write(build(record, settings), out)


def fill_docx(src: Path, dst: Path, values: dict[str, str], ticks: list[str]) -> Path:
    """As Word saves a filled form: the box's checked state, the typed text in the control."""
    with zipfile.ZipFile(src) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    root = etree.fromstring(parts["word/document.xml"])
    for sdt in root.iter(f"{W}sdt"):
        tag = sdt.find(f"{W}sdtPr/{W}tag").get(f"{W}val")
        if tag in ticks:
            sdt.find(f"{W}sdtPr/{W14}checkbox/{W14}checked").set(f"{W14}val", "1")
        if tag.endswith("_where") and tag[:-6] in values:
            content = sdt.find(f"{W}sdtContent")
            for child in list(content):
                content.remove(child)
            for n, line in enumerate(values[tag[:-6]].split("\n")):
                run_ = etree.SubElement(content, f"{W}r")
                if n:
                    etree.SubElement(run_, f"{W}br")
                etree.SubElement(run_, f"{W}t").text = line
            placeholder = sdt.find(f"{W}sdtPr/{W}showingPlcHdr")
            if placeholder is not None:
                placeholder.getparent().remove(placeholder)
    parts["word/document.xml"] = etree.tostring(root, xml_declaration=True, encoding="UTF-8",
                                                standalone=True)
    with zipfile.ZipFile(dst, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return dst


ANSWERS = {"why_now": "Relapse two weeks after discharge from residential care",
           "measures": "PHQ-9 19 (2026-04-02) and 17 (2026-05-01); AUDIT 22",
           "clinician_credentials": "Dana Reyes, LCSW"}


def test_a_filled_pdf_form_reads_back_with_its_case(checklist: Path, tmp_path: Path) -> None:
    filled = fill_pdf(checklist / "clinician_checklist.pdf", tmp_path / "scan-0001.pdf", ANSWERS,
                      ["why_now", "risk_sud"])
    returned = read_returned(filled)  # no file-name convention: the file says which case
    assert returned.case == "D007-1" and returned.service_date == "2026-05-04"
    assert returned.answers["why_now"].ticked and returned.answers["risk_sud"].ticked
    assert not returned.answers["progress"].ticked
    assert returned.answers["measures"].text == ANSWERS["measures"]
    assert returned.answers["risk_sud"].text == ""


def test_a_filled_docx_reads_back_and_survives_libreoffice(checklist: Path,
                                                            tmp_path: Path) -> None:
    filled = fill_docx(checklist / "clinician_checklist.docx", tmp_path / "answers.docx",
                       {**ANSWERS, "progress": "Line one\nline two"}, ["why_now"])
    returned = read_returned(filled)
    assert returned.case == "D007-1"
    assert returned.answers["why_now"].ticked and not returned.answers["measures"].ticked
    assert returned.answers["progress"].text == "Line one\nline two"
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        if os.environ.get("CI_REQUIRE_LIBREOFFICE"):
            pytest.fail("LibreOffice should be installed by .ci/run")
        pytest.skip("LibreOffice is not installed (skipped on a developer machine only)")
    subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path}/profile", "--headless",
                    "--convert-to", "docx:MS Word 2007 XML", "--outdir", str(tmp_path / "lo"),
                    str(filled)], check=True, capture_output=True, timeout=180)
    saved = read_returned(tmp_path / "lo" / "answers.docx")  # LibreOffice drops the tags
    assert saved.case == "D007-1"
    # LibreOffice 7.4 also joins the lines of a content control ("Line oneline two"): a known
    # limit of its DOCX filter, said in the README; every other answer comes back exactly.
    assert saved.answers.pop("progress").text.replace("\n", "") == "Line oneline two"
    returned.answers.pop("progress")
    assert {k: (a.ticked, a.text) for k, a in saved.answers.items()} == {
        k: (a.ticked, a.text) for k, a in returned.answers.items()}


def test_import_writes_facts_the_letters_then_use_word_for_word(checklist: Path,
                                                               tmp_path: Path) -> None:
    answers = {**ANSWERS, "likely_harm": HOSTILE + " " + "x" * 100_000}
    filled = fill_pdf(checklist / "clinician_checklist.pdf", tmp_path / "a.pdf", answers, [])
    facts = tmp_path / "facts.yaml"
    [result] = import_answers([filled], as_of=AS_OF, to=facts)
    assert result.ok and result.case == "D007-1"
    assert "progress" in result.missing and "why_now" not in result.missing
    assert facts.stat().st_mode & 0o777 == 0o600
    stored = yaml.safe_load(facts.read_text(encoding="utf-8"))["D007-1"]
    assert stored["likely_harm"].startswith(
        "{{ 7*7 }} {% if x %}<script>alert(1)</script> & Co bell")
    record = next(r for r in read(SAMPLES / "denials.csv")
                  if getattr(r, "claim_id", "") == "D007")
    packet = build(record, Settings.load(as_of=AS_OF, facts=facts))
    letter = next(d for d in packet.composed.documents if d.kind == "medical_necessity_letter")
    words = letter.text()
    assert "Relapse two weeks after discharge from residential care" in words
    assert "{{ 7*7 }} {% if x %}<script>alert(1)</script> & Co bell" in words
    assert "[CLINICIAN: Why this" not in words
    import io

    import docx as python_docx

    docx_text = "\n".join(p.text for p in python_docx.Document(io.BytesIO(
        packet.files["medical_necessity_letter.docx"])).paragraphs)
    assert "{{ 7*7 }} {% if x %}<script>alert(1)</script> & Co bell" in docx_text
    pdf = PdfReader(io.BytesIO(packet.files["medical_necessity_letter.pdf"]))
    pdf_text = "".join(page.extract_text() for page in pdf.pages[:3])
    assert "<script>alert(1)</script> & Co bell" in pdf_text
    # the closing and signature still come after the long answer, on a page of their own words
    assert "Dana Reyes" in "".join(page.extract_text() for page in pdf.pages[-2:])


def test_an_invalid_value_imports_nothing_of_that_file_and_names_the_item(
        checklist: Path, tmp_path: Path) -> None:
    facts = tmp_path / "facts.yaml"
    facts.write_text("D007-1:\n  why_now: kept as it was\n", encoding="utf-8")
    bad = fill_pdf(checklist / "clinician_checklist.pdf", tmp_path / "bad.pdf",
                   {"why_now": "new words", "measures": "PHQ-9 31 on 2026-05-01, GAD 7",
                    "progress": "seen 2027-01-05"}, [])
    [result] = import_answers([bad], as_of=AS_OF, to=facts)
    assert not result.ok and result.imported == {}
    assert result.problems == ["measures: PHQ-9 31 is outside its range 0-27",
                               "progress: 2027-01-05 is in the future (today is 2026-07-01)"]
    assert yaml.safe_load(facts.read_text())["D007-1"] == {"why_now": "kept as it was"}


def test_files_that_are_not_our_checklists_are_named(checklist: Path, tmp_path: Path) -> None:
    with pytest.raises(AnswersError, match="not a clinician checklist made by appeals"):
        read_returned(checklist / "appeal_letter.pdf")
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"%PDF-1.7 nothing else")
    with pytest.raises(AnswersError, match="junk.pdf: cannot read the PDF"):
        read_returned(junk)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(AnswersError, match="not a PDF or DOCX"):
        read_returned(text)


def test_checklists_that_inflate_past_their_caps_are_refused_before_parsing(
        tmp_path: Path) -> None:
    """Issue 29: a 1.5 MB DOCX zip bomb cost 3 GB in `facts import` before its error; a checklist
    PDF is a stream bomb as easily. Both are now refused from their sizes alone."""
    from appeals.synthetic.hostile import docx_bomb, stream_bomb_pdf

    bomb = docx_bomb(tmp_path / "answers.docx", 300)
    with pytest.raises(AnswersError, match=r"answers.docx: a DOCX whose parts unpack to 300 MB"):
        read_returned(bomb)
    pdf = stream_bomb_pdf(tmp_path / "answers.pdf", 200)
    with pytest.raises(AnswersError, match=r"answers.pdf: stream 1 of the PDF inflates to over"):
        read_returned(pdf)
    done = subprocess.run([sys.executable, "-m", "appeals", "facts", "import", str(bomb),
                           "--to", str(tmp_path / "facts.yaml")], capture_output=True, text=True,
                          check=False)
    assert "zip bomb" in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_facts_import_command_and_the_case_moves_to_ready(checklist: Path, tmp_path: Path
                                                         ) -> None:
    """The loop: run -> waiting_on_clinician; the filled checklist imported; the next run
    rebuilds the packet with the answers and the case is ready to send."""
    db = f"sqlite:///{tmp_path / 'c.db'}"
    sample = (SAMPLES / "denials.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    inputs = [tmp_path / "denials.csv"]  # the sample's two clinician cases: D007 answered, D002 not
    inputs[0].write_text("".join([sample[0], *(r for r in sample[1:]
                                               if r.startswith(("D002,", "D007,")))]),
                         encoding="utf-8")
    practice = {"org": SAMPLES / "org.yaml", "payers": SAMPLES / "payers.yaml"}  # the biller's
    run(RunConfig(inputs=inputs, out=tmp_path / "w1", workers=1, as_of=AS_OF, db=db, **practice))
    engine = open_store(db)
    assert case_history(engine, "D007-1")["status"] == "waiting_on_clinician"
    returned = read_returned(tmp_path / "w1" / "packets" / "D007-1" / "clinician_checklist.pdf")
    every = {item: f"Answer for {item}, see note of 2026-06-01" for item in returned.answers}
    filled = fill_pdf(tmp_path / "w1" / "packets" / "D007-1" / "clinician_checklist.pdf",
                      tmp_path / "back.pdf", every, list(every))
    facts = tmp_path / "facts.yaml"
    cli = CliRunner()
    done = cli.invoke(app, ["facts", "import", str(filled), str(tmp_path / "nothing.txt"),
                            "--to", str(facts), "--db", db, "--as-of", "2026-07-02",
                            "--by", "Dana Reyes"])
    assert done.exit_code == 2 and "no such file" in done.output
    done = cli.invoke(app, ["facts", "import", str(filled), "--to", str(facts), "--db", db,
                            "--as-of", "2026-07-02", "--by", "Dana Reyes"])
    assert done.exit_code == 0, done.output
    assert "case D007-1: " in done.output and "1 of 1 checklists imported" in done.output
    assert "Sample Client" not in done.output  # claim ids only, never names
    history = case_history(engine, "D007-1")
    assert history["events"][-1]["kind"] == "facts" and history["events"][-1]["who"] == \
        "Dana Reyes"
    run(RunConfig(inputs=inputs, out=tmp_path / "w1", workers=1, as_of=AS_OF, db=db,
                  facts=facts, **practice))
    assert lint_packet(tmp_path / "w1" / "packets" / "D007-1", as_of=AS_OF) == []
    history = case_history(engine, "D007-1")
    # Medicaid managed care: parity reaches the plan, so the medical-necessity letter carries a
    # parity section and waits for a compliance reviewer's approval of this packet.
    assert history["status"] == "to_work" and history["needs_approval"]
    assert [p.split(":")[0] for p in history["send_problems"]] == ["its letter argues parity"]
    approve(engine, "D007-1", on=AS_OF, who="compliance")
    history = case_history(engine, "D007-1")
    assert history["status"] == "ready_to_send" and history["send_problems"] == []
    assert (history["events"][-1]["kind"], history["events"][-1]["to"]) == (
        "approved", "ready_to_send")
    assert case_history(engine, "D002-1")["status"] == "waiting_on_clinician"  # not answered
    engine.dispose()


# --------------------------------------------------------------------------- lint


def _copy(folder: Path, to: Path) -> Path:
    shutil.copytree(folder, to)
    return to


def test_lint_says_a_fresh_packet_is_a_draft_and_why(checklist: Path) -> None:
    from appeals.lint import lint_packet

    problems = lint_packet(checklist, as_of=AS_OF)
    assert problems, "a packet with placeholders is not ready"
    assert problems[-1].endswith("the clinician's attestation (name, credentials, license) is "
                                 "not in")
    problems.pop()
    assert problems and all("placeholder(s) left" in p for p in problems), problems
    assert any("[CLINICIAN: " in p for p in problems) and any("[BILLER: " in p for p in problems)
    assert not any("clinician_checklist" in p or "biller_cover" in p for p in problems)
    # the packet says the same of itself, as the run recorded it
    summary = json.loads((checklist / "packet.json").read_text())
    assert summary["readiness"] and all("placeholder(s) left" in p or "attestation" in p
                                        for p in summary["readiness"])


def test_lint_catches_what_a_hand_edit_can_break(checklist: Path, tmp_path: Path) -> None:
    """A biller edits the DOCX: types a citation, pastes another case's claim, and forgets to
    re-export the PDF."""
    from docx import Document

    from appeals.lint import lint_folder

    folder = _copy(checklist, tmp_path / "D007-1")
    other = _copy(checklist, tmp_path / "Z999-1")
    summary = json.loads((other / "packet.json").read_text())
    (other / "packet.json").write_text(json.dumps({**summary, "claim_id": "Z999"}))
    doc = Document(folder / "appeal_letter.docx")
    doc.add_paragraph("See also 45 C.F.R. § 999.99 and claim Z999.")
    doc.save(folder / "appeal_letter.docx")
    letter = Document(folder / "medical_necessity_letter.docx")  # another patient's name
    cell = next(r.cells[1] for t in letter.tables for r in t.rows if r.cells[0].text == "Patient")
    cell.paragraphs[0].runs[0].text = "Somebody Else"
    letter.save(folder / "medical_necessity_letter.docx")
    problems = lint_folder([tmp_path], as_of=date(2026, 9, 1))[folder]
    text = "\n".join(problems)
    assert "cites '45 C.F.R. § 999.99', which the citation gate did not print" in text
    assert "appeal_letter.docx: names claim Z999, another case's" in text
    assert re.search(r"appeal_letter: the DOCX and the PDF differ \(only in the DOCX: [^;]*\b999\b",
                     text), text
    assert "the filing deadline August 9, 2026 has passed" in text
    assert "the letters name different patients (medical_necessity_letter differ" in text
    assert "Somebody Else" not in text and "Sample Client" not in text  # no names in the output



def test_lint_command(checklist: Path, tmp_path: Path) -> None:
    cli = CliRunner()
    done = cli.invoke(app, ["lint", str(checklist), "--as-of", "2026-07-01"])
    assert done.exit_code == 1
    lines = done.stdout.strip().splitlines()
    assert lines and all(line.startswith(str(checklist)) for line in lines)
    assert "0 of 1 packets ready, 1 draft" in done.output
    assert cli.invoke(app, ["lint", str(tmp_path)]).exit_code == 2  # no packet there


@pytest.mark.parametrize(("text", "problem"), [
    (("PHQ-9 19 and 17; GAD-7: 12; PCL-5 = 44; AUDIT score 22; ASAM level 3.7; LOCUS level 4; "
     "LOCUS composite 22; CIWA-Ar 9, 2026-05-01"), None),
    ("PHQ9 28", "PHQ9 28 is outside its range 0-27"),
    ("gad-7 of 22", "gad-7 22 is outside its range 0-21"),  # any spelling, named as written
    ("AUDIT-C 13 (AUDIT 30)", "AUDIT-C 13 is outside its range 0-12"),
    ("ASAM Level 3.9", "ASAM Level 3.9 is not one of its levels"),
    ("LOCUS level 7", "LOCUS level 7 is not one of its levels"),
    ("C-SSRS risk: moderate; ASAM dimensions rated; C-SSRS screen positive", None),
    ("C-SSRS risk moderat", "C-SSRS risk moderat is not one of its levels"),
    ("seen 2026-02-30", "2026-02-30 is not a date"),
    ("next visit 07/15/2026", "07/15/2026 is in the future"),
])
def test_measures_levels_and_dates_are_checked(text: str, problem: str | None) -> None:
    from appeals.answers import problems
    from appeals.answers.read import Answer, Returned

    returned = Returned(path=Path("x.pdf"), sha256="", claim_id="C1", line_number=1,
                        service_date="", items_digest="", answers={"measures": Answer(text=text)})
    found = problems(returned, AS_OF)
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and found[0].startswith("measures: ") and problem in found[0], found


def test_several_dated_scores_become_a_short_table_and_prose_stays_prose(tmp_path: Path) -> None:
    import io

    import docx as python_docx

    record = next(r for r in read(SAMPLES / "denials.csv") if getattr(r, "claim_id", "") == "D007")

    def letter(measures: str):
        facts = tmp_path / "facts.yaml"
        facts.write_text(yaml.safe_dump({"D007-1": {"measures": measures}}), encoding="utf-8")
        packet = build(record, Settings.load(as_of=AS_OF, facts=facts))
        return python_docx.Document(io.BytesIO(packet.files["medical_necessity_letter.docx"])), \
            next(d for d in packet.composed.documents if d.kind == "medical_necessity_letter")

    doc, composed = letter("PHQ-9 19 (2026-04-02) and 17 (2026-05-01); GAD-7 16 (2026-04-02)")
    rows = [[c.text for c in r.cells] for t in doc.tables for r in t.rows
            if t.rows[0].cells[0].text == "Measure"]
    assert rows == [["Measure", "Score", "Date"], ["PHQ-9", "19", "April 2, 2026"],
                    ["PHQ-9", "17", "May 1, 2026"], ["GAD-7", "16", "April 2, 2026"]]
    assert "[CLINICIAN: standardized measures" not in composed.text()
    prose = "PHQ-9 19 (2026-04-02) and 17 (2026-05-01); sleeping better"
    doc, composed = letter(prose)
    assert not [t for t in doc.tables if t.rows[0].cells[0].text == "Measure"]
    assert prose in composed.text()  # not a word dropped or guessed


def test_a_date_after_a_post_service_denial_is_named(checklist: Path, tmp_path: Path) -> None:
    """D007: service May 4, denial June 10. A note of June 20 is not the record the claim rests
    on; one of May 1 is."""
    filled = fill_pdf(checklist / "clinician_checklist.pdf", tmp_path / "late.pdf",
                      {"progress": "Seen 2026-05-01 and again 2026-06-20"}, [])
    [result] = import_answers([filled], as_of=AS_OF, to=tmp_path / "f.yaml")
    assert result.problems == [("progress: 2026-06-20 is after the denial of 2026-06-10: the "
                               "appeal rests on the record made before it (a later note is an "
                               "addendum: date it and say so)")]
    assert not (tmp_path / "f.yaml").exists()


def test_a_treatment_plans_target_date_in_the_future_is_no_error() -> None:
    """The checklist's own example for the treatment-plan goal has a target date to come; the
    expected discharge does too. A future date there is normal; elsewhere it is still caught."""
    from appeals.answers import problems
    from appeals.answers.read import Answer, Returned

    answers = {"treatment_plan_link": Answer(text="Goal 2: drive to work 3 days a week by "
                                                  "2026-09-30"),
               "discharge_criteria": Answer(text="expected step-down 08/15/2026"),
               "progress": Answer(text="seen 2026-09-01")}
    returned = Returned(path=Path("x.pdf"), sha256="", claim_id="C1", line_number=1,
                        service_date="2026-05-01", denial_date="2026-06-10", items_digest="",
                        answers=answers)
    assert problems(returned, AS_OF) == [
        "progress: 2026-09-01 is in the future (today is 2026-07-01)"]


def test_a_checklist_whose_properties_a_tool_dropped_is_known_by_its_printed_case(
        checklist: Path, tmp_path: Path) -> None:
    """Many PDF tools (and every scanner) drop the Subject property: the case printed in the
    footer of every page still names it; a DOCX re-saved without core properties too."""
    filled = fill_pdf(checklist / "clinician_checklist.pdf", tmp_path / "filled.pdf",
                      {"why_now": "Panic attacks rose"}, ["why_now"])
    writer = PdfWriter(clone_from=PdfReader(filled))
    writer.add_metadata({"/Subject": ""})  # what a tool that drops the properties leaves
    stripped = tmp_path / "stripped.pdf"
    writer.write(stripped)
    assert not (PdfReader(stripped).metadata or {}).get("/Subject")
    for page in PdfReader(stripped).pages:
        assert "Clinician checklist for case D007-1" in page.extract_text()
    got = read_returned(stripped)
    assert got.case == "D007-1" and got.answers["why_now"].text == "Panic attacks rose"
    docx = tmp_path / "bare.docx"
    with zipfile.ZipFile(checklist / "clinician_checklist.docx") as src, \
            zipfile.ZipFile(docx, "w") as dst:
        for name in src.namelist():
            if name != "docProps/core.xml":
                dst.writestr(name, src.read(name))
    assert read_returned(docx).case == "D007-1"
