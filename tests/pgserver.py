"""A throwaway PostgreSQL cluster for the store's tests and benchmark: initdb in a temporary
folder, listening on a Unix socket only (no TCP port), as the `postgres` user when run as root
(PostgreSQL refuses root). The Debian package `postgresql` provides the binaries."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def pg_bin() -> Path | None:
    """The newest installed server's binaries (Debian keeps them out of PATH)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    if found:
        return found[0].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@contextmanager
def temporary_cluster(bindir: Path) -> Iterator[tuple[str, Path]]:
    """Yields (the admin URL, the socket folder); the cluster is stopped and removed after."""
    base = Path(tempfile.mkdtemp(prefix="appeals-pg-"))
    as_postgres = os.geteuid() == 0
    if as_postgres:
        shutil.chown(base, "postgres", "postgres")

    def run(*cmd: object) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if as_postgres else []
        subprocess.run([*prefix, *map(str, cmd)], check=True, capture_output=True, timeout=120)

    data = base / "data"
    try:
        run(bindir / "initdb", "-D", data, "-A", "trust", "-U", "appeals", "--no-sync")
        run(bindir / "pg_ctl", "-D", data, "-l", base / "log", "-w", "-o",
            f"-c listen_addresses='' -k {base} -c fsync=off -c full_page_writes=off", "start")
        yield f"postgresql+psycopg://appeals@/postgres?host={base}", base
    finally:
        if (data / "postmaster.pid").exists():
            run(bindir / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


def create_database(admin: str, base: Path, name: str) -> str:
    """A new empty database on the cluster; its URL."""
    from sqlalchemy import create_engine, text

    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return f"postgresql+psycopg://appeals@/{name}?host={base}"
