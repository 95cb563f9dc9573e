"""Practice settings (--org), the payer directory and clinicians' answers (--facts).

Missing settings never stop a packet: the letter prints a marked placeholder such as
`[BILLER: practice NPI]` so nothing goes out looking final.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class SettingsError(ValueError):
    """A settings file is unusable; the message names the file and the field."""


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


class PayerAddress(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    aliases: list[str] = Field(default_factory=list)
    department: str = "Appeals Department"
    address: list[str]
    fax: str | None = None


def _read(path: Path) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise SettingsError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: "
                            f"{exc}") from None


def _validate(model: type[BaseModel], raw: object, where: str):
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        e = exc.errors()[0]
        raise SettingsError(f"{where}: field '{'.'.join(map(str, e['loc']))}': {e['msg']}") from None


def load_org(path: Path | None) -> Org:
    if path is None:
        return Org()
    org = _validate(Org, _read(path) or {}, str(path))
    if org.logo is not None and not org.logo.is_absolute():
        org.logo = (path.parent / org.logo).resolve()
    if org.logo is not None and not org.logo.is_file():
        raise SettingsError(f"{path}: field 'logo': no image at {org.logo}")
    return org


def load_payers(path: Path | None) -> dict[str, PayerAddress]:
    """Payer directory: a YAML list of {name, aliases, department, address, fax}."""
    if path is None:
        return {}
    raw = _read(path)
    if not isinstance(raw, list):
        raise SettingsError(f"{path}: expected a list of payers")
    out: dict[str, PayerAddress] = {}
    for i, item in enumerate(raw):
        payer = _validate(PayerAddress, item, f"{path}: payer {i + 1}")
        for name in [payer.name, *payer.aliases]:
            out[name.strip().lower()] = payer
    return out


def load_facts(path: Path | None) -> dict[str, dict[str, str]]:
    """Clinicians' answers keyed by claim: {claim_id or claim_id-line: {item_id: text}}.

    A folder holds one file per claim (`<claim_id>.yaml` or `.json`, mapping item ids to text)."""
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
            out[str(claim)] = {str(k): str(v) for k, v in answers.items() if v is not None}
    return out
