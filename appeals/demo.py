"""The demo's inputs (`appeals demo`): the bundled samples, a synthetic behavioral-health 835 and
two synthetic utilization-review denial letters, each byte-stable from run to run so two demos
give the same manifest."""

from __future__ import annotations

from datetime import date
from importlib import resources
from pathlib import Path

SAMPLES = Path(str(resources.files("appeals.data").joinpath("samples")))


def demo_inputs(out: Path, scanned: bool = True) -> list[Path]:
    """Write the generated inputs under `out` and list every input the demo reads, in order.
    `scanned`: include the scanned letter (it needs Tesseract to be read)."""
    from appeals.synthetic.remits import write_835

    out.mkdir(parents=True, exist_ok=True)
    synthetic = out / "synthetic_bh.835"
    write_835(synthetic, claims=40, lines_per_claim=3, seed=7)
    return [SAMPLES / "denials.csv", SAMPLES / "multi_line.csv", synthetic,
            *demo_letters(out / "letters", scanned)] + sorted(
        p for p in SAMPLES.iterdir() if p.suffix in (".835", ".txt"))


def demo_letters(folder: Path, scanned: bool = True) -> list[Path]:
    """Two utilization-review denials of care under way: a Medicaid plan's residential stay (a
    text-layer PDF) and an employer plan's intensive outpatient program (a scanned page, read by
    OCR; left out without `scanned`)."""
    from appeals.synthetic.letters import LetterFacts, write_letter

    folder.mkdir(parents=True, exist_ok=True)
    medicaid = LetterFacts(payer="Tar Heel Medicaid Plan", member="Avery Sample",
                           member_id="THM000417", dob=date(2001, 5, 9),
                           reference="UM-2026-061901", admitted=date(2026, 6, 18),
                           denied_from=date(2026, 6, 30), letter_date=date(2026, 6, 29))
    letters = [write_letter(folder / "tar_heel_residential_denial.pdf", medicaid, "labels")]
    if scanned:
        iop = LetterFacts(payer="Rushmore Life", member="Quinn Example", member_id="RL7730021",
                          dob=date(1986, 11, 2), reference="RL-CR-88213",
                          service="Intensive outpatient program (S9480)",
                          level_words="intensive outpatient treatment",
                          review="Concurrent review", admitted=date(2026, 6, 8),
                          denied_from=date(2026, 6, 29), letter_date=date(2026, 6, 26),
                          reason="The member attends all program hours and reports no cravings "
                                 "for three weeks. Symptoms do not require nine hours a week; "
                                 "weekly outpatient therapy meets the member's needs.",
                          criteria="MCG Behavioral Health Care Guidelines, 29th edition",
                          window_days=180)
        letters.append(write_letter(folder / "rushmore_iop_denial_scan.pdf", iop, "table",
                                    scanned=True))
    return letters
