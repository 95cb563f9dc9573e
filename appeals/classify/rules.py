"""The classification data: the CARC/RARC table and the rules file, loaded and validated.

Both are files a reviewer can read (`appeals/data/carc_rarc.csv`, `appeals/data/rules.yaml`);
a user rules file overrides entries by id (text and fact rules), by code (code rows) and by
name (categories). Any malformed entry is an error that names the file, the entry and the field.
"""

from __future__ import annotations

import csv
import re
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from appeals.classify.shorthand import Abbreviation, Shorthand
from appeals.models import Action, Category, LevelOfCare, Owner, validation_problem
from appeals.overlay import builtin, by_id
from appeals.overlay import user_file as read_user_file

NON_DENIAL = {"contractual", "patient_responsibility", "informational"}
CODE_CATEGORIES = {c.value for c in Category} - {"not_a_denial"} | NON_DENIAL


class RulesError(ValueError):
    """A rules or code-table file is malformed; the message names file, entry and field."""


class CodeRow(BaseModel):
    model_config = ConfigDict(extra="ignore")
    code_type: Literal["CARC", "RARC"]
    code: str
    short_meaning: str
    category: str
    action: str
    owner: str
    weight: float = Field(ge=0, le=3)
    source: str = ""

    @field_validator("category")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in CODE_CATEGORIES:
            raise ValueError(f"unknown category {v!r}")
        return v


class CategoryRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Action
    owner: Owner
    appealable: bool
    fix_now: str
    fix_cause: str


def _regex_or_none(v: str | None) -> str | None:
    if v is not None:
        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from exc
    return v


class TextRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    category: Category
    weight: float = Field(ge=0, le=3)
    pattern: str
    evidence: str
    payer: str | None = None
    # A fallback rule (a broad word list) is read only when no regular rule matched the text.
    fallback: bool = False
    # Rules read the reason with the payer's shorthand spelled out; a rule that also reads it as
    # written (a payer's own codes, "MH-12") says so. A user file's rules do unless they say not.
    as_written: bool = False

    _compiles = field_validator("pattern", "payer")(lambda cls, v: _regex_or_none(v))

    @cached_property
    def regex(self) -> re.Pattern[str]:
        return re.compile(self.pattern, re.IGNORECASE)

    @cached_property
    def payer_regex(self) -> re.Pattern[str] | None:
        return re.compile(self.payer, re.IGNORECASE) if self.payer else None


class FactCondition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    carc: list[str] | None = None
    category: Category | None = None
    level_of_care: list[LevelOfCare] | None = None
    cpt: list[str] | None = None
    auth: Literal["on_file_covering_service", "expired_before_service", "units_exceeded"] | None \
        = None
    payer: str | None = None  # regular expression on the payer name, as in text rules
    carc_not: list[str] | None = None  # none of these CARCs on the line
    text: str | None = None  # regular expression the payer's reason text must match
    text_not: str | None = None  # ... and must not match

    _compiles = field_validator("payer", "text", "text_not")(lambda cls, v: _regex_or_none(v))

    # Looked up for every record: built once.
    @cached_property
    def carc_set(self) -> frozenset[str] | None:
        return frozenset(self.carc) if self.carc is not None else None

    @cached_property
    def carc_not_set(self) -> frozenset[str]:
        return frozenset(self.carc_not or ())

    @cached_property
    def text_regex(self) -> re.Pattern[str] | None:
        return re.compile(self.text, re.IGNORECASE) if self.text else None

    @cached_property
    def text_not_regex(self) -> re.Pattern[str] | None:
        return re.compile(self.text_not, re.IGNORECASE) if self.text_not else None

    @cached_property
    def cpt_set(self) -> frozenset[str] | None:
        return frozenset(self.cpt) if self.cpt is not None else None

    @cached_property
    def payer_regex(self) -> re.Pattern[str] | None:
        return re.compile(self.payer, re.IGNORECASE) if self.payer else None


class FactRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    when: FactCondition
    category: Category
    weight: float = Field(ge=0, le=3)
    evidence: str
    action: Action | None = None
    owner: Owner | None = None


