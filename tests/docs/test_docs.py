"""The README and docs/ are the manual: every `appeals` command they show is a real command with
real options (checked against the CLI itself), the README stays a front door, and the site
builds without a broken link."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from conftest import ROOT, needs

from appeals.cli import app

# docs/index.md is the README, written by scripts/docs_index.py for the site
PAGES = [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").glob("*.md")
                                     if p.name != "index.md")]
FENCE = re.compile(r"^```[a-z]*\n(.*?)^```", re.DOTALL | re.MULTILINE)


def examples(text: str) -> list[str]:
    """The `appeals` command lines of a page's code blocks, continuation lines joined (a line
    ending in a backslash, or an indented line under a command)."""
    out: list[str] = []
    joining = False
    for block in FENCE.findall(text):
        for raw in block.splitlines():
            line = raw.split("  # ")[0].rstrip()
            if out and (joining or (raw.startswith(" ") and line.strip() and out[-1])):
                if out[-1]:
                    out[-1] += " " + line.strip().rstrip("\\").strip()
                joining = line.endswith("\\")
                continue
            words = line.split()
            command = bool(words) and words[0].rsplit("/", 1)[-1] == "appeals"
            out.append(" ".join(["appeals", *words[1:]]).rstrip("\\").strip()
                       if command else "")
            joining = command and line.endswith("\\")
        joining = False
    return [e for e in out if e]


def resolve(words: list[str]) -> tuple[Any, list[str]]:
    """The command a line names (through its groups), and the words after it."""
    command = typer.main.get_command(app)
    rest = list(words)
    while hasattr(command, "commands") and rest and rest[0] in command.commands:
        command = command.commands[rest.pop(0)]
    return command, rest


def options_of(command: Any) -> set[str]:
    return {o for p in command.params for o in getattr(p, "opts", [])} | {"--help"}


ALL = [(page.name, line) for page in PAGES for line in examples(page.read_text("utf-8"))]


def test_the_pages_show_commands_at_all() -> None:
    pages = {page for page, _ in ALL}
    assert {"README.md", "commands.md", "precedent.md"} <= pages and len(ALL) > 40


@pytest.mark.parametrize("page,line", ALL)
def test_every_command_shown_is_a_command_with_those_options(page: str, line: str) -> None:
    words = line.split()[1:]
    root = typer.main.get_command(app)
    segments, group = [words], root
    if "|" in words:  # `appeals users list | disable NAME`: each alternative its own command
        first, _ = resolve(words)
        parent = next((c for c in [root, *root.commands.values()]
                       if hasattr(c, "commands") and first in c.commands.values()), root)
        if parent is not root:
            group = parent
            head = words[:words.index(next(w for w in words if w in parent.commands))]
            segments = [head + s.split() for s in " ".join(words[len(head):]).split(" | ")
                        if s.split() and s.split()[0] in parent.commands] or [words]
    for segment in segments:
        command, rest = resolve(segment)
        assert command is not root and command is not group or not rest, f"{page}: {line}"
        given = {re.sub(r"[\]\[,.;:)]+$", "", w).split("=")[0] for w in rest
                 if w.lstrip("[").startswith("--")}
        given = {w.lstrip("[") for w in given}
        unknown = given - options_of(command)
        assert not unknown, f"{page}: `{line}`: {sorted(unknown)} not options of {command.name}"


def test_the_readme_is_a_front_door() -> None:
    text = (ROOT / "README.md").read_text("utf-8")
    assert len(text.splitlines()) < 250
    for heading in ("## Two commands", "## Your own data in five steps",
                    "## Which file of a packet goes to whom", "## Where to go next"):
        assert heading in text
    linked = set(re.findall(r"\]\(docs/([a-z-]+\.md)\)", text))
    assert linked == {p.name for p in (ROOT / "docs").glob("*.md")} - {"index.md"}


def test_the_site_builds_with_no_broken_link(tmp_path: Path) -> None:
    if shutil.which("mkdocs", path=str(Path(sys.executable).parent)) is None:
        needs("MkDocs (the test extra: pip install -e '.[test]')")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "docs_index.py")], check=True)
    done = subprocess.run([str(Path(sys.executable).parent / "mkdocs"), "build", "--strict",
                           "--site-dir", str(tmp_path / "site")], cwd=ROOT,
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "site" / "precedent" / "index.html").exists()
