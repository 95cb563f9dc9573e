"""Payer shorthand ("NMN", "MBR TERM'D", "TFL") read as words before the wording rules run.

The table is data (appeals/data/shorthand.yaml). Expanding keeps where each expansion landed,
so a decision's evidence names exactly the shorthand it rested on and nothing else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Abbreviation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    short: list[str] = Field(min_length=1)
    means: str = Field(min_length=1)
    # Only the capitalised form is shorthand: "TERM" is, "long-term" is not.
    caps_only: bool = False

    @field_validator("short")
    @classmethod
    def _forms(cls, v: list[str]) -> list[str]:
        forms = [f.strip() for f in v]
        if any(not f for f in forms):
            raise ValueError("an empty shorthand form")
        return forms


@dataclass(frozen=True)
class Expansion:
    short: str  # as the payer wrote it
    means: str
    start: int  # where the expansion stands in the expanded text
    end: int

    def __str__(self) -> str:
        return f'"{self.short}" read as "{self.means}"'


class Shorthand(BaseModel):
    """The table, compiled to one pattern (longest form first, whole words only)."""

    model_config = ConfigDict(extra="forbid")
    entries: list[Abbreviation] = Field(default_factory=list)

    @cached_property
    def _lookup(self) -> tuple[dict[str, str], dict[str, str]]:
        anycase, caps = {}, {}
        for entry in self.entries:
            for form in entry.short:
                (caps if entry.caps_only else anycase)[form.upper()] = entry.means
        return anycase, caps

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        anycase, caps = self._lookup
        forms = sorted({*anycase, *caps}, key=lambda f: (-len(f), f))
        if not forms:
            return None
        # A form ending in a letter or digit must not run on into a word or a hyphenated code
        # ("BH-7" is a policy number, not behavioral health); "W/" may.
        alternatives = "|".join(re.escape(f) + (r"(?![\w'-])" if f[-1].isalnum() else "")
                                for f in forms)
        return re.compile(rf"(?<![\w'-])(?:{alternatives})", re.IGNORECASE)

    def expand(self, text: str) -> tuple[str, tuple[Expansion, ...]]:
        """The text with its shorthand spelled out, and where each expansion stands."""
        pattern = self._pattern
        if pattern is None:
            return text, ()
        anycase, caps = self._lookup
        parts: list[str] = []
        found: list[Expansion] = []
        at = length = 0
        for match in pattern.finditer(text):
            written = match.group(0)
            means = anycase.get(written.upper())
            if means is None and written.isupper():
                means = caps.get(written.upper())
            if means is None:
                continue
            before = text[at:match.start()]
            parts += [before, means]
            length += len(before)
            found.append(Expansion(written, means, length, length + len(means)))
            length += len(means)
            at = match.end()
        if not found:
            return text, ()
        parts.append(text[at:])
        return "".join(parts), tuple(found)

    def merged(self, extra: list[Abbreviation]) -> Shorthand:
        """A user's entries laid over these: the same form takes the user's meaning."""
        taken = {f.upper() for e in extra for f in e.short}
        kept = []
        for entry in self.entries:
            forms = [f for f in entry.short if f.upper() not in taken]
            if forms:
                kept.append(entry.model_copy(update={"short": forms}))
        return Shorthand(entries=[*extra, *kept])
