"""`appeals precedent import`: a published file into the case store's `precedents` table,
idempotent by source and reference id (a later import of the same source replaces its rows, a
re-import of the same file changes nothing but the import's own row)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import delete, insert, tuple_, update
from sqlalchemy.engine import Engine

from appeals.intake import file_sha256
from appeals.models import Reject
from appeals.precedent.read import Decision, Skipped, read_decisions
from appeals.precedent.rules import PrecedentError, Source, header_key, load_rules, load_source_map
from appeals.store.schema import precedent_imports, precedents

CHUNK = 1000


@dataclass
class Imported:
    source: str
    title: str
    sha256: str
    rows: int = 0
    rejects: list[Reject] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        return sum(r.level != "warning" for r in self.rejects)


def source_for(name: str, columns: Path | None = None) -> tuple[str, Source]:
    """(the source's key in the store, how its file is read): a published source of
    precedent.yaml, or `csv` with a user's map (its title names it)."""
    sources = load_rules().sources
    if name == "csv":
        if columns is None:
            raise PrecedentError("--source csv needs --columns MAP.yaml (title, reviews, "
                                 "columns, overturned, upheld; see appeals/data/precedent.yaml)")
        mapped = load_source_map(columns)
        return f"csv:{header_key(mapped.title)[:36]}", mapped
    if name not in sources:
        raise PrecedentError(f"--source {name!r}: one of {', '.join([*sources, 'csv'])}")
    if columns is not None:
        return name, load_source_map(columns)
    return name, sources[name]


def import_file(engine: Engine, path: Path, source_name: str, columns: Path | None = None,
                as_of: date | None = None) -> Imported:
    """Read `path` as `source_name`'s file and keep its decisions; the rejects come back with
    the counts (the caller writes them out)."""
    key, source = source_for(source_name, columns)
    as_of = as_of or date.today()
    result = Imported(source=key, title=source.title, sha256=file_sha256(path))
    skipped = Skipped({})
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with engine.begin() as conn:
        import_id = conn.execute(insert(precedent_imports).values(
            source=key, title=source.title[:200], file_name=path.name[:300],
            sha256=result.sha256, imported_at=now, imported_on=as_of, rows=0,
            rejected=0)).inserted_primary_key[0]
        batch: dict[str, Decision] = {}
        for item in read_decisions(path, source, as_of, skipped):
            if isinstance(item, Reject):
                result.rejects.append(item)
                continue
            batch[item.reference_id] = item  # a reference twice in one file: the later row
            if len(batch) >= CHUNK:
                result.rows += _keep(conn, key, import_id, batch)
                batch = {}
        result.rows += _keep(conn, key, import_id, batch)
        conn.execute(update(precedent_imports).where(precedent_imports.c.id == import_id)
                     .values(rows=result.rows, rejected=result.rejected))
    result.skipped = skipped.counts
    return result


def _keep(conn, source: str, import_id: int, batch: dict[str, Decision]) -> int:
    if not batch:
        return 0
    conn.execute(delete(precedents).where(
        tuple_(precedents.c.source, precedents.c.reference_id).in_(
            [(source, ref) for ref in batch])))
    conn.execute(insert(precedents), [
        {"source": source, "reference_id": d.reference_id, "year": d.year,
         "diagnosis": d.diagnosis, "treatment": d.treatment, "review_type": d.review_type,
         "outcome": d.outcome, "age_range": d.age_range, "findings": d.findings,
         "import_id": import_id} for d in batch.values()])
    return len(batch)
