"""The neutral document model both writers render, and the Markdown reader that builds it.

Templates produce Markdown; markdown-it-py parses it (raw HTML off, tables on) and the tokens become
blocks. Two constructs are ours: a list item whose source starts with `[ ] (item-id)` is a checklist
box with that field name, `@@pagebreak` alone on a line starts a new page, and `@@signature` alone
on a line makes the rest of the page one signature block (closing, room to sign, signer), which
no page break may split. All are read from the raw source, so escaped user text (`\\[ ]`) can
never become one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token

_MD = MarkdownIt("commonmark", {"html": False, "typographer": False}).enable("table")
_BOX = re.compile(r"^\[ \] \(([a-z0-9_\-]+)\)\s*")


@dataclass(frozen=True)
class Inline:
    text: str
    bold: bool = False
    italic: bool = False


Inlines = tuple[Inline, ...]


def plain(inlines: Inlines) -> str:
    return "".join(i.text for i in inlines)


@dataclass(frozen=True)
class Heading:
    level: int
    content: Inlines


@dataclass(frozen=True)
class Paragraph:
    content: Inlines


@dataclass(frozen=True)
class ListBlock:
    items: tuple[Inlines, ...]
    ordered: bool = False


@dataclass(frozen=True)
class Table:
    header: tuple[Inlines, ...] | None
    rows: tuple[tuple[Inlines, ...], ...]


@dataclass(frozen=True)
class Checkbox:
    """A checklist item: a box to tick and a field for the clinician's answer."""

    name: str
    content: Inlines


@dataclass(frozen=True)
class PageBreak:
    pass


@dataclass(frozen=True)
class Signature:
    """The closing, space for a handwritten signature and the signer: kept on one page."""

    blocks: tuple[Paragraph, ...]


Block = Heading | Paragraph | ListBlock | Table | Checkbox | PageBreak | Signature


@dataclass
class Document:
    """One letter or checklist. `meta` carries letterhead and footer lines and the document date."""

    kind: str
    title: str
    blocks: list[Block]
    meta: dict[str, object] = field(default_factory=dict)

    def text(self) -> str:
        """The words of the document, for comparing writers and for searching in tests."""
        out: list[str] = []
        for b in self.blocks:
            if isinstance(b, Signature):
                out.extend(plain(p.content) for p in b.blocks)
            elif isinstance(b, (Heading, Paragraph, Checkbox)):
                out.append(plain(b.content))
            elif isinstance(b, ListBlock):
                out.extend(plain(i) for i in b.items)
            elif isinstance(b, Table):
                for row in ([b.header] if b.header else []) + list(b.rows):
                    out.extend(plain(c) for c in row)
        return "\n".join(out)


def _inlines(token: Token) -> Inlines:
    out: list[Inline] = []
    bold = italic = 0
    for child in token.children or []:
        t = child.type
        if t == "strong_open":
            bold += 1
        elif t == "strong_close":
            bold -= 1
        elif t == "em_open":
            italic += 1
        elif t == "em_close":
            italic -= 1
        elif t in ("text", "code_inline"):
            if child.content:
                out.append(Inline(child.content, bold > 0, italic > 0))
        elif t in ("softbreak", "hardbreak"):
            out.append(Inline(" " if t == "softbreak" else "\n", bold > 0, italic > 0))
    merged: list[Inline] = []
    for item in out:  # adjacent runs with the same style become one
        if merged and (merged[-1].bold, merged[-1].italic) == (item.bold, item.italic):
            merged[-1] = Inline(merged[-1].text + item.text, item.bold, item.italic)
        else:
            merged.append(item)
    return tuple(merged)


def _strip_box(inlines: Inlines, match: re.Match[str]) -> Inlines:
    """Drop the `[ ] (id)` marker from the first runs."""
    skip = len(match.group(0))
    out: list[Inline] = []
    for item in inlines:
        if skip:
            cut = min(skip, len(item.text))
            skip -= cut
            item = Inline(item.text[cut:], item.bold, item.italic)
        if item.text:
            out.append(item)
    return tuple(out)


def from_markdown(source: str, kind: str, title: str, meta: dict | None = None) -> Document:
    blocks: list[Block] = []
    parts = re.split(r"(?m)^@@(pagebreak|signature)[ \t]*$", source)
    blocks.extend(_blocks(_MD.parse(parts[0])))
    for marker, chunk in zip(parts[1::2], parts[2::2], strict=True):
        if marker == "pagebreak":
            blocks.append(PageBreak())
            blocks.extend(_blocks(_MD.parse(chunk)))
        else:
            signed = _blocks(_MD.parse(chunk))
            if not all(isinstance(b, Paragraph) for b in signed):
                raise ValueError(f"{kind}: a signature block holds paragraphs only")
            blocks.append(Signature(tuple(signed)))
    return Document(kind=kind, title=title, blocks=blocks, meta=dict(meta or {}))


def _blocks(tokens: list[Token]) -> list[Block]:
    blocks: list[Block] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.type == "heading_open":
            blocks.append(Heading(int(tok.tag[1]), _inlines(tokens[i + 1])))
            i += 3
        elif tok.type == "paragraph_open":
            blocks.append(Paragraph(_inlines(tokens[i + 1])))
            i += 3
        elif tok.type in ("bullet_list_open", "ordered_list_open"):
            i = _list(tokens, i, blocks)
        elif tok.type == "table_open":
            i = _table(tokens, i, blocks)
        else:
            i += 1
    return blocks


def _list(tokens: list[Token], i: int, blocks: list[Block]) -> int:
    ordered = tokens[i].type == "ordered_list_open"
    close = tokens[i].type.replace("_open", "_close")
    items: list[Inlines] = []
    depth = 0
    i += 1
    while i < len(tokens) and not (tokens[i].type == close and depth == 0):
        tok = tokens[i]
        if tok.type.endswith("_list_open"):
            depth += 1
        elif tok.type.endswith("_list_close"):
            depth -= 1
        elif tok.type == "inline":
            box = _BOX.match(tok.content)
            if box:
                if items:
                    blocks.append(ListBlock(tuple(items), ordered))
                    items = []
                blocks.append(Checkbox(box.group(1), _strip_box(_inlines(tok), box)))
            else:
                items.append(_inlines(tok))
        i += 1
    if items:
        blocks.append(ListBlock(tuple(items), ordered))
    return i + 1


def _table(tokens: list[Token], i: int, blocks: list[Block]) -> int:
    header: list[Inlines] = []
    rows: list[tuple[Inlines, ...]] = []
    row: list[Inlines] = []
    in_head = False
    while tokens[i].type != "table_close":
        tok = tokens[i]
        if tok.type == "thead_open":
            in_head = True
        elif tok.type == "thead_close":
            in_head = False
        elif tok.type == "tr_open":
            row = []
        elif tok.type == "tr_close":
            if in_head:
                header = row
            else:
                rows.append(tuple(row))
        elif tok.type == "inline":
            row.append(_inlines(tok))
        i += 1
    has_header = any(plain(c).strip() for c in header)
    blocks.append(Table(tuple(header) if has_header else None, tuple(rows)))
    return i + 1