class Rules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = 1
    tie_margin: float = 0.05
    precedence: list[Category]
    categories: dict[Category, CategoryRule]
    text: list[TextRule]
    facts: list[FactRule] = Field(default_factory=list)
    codes: list[CodeRow] = Field(default_factory=list)
    table: dict[tuple[str, str], CodeRow] = Field(default_factory=dict, exclude=True)
    # A user file's own abbreviations; `reading` is the built-in table with them laid over it.
    shorthand: list[Abbreviation] = Field(default_factory=list)
    reading: Shorthand = Field(default_factory=Shorthand, exclude=True)
    # Payers repeat the same few reason texts and code sets; reading each once keeps a batch fast.
    _text_cache: dict = PrivateAttr(default_factory=dict)
    _code_cache: dict = PrivateAttr(default_factory=dict)
    _decisions: dict = PrivateAttr(default_factory=dict)

    @cached_property
    def rank(self) -> dict[str, int]:
        """Category value -> its place in the precedence list (ties go to the lower)."""
        return {c.value: i for i, c in enumerate(self.precedence)}

    @field_validator("categories")
    @classmethod
    def _all_categories(cls, v: dict) -> dict:
        missing = {c.value for c in Category} - {c.value for c in v}
        if missing:
            raise ValueError(f"missing categories: {', '.join(sorted(missing))}")
        return v

    def code(self, code_type: str, code: str) -> CodeRow | None:
        return self.table.get((code_type, code))


def _location(exc: ValidationError, data: dict) -> str:
    err = exc.errors()[0]
    loc = list(err["loc"])
    where = []
    node = data
    for part in loc:
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            entry = node[part]
            label = entry.get("id") or entry.get("code") if isinstance(entry, dict) else None
            where.append(f"[{label or part}]")
            node = entry
        else:
            where.append(f".{part}" if where else str(part))
            node = node.get(part) if isinstance(node, dict) else None
    return "".join(where) + ": " + str(err["msg"]).removeprefix("Value error, ")


@lru_cache(maxsize=4)
def load_code_table(path: Path | None = None) -> dict[tuple[str, str], CodeRow]:
    """The CARC/RARC table, read once per process (copy it before changing it)."""
    text = path.read_text(encoding="utf-8-sig") if path else (
        resources.files("appeals.data").joinpath("carc_rarc.csv").read_text(encoding="utf-8"))
    name = str(path or "appeals/data/carc_rarc.csv")
    table = {}
    for i, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        try:
            item = CodeRow.model_validate(row)
        except ValidationError as exc:
            raise RulesError(f"{name}: row {i} ({row.get('code_type')} {row.get('code')}): "
                             f"{validation_problem(exc)}") from None
        table[(item.code_type, item.code)] = item
    return table


@lru_cache(maxsize=1)
def load_shorthand() -> Shorthand:
    """The built-in payer shorthand table (appeals/data/shorthand.yaml)."""
    name = "appeals/data/shorthand.yaml"
    data = builtin("shorthand.yaml")
    wrapped = {"entries": data.get("shorthand", [])}
    try:
        return Shorthand.model_validate(wrapped)
    except ValidationError as exc:
        where = _location(exc, wrapped).removeprefix("entries")
        raise RulesError(f"{name}: shorthand{where}") from None


def _merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        if key in ("text", "facts"):
            merged[key] = by_id(merged.get(key, []), value)
        elif key == "categories":
            cats = dict(merged.get("categories", {}))
            for name, entry in (value or {}).items():
                cats[name] = {**cats.get(name, {}), **(entry or {})}
            merged[key] = cats
        elif key == "codes":
            merged[key] = list(merged.get("codes", [])) + list(value or [])
        else:
            merged[key] = value
    return merged


def load_rules(user_file: Path | None = None) -> Rules:
    """The built-in rules, with a user file's entries laid over them."""
    data = builtin("rules.yaml")
    name = "appeals/data/rules.yaml"
    if user_file is not None:
        name = str(user_file)
        user = read_user_file(user_file, RulesError, "a rules file is a mapping (text:, facts:, "
                                                     "...)")
        for entry in user.get("text") or []:
            if isinstance(entry, dict):
                entry.setdefault("as_written", True)
        data = _merge(data, user)
    try:
        rules = Rules.model_validate(data)
    except ValidationError as exc:
        raise RulesError(f"{name}: {_location(exc, data)}") from None
    rules.reading = load_shorthand().merged(rules.shorthand)
    rules.table = dict(load_code_table())
    for row in rules.codes:
        rules.table[(row.code_type, row.code)] = row
    return rules
