"""A built-in data file with a reviewer's file laid over it: the one way the rules files
(classification rules, scrub edits) are read, so they merge alike and fail alike."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from appeals.models import validation_problem
from appeals.yamltext import parse_yaml


def builtin(name: str) -> dict:
    """appeals/data/<name>, parsed."""
    return parse_yaml(resources.files("appeals.data").joinpath(name)
                          .read_text(encoding="utf-8")) or {}


def user_file(path: Path, error: type[Exception], shape: str) -> dict:
    """A reviewer's YAML mapping; `error` names the file and what is wrong with it."""
    try:
        data = parse_yaml(Path(path).read_text(encoding="utf-8-sig")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise error(f"{path}: cannot read: {exc}") from None
    if not isinstance(data, dict):
        raise error(f"{path}: {shape}")
    return data


def by_id(base: list, override: list | None) -> list:
    """Entries laid over entries: the same id takes the override's fields over the base's, a
    new one is added (a malformed one too, for validation to name)."""
    merged = {e["id"]: e for e in base if isinstance(e, dict)}
    for entry in override or []:
        key = entry.get("id", f"user-{len(merged)}") if isinstance(entry, dict) \
            else f"user-{len(merged)}"
        merged[key] = {**merged[key], **entry} if isinstance(entry, dict) and key in merged \
            else entry
    return list(merged.values())


M = TypeVar("M", bound=BaseModel)


def data_model(model: type[M], name: str, error: type[Exception], path: Path | None = None) -> M:
    """appeals/data/<name> (or the reviewer's own `path` in its place) validated into `model`;
    `error`'s message names the file and the field."""
    source = path or resources.files("appeals.data").joinpath(name)
    shown = str(path or f"appeals/data/{name}")
    try:
        return model.model_validate(parse_yaml(source.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise error(f"{shown}: {exc}") from None
    except ValidationError as exc:
        raise error(f"{shown}: {validation_problem(exc)}") from None
