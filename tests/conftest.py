from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pgserver import create_database, pg_bin, temporary_cluster

ROOT = Path(__file__).resolve().parent.parent  # the repository: tests sit in a folder per room
DATA = ROOT / "tests" / "data"
X12 = DATA / "x12"
SAMPLES = ROOT / "appeals" / "data" / "samples"


#: Fixtures built once for a module or the session that take seconds (a run of the development
#: set, the desk's store): `make test` runs with `--dist loadgroup`, so the tests that use one
#: stay on one xdist worker and it is built once; every other test is dealt out on its own.
SHARED_FIXTURES = ("dev_run", "built", "checklist", "hostile_packet")


def pytest_itemcollected(item: pytest.Item) -> None:
    """Marked as collected: xdist reads the groups in its collection_modifyitems hook."""
    shared = [f for f in SHARED_FIXTURES if f in getattr(item, "fixturenames", ())]
    if shared:
        item.add_marker(pytest.mark.xdist_group(f"{item.path.name}:{shared[0]}"))


@pytest.fixture(scope="session", autouse=True)
def _pdf_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Each distinct PDF is laid out once a session (appeals.render.pdf's cache, shared by the
    xdist workers and the processes tests start): the same HTML gives the same bytes, which the
    tests using `fresh_pdfs` check with the cache off. A third of the suite's time was the same
    letters rendered again."""
    from appeals.render.pdf import CACHE_ENV

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    os.environ[CACHE_ENV] = str(shared / "pdf-cache")
    yield
    os.environ.pop(CACHE_ENV, None)


@pytest.fixture
def fresh_pdfs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every PDF of this test laid out by WeasyPrint (no cache): tests of the bytes themselves,
    and runs interrupted while they render."""
    from appeals.render.pdf import CACHE_ENV

    monkeypatch.delenv(CACHE_ENV, raising=False)


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


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[tuple[str, Path]]:
    """A throwaway PostgreSQL cluster for the session (tests/pgserver.py)."""
    bindir = pg_bin()
    if bindir is None:
        needs("PostgreSQL (Debian package postgresql)")
    with temporary_cluster(bindir) as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: tuple[str, Path]) -> str:
    """A new, empty database on the test cluster."""
    admin, base = postgres_server
    return create_database(admin, base, f"t{os.getpid()}_{next(_DATABASES)}")


_DATABASES = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on SQLite and on a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cases.db'}"
    return request.getfixturevalue("postgres_url")
