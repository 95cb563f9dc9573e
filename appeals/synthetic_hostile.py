"""Crafted documents that ask too much of a reader: a PDF stream and a DOCX part that inflate to
far more than they weigh. For the hostile-input tests and benchmarks/hostile_memory.py; written in
steps, so making a gigabyte bomb never holds a gigabyte.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

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
