"""Opening a case store: the URL, the SQLite file's mode, migrations, and one clear error.

    from appeals.store import open_store
    engine = open_store("sqlite:///appeals.db")      # or postgresql+psycopg://user@host/db

A store is migrated up on open. A store written by a newer appeals, an unreachable server or a
read-only file is a `StoreError` whose message is one line naming the store (never a password),
raised before anything is written.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from importlib import resources
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

ENV_VAR = "APPEALS_DB"
DEFAULT_URL = "sqlite:///appeals.db"
#: Seconds a writer waits for another run's transaction (SQLite's lock, PostgreSQL's rows).
LOCK_WAIT = 60


class StoreError(RuntimeError):
    """The store cannot be used; the message is one line for the person at the terminal."""


def store_url(url: str | None = None) -> str:
    """--db, else $APPEALS_DB, else appeals.db in the working directory."""
    return url or os.environ.get(ENV_VAR) or DEFAULT_URL


def shown(url: str) -> str:
    """The URL as it may be printed: the password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unreadable URL)"


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _prepare_sqlite(path: Path, name: str) -> None:
    """Create the file owner-only before SQLite does (its journal files take the same mode);
    refuse a file or folder this user cannot write, before anything is written."""
    if path.exists():
        if not os.access(path, os.W_OK) or not os.access(path.parent or Path("."), os.W_OK):
            raise StoreError(f"case store {name}: read-only (the file or its folder cannot be "
                             "written; SQLite needs both)")
        return
    if not path.parent.is_dir():
        raise StoreError(f"case store {name}: no such folder {path.parent}")
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return  # another run made it a moment ago
    except OSError as exc:
        raise StoreError(f"case store {name}: cannot create: {exc.strerror}") from None
    # WAL (readers do not wait for a writer) is a property of the file: set once, here, since
    # switching it needs the file to itself.
    with closing(sqlite3.connect(path, timeout=LOCK_WAIT)) as conn:
        conn.execute("PRAGMA journal_mode = WAL")


def _sqlite_pragmas(engine: Engine) -> None:
    """A lock wait instead of 'database is locked', and transactions that take the write lock at
    BEGIN, so two runs queue instead of deadlocking."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy's begin below, not the driver's
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {LOCK_WAIT * 1000}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


#: Any 64-bit number the store's writers agree on: PostgreSQL's lock for writing.
PG_LOCK = 0x61707065616C73


def write_lock(conn) -> None:
    """Serialize writers: SQLite holds its lock from BEGIN IMMEDIATE; PostgreSQL takes this one
    until the transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK})


def _alembic(connection):
    from alembic.config import Config  # alembic only when a schema changes (0.4 s to import)

    config = Config()
    config.set_main_option("script_location",
                           str(resources.files("appeals.store").joinpath("migrations")))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic(None)).get_current_head()


def revisions() -> list[str]:
    """The migrations' revision ids in order, from their file names (`0014_precedents.py` is
    revision 0014; a test holds alembic's own head to the last of them): a store command checks
    the schema without importing alembic."""
    folder = resources.files("appeals.store").joinpath("migrations", "versions")
    return sorted(p.name[:4] for p in folder.iterdir()
                  if p.name[:4].isdigit() and p.name.endswith(".py"))


def _current_revision(conn) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def open_store(url: str | None = None, *, migrate: bool = True) -> Engine:
    """An engine on the store, migrated to this version's schema (created on first use)."""
    url = store_url(url)
    name = shown(url)
    try:
        path = _sqlite_file(url)
        if path is not None:
            _prepare_sqlite(path, name)
        # The drivers' own executemany (sqlite3's C loop, psycopg's pipeline) beats one giant
        # multi-VALUES statement per page, which psycopg re-parses client-side: measured in
        # benchmarks/bench_store.py. (Case ids are numbered under the write lock: no RETURNING.)
        engine = create_engine(url, pool_pre_ping=True, connect_args=_connect_args(url),
                               use_insertmanyvalues=False)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise StoreError(f"case store {name}: not a usable database URL ({exc})") from None
    if engine.dialect.name == "sqlite":
        _sqlite_pragmas(engine)
    try:
        known = revisions()
        with engine.connect() as conn:
            current = _current_revision(conn)
            if current is not None and current not in known:
                raise StoreError(f"case store {name}: written by a newer appeals (schema "
                                 f"{current}); upgrade appeals to use it")
        if migrate and current != known[-1]:
            from alembic import command

            with engine.begin() as conn:  # under the lock: a second run finds it done
                write_lock(conn)
                command.upgrade(_alembic(conn), "head")
        if path is not None:
            with engine.begin() as conn:  # takes the write lock: a read-only file says so now
                conn.execute(text("CREATE TABLE IF NOT EXISTS _write_check (x INTEGER)"))
                conn.execute(text("DROP TABLE _write_check"))
    except StoreError:
        engine.dispose()
        raise
    except (DBAPIError, SQLAlchemyError) as exc:
        engine.dispose()
        words = _first_line(exc)
        if path is not None and ("readonly" in words or "read-only" in words):
            words = f"read-only ({words})"
        raise StoreError(f"case store {name}: {words}") from None
    return engine


def _connect_args(url: str) -> dict:
    backend = make_url(url).get_backend_name()
    if backend == "postgresql":
        return {"connect_timeout": 10}
    if backend == "sqlite":
        return {"timeout": LOCK_WAIT}
    return {}


def _first_line(exc: BaseException) -> str:
    """The driver's own words, first line only (SQLAlchemy adds SQL and a link below it)."""
    inner = getattr(exc, "orig", None) or exc
    return (str(inner).strip().splitlines() or [type(inner).__name__])[0]
