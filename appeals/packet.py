"""One packet per appeal: compose its documents, render DOCX and PDF, write the folder atomically.

The folder `<claim_id>-<line_number>/` (the appeal's first line) holds the letters, the clinician
checklist (fillable PDF) and packet.json, which records what was decided and printed, with each file's sha256. packet.json
carries claim ids and codes, never patient names, member ids or dates of birth.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from appeals import __version__
from appeals.appeal import Appeal, line_of, single
from appeals.classify import classify
from appeals.compose.letters import CHECKLIST, Composed, compose
from appeals.law import LawResult, law_for
from appeals.lint import Problem, readiness
from appeals.models import Classification, DenialRecord
from appeals.render.docx import to_docx
from appeals.render.pdf import to_pdf
from appeals.settings import SETTINGS_ERRORS, Settings

__all__ = ["SETTINGS_ERRORS", "Packet", "Settings", "build", "make_packet", "write"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def folder_name(record: DenialRecord) -> str:
    return f"{_UNSAFE.sub('_', record.claim_id)[:80]}-{record.line_number}"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    """Temp file in the same folder, then rename: a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


@dataclass
class Packet:
    record: DenialRecord
    classification: Classification
    law: LawResult
    composed: Composed
    files: dict[str, bytes]
    summary: dict


@dataclass(frozen=True)
class Built:
    """What the worklist and the case store keep of a built packet (from its packet.json): the
    checklist's due date, how many of its items are unanswered, why it is not ready yet (empty =
    ready) and the worklist's words for that."""

    checklist_due: date | None
    checklist_open: int
    problems: tuple[str, ...]
    words: str

    @property
    def ready(self) -> bool:
        return not self.problems


def state(summary: dict) -> Built:
    """A packet's `Built`, read from its packet.json (written by this run or kept from one)."""
    due = summary.get("checklist_due")
    problems = summary.get("readiness")
    if problems is None:
        problems = ["not checked: built before the readiness checks (rebuild with --force)"]
    words = summary.get("readiness_words") or (
        "ready" if not problems else "draft: " + "; ".join(problems))
    return Built(date.fromisoformat(due) if due else None,
                 len(summary.get("checklist_open", [None])), tuple(problems), words)


def readiness_words(problems: list[Problem]) -> str:
    """The worklist's readiness cell: "ready", or "draft: " and why, in short (the placeholders
    of all the documents as one count)."""
    if not problems:
        return "ready"
    left = sum(p.placeholders for p in problems)
    other = [p.text for p in problems if not p.placeholders]
    return "draft: " + "; ".join(([f"{left} placeholders left"] if left else []) + other)


def needs_packet(classification: Classification) -> bool:
    return classification.action.value != "no_action"


def build(record: DenialRecord, settings: Settings, classification: Classification | None = None,
          law: LawResult | None = None, timings: dict[str, float] | None = None) -> Packet:
    """One record's packet, as an appeal of its own (`make_packet` for an appeal of several)."""
    record = settings.enrich(record)
    classification = classification or classify(record, settings.rules)
    law = law or law_for(record, settings.registry, as_of=settings.as_of)
    return make_packet(single(line_of(record, classification, law, settings.rules.table)),
                       settings, timings=timings)


