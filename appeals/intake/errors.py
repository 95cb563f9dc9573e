"""Errors of intake: a whole file that cannot be used, and per-record rejects."""

from __future__ import annotations

from pydantic import ValidationError

from appeals.models import Reject


class InputError(Exception):
    """The input as a whole cannot be used (empty, unknown format, broken envelope).

    The message is one line meant for the user; the CLI prints it with the file name.
    """


def reject_from_validation(exc: ValidationError, source: str, location: str, raw: str) -> Reject:
    """One Reject naming the first field that failed and every message in words."""
    fields, messages = [], []
    for err in exc.errors():
        name = ".".join(str(p) for p in err["loc"]) if err["loc"] else ""
        msg = str(err["msg"]).removeprefix("Value error, ")
        if not name and ": " in msg:  # model-level checks say "field: what is wrong"
            name, msg = msg.split(": ", 1)
        fields.append(name or "record")
        messages.append((name or "record", msg))
    text = messages[0][1] if len(messages) == 1 else "; ".join(f"{f}: {m}" for f, m in messages)
    return Reject(source=source, location=location, field=fields[0], message=text, raw=raw[:500])
