"""Document -> HTML for WeasyPrint. Layout (letterhead, margins, page numbers) lives in the CSS."""

from __future__ import annotations

import base64
import mimetypes
from datetime import date
from functools import lru_cache
from html import escape
from pathlib import Path

from appeals.compose.document import (
    Checkbox,
    Document,
    Heading,
    Inlines,
    ListBlock,
    PageBreak,
    Paragraph,
    Signature,
    Table,
)


@lru_cache(maxsize=8)
def _data_uri(path: Path) -> str:
    """The image inline: WeasyPrint names an image after its URL, so a file path would make the
    PDF bytes depend on where the practice keeps its files."""
    mime = mimetypes.guess_type(path.name)[0] or "image/png"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _inline(inlines: Inlines) -> str:
    out = []
    for i in inlines:
        text = escape(i.text).replace("\n", "<br>")
        if i.bold:
            text = f"<strong>{text}</strong>"
        if i.italic:
            text = f"<em>{text}</em>"
        out.append(text)
    return "".join(out)


def letterhead(doc: Document) -> list[str]:
    org = doc.meta.get("org")
    if org is None:
        return []
    lines = [org.name, " · ".join(org.address)]
    contact = [f"Phone {org.phone}"] + ([f"Fax {org.fax}"] if org.fax else []) + (
        [org.email] if org.email else [])
    lines.append(" · ".join(contact))
    lines.append(f"NPI {org.npi} · Tax ID {org.tax_id}")
    return lines


#: A clinician checklist's footer, on every page: which case a returned copy is when the tool
#: that saved or scanned it dropped the document's properties (appeals.answers.read).
CASE_MARK = "Clinician checklist for case"


def footer_text(doc: Document) -> str:
    claim = doc.meta.get("claim_id")
    if claim and doc.meta.get("identity"):  # a checklist: short, so it never wraps or clips
        return f"{CASE_MARK} {claim}-{doc.meta.get('line_number')}"
    if doc.meta.get("lines"):  # an appeal of several lines
        return f"{doc.title} · {doc.meta['lines']}"
    return f"{doc.title} · claim {claim}, line {doc.meta.get('line_number')}" if claim else doc.title


def to_html(doc: Document, forms: bool = False) -> str:
    day = doc.meta.get("letter_date")
    stamp = f"{day.isoformat()}T00:00:00Z" if isinstance(day, date) else "2000-01-01T00:00:00Z"
    head = letterhead(doc)
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(doc.title)}</title>",
        f'<meta name="dcterms.created" content="{stamp}">',
        f'<meta name="dcterms.modified" content="{stamp}">',
        '<meta name="generator" content="appeals">',
        *([f'<meta name="description" content="{escape(str(doc.meta["identity"]))}">']
          if doc.meta.get("identity") else []), "</head>",
        f'<body class="{escape(doc.kind)}">',
        f'<div class="footer-ref">{escape(footer_text(doc))}</div>',
    ]
    if head:
        logo = getattr(doc.meta.get("org"), "logo", None)
        img = f'<img class="logo" alt="" src="{_data_uri(logo)}">' if logo else ""
        parts.append(f'<header class="letterhead">{img}<div class="org">' + escape(head[0])
                     + "</div>"
                     + "".join(f"<div>{escape(line)}</div>" for line in head[1:]) + "</header>")
    for b in doc.blocks:
        if isinstance(b, Heading):
            level = min(b.level + 1, 4)  # h1 is the letterhead's
            parts.append(f"<h{level}>{_inline(b.content)}</h{level}>")
        elif isinstance(b, Paragraph):
            parts.append(f"<p>{_inline(b.content)}</p>")
        elif isinstance(b, ListBlock):
            tag = "ol" if b.ordered else "ul"
            parts.append(f"<{tag}>" + "".join(f"<li>{_inline(i)}</li>" for i in b.items)
                         + f"</{tag}>")
        elif isinstance(b, Table):
            rows = []
            if b.header:
                rows.append("<thead><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in b.header)
                            + "</tr></thead>")
            rows.append("<tbody>" + "".join(
                "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>"
                for row in b.rows) + "</tbody>")
            cls = "facts" if not b.header else "grid"
            parts.append(f'<table class="{cls}">' + "".join(rows) + "</table>")
        elif isinstance(b, Checkbox):
            name = escape(b.name)
            box = (f'<input type="checkbox" name="{name}" title="{name}">' if forms
                   else '<span class="box">\u2610</span>')
            field = (f'<input type="text" name="{name}_where" title="{name}: where in the note">'
                     if forms else '<span class="line"></span>')
            parts.append(f'<div class="item"><div class="prompt">{box}{_inline(b.content)}'
                         f'<div class="answer">Where / wording: {field}</div></div></div>')
        elif isinstance(b, PageBreak):
            parts.append('<div class="page-break"></div>')
        elif isinstance(b, Signature):
            parts.append('<div class="signature">' + "".join(
                f"<p>{_inline(p.content)}</p>" for p in b.blocks) + "</div>")
    parts.append("</body></html>")
    return "\n".join(parts)
