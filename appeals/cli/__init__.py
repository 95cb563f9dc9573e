"""Command line: one module per room, each command a thin wrapper over a library function.

    intake     intake, columns, classify, packet, run, demo
    law        law, citations
    cases      cases, case, mark, call, approve, outcome, escalate
    desk       serve, users, access-log
    scrub      lint, scrub, watch, doctor
    precedent  precedent import, precedent show
    answers    facts import, facts set

`appeals.cli.app` is the Typer app; `appeals.cli.main` the entry point.
"""

from importlib import import_module

from appeals.cli.common import app, main

#: The rooms, in the order `appeals --help` lists their commands (the pipeline's order).
ROOMS = ("intake", "law", "cases", "desk", "scrub", "precedent", "answers")
for _room in ROOMS:
    import_module(f"appeals.cli.{_room}")

__all__ = ["ROOMS", "app", "main"]
