"""What a run's output was made from: fingerprints of inputs, data and settings, and the resume check.

The manifest records `versions()`; a packet records `packet_key()`, and `unchanged()` decides on a
re-run whether its folder can be kept. Any change to what a packet is made from changes its key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from appeals import __version__
from appeals.compose.checklists import checklist_folders
from appeals.compose.letters import checklist_due
from appeals.compose.markup import builtin_templates
from appeals.intake import file_sha256
from appeals.law.registry import default_path as builtin_registry_path
from appeals.packet import sha256
from appeals.settings import RunConfig, Settings

if TYPE_CHECKING:
    from appeals.appeal import Appeal


def fingerprint(paths: Iterable[Path | None]) -> str:
    """One sha256 over the names and contents of files and folders (cache folders skipped)."""
    digest = hashlib.sha256()
    for root in paths:
        if root is None or not root.exists():
            continue
        files = [root] if root.is_file() else sorted(
            p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
            and not p.name.startswith("."))
        for f in files:
            digest.update(f"{f.relative_to(root) if f != root else f.name}\0"
                          f"{file_sha256(f)}\n".encode())
    return digest.hexdigest()


def versions(config: RunConfig, settings: Settings) -> dict[str, str]:
    """What the output depends on besides the input: the manifest records it, resume compares it."""
    data = Path(str(resources.files("appeals.data")))
    return {
        "appeals": __version__,
        "registry": settings.registry.version,
        "registry_sha256": fingerprint([config.registry or builtin_registry_path()]),
        "rules_sha256": fingerprint([data / "rules.yaml", data / "carc_rarc.csv", config.rules]),
        "limit_types_sha256": fingerprint([data / "limit_types.yaml"]),
        "templates_sha256": fingerprint([builtin_templates(), config.templates]),
        "checklists_sha256": fingerprint(checklist_folders(settings.checklists)),
        "priority_sha256": fingerprint([config.priority or data / "priority.yaml"]),
        "settings_sha256": fingerprint([config.org, config.payers]),
        "facts_sha256": fingerprint([config.facts]),
    }


def packet_key(appeal: Appeal, settings: Settings, stamp: dict[str, str]) -> str:
    """Everything a packet is made from; an unchanged key means an unchanged packet. A single
    line's key is what it always was (its packet is the same), an appeal of several adds the
    other lines."""
    first = appeal.first
    payload = {"record": first.record.model_dump(mode="json", exclude={"source", "location"}),
               "classification": first.classification.model_dump(mode="json"),
               "facts": settings.facts_for(first.record), "as_of": settings.as_of.isoformat(),
               "versions": {k: v for k, v in stamp.items() if k != "facts_sha256"}}
    natural = checklist_due(appeal.lead.law, settings.as_of, settings.org.checklist_lead_days)
    if appeal.checklist_due is not None and appeal.checklist_due < natural:
        # the store's earlier due date is what the checklist prints (compose takes the earlier)
        payload["checklist_due"] = appeal.checklist_due.isoformat()
    if appeal.precedent is not None:
        payload["precedent"] = appeal.precedent.model_dump(mode="json")
    if len(appeal.lines) > 1:
        payload["lines"] = [[ln.record.model_dump(mode="json", exclude={"source", "location"}),
                             ln.classification.model_dump(mode="json")]
                            for ln in appeal.lines[1:]]
    return sha256(json.dumps(payload, sort_keys=True).encode())


def unchanged(folder: Path, key: str) -> tuple[dict[str, str], dict] | None:
    """(file hashes, packet.json) of a complete packet built from `key`, or None (missing,
    built from other inputs, or a file changed since)."""
    try:
        summary = json.loads((folder / "packet.json").read_text(encoding="utf-8"))
        if summary.get("input_key") != key:
            return None
        hashes = {f["name"]: f["sha256"] for f in summary["files"]}
        if any(file_sha256(folder / n) != h for n, h in hashes.items()):
            return None
        hashes["packet.json"] = file_sha256(folder / "packet.json")
        return hashes, summary
    except (OSError, ValueError, KeyError, TypeError):
        return None
