"""Crafted inputs of the hostile review (issue 29): a PDF stream and a DOCX part that inflate to
far more than they weigh (written in steps, so making a gigabyte bomb never holds a gigabyte),
and one file per finding of that review, for the tests and benchmarks/hostile_memory.py.
"""

from __future__ import annotations

import csv
import io
import zipfile
import zlib
from pathlib import Path

from pypdf import PdfWriter

from appeals.synthetic.remits import write_835

_MB = 1024 * 1024


def _deflated_spaces(megabytes: int) -> bytes:
    packer, block = zlib.compressobj(9), b" " * _MB
    return b"".join(packer.compress(block) for _ in range(megabytes)) + packer.flush()


def stream_bomb_pdf(path: Path, inflated_mb: int) -> Path:
    """A one-page PDF whose page content is one Flate stream of `inflated_mb` MB of spaces."""
    body = _deflated_spaces(inflated_mb)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(body) + body
               + b"\nendstream"]
    out, offsets = bytearray(b"%PDF-1.7\n"), []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % at for at in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def docx_bomb(path: Path, inflated_mb: int) -> Path:
    """A 'DOCX' whose document part unpacks to `inflated_mb` MB of spaces."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with z.open("word/document.xml", "w", force_zip64=True) as part:
            block = b" " * _MB
            for _ in range(inflated_mb):
                part.write(block)
    return path


def _csv(rows: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def _row(n: int, **over: str) -> dict[str, str]:
    return {"claim_id": f"H{n:03d}", "payer_name": "Blue Ridge Health", "member_id": f"M{n:04d}",
            "patient_name": f"Pat {n:04d}", "plan_type": "employer_group",
            "adjustment_codes": "CO-50", "denial_reason": "Not medically necessary",
            "billed_amount": "150.00", "service_date": "2026-05-04", "denial_date": "2026-06-10",
            **over}


def hostile_files(folder: Path, bomb_mb: int = 200, docx_mb: int = 300) -> dict[str, Path]:
    """name -> file, each one finding of the hostile review of issue 29 (the bombs inflate to
    `bomb_mb` and `docx_mb` megabytes)."""
    folder.mkdir(parents=True, exist_ok=True)
    made: dict[str, Path] = {}
    buf = io.StringIO()
    write_835(buf, claims=6, lines_per_claim=2, seed=4, denial_share=1.0)
    remit = buf.getvalue()

    def text(name: str, body: str, encoding: str = "utf-8") -> None:
        made[name] = folder / name
        made[name].write_bytes(body.encode(encoding, errors="surrogateescape"))

    text("claim_id_1MB.835", remit.replace("CLP*SYN0000002", "CLP*" + "9" * 1_000_000, 1))
    text("claim_id_100kB.csv", _csv([_row(1), _row(2, claim_id="7" * 100_000), _row(3)]))
    text("payer_name_200kB.csv", _csv([_row(1), _row(2, payer_name="P" * 200_000)]))
    text("nul_byte.csv", _csv([_row(1), _row(2, patient_name="Pat\x000002"), _row(3)]))
    lat = _csv([_row(1), _row(2, patient_name="Zoë Müller"), _row(3)]).encode("utf-8")
    made["latin1_row.csv"] = folder / "latin1_row.csv"
    made["latin1_row.csv"].write_bytes(lat.replace("Zoë Müller".encode(), "Zoë Müller".encode(
        "latin-1")))
    segs = remit.split("~")
    clps = [i for i, s in enumerate(segs) if s.strip().startswith("CLP*")]
    lost = segs[:clps[2]] + segs[clps[2] + 1:]
    text("lost_clp.835", "~".join(lost))
    w = PdfWriter()
    w.add_blank_page(200 * 72, 200 * 72)
    made["giant_page.pdf"] = folder / "giant_page.pdf"
    with made["giant_page.pdf"].open("wb") as fh:
        w.write(fh)
    made["stream_bomb.pdf"] = stream_bomb_pdf(folder / "stream_bomb.pdf", bomb_mb)
    made["zip_bomb.docx"] = docx_bomb(folder / "zip_bomb.docx", docx_mb)
    return made
