"""Issue 32: decided external reviews imported from the publishers' files, matched to a case,
counted in one sentence of its letter (never a promise), and the prior of its priority at
external review."""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from helpers import cls
from sqlalchemy import func, select

from appeals.compose.letters import APPEAL_LETTER, compose
from appeals.law import law_for
from appeals.models import (
    Category,
    DenialRecord,
    Precedent,
)
from appeals.precedent import import_file, tally
from appeals.store import open_store
from appeals.store.schema import precedent_imports, precedents
from appeals.synthetic.precedent import write_ca, write_hostile, write_ny
from appeals.worklist import likelihood, load_priority

AS_OF = date(2026, 12, 7)


def appeals(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "appeals", *map(str, args)], check=False,
                          capture_output=True, text=True, cwd=cwd)


def test_both_published_shapes_import_idempotently_by_source_and_reference(db_url, tmp_path):
    engine = open_store(db_url)
    ca, ny = write_ca(tmp_path / "imr.csv"), write_ny(tmp_path / "dfs.csv")
    first = import_file(engine, ca, "ca-dmhc", as_of=AS_OF)
    assert (first.rows, first.rejected) == (400, 0)
    again = import_file(engine, ca, "ca-dmhc", as_of=AS_OF)
    assert again.rows == 400 and again.sha256 == first.sha256
    new_york = import_file(engine, ny, "ny-dfs", as_of=AS_OF)
    assert new_york.skipped == {"Out-of-network": 12} and new_york.rows == 108
    with engine.connect() as conn:
        counted = dict(conn.execute(select(precedents.c.source, func.count())
                                    .group_by(precedents.c.source)).all())
        recorded = conn.execute(select(precedent_imports.c.source, precedent_imports.c.rows,
                                       precedent_imports.c.sha256)).all()
    assert counted == {"ca-dmhc": 400, "ny-dfs": 108}  # nothing counted twice
    assert [r[:2] for r in recorded] == [("ca-dmhc", 400), ("ca-dmhc", 400), ("ny-dfs", 108)]
    assert recorded[0][2] == first.sha256
    found = tally(engine, AS_OF)
    for state, title in (("CA", "California"), ("NY", "New York")):
        record = DenialRecord(claim_id="P1", denial_reason="x", cpt_code="H0018",
                              diagnosis_codes="F33.1", plan_state=state)
        matched = found.precedent(record)  # the plan's state's reviews first
        assert matched is not None and matched.treatment == "residential treatment"
        assert matched.diagnosis == "depressive disorders" and matched.decided >= 30
        assert matched.title.startswith(title) and 2021 <= matched.first_year
    elsewhere = found.precedent(record.model_copy(update={"plan_state": "NC"}))
    assert elsewhere.decided == max(found.precedent(record.model_copy(update={"plan_state": s}))
                                    .decided for s in ("CA", "NY"))


def test_hostile_files_are_rejected_row_by_row_or_named_never_a_traceback(tmp_path):
    files = write_hostile(tmp_path / "hostile")
    db = f"sqlite:///{tmp_path / 'p.db'}"
    missing = appeals("precedent", "import", files["missing_columns"], "--source", "ca-dmhc",
                      "--db", db)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "no column 'Report Year' for year" in missing.stderr
    binary = appeals("precedent", "import", files["binary"], "--source", "ca-dmhc", "--db", db)
    assert binary.returncode == 2 and "Traceback" not in binary.stderr
    rejects = tmp_path / "rejects.csv"
    bad = appeals("precedent", "import", files["bad_rows"], "--source", "ca-dmhc", "--db", db,
                  "--rejects", rejects, "--as-of", "2026-12-07")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    with rejects.open(encoding="utf-8") as fh:
        listed = {(r["location"], r["field"]): r for r in csv.DictReader(fh)}
    assert set(listed) == {("row 3", "year"), ("row 4", "year"), ("row 5", "reference_id"),
                           ("row 6", "determination")}
    assert "'Withdrawn' is none of the source's determinations" in \
        listed[("row 6", "determination")]["message"]
    engine = open_store(db)
    with engine.connect() as conn:
        kept = dict(conn.execute(select(precedents.c.reference_id, precedents.c.diagnosis)).all())
        finding = conn.execute(select(func.length(precedents.c.findings)).where(
            precedents.c.reference_id == "MN7")).scalar_one()
    # formula cells are kept as the text they are, never run; a 2 MB finding is cut, not lost
    assert kept['=HYPERLINK("http://x","MN6")'].startswith("=1+1")
    assert set(kept) == {"MN1", '=HYPERLINK("http://x","MN6")', "MN7"} and finding < 20_100
    big = appeals("precedent", "import", files["big"], "--source", "ca-dmhc", "--db", db,
                  "--as-of", "2026-12-07")
    assert big.returncode == 0, big.stderr
    assert files["big"].stat().st_size >= 50_000_000 and " decisions kept " in big.stderr


