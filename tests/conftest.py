from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
X12 = DATA / "x12"
SAMPLES = Path(__file__).parent.parent / "appeals" / "data" / "samples"


@pytest.fixture
def dev_csv() -> Path:
    return DATA / "denials.csv"


@pytest.fixture(autouse=True)
def _no_store_in_the_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`appeals run` records to $APPEALS_DB, else ./appeals.db: each test gets its own file."""
    monkeypatch.setenv("APPEALS_DB", f"sqlite:///{tmp_path / 'appeals.db'}")


def needs(what: str) -> None:
    """A real part is missing: CI fails (it installs it), a developer's machine skips."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is not installed (.ci/run installs it)")
    pytest.skip(f"{what} is not installed (skipped on a developer machine only; CI fails)")


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    if found:
        return found[0].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[tuple[str, Path]]:
    """A throwaway PostgreSQL cluster on a Unix socket only (no TCP port), as the `postgres`
    user when the tests run as root (PostgreSQL refuses root). Yields (admin URL, socket dir)."""
    bindir = _pg_bin()
    if bindir is None:
        needs("PostgreSQL (Debian package postgresql)")
    base = Path(tempfile.mkdtemp(prefix="appeals-pg-"))
    as_postgres = os.geteuid() == 0
    if as_postgres:
        shutil.chown(base, "postgres", "postgres")

    def run(*cmd: object) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if as_postgres else []
        subprocess.run([*prefix, *map(str, cmd)], check=True, capture_output=True, timeout=120)

    data = base / "data"
    run(bindir / "initdb", "-D", data, "-A", "trust", "-U", "appeals", "--no-sync")
    run(bindir / "pg_ctl", "-D", data, "-l", base / "log", "-w", "-o",
        f"-c listen_addresses='' -k {base} -c fsync=off -c full_page_writes=off", "start")
    try:
        yield f"postgresql+psycopg://appeals@/postgres?host={base}", base
    finally:
        run(bindir / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: tuple[str, Path]) -> str:
    """A new, empty database on the test cluster."""
    from sqlalchemy import create_engine, text

    admin, base = postgres_server
    name = f"t{os.getpid()}_{next(_DATABASES)}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return f"postgresql+psycopg://appeals@/{name}?host={base}"


_DATABASES = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on SQLite and on a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cases.db'}"
    return request.getfixturevalue("postgres_url")
