"""The review desk's users: a name, a role, an argon2id password hash and, for scripts, the
sha256 of an API token (the token itself is shown once and never stored)."""

from __future__ import annotations

import hashlib
import secrets
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from appeals.store.cases import CaseError
from appeals.store.lifecycle import now
from appeals.store.schema import users

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


def check_password(engine: Engine, name: str, password: str) -> tuple[str, Role] | None:
    """(name, role) when the password is the user's; None otherwise (no user told apart from a
    wrong password, and a hash is checked either way, so timing tells nothing)."""
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.name == name)).mappings().first()
    stored = row["password_hash"] if row else _DUMMY
    try:
        _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    return (row["name"], Role(row["role"])) if row else None


def make_token(engine: Engine, name: str) -> str:
    """A new API token for `name` (replacing any earlier one); only its hash is kept."""
    token = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        done = conn.execute(update(users).where(users.c.name == name).values(
            token_hash=hashlib.sha256(token.encode()).hexdigest()))
    if done.rowcount != 1:
        raise CaseError(f"no user {name!r}")
    return token


def user_for_token(engine: Engine, token: str) -> tuple[str, Role] | None:
    digest = hashlib.sha256(token.encode()).hexdigest()
    with engine.connect() as conn:
        row = conn.execute(select(users.c.name, users.c.role).where(
            users.c.token_hash == digest)).first()
    return (row.name, Role(row.role)) if row else None


_DUMMY = _HASHER.hash("not a password of anyone")