REVIEWED = Precedent(title="California DMHC Independent Medical Review determinations",
                     reviews="California Independent Medical Reviews",
                     treatment="residential treatment", diagnosis="depressive disorders",
                     review_type="medical_necessity", first_year=2019, last_year=2024,
                     decided=142, overturned=81, partly=0, imported_on=date(2026, 12, 7))
SENTENCE = ("Of 142 California Independent Medical Reviews of residential treatment for "
            "depressive disorders decided in 2019-2024, reviewers overturned the plan's decision "
            "in 81 (57%) (California DMHC Independent Medical Review determinations, imported "
            "December 7, 2026).")
BASE = {"claim_id": "R1", "payer_name": "Blue Ridge", "patient_name": "Sample Client",
        "member_id": "M1", "service_date": "2026-05-04", "cpt_code": "H0018",
        "level_of_care": "residential", "diagnosis_codes": "F33.1", "billed_amount": "900",
        "paid_amount": "0", "denial_date": "2026-06-10", "adjustment_codes": "CO-50",
        "plan_type": "employer_group", "plan_funding": "fully_insured", "employer_size": 300,
        "plan_state": "NC"}


def letter(precedent: Precedent | None, category: Category = Category.medical_necessity,
           **fields) -> str:
    record = DenialRecord(**{**BASE, **fields})
    decided = cls(record, category)
    out = compose(record, decided, law_for(record, as_of=date(2026, 7, 1)),
                  as_of=date(2026, 7, 1), precedent=precedent)
    return {d.kind: d.text() for d in out.documents}.get(APPEAL_LETTER, "")


@pytest.mark.parametrize("plan", [{}, {"plan_type": "individual", "plan_funding": None,
                                       "employer_size": None}])
def test_the_letter_counts_the_reviews_where_external_review_is_next(plan):
    assert SENTENCE in letter(REVIEWED, **plan)


@pytest.mark.parametrize("why,precedent,category,fields", [
    ("no reviews imported", None, Category.medical_necessity, {}),
    ("Medicare has no external review", REVIEWED, Category.medical_necessity,
     {"plan_type": "medicare", "plan_funding": None, "employer_size": None}),
    ("nor Medicare Advantage", REVIEWED, Category.medical_necessity,
     {"plan_type": "medicare_advantage", "plan_funding": None, "employer_size": None}),
    ("a missing authorization is not a medical judgment", REVIEWED, Category.authorization,
     {"adjustment_codes": "CO-197"}),
    ("a share that argues against the appeal", REVIEWED.model_copy(
        update={"overturned": 20}), Category.medical_necessity, {}),
])
def test_no_sentence_where_it_does_not_apply(why, precedent, category, fields):
    text = letter(precedent, category, **fields)
    assert text and "Independent Medical Reviews" not in text, why


WEEK = [  # medical necessity where external review is next, and where it is not
    ["R1", "Blue Ridge Health", "employer_group", "fully_insured", "300", "NC", "H0018",
     "residential", "F10.20", "CO-50"],
    ["R2", "Blue Ridge Health", "employer_group", "fully_insured", "300", "NC", "H0035", "php",
     "F32.2", "CO-50"],
    ["R3", "Golden Years", "medicare", "", "", "NC", "H0018", "residential", "F10.20", "CO-50"],
    ["R4", "Blue Ridge Health", "employer_group", "fully_insured", "300", "NC", "H0018",
     "residential", "F10.20", "CO-197"],
]


def test_the_numbers_come_from_the_imported_file_and_the_minimum_holds(tmp_path):
    """End to end: a week's run with the store's imported decisions. The letters of matching
    medical-necessity appeals whose plan gives an external review print the store's counts (as
    `appeals precedent show` says them); Medicare's and the authorization denial's do not; and
    none prints below the minimum of 30 matching decisions."""
    week = tmp_path / "week.csv"
    with week.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["claim_id", "payer_name", "plan_type", "plan_funding", "employer_size",
                      "plan_state", "cpt_code", "level_of_care", "diagnosis_codes",
                      "adjustment_codes", "service_date", "denial_date", "billed_amount",
                      "paid_amount", "patient_name", "member_id"])
        for row in WEEK:
            out.writerow([*row, "2026-05-04", "2026-06-10", "900.00", "0.00", "Sample Client",
                          f"M{row[0]}"])
    db = f"sqlite:///{tmp_path / 'p.db'}"
    few = write_ca(tmp_path / "few.csv", rows=60)  # under 30 per treatment: no sentence
    assert appeals("precedent", "import", few, "--source", "ca-dmhc", "--db", db,
                   "--as-of", "2026-12-07").returncode == 0
    args = ("run", week, "--workers", "1", "--db", db, "--as-of", "2026-07-01")
    assert appeals(*args, "--out", tmp_path / "few").returncode in (0, 1)
    texts = _letters(tmp_path / "few")
    assert set(texts) == {"R1-1", "R2-1", "R3-1", "R4-1"}
    assert not any("Independent Medical Reviews" in t for t in texts.values())
    assert appeals("precedent", "import", write_ca(tmp_path / "imr.csv", rows=400),
                   "--source", "ca-dmhc", "--db", db, "--as-of", "2026-12-07").returncode == 0
    assert appeals(*args, "--out", tmp_path / "full").returncode in (0, 1)
    texts = _letters(tmp_path / "full")
    cited = {k for k, t in texts.items() if "Independent Medical Reviews" in t}
    assert cited == {"R1-1", "R2-1"}
    for case, words in (("R1-1", "of residential treatment for substance use disorders"),
                        ("R2-1", "of partial hospitalization for mental health conditions")):
        shown = appeals("precedent", "show", case, "--db", db, "--as-of", "2026-12-07").stdout
        said = shown.splitlines()[-1].removeprefix("letter: ")
        assert said.startswith("Of ") and words in said and said in texts[case]
    assert "not printed" in appeals("precedent", "show", "R3-1", "--db", db, "--as-of",
                                    "2026-12-07").stdout