def make_packet(appeal: Appeal, settings: Settings,
                timings: dict[str, float] | None = None) -> Packet:
    """Compose and render one appeal's packet in memory (nothing is written): one letter, one
    letter of medical necessity and one checklist for all its lines. The one function behind
    `appeals run`, `appeals packet` and the review desk's rebuild.

    `timings`, when given, collects seconds spent in compose, docx and pdf (for the benchmark).
    """
    clock = timings if timings is not None else {}
    start = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal start
        now = time.perf_counter()
        clock[stage] = clock.get(stage, 0.0) + now - start
        start = now

    record, classification, law = (appeal.first.record, appeal.first.classification,
                                   appeal.lead.law)
    many = len(appeal.lines) > 1
    payer = settings.payer_for(record)
    facts = settings.facts_for(record)
    composed = compose(record, classification, law, as_of=settings.as_of, org=settings.org,
                       payer=payer, facts=facts,
                       templates=settings.templates, checklists=settings.checklists,
                       registry=settings.registry, codes=settings.rules.table,
                       services=appeal.records if many else None,
                       deadlines_differ=appeal.deadlines_differ, due_by=appeal.checklist_due,
                       precedent=appeal.precedent)
    lap("compose")
    files: dict[str, bytes] = {}
    for doc in composed.documents:
        files[f"{doc.kind}.docx"] = to_docx(doc, settings.templates)
        lap("docx")
        files[f"{doc.kind}.pdf"] = to_pdf(doc, settings.templates, forms=doc.kind == CHECKLIST)
        lap("pdf")
    reg = settings.registry
    summary = {
        "claim_id": record.claim_id, "line_number": record.line_number,
        "as_of": settings.as_of.isoformat(),
        "classification": classification.model_dump(mode="json"),
        "plan": law.plan, "appeal_name": law.appeal_name, "urgent": law.urgent,
        "parity": law.parity.model_dump(mode="json"),
        "letter_types": composed.letter_types,
        "citations_printed": [{"id": cid, "cite": reg.get(cid).cite,
                               "verification": reg.get(cid).verification}
                              for cid in composed.citations_printed],
        "deadlines": [d.model_dump(mode="json") for d in law.deadlines],
        "checklist_items": [i.id for i in composed.checklist_items],
        "checklist_open": [i.id for i in composed.checklist_items
                           if not (facts.get(i.id) or "").strip()],
        "checklist_due": composed.checklist_due.isoformat() if composed.checklist_due else None,
        "billing_tasks": [i.id for i in composed.billing_items],
        "placeholders": composed.placeholders,
        "filing": composed.filing.state if composed.filing else None,
        "biller_notes": composed.notes,
        "citations_by_claim": composed.claims,
        "versions": {"appeals": __version__, "registry": reg.version},
        "files": [{"name": name, "sha256": sha256(data)} for name, data in sorted(files.items())],
    }
    if appeal.precedent is not None:  # the decided reviews the letter was given (appeals/precedent)
        summary["precedent"] = {**appeal.precedent.model_dump(mode="json", exclude={"quotes"}),
                                "quotes": [ref for ref, _ in appeal.precedent.quotes]}
    if many:  # a single line's packet.json has no appeal keys: its documents are as they were
        summary["appeal"] = appeal.key
        summary["lines"] = [{"claim_id": ln.record.claim_id, "line_number": ln.record.line_number,
                             "service_date": ln.record.service_date.isoformat()
                             if ln.record.service_date else None,
                             "cpt_code": ln.record.cpt_code, "billed": str(
                                 ln.record.billed_amount or 0), "denied": str(ln.at_stake),
                             "deadline": ln.deadline.isoformat() if ln.deadline else None}
                            for ln in appeal.lines]
        summary["deadline_is"] = "the earliest of the lines' deadlines"
    # Draft or ready: the checks `appeals lint` makes on the files, on the composed words here.
    problems = readiness(summary, {d.kind: d.text() for d in composed.documents}, settings.as_of)
    summary["readiness"] = [p.text for p in problems]
    summary["readiness_words"] = readiness_words(problems)
    return Packet(record, classification, law, composed, files, summary)


def file_hashes(packet: Packet, folder: Path) -> dict[str, str]:
    """sha256 of each file of the packet written in `folder`, packet.json as written there."""
    hashes = {f["name"]: f["sha256"] for f in packet.summary["files"]}
    hashes["packet.json"] = sha256((folder / "packet.json").read_bytes())
    return hashes


@dataclass(frozen=True)
class Stored:
    """What the case store keeps of a packet: where it is, its hashes and versions, its `Built`
    state and whether its letter argues parity (`Appeal.parity_section`: approved before it is
    sent)."""

    path: str
    hashes: dict[str, str]
    version: str
    built: Built
    parity: bool = False


def stored(folder: Path, hashes: dict[str, str], built: Built, versions: dict,
           parity: bool = False) -> Stored:
    return Stored(str(folder.resolve()), hashes,
                  f"appeals {versions['appeals']}, registry {versions['registry']}", built, parity)


def write(packet: Packet, out: Path, name: str | None = None) -> Path:
    """Write the packet folder atomically: built beside the target, then renamed into place."""
    out.mkdir(parents=True, exist_ok=True)
    final = out / (name or folder_name(packet.record))
    tmp = out / f".{final.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    for file_name, data in packet.files.items():
        (tmp / file_name).write_bytes(data)
    (tmp / "packet.json").write_text(json.dumps(packet.summary, indent=2, sort_keys=True) + "\n",
                                     encoding="utf-8")
    old = out / f".{final.name}.old-{os.getpid()}"
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    if old.exists():
        shutil.rmtree(old)
    return final
