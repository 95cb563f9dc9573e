"""Jinja2 environment for letter and checklist templates, and escaping for the Markdown they make.

Every `{{ value }}` passes through `finalize`, which escapes it for Markdown unless the value is
`Md` (markup built by our own code from escaped parts). So a denial reason holding `**`, `[x](y)`,
`<script>`, `&amp;` or `{{ 7*7 }}` prints literally. Templates always run in the sandbox; a user
folder given with --templates overrides single files of the built-in one.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

_PUNCT = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>&~\"'=:;@$%^?,/])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_SPACE = re.compile(r"[ \t\r\n]+")


class Md(str):
    """A string that is already Markdown: finalize passes it through untouched."""


def md_escape(value: object) -> str:
    """Literal text for Markdown: control characters dropped, line breaks folded, every ASCII
    punctuation mark backslash-escaped (CommonMark's rule: an escaped mark is always literal)."""
    if value is None:
        return ""
    if isinstance(value, Md):
        return value
    text = _CONTROL.sub("", str(value))
    text = _SPACE.sub(" ", text).strip()
    return _PUNCT.sub(r"\\\1", text)


def builtin_templates() -> Path:
    """The packaged letter_templates folder (the repository's top-level folder in a checkout)."""
    here = Path(str(resources.files("appeals")))
    packaged = here / "letter_templates"
    return packaged if packaged.is_dir() else here.parent / "letter_templates"


def template_file(name: str, user_folder: Path | None = None) -> Path:
    """A non-Jinja file of the template set (style.css, reference.docx): the user's copy wins."""
    user = user_folder / name if user_folder else None
    return user if user and user.is_file() else builtin_templates() / name


@lru_cache(maxsize=8)
def environment(user_folder: Path | None = None) -> ImmutableSandboxedEnvironment:
    """One environment per template folder and process: Jinja compiles each template once
    (re-compiling them made up most of a letter's compose time)."""
    loaders = [FileSystemLoader(str(user_folder))] if user_folder else []
    loaders.append(FileSystemLoader(str(builtin_templates())))
    env = ImmutableSandboxedEnvironment(
        loader=ChoiceLoader(loaders), undefined=StrictUndefined, autoescape=False,
        finalize=md_escape, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["md"] = md_escape
    return env
