"""Practice settings (--org), the payer directory and clinicians' answers (--facts).

Missing settings never stop a packet: the letter prints a marked placeholder such as
`[BILLER: practice NPI]` so nothing goes out looking final.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from appeals.models import PLAN_FIELDS, DenialRecord, PlanDetails, PlanType, validation_problem
from appeals.overlay import data_model
from appeals.yamltext import parse_yaml


class SettingsError(ValueError):
    """A settings file is unusable; the message names the file and the field."""


class SignInThrottle(BaseModel):
    """How the review desk slows repeated wrong passwords from one address: after `free` refused
    sign-ins within `window_minutes`, each next try waits `first_seconds`, doubling up to
    `longest_seconds` (a wait for that request, not a block: other requests go on)."""

    model_config = ConfigDict(extra="forbid")
    free: int = Field(2, ge=0, le=20)
    first_seconds: float = Field(1, ge=0, le=60)
    longest_seconds: float = Field(30, ge=0, le=600)
    window_minutes: int = Field(15, ge=1, le=1440)

    def wait(self, refused: int) -> float:
        """Seconds the next sign-in waits after `refused` refused ones in the window."""
        if refused < self.free:
            return 0.0
        return min(self.first_seconds * 2 ** (refused - self.free), self.longest_seconds)


class Org(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "[BILLER: practice name]"
    address: list[str] = Field(default_factory=lambda: ["[BILLER: practice address]"])
    phone: str = "[BILLER: phone]"
    fax: str | None = None
    email: str | None = None
    npi: str = "[BILLER: group NPI]"
    tax_id: str = "[BILLER: tax id]"
    signer_name: str = "[BILLER: signer name]"
    signer_title: str = "[BILLER: signer title]"
    logo: Path | None = None
    checklist_lead_days: int = Field(14, ge=0, le=120)
    # What one appeal covers: the denied lines of one claim that share a category (the default),
    # or of one episode of care across claims (appeals/data/grouping.yaml holds both rules).
    group_by: Literal["claim", "episode"] = "claim"
    # The person who approves a parity letter may not also mark it sent (a separation of duties
    # some compliance programs ask for).
    approver_not_sender: bool = False
    # What a run writes holds names and member ids: owner-only (folders 0700, files 0600) unless
    # the practice shares it with a group (folders 0750, files 0640).
    group_readable: bool = False
    sign_in_throttle: SignInThrottle = SignInThrottle()


class Payer(BaseModel):
    """A payer directory entry: where its appeals go and, where the practice knows it, which
    plans it administers (remittance lines carry no plan type; the directory supplies it)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    aliases: list[str] = Field(default_factory=list)
    department: str = "Appeals Department"
    address: list[str]
    fax: str | None = None
    # Whether the practice is under contract with this payer: it decides a Medicare Advantage
    # payment denial's route (contract dispute, or reconsideration with a waiver of liability).
    network: Literal["contracted", "non_contracted"] | None = None
    plan: PlanDetails | None = None  # every plan of this payer unless a group says otherwise
    groups: dict[str, PlanDetails] = Field(default_factory=dict)  # by group or policy number
    # The payer's own claim edits (appeals.scrub validates them): modifiers, limits, filing days.
    scrub: dict = Field(default_factory=dict)

    @field_validator("groups")
    @classmethod
    def _group_keys(cls, groups: dict[str, PlanDetails]) -> dict[str, PlanDetails]:
        return {group_key(k): v for k, v in groups.items()}

    def plan_for(self, group: str | None) -> tuple[PlanDetails, str] | None:
        """The plan facts for a group number (else the payer's own), with where they came from."""
        key = group_key(group or "")
        if key in self.groups:
            return self.groups[key], f"payer directory: {self.name}, group {key}"
        if self.plan is not None:
            return self.plan, f"payer directory: {self.name}"
        return None


def group_key(group: str) -> str:
    return group.strip().upper()


def _read(path: Path) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return json.loads(text) if path.suffix == ".json" else parse_yaml(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise SettingsError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: "
                            f"{exc}") from None


def _validate(model: type[BaseModel], raw: object, where: str):
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise SettingsError(f"{where}: {validation_problem(exc)}") from None


def load_org(path: Path | None) -> Org:
    if path is None:
        return Org()
    org = _validate(Org, _read(path) or {}, str(path))
    if org.logo is not None and not org.logo.is_absolute():
        org.logo = (path.parent / org.logo).resolve()
    if org.logo is not None and not org.logo.is_file():
        raise SettingsError(f"{path}: field 'logo': no image at {org.logo}")
    return org


