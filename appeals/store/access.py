"""The access log: who saw what, when and from where (HIPAA audit controls, 45 CFR 164.312(b)).

The case history records changes; this records reading: every sign-in (ok or refused), sign-out,
case view, file download, API call and export, one appended row each, never updated. A row names
the user, the action, the case id and a short detail (a file's name, an API path, why a sign-in
was refused), never a patient's name or member id.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine

from appeals.store.lifecycle import now
from appeals.store.schema import access_log

ACTIONS = ("sign_in", "sign_out", "case_view", "file_download", "api_call", "export",
           "report_view", "access_log_view", "upload")


def log_access(engine: Engine, user: str | None, action: str, *, case_id: int | None = None,
               detail: str | None = None, address: str | None = None,
               outcome: str = "ok") -> None:
    if action not in ACTIONS:
        raise ValueError(f"access log: unknown action {action!r}")
    with engine.begin() as conn:
        conn.execute(insert(access_log).values(
            at=now(), user_name=(user or "")[:100] or None, action=action, case_id=case_id,
            detail=(detail or "")[:300] or None, address=(address or "")[:64] or None,
            outcome=outcome))


def access_rows(engine: Engine, *, user: str | None = None, case_id: int | None = None,
                since: date | None = None, limit: int | None = None) -> list[dict]:
    """The log's rows, oldest first; with `limit`, the newest that many, newest first."""
    query = select(access_log)
    if user:
        query = query.where(access_log.c.user_name == user)
    if case_id is not None:
        query = query.where(access_log.c.case_id == case_id)
    if since is not None:
        query = query.where(access_log.c.at >= since.isoformat())
    query = query.order_by(access_log.c.id.desc() if limit else access_log.c.id)
    if limit:
        query = query.limit(limit)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def refused_sign_ins(engine: Engine, address: str, minutes: int) -> int:
    """Refused sign-ins from `address` in the last `minutes` (the desk's throttle)."""
    since = (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat(timespec="seconds")
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(access_log).where(
            access_log.c.action == "sign_in", access_log.c.outcome == "refused",
            access_log.c.address == (address or None), access_log.c.at >= since)).scalar_one()
