"""Synthetic files of external-review decisions in the published shapes (our own rows under the
publishers' column names; no real decision), for the tests, the demo and the benchmark."""

from __future__ import annotations

import csv
import random
from pathlib import Path

CA_HEADER = ["Reference ID", "Report Year", "Diagnosis Category", "Diagnosis Sub Category",
             "Treatment Category", "Treatment Sub Category", "Determination", "Type",
             "Age Range", "Patient Gender", "Findings"]
NY_HEADER = ["Case Number", "Diagnosis", "Treatment", "Health Plan", "Decision", "Appeal Type",
             "Gender", "Age Range", "Decision Year", "Appeal Agent", "Summary"]

#: (diagnosis category, subcategory, treatment category, subcategory, share overturned)
CA_KINDS = [
    ("Mental Disorder", "Depression", "Mental Health", "RTC/ Admit", 0.57),
    ("Mental Disorder", "Eating Disorder", "Mental Health", "Partial Hospitalization", 0.5),
    ("Mental Disorder", "Anxiety", "Mental Health", "Intensive Outpatient Program", 0.45),
    ("Substance Abuse", "Opioid Dependence", "Mental Health", "RTC/ Admit", 0.6),
    ("Autism Spectrum", "Autistic Disorder", "Rehab/ Svc - Outpt", "ABA Therapy", 0.55),
    ("Mental Disorder", "Depression", "Mental Health", "Transcranial Magnetic Stimulation", 0.4),
    ("Cancer", "Breast", "Pharmacy", "Chemotherapy", 0.3),
]
FINDINGS = (("The physician reviewer found that the patient's symptoms and functional impairment "
            "required the requested level of care; the plan's denial should be overturned."),
            ("The physician reviewer found that the patient could be treated safely at a lower "
            "level of care; the plan's denial should be upheld."))


def write_ca(path: Path, rows: int = 400, seed: int = 7, years: tuple[int, int] = (2019, 2024)
             ) -> Path:
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(CA_HEADER)
        for i in range(rows):
            dc, ds, tc, ts, share = CA_KINDS[i % len(CA_KINDS)]
            overturned = rng.random() < share
            out.writerow([f"MN{i:05d}", rng.randint(*years), dc, ds, tc, ts,
                          "Overturned Decision of Health Plan" if overturned
                          else "Upheld Decision of Health Plan",
                          "Experimental/Investigational" if "Magnetic" in ts and i % 2
                          else "Medical Necessity",
                          rng.choice(["11 to 20", "21 to 30", "31 to 40", "41 to 50"]),
                          rng.choice(["Female", "Male"]), FINDINGS[0 if overturned else 1]])
    return path


def write_ny(path: Path, rows: int = 120, seed: int = 11) -> Path:
    rng = random.Random(seed)
    kinds = [("Mental Health Disorder: Major Depression", "Residential Treatment"),
             ("Substance Use Disorder: Alcohol", "Inpatient Rehabilitation"),
             ("Infectious Disease", "Inpatient Hospital")]
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(NY_HEADER)
        for i in range(rows):
            diagnosis, treatment = kinds[i % len(kinds)]
            decision = rng.choice(["Overturned", "Upheld", "Overturned in Part", "Upheld"])
            kind = "Out-of-network" if i % 10 == 9 else "Medical necessity"
            out.writerow([f"2023{i:02d}-1{i:05d}", diagnosis, treatment, "Example Health Plan",
                          decision, kind, rng.choice(["Female", "Male"]), "30-39",
                          rng.choice([2022, 2023, 2024]), "Example Review Agent",
                          "The reviewer found the requested care appropriate."])
    return path


def write_hostile(folder: Path) -> dict[str, Path]:
    """Files a decisions import must survive: each with what it holds."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    missing = folder / "missing_columns.csv"
    missing.write_text("Reference ID,Diagnosis Category\nMN1,Mental Disorder\n", encoding="utf-8")
    files["missing_columns"] = missing
    bad = folder / "bad_rows.csv"
    with bad.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(CA_HEADER)
        good = ["Mental Disorder", "Depression", "Mental Health", "RTC/ Admit",
                "Overturned Decision of Health Plan", "Medical Necessity", "21 to 30", "Female",
                "fine"]
        out.writerow(["MN1", "2023", *good])
        out.writerow(["MN2", "20x3", *good])  # a bad year
        out.writerow(["MN3", "1850", *good])  # a year before any program
        out.writerow(["", "2023", *good])  # no reference id
        out.writerow(["MN5", "2023", *good[:4], "Withdrawn", *good[5:]])  # not a determination
        out.writerow(["=HYPERLINK(\"http://x\",\"MN6\")", "2023", "=1+1", *good[1:8],
                      "@SUM(A1:A9)"])  # formula cells: text
        out.writerow(["MN7", "2023", *good[:8], "x" * 2_000_000])  # a 2 MB finding: cut
    files["bad_rows"] = bad
    big = folder / "big.csv"
    with big.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(CA_HEADER)
        finding = "The physician reviewer found " + "the records support it. " * 80
        i = 0
        while fh.tell() < 50_000_000:
            dc, ds, tc, ts, _ = CA_KINDS[i % len(CA_KINDS)]
            out.writerow([f"BG{i:07d}", 2020 + i % 5, dc, ds, tc, ts,
                          "Upheld Decision of Health Plan", "Medical Necessity", "31 to 40",
                          "Female", finding])
            i += 1
    files["big"] = big
    binary = folder / "binary.csv"
    binary.write_bytes(b"\x00\x01\x02PK\x03\x04" * 1000)
    files["binary"] = binary
    return files