def load_payers(path: Path | None) -> dict[str, Payer]:
    """Payer directory: a YAML list of {name, aliases, department, address, fax, plan, groups},
    keyed by every name and alias in lower case."""
    if path is None:
        return {}
    raw = _read(path)
    if not isinstance(raw, list):
        raise SettingsError(f"{path}: expected a list of payers")
    out: dict[str, Payer] = {}
    for i, item in enumerate(raw):
        payer = _validate(Payer, item, f"{path}: payer {i + 1}")
        for name in [payer.name, *payer.aliases]:
            out[name.strip().lower()] = payer
    return out


def payer_for(record: DenialRecord, payers: dict[str, Payer]) -> Payer | None:
    return payers.get((record.payer_name or "").strip().lower())


def with_plan_facts(record: DenialRecord, payer: Payer | None) -> DenialRecord:
    """The record with the plan facts it lacks taken from its payer's directory entry.

    The record's own values win; a directory plan type that contradicts the record's is a
    warning on the record. `extra.plan_facts_from` says where the facts came from."""
    found = payer.plan_for(record.extra.get("group_number")) if payer else None
    if found is None:
        return record
    details, source = found
    updates: dict = {}
    for name in PLAN_FIELDS:
        mine, theirs = getattr(record, name), getattr(details, name)
        if theirs in (None, PlanType.unknown):
            continue
        if mine in (None, PlanType.unknown):
            updates[name] = theirs
        elif name == "plan_type" and mine != theirs:
            warning = (f"plan_type: the record says {mine}, the {source} says {theirs}; "
                       "the record's is used")
            if warning not in record.warnings:  # enrichment may run twice on one record
                updates["warnings"] = [*record.warnings, warning]
    if any(name in updates for name in PLAN_FIELDS):
        updates["extra"] = {**record.extra, "plan_facts_from": source}
    if details.plan_administrator and not record.extra.get("plan_administrator"):
        updates["extra"] = {**updates.get("extra", record.extra),
                            "plan_administrator": details.plan_administrator}
    return record.model_copy(update=updates) if updates else record


class BillerFields(BaseModel):
    """appeals/data/biller_fields.yaml: the facts a biller gives per case, by id, with the label
    the letters' placeholder shows while one is missing."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_version: int
    fields: dict[str, str]

    @field_validator("fields")
    @classmethod
    def _ids(cls, fields: dict[str, str]) -> dict[str, str]:
        bad = [k for k in fields if not k.replace("_", "").isalnum() or k != k.lower()]
        if bad:
            raise ValueError(f"field ids are lower-case words joined by _: {', '.join(bad)}")
        return fields


@lru_cache(maxsize=4)
def load_biller_fields(path: Path | None = None) -> BillerFields:
    return data_model(BillerFields, "biller_fields.yaml", SettingsError, path)


def network_of(record: DenialRecord, payer: Payer | None) -> str | None:
    """contracted | non_contracted | None: the record's network_status column, else the payer
    directory's `network`."""
    return record.network_status or (payer.network if payer else None)


def load_facts(path: Path | None, known: set[str] | None = None) -> dict[str, dict[str, str]]:
    """Clinicians' answers keyed by claim: {claim_id or claim_id-line: {item_id: text}}.

    A folder holds one file per claim (`<claim_id>.yaml` or `.json`, mapping item ids to text).
    With `known` (the checklist's item ids and the biller fields), an answer under any other id is
    an error naming the file, the claim and the id: a mistyped id would otherwise drop it."""
    if path is None:
        return {}
    files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml", ".json")) \
        if path.is_dir() else [path]
    out: dict[str, dict[str, str]] = {}
    for f in files:
        raw = _read(f) or {}
        if not isinstance(raw, dict):
            raise SettingsError(f"{f}: expected a mapping")
        if path.is_dir():
            raw = {f.stem: raw}
        for claim, answers in raw.items():
            if not isinstance(answers, dict):
                raise SettingsError(f"{f}: claim {claim!r}: expected item ids mapped to text")
            unknown = sorted(str(k) for k in answers if known is not None and str(k) not in known)
            if unknown:
                raise SettingsError(f"{f}: claim {claim!r}: unknown item id "
                                    f"{', '.join(map(repr, unknown))} (the known ids: "
                                    f"{', '.join(sorted(known))})")
            out[str(claim)] = {str(k): str(v) for k, v in answers.items() if v is not None}
    return out
