"""One packet per denial: compose its documents, render DOCX and PDF, write the folder atomically.

The folder `<claim_id>-<line_number>/` holds the letters, the clinician checklist (fillable PDF)
and packet.json, which records what was decided and printed, with each file's sha256. packet.json
carries claim ids and codes, never patient names, member ids or dates of birth.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from appeals import __version__
from appeals.classify import Rules, RulesError, classify, load_rules
from appeals.compose.checklists import ChecklistError, load_items
from appeals.compose.letters import CHECKLIST, Composed, compose
from appeals.compose.settings import (
    Org,
    Payer,
    SettingsError,
    load_facts,
    load_org,
    load_payers,
    payer_for,
    with_plan_facts,
)
from appeals.law import LawResult, Registry, RegistryError, law_for, load_registry
from appeals.lint import readiness
from appeals.models import Classification, DenialRecord
from appeals.render.docx import to_docx
from appeals.render.pdf import to_pdf

#: What Settings.load raises for a malformed user file.
SETTINGS_ERRORS = (RulesError, RegistryError, SettingsError, ChecklistError)
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
class Settings:
    """Everything a packet depends on besides the record; load once per run."""

    rules: Rules = field(default_factory=load_rules)
    registry: Registry = field(default_factory=load_registry)
    org: Org = field(default_factory=Org)
    payers: dict[str, Payer] = field(default_factory=dict)
    facts: dict[str, dict[str, str]] = field(default_factory=dict)
    templates: Path | None = None
    checklists: Path | None = None
    as_of: date = field(default_factory=date.today)

    @classmethod
    def load(cls, *, rules: Path | None = None, registry: Path | None = None,
             org: Path | None = None, payers: Path | None = None, facts: Path | None = None,
             templates: Path | None = None, as_of: date | None = None) -> Settings:
        """Settings from the user's files (None: built-in). Raises one of SETTINGS_ERRORS,
        whose message names the file and the entry."""
        if templates is not None and not templates.is_dir():
            raise SettingsError(f"--templates: {templates} is not a folder")
        checklists = templates / "checklists" if templates and (
            templates / "checklists").is_dir() else None
        items = load_items(checklists)  # fail now, not on the first packet
        return cls(rules=load_rules(rules), registry=load_registry(registry), org=load_org(org),
                   payers=load_payers(payers), facts=load_facts(facts, {i.id for i in items}),
                   templates=templates,
                   checklists=checklists, as_of=as_of or date.today())

    def payer_for(self, record: DenialRecord) -> Payer | None:
        return payer_for(record, self.payers)

    def enrich(self, record: DenialRecord) -> DenialRecord:
        return with_plan_facts(record, self.payer_for(record))

    def facts_for(self, record: DenialRecord) -> dict[str, str]:
        return {**self.facts.get(record.claim_id, {}),
                **self.facts.get(f"{record.claim_id}-{record.line_number}", {})}


@dataclass
class Packet:
    record: DenialRecord
    classification: Classification
    law: LawResult
    composed: Composed
    files: dict[str, bytes]
    summary: dict


def state(summary: dict) -> dict:
    """What the worklist and the case store keep of a built packet's packet.json: the checklist's
    due date, how many of its items are unanswered, and why it is not ready yet ([] = ready)."""
    unchecked = ["not checked: built before the readiness checks (rebuild with --force)"]
    return {"checklist_due": summary.get("checklist_due") or "",
            "checklist_open": len(summary.get("checklist_open", [None])),
            "readiness": summary.get("readiness", unchecked)}


def readiness_words(problems: list[str]) -> str:
    """The worklist's readiness cell: "ready", or "draft: " and why, in short."""
    if not problems:
        return "ready"
    left = sum(int(p.split(": ", 1)[1].split(" ", 1)[0]) for p in problems
               if "placeholder(s) left" in p)
    other = [p for p in problems if "placeholder(s) left" not in p]
    return "draft: " + "; ".join(([f"{left} placeholders left"] if left else []) + other)


def needs_packet(classification: Classification) -> bool:
    return classification.action.value != "no_action"


def build(record: DenialRecord, settings: Settings, classification: Classification | None = None,
          law: LawResult | None = None, timings: dict[str, float] | None = None) -> Packet:
    """Compose and render one record's packet in memory (nothing is written).

    `timings`, when given, collects seconds spent in compose, docx and pdf (for the benchmark).
    """
    clock = timings if timings is not None else {}
    start = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal start
        now = time.perf_counter()
        clock[stage] = clock.get(stage, 0.0) + now - start
        start = now

    record = settings.enrich(record)
    classification = classification or classify(record, settings.rules)
    law = law or law_for(record, settings.registry, as_of=settings.as_of)
    payer = settings.payer_for(record)
    facts = settings.facts_for(record)
    composed = compose(record, classification, law, as_of=settings.as_of, org=settings.org,
                       payer=payer, facts=facts,
                       templates=settings.templates, checklists=settings.checklists,
                       registry=settings.registry, codes=settings.rules.table)
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
    # Draft or ready: the checks `appeals lint` makes on the files, on the composed words here.
    summary["readiness"] = readiness(summary, {d.kind: d.text() for d in composed.documents},
                                     settings.as_of)
    return Packet(record, classification, law, composed, files, summary)


def file_hashes(packet: Packet, folder: Path) -> dict[str, str]:
    """sha256 of each file of the packet written in `folder`, packet.json as written there."""
    hashes = {f["name"]: f["sha256"] for f in packet.summary["files"]}
    hashes["packet.json"] = sha256((folder / "packet.json").read_bytes())
    return hashes


def stored(folder: Path, hashes: dict[str, str], built: dict, versions: dict) -> dict:
    """What the case store keeps of a packet: where it is, its hashes and versions, whether the
    clinician's answers are still missing and whether it is ready to send (`built`: state())."""
    return {"path": str(folder.resolve()), "hashes": hashes,
            "version": f"appeals {versions['appeals']}, registry {versions['registry']}",
            "checklist_due": built["checklist_due"], "checklist_open": built["checklist_open"],
            "ready": not built["readiness"]}


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
