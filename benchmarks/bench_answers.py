"""Importing filled checklists (not a test: the figure goes in the README).

    python benchmarks/bench_answers.py [N]     # default 1,000 (half PDF forms, half DOCX)

Builds the packets of the bundled sample CSV, fills each checklist as a clinician's software
would (pypdf for the PDF form, the DOCX's content controls), copies them up to N files, and times
`import_answers` over them on one core: read, check, merge into one facts YAML.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_answers import fill_docx, fill_pdf

from appeals.answers import import_answers, read_returned
from appeals.classify import classify
from appeals.intake import read
from appeals.packet import Settings, build, needs_packet, write

AS_OF = date(2026, 7, 1)
SAMPLES = Path(__file__).resolve().parent.parent / "appeals" / "data" / "samples"


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    settings = Settings.load(as_of=AS_OF)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        filled: list[Path] = []
        for record in read(SAMPLES / "denials.csv"):
            if not hasattr(record, "claim_id") or not needs_packet(classify(record, settings.rules)):
                continue
            folder = write(build(record, settings), tmp / "packets")
            if not (folder / "clinician_checklist.pdf").exists():
                continue
            items = read_returned(folder / "clinician_checklist.pdf").answers
            words = {i: f"Documented in the note of 2026-06-0{k % 9 + 1}: answer {k}"
                     for k, i in enumerate(items)}
            filled.append(fill_pdf(folder / "clinician_checklist.pdf",
                                   tmp / f"{folder.name}.pdf", words, list(items)))
            filled.append(fill_docx(folder / "clinician_checklist.docx",
                                    tmp / f"{folder.name}.docx", words, list(items)))
        files = tmp / "returned"
        files.mkdir()
        for k in range(n):
            source = filled[k % len(filled)]
            shutil.copy(source, files / f"{k:05d}{source.suffix}")
        start = time.perf_counter()
        results = import_answers([files], as_of=AS_OF, to=tmp / "facts.yaml")
        seconds = time.perf_counter() - start
        answers = sum(len(r.imported) for r in results)
        print(f"{len(results):,} checklists ({len(filled)} distinct, PDF and DOCX), {answers:,} "
              f"answers, in {seconds:.1f} s: {len(results) / seconds:,.0f} checklists/s")
        assert all(r.ok for r in results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