def _letters(out: Path) -> dict[str, str]:
    import docx

    return {p.parent.name: "\n".join(x.text for x in docx.Document(p).paragraphs)
            for p in sorted((out / "packets").glob("*/appeal_letter.docx"))}


def test_the_reviews_are_the_prior_at_external_review():
    decided = cls(DenialRecord(**BASE), Category.medical_necessity)
    priority = load_priority()
    plain, _ = likelihood(decided, priority, (0, 0))
    share, basis = likelihood(decided, priority, (0, 0), (0.57, "81 of 142 California IMRs"))
    assert share == 0.57 != plain and "prior 57% from 81 of 142 California IMRs" in basis
    learned, basis = likelihood(decided, priority, (3, 4), (0.57, "81 of 142 California IMRs"))
    k = priority.likelihood.prior_cases
    assert learned == pytest.approx((0.57 * k + 3) / (k + 4)) and "3 won of 4" in basis


def test_the_external_review_request_cites_the_reviews_too(tmp_path):
    """After the plan upholds an individual-market denial of residential treatment, the request
    for external review (`appeals escalate --kind next_level`) carries the same count."""
    from pypdf import PdfReader

    from appeals.pipeline import RunConfig, run
    from appeals.store import case_history, mark

    header = ["claim_id", "line_number", "payer_name", "plan_type", "plan_state", "member_id",
              "patient_name", "service_date", "cpt_code", "level_of_care", "diagnosis_codes",
              "billed_amount", "paid_amount", "denial_date", "adjustment_codes"]
    row = ["X1", 1, "Golden Bear Health", "individual", "CA", "M9", "Quinn Sample",
           "2026-05-01", "H0018", "residential", "F33.1", "900.00", "0.00", "2026-06-10",
           "CO-50"]
    db = f"sqlite:///{tmp_path / 's.db'}"
    engine = open_store(db)
    import_file(engine, write_ca(tmp_path / "imr.csv"), "ca-dmhc", as_of=AS_OF)

    def week(name: str, denied_on: str, as_of: date) -> None:
        path = tmp_path / name
        with path.open("w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(header)
            out.writerow([*row[:13], denied_on, "CO-50"])
        run(RunConfig(inputs=[path], out=tmp_path / "o", workers=1, as_of=as_of, db=db))

    week("w1.csv", "2026-06-10", date(2026, 7, 1))
    mark(engine, "X1-1", "sent", on=date(2026, 7, 2), method="fax", who="biller",
         override="test")
    week("w2.csv", "2026-08-05", date(2026, 8, 7))
    assert case_history(engine, "X1-1", as_of=date(2026, 8, 7))["next_level"] == \
        "external_review"
    done = appeals("escalate", "X1-1", "--kind", "next_level", "--on", "2026-08-08", "--db", db,
                   "--by", "biller")
    assert done.returncode == 0, done.stderr
    pdf = tmp_path / "o" / "packets" / "X1-1" / "level-1" / "next_level.pdf"
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(pdf).pages).split())
    assert "California Independent Medical Reviews of residential treatment for depressive " \
           "disorders" in text and "imported December 7, 2026" in text
    engine.dispose()


def test_quotes_of_overturning_findings_are_off_by_default_and_escaped_when_on(tmp_path):
    from appeals.precedent import load_rules

    engine = open_store(f"sqlite:///{tmp_path / 'q.db'}")
    import_file(engine, write_ca(tmp_path / "imr.csv"), "ca-dmhc", as_of=AS_OF)
    record = DenialRecord(claim_id="Q1", denial_reason="x", cpt_code="H0018",
                          diagnosis_codes="F33.1")
    assert tally(engine, AS_OF).precedent(record).quotes == ()  # off unless asked for
    on = load_rules().model_copy(update={"quotes": 2})
    quoted = tally(engine, AS_OF, on).precedent(record).quotes
    assert len(quoted) == 2 and all(ref.startswith("MN") for ref, _ in quoted)
    assert quoted and all("should be overturned" in text for _, text in quoted)  # overturning ones only
    hostile = REVIEWED.model_copy(update={"quotes": (
        ("MN00001", "{{ org.name }} <script>alert(1)</script> & more"),)})
    text = letter(hostile)
    assert '{{ org.name }} <script>alert(1)</script> & more' in text and SENTENCE in text
    engine.dispose()
