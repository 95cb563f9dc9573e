"""The review desk's users: a name, a role, an argon2id password hash and, for scripts, the
sha256 of an API token (the token itself is shown once and never stored); their sessions, kept
in the store so that signing out ends one for good; the lock after repeated wrong passwords."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from appeals.fields import name_key
from appeals.store.cases import CaseError
from appeals.store.lifecycle import now
from appeals.store.schema import api_tokens, sessions, users

_HASHER = PasswordHasher()
MIN_PASSWORD = 10


class Role(StrEnum):
    biller = "biller"
    clinician = "clinician"
    compliance = "compliance"
    admin = "admin"


#: What each role may do on the desk (admin: all of it).
CAN = {
    "mark": {Role.biller, Role.admin},  # sent, closed, a decision by letter
    "approve": {Role.compliance, Role.admin},  # a parity letter before it is sent
    "answer": {Role.clinician, Role.admin},  # the clinician's checklist and attestation
}


def add_user(engine: Engine, name: str, role: str, password: str) -> None:
    name = name.strip()
    if not name or len(name) > 100:
        raise CaseError("a user name is 1 to 100 characters")
    if len(password) < MIN_PASSWORD:
        raise CaseError(f"a password is at least {MIN_PASSWORD} characters")
    try:
        role = Role(role)
    except ValueError:
        raise CaseError(f"role {role!r} is not one of {', '.join(Role)}") from None
    try:
        with engine.begin() as conn:
            conn.execute(insert(users).values(name=name, role=role.value, created_at=now(),
                                               password_hash=_HASHER.hash(password)))
    except IntegrityError:
        raise CaseError(f"user {name!r} exists already") from None


#: Scopes of an API token: reading the API, or reading and writing.
SCOPES = ("read", "write")
TOKEN_DAYS = 90


def make_token(engine: Engine, name: str, scope: str = "read", days: int = TOKEN_DAYS) -> str:
    """A new API token for `name` with its scope, good for `days` days; only its sha256 is kept
    (earlier tokens stay until they expire or are revoked: `appeals users revoke`)."""
    if scope not in SCOPES:
        raise CaseError(f"scope {scope!r} is not one of {', '.join(SCOPES)}")
    if not 1 <= days <= 366:
        raise CaseError("a token lasts 1 to 366 days")
    token = secrets.token_urlsafe(32)
    stamp = datetime.now(UTC)
    with engine.begin() as conn:
        if conn.execute(select(users.c.id).where(users.c.name == name)).first() is None:
            raise CaseError(f"no user {name!r}")
        conn.execute(insert(api_tokens).values(
            user_name=name, token_hash=_digest(token), scope=scope,
            created_at=stamp.isoformat(timespec="seconds"),
            expires_at=(stamp + timedelta(days=days)).isoformat(timespec="seconds")))
    return token


def user_for_token(engine: Engine, token: str, *, write: bool = False
                   ) -> tuple[str, Role] | None:
    """The user of a live token (not revoked, not expired, its user neither disabled nor
    locked) whose scope allows reading, or writing when `write`."""
    stamp = datetime.now(UTC)
    with engine.connect() as conn:
        row = conn.execute(select(api_tokens.c.id, api_tokens.c.scope, api_tokens.c.expires_at,
                                  api_tokens.c.last_used_at, users.c.name, users.c.role).join(
            users, users.c.name == api_tokens.c.user_name).where(
            api_tokens.c.token_hash == _digest(token), api_tokens.c.revoked_at.is_(None),
            users.c.disabled_at.is_(None), users.c.locked_at.is_(None))).first()
    if row is None or _when(row.expires_at) <= stamp or (write and row.scope != "write"):
        return None
    if row.last_used_at is None or stamp - _when(row.last_used_at) > timedelta(minutes=1):
        with engine.begin() as conn:
            conn.execute(update(api_tokens).where(api_tokens.c.id == row.id).values(
                last_used_at=stamp.isoformat(timespec="seconds")))
    return row.name, Role(row.role)


def list_tokens(engine: Engine, name: str | None = None) -> list[dict]:
    """Every token (never its value): id, user, scope, made, expires, revoked, last used."""
    query = select(api_tokens.c.id, api_tokens.c.user_name, api_tokens.c.scope,
                   api_tokens.c.created_at, api_tokens.c.expires_at, api_tokens.c.revoked_at,
                   api_tokens.c.last_used_at).order_by(api_tokens.c.id)
    if name:
        query = query.where(api_tokens.c.user_name == name)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def revoke_token(engine: Engine, token_id: int) -> None:
    with engine.begin() as conn:
        done = conn.execute(update(api_tokens).where(
            api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None)).values(
            revoked_at=now()))
    if done.rowcount != 1:
        raise CaseError(f"no live token {token_id}")


def _revoke_all(conn, name: str) -> None:
    conn.execute(update(api_tokens).where(api_tokens.c.user_name == name,
                                          api_tokens.c.revoked_at.is_(None)).values(
        revoked_at=now()))


def set_providers(engine: Engine, name: str, providers: list[str]) -> None:
    """The rendering providers (NPIs, or names) whose cases a clinician sees and answers."""
    keys = sorted({provider_key(p) for p in providers if p.strip()})
    with engine.begin() as conn:
        done = conn.execute(update(users).where(users.c.name == name).values(
            providers="\n".join(keys) or None))
    if done.rowcount != 1:
        raise CaseError(f"no user {name!r}")


def providers_of(engine: Engine, name: str) -> frozenset[str]:
    with engine.connect() as conn:
        text = conn.execute(select(users.c.providers).where(users.c.name == name)).scalar()
    return frozenset(providers_key_list(text))


def provider_key(value: str) -> str:
    """A provider as the cases keep it (keys.provider_key): an NPI as it is, else the name."""
    return value.strip() if value.strip().isdigit() else name_key(value)


_DUMMY = _HASHER.hash("not a password of anyone")


# --- accounts --------------------------------------------------------------------------------
#: Wrong passwords in a row after which a user is locked until an admin unlocks them.
MAX_FAILURES = 5
#: A desk session ends after this long without a request, and this long after sign-in.
IDLE_MINUTES = 30
LIFETIME_HOURS = 8


@dataclass(frozen=True)
class SignIn:
    """What a sign-in attempt came to: `user` and `token` (the cookie's session id) when it
    worked; else `why` for the access log (never told apart on the page for a wrong password)."""

    user: tuple[str, Role] | None = None
    token: str = ""
    why: str = ""
    locked: bool = False  # the right password for a locked or disabled user: the page says so


def sign_in(engine: Engine, name: str, password: str, address: str | None = None) -> SignIn:
    """Check the password (slow on purpose: call it off the event loop), count a failure
    towards the lock, and start a session kept in the store."""
    name = name.strip()[:100]
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.name == name)).mappings().first()
    stored = row["password_hash"] if row else _DUMMY
    try:
        _HASHER.verify(stored, password)
        right = row is not None
    except (VerificationError, InvalidHashError):
        right = False
    if row is None:
        return SignIn(why="no such user")
    if row["disabled_at"] or row["locked_at"]:
        why = "disabled" if row["disabled_at"] else "locked"
        return SignIn(why=f"{why}{'' if right else ', and a wrong password'}", locked=right)
    with engine.begin() as conn:
        if not right:
            failures = row["failed_sign_ins"] + 1
            conn.execute(update(users).where(users.c.id == row["id"]).values(
                failed_sign_ins=failures, locked_at=now() if failures >= MAX_FAILURES else None))
            return SignIn(why=f"wrong password ({failures} in a row"
                              + (": locked now)" if failures >= MAX_FAILURES else ")"))
        conn.execute(update(users).where(users.c.id == row["id"]).values(failed_sign_ins=0))
        token = secrets.token_urlsafe(32)
        stamp = now()
        conn.execute(insert(sessions).values(
            token_hash=_digest(token), user_name=row["name"], created_at=stamp, last_seen=stamp,
            address=(address or "")[:64] or None))
    return SignIn(user=(row["name"], Role(row["role"])), token=token)


def session_user(engine: Engine, token: str) -> tuple[str, Role] | None:
    """The user of a live session; None for one that ended (signed out, idle, past its
    lifetime, its user disabled or locked), which is ended in the store on the way."""
    if not token:
        return None
    with engine.connect() as conn:
        row = conn.execute(select(
            sessions.c.id, sessions.c.created_at, sessions.c.last_seen, sessions.c.ended_at,
            users.c.name, users.c.role, users.c.disabled_at, users.c.locked_at).join(
            users, users.c.name == sessions.c.user_name).where(
            sessions.c.token_hash == _digest(token))).first()
    if row is None or row.ended_at:
        return None
    stamp = datetime.now(UTC)
    why = ("disabled" if row.disabled_at or row.locked_at else
           "idle" if stamp - _when(row.last_seen) > timedelta(minutes=IDLE_MINUTES) else
           "lifetime" if stamp - _when(row.created_at) > timedelta(hours=LIFETIME_HOURS) else "")
    with engine.begin() as conn:
        if why:
            _end(conn, sessions.c.id == row.id, why)
            return None
        if stamp - _when(row.last_seen) > timedelta(seconds=60):  # one write a minute at most
            conn.execute(update(sessions).where(sessions.c.id == row.id).values(
                last_seen=stamp.isoformat(timespec="seconds")))
    return row.name, Role(row.role)


def end_session(engine: Engine, token: str, why: str = "signed_out") -> None:
    with engine.begin() as conn:
        _end(conn, sessions.c.token_hash == _digest(token), why)


def _end(conn, where, why: str) -> None:
    conn.execute(update(sessions).where(where, sessions.c.ended_at.is_(None)).values(
        ended_at=now(), ended_why=why))


def list_users(engine: Engine) -> list[dict]:
    """Every user with their role, state and live sessions (no hashes)."""
    stamp = now()
    with engine.connect() as conn:
        live = dict(conn.execute(select(sessions.c.user_name, func.count()).where(
            sessions.c.ended_at.is_(None)).group_by(sessions.c.user_name)).all())
        tokens = dict(conn.execute(select(api_tokens.c.user_name, func.count()).where(
            api_tokens.c.revoked_at.is_(None), api_tokens.c.expires_at > stamp).group_by(
            api_tokens.c.user_name)).all())
        rows = conn.execute(select(users).order_by(users.c.name)).mappings().all()
    return [{"name": r["name"], "role": r["role"], "created_at": r["created_at"],
             "state": "disabled" if r["disabled_at"] else "locked" if r["locked_at"] else
             "active", "failed_sign_ins": r["failed_sign_ins"],
             "api_tokens": tokens.get(r["name"], 0), "open_sessions": live.get(r["name"], 0),
             "providers": sorted(providers_key_list(r["providers"]))}
            for r in rows]


def set_user(engine: Engine, name: str, change: str, password: str | None = None) -> None:
    """disable | enable | unlock | password | remove. Disabling, a new password and removal end
    the user's sessions (and a new password or disabling also drops the API token)."""
    with engine.begin() as conn:
        found = conn.execute(select(users.c.id).where(users.c.name == name)).first()
        if found is None:
            raise CaseError(f"no user {name!r}")
        mine = (sessions.c.user_name == name,)
        if change == "disable":
            conn.execute(update(users).where(users.c.id == found.id).values(
                disabled_at=now()))
            _end(conn, *mine, "disabled")
            _revoke_all(conn, name)
        elif change == "enable":
            conn.execute(update(users).where(users.c.id == found.id).values(disabled_at=None))
        elif change == "unlock":
            conn.execute(update(users).where(users.c.id == found.id).values(
                locked_at=None, failed_sign_ins=0))
        elif change == "password":
            if password is None or len(password) < MIN_PASSWORD:
                raise CaseError(f"a password is at least {MIN_PASSWORD} characters")
            conn.execute(update(users).where(users.c.id == found.id).values(
                password_hash=_HASHER.hash(password), locked_at=None, failed_sign_ins=0))
            _end(conn, *mine, "password")
            _revoke_all(conn, name)
        elif change == "remove":
            _end(conn, *mine, "removed")
            _revoke_all(conn, name)
            conn.execute(delete(users).where(users.c.id == found.id))
        else:
            raise CaseError(f"{change!r}: one of disable, enable, unlock, password, remove")


def providers_key_list(text: str | None) -> list[str]:
    return [p for p in (text or "").split("\n") if p]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)
