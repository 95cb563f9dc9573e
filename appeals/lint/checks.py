"""The checks, on the files as they are now (a biller may have edited a DOCX since):

- no `[CLINICIAN: ...]` or `[BILLER: ...]` placeholder left in a document that goes out;
- every citation-like string (`N C.F.R. § ...`, `N U.S.C. § ...`, `Pub. L. ...`) one the
  citation gate printed for this plan (packet.json `citations_printed`): a citation typed in by
  hand is not one the registry verified;
- the first-level filing deadline printed in the appeal letter, and not passed;
- the claim on every page and in every file, and no other case's claim id in them;
- the DOCX and the PDF of each document saying the same words.

Documents that never leave the practice (the clinician checklist, the biller's cover sheet) are
not checked for placeholders: they are where placeholders are listed.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from docx import Document

from appeals.compose.checklists import ATTESTATION
from appeals.compose.letters import CHECKLIST, when
from appeals.intake.pdf import page_texts
from appeals.render.html import CASE_MARK

PLACEHOLDER = re.compile(r"\[(CLINICIAN|BILLER):[^\]]*\]")
CITATION = re.compile(r"\b\d+\s+(?:C\.\s?F\.\s?R\.|U\.\s?S\.\s?C\.)\s*(?:§§?|Part|Parts)\s*"
                      r"[\w.\-–()]+|\bPub\.\s?L\.\s?(?:No\.\s?)?\d+-\d+")
PAGE = re.compile(r"Page\s*\d*\s*of\s*\d*")  # the footer's page fields (DOCX keeps no number)
LETTERS_NOT_SENT = ("clinician_checklist", "biller_cover")


@dataclass(frozen=True)
class Problem:
    """One reason a packet is not ready to send: its sentence, and how many placeholders it
    counts (the worklist sums them; nobody reads the count back out of the sentence)."""

    text: str
    placeholders: int = 0


def _squash(text: str) -> str:
    return " ".join(text.split())


def docx_text(doc) -> str:
    """Every paragraph of a DOCX (python-docx Document): header, body, tables and footer."""
    section = doc.sections[0]
    parts = [p.text for p in section.first_page_header.paragraphs]
    parts += [p.text for p in section.header.paragraphs]
    parts += [p.text for p in doc.paragraphs]
    parts += [c.text for t in doc.tables for row in t.rows for c in row.cells]
    parts += [p.text for p in section.footer.paragraphs]
    return "\n".join(parts)


def docx_patient(doc) -> str | None:
    """The patient a letter names: its facts table's "Patient" row, if it has one."""
    for table in doc.tables:
        for row in table.rows:
            cells = row.cells
            if len(cells) >= 2 and cells[0].text.strip() == "Patient":
                return " ".join(cells[1].text.split())
    return None


def _words(text: str) -> set[str]:
    text = PAGE.sub(" ", text)
    text = re.sub(r"(?m)^\s*\d+\.\s", " ", text)  # list numbers: Word numbers the list itself
    return set(re.findall(r"\w+", text))


def _cited(text: str, allowed: list[str]) -> list[str]:
    """Citation-like strings in `text` that are no part of a citation the gate printed."""
    printed = [_squash(c) for c in allowed]
    return sorted({_squash(m.group(0)).rstrip(".,;)") for m in CITATION.finditer(text)
                   if not any(_squash(m.group(0)).rstrip(".,;)") in c for c in printed)})


def text_problems(kind: str, text: str, allowed: list[str]) -> list[Problem]:
    """What the words of one document going out may not hold: placeholders, and citations the
    gate did not print. (The run applies this to the composed text; lint to the files.)"""
    if kind in LETTERS_NOT_SENT:
        return []
    found = []
    left = [m.group(0) for m in PLACEHOLDER.finditer(_squash(text))]
    if left:
        found.append(Problem(f"{len(left)} placeholder(s) left: "
                             + "; ".join(dict.fromkeys(left)), len(left)))
    found += [Problem(f"cites {cite!r}, which the citation gate did not print for this plan")
              for cite in _cited(text, allowed)]
    return found


def readiness(summary: dict, texts: dict[str, str], as_of: date) -> list[Problem]:
    """A packet's problems from its documents' words (kind -> text) and its packet.json:
    what `appeals run` records for every packet it builds ([] = ready to send)."""
    allowed = [c["cite"] for c in summary.get("citations_printed", [])]
    out = [Problem(f"{kind}: {p.text}", p.placeholders) for kind, text in sorted(texts.items())
           for p in text_problems(kind, text, allowed)]
    return out + [Problem(p) for p in _attestation(summary) + _deadline(summary, texts, as_of)]


def _attestation(summary: dict) -> list[str]:
    """The checklist asks for the clinician's attestation and it has not come back."""
    if ATTESTATION in summary.get("checklist_items", []) and ATTESTATION in summary.get(
            "checklist_open", [ATTESTATION]):
        return ["the clinician's attestation (name, credentials, license) is not in"]
    return []


