"""Denial letters read per second: text-layer PDFs and plain text, and scanned pages through OCR,
on one core (Tesseract limited to one thread, as `appeals run` workers use it).

    python benchmarks/bench_letters.py [--letters 300] [--scans 10]
    python benchmarks/bench_letters.py --batch [--letters 60]

Prints letters/s for text-layer PDFs and text files, OCR pages/s for scanned pages, and how many
of the generated letters' key facts were read right (member id, dates, level, reason).
`--batch`: a fax inbox of that many letters behind a cover sheet in one PDF (text layer, and
scanned with a tenth of them): pages per second split and read, letters found.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from appeals.intake import read
from appeals.models import DenialRecord
from appeals.synthetic.letters import LAYOUTS, LetterFacts, write_fax_batch, write_letter


def facts(i: int) -> LetterFacts:
    start = date(2026, 10, 1) + timedelta(days=i % 40)
    return LetterFacts(member_id=f"BRB{100000 + i}", reference=f"UM-2026-{200000 + i}",
                       admitted=start, denied_from=start + timedelta(days=5),
                       letter_date=start + timedelta(days=4))


def right(record: DenialRecord, f: LetterFacts) -> bool:
    return (record.member_id == f.member_id and record.service_date == f.denied_from
            and record.denial_date == f.letter_date and record.level_of_care == "residential"
            and "intensive outpatient treatment." in (record.denial_reason or ""))


def measure(paths: list[tuple[Path, LetterFacts]]) -> tuple[float, int]:
    start = time.perf_counter()
    ok = 0
    for path, f in paths:
        records = [r for r in read(path, plan_type="employer_group")
                   if isinstance(r, DenialRecord)]
        ok += bool(records) and right(records[0], f)
    return time.perf_counter() - start, ok


def batch(letters: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        for scanned, count in ((False, letters), (True, max(letters // 10, 2))):
            if scanned and shutil.which("tesseract") is None:
                print("     scanned: skipped (tesseract is not installed)")
                return
            path = Path(folder) / f"inbox_{scanned}.pdf"
            ranges = write_fax_batch(path, [(facts(i), LAYOUTS[i % 3]) for i in range(count)],
                                     scanned=scanned)
            pages = ranges[-1][1]
            start = time.perf_counter()
            found = sum(isinstance(item, DenialRecord) for item in read(path))
            seconds = time.perf_counter() - start
            label = "scanned batch" if scanned else "text batch"
            print(f"{label:>15}: {pages} pages, {found}/{count} letters found in "
                  f"{seconds:.2f} s: {pages / seconds:,.1f} pages/s on one core")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--letters", type=int, default=300)
    parser.add_argument("--scans", type=int, default=10)
    parser.add_argument("--batch", action="store_true", help="fax batches split per second")
    args = parser.parse_args()
    os.environ["OMP_THREAD_LIMIT"] = "1"
    if args.batch:
        batch(args.letters)
        return
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        for suffix, label in ((".pdf", "text-layer PDF"), (".txt", "plain text")):
            paths = []
            for i in range(args.letters):
                f = facts(i)
                paths.append((write_letter(base / f"l{i}{suffix}", f, LAYOUTS[i % 2]), f))
            seconds, ok = measure(paths)
            print(f"{label:>15}: {len(paths)} letters in {seconds:.2f} s: "
                  f"{len(paths) / seconds:,.0f} letters/s on one core; key facts right in "
                  f"{ok}/{len(paths)}")
        if shutil.which("tesseract") is None:
            print("     scanned: skipped (tesseract is not installed)")
            return
        scans = []
        for i in range(args.scans):
            f = facts(i)
            scans.append((write_letter(base / f"s{i}.pdf", f, LAYOUTS[i % 2], scanned=True), f))
        seconds, ok = measure(scans)
        print(f"{'scanned (OCR)':>15}: {len(scans)} one-page letters in {seconds:.2f} s: "
              f"{len(scans) / seconds:.2f} pages/s on one core; key facts right in "
              f"{ok}/{len(scans)}")


if __name__ == "__main__":
    main()