def lint_packet(folder: Path, *, as_of: date, other_claims: frozenset[str] = frozenset()
                ) -> list[str]:
    """Every problem of one packet folder, one line each ("<file>: <what>"); [] means ready."""
    try:
        summary = json.loads((folder / "packet.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"{folder}: not a packet (packet.json: {exc})"]
    claim = str(summary["claim_id"])
    footer = f"claim {claim}, line {summary['line_number']}"
    allowed = [c["cite"] for c in summary.get("citations_printed", [])]
    problems: list[str] = []
    patients: dict[str, str] = {}
    kinds = sorted({p.stem for p in folder.iterdir() if p.suffix in (".docx", ".pdf")})
    texts: dict[str, str] = {}
    for kind in kinds:
        docx_path, pdf_path = folder / f"{kind}.docx", folder / f"{kind}.pdf"
        if not docx_path.exists() or not pdf_path.exists():
            problems.append(f"{folder / kind}: only one of the DOCX and the PDF is there")
            continue
        try:
            doc = Document(io.BytesIO(docx_path.read_bytes()))  # parsed once, read twice
            words_docx, patient = docx_text(doc), docx_patient(doc)
            pages = page_texts(pdf_path.read_bytes())
        except Exception as exc:  # noqa: BLE001 (a damaged file is a problem to report)
            problems.append(f"{folder / kind}: cannot be read ({type(exc).__name__})")
            continue
        words_pdf = "\n".join(pages)
        texts[kind] = words_pdf
        if patient is not None:
            patients[kind] = patient
        says = f"{CASE_MARK} {claim}-{summary['line_number']}" if kind == CHECKLIST else footer
        for n, page in enumerate(pages, 1):
            if says not in _squash(page):
                problems.append(f"{pdf_path}: page {n} does not say {says}")
        for name, text in ((docx_path, words_docx), (pdf_path, words_pdf)):
            if claim not in text:
                problems.append(f"{name}: does not name claim {claim}")
            for other in sorted(other_claims - {claim}):
                if re.search(rf"(?<![\w-]){re.escape(other)}(?![\w-])", text):
                    problems.append(f"{name}: names claim {other}, another case's")
            problems += [f"{name}: {p.text}" for p in text_problems(kind, text, allowed)]
        only_docx = _words(words_docx) - _words(words_pdf)
        only_pdf = _words(words_pdf) - _words(words_docx)
        if only_docx or only_pdf:
            problems.append(f"{folder / kind}: the DOCX and the PDF differ (only in the DOCX: "
                            f"{', '.join(sorted(only_docx)[:6]) or '-'}; only in the PDF: "
                            f"{', '.join(sorted(only_pdf)[:6]) or '-'})")
    if len(set(patients.values())) > 1:
        first = min(patients)  # named by document, never by the patient's name (PHI)
        odd = sorted(k for k, v in patients.items() if v != patients[first])
        problems.append(f"{folder}: the letters name different patients ({', '.join(odd)} "
                        f"differ from {first})")
    problems += [f"{folder}: {p}" for p in _attestation(summary) + _deadline(summary, texts,
                                                                             as_of)]
    return problems


def _deadline(summary: dict, texts: dict[str, str], as_of: date) -> list[str]:
    """The first-level window: printed in the appeal letter, and still open."""
    first = next((d for d in summary.get("deadlines", []) if d["level"] not in (
        "continuation_of_benefits", "expedited_internal_appeal", "expedited_external_review")),
        None)
    if first is None or not first.get("file_by") or "appeal_letter" not in texts:
        return []
    day = date.fromisoformat(first["file_by"])
    out = []
    if when(day) not in _squash(texts["appeal_letter"]):
        out.append(f"appeal_letter: the filing deadline {when(day)} is not printed")
    if day < as_of:
        out.append(f"the filing deadline {when(day)} has passed (as of {when(as_of)}): send it "
                   "with the good-cause request, or close the case")
    return out


def lint_folder(paths: list[Path], *, as_of: date) -> dict[Path, list[str]]:
    """Packets under `paths` (a packet folder, or a run's output or packets folder) -> their
    problems; claim ids of the other packets found are checked for, as text from another case."""
    folders: list[Path] = []
    for p in paths:
        if (p / "packet.json").is_file():
            folders.append(p)
        else:
            folders += sorted(f.parent for f in p.rglob("packet.json"))
    claims = {}
    for f in folders:
        try:
            claims[f] = str(json.loads((f / "packet.json").read_text(encoding="utf-8"))
                            ["claim_id"])
        except (OSError, ValueError, KeyError):
            claims[f] = ""
    everyone = frozenset(c for c in claims.values() if c)
    return {f: lint_packet(f, as_of=as_of, other_claims=everyone) for f in folders}
