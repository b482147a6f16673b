"""Backup and restore of the embedded store: one self-contained DuckDB file.

A backup opens the store (which first replays any logged, not yet flushed metrics),
moves every logged batch into the database, checkpoints it and copies the
database with DuckDB's own ``COPY FROM DATABASE`` into a new file, so the copy is
consistent and holds everything that was acknowledged. Restore checks that the file
is a MonitorX store, keeps the current database beside it
(``<file>.before-restore-<UTC time>``), and puts the backup in its place; the
metric log of the replaced database goes with it, so nothing of the old store is
replayed into the restored one. Both need the server stopped: DuckDB lets one
process open a file for writing.
"""

from __future__ import annotations

__all__ = ["backup_duckdb", "restore_duckdb"]

import asyncio
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from monitorx.core import Conflict, StorageError, ValidationError
from monitorx.store.duckdb.blob_files import BlobFiles, blob_directory
from monitorx.store.duckdb.schema import MIGRATIONS
from monitorx.store.duckdb.storage import DuckDBStorage


def _log_dir(db: Path) -> Path:
    return Path(str(db) + ".metric-log")


async def backup_duckdb(db: Path, out: Path) -> int:
    """Write a consistent copy of the store at ``db`` to ``out``; return its metric count."""
    await asyncio.to_thread(_check_paths, db, out)
    store = DuckDBStorage(db, hot_max_points=0)
    await store.open()  # replays the metric log
    await store.close()  # moves every logged batch into the database
    return await asyncio.to_thread(_copy_database, db, out)


def _check_paths(db: Path, out: Path) -> None:
    if out.exists():
        raise Conflict(f"{out} exists; choose a new file for the backup")
    if not db.exists():
        raise ValidationError(f"no MonitorX store at {db}", "storage_url")


def _copy_database(db: Path, out: Path) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(db))
        try:
            con.execute("CHECKPOINT")
            con.execute(f"ATTACH '{_quoted(out)}' AS backup")
            ((source,),) = con.execute("SELECT current_database()").fetchall()
            con.execute(f'COPY FROM DATABASE "{source}" TO backup')
            _inline_blob_files(con, db)
            con.execute("DETACH backup")
        finally:
            con.close()
    except duckdb.Error as exc:
        out.unlink(missing_ok=True)
        raise StorageError(f"backup of {db} failed: {exc}") from exc
    return _metric_count(out)


def _inline_blob_files(con: duckdb.DuckDBPyConnection, db: Path) -> None:
    """The copy's blobs carry their bytes (the live store keeps them as files beside
    it, store.duckdb.blob_files): a backup is one self-contained file, and the
    store it is restored to moves them out again when it opens."""
    columns = {
        name
        for (name,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = 'backup' "
            "AND table_name = 'blobs'"
        ).fetchall()
    }
    if "file" not in columns:
        return
    files = BlobFiles(blob_directory(db))
    named = con.execute(
        "SELECT project_id, kind, key, file FROM backup.blobs WHERE file IS NOT NULL"
    ).fetchall()
    for project, kind, key, name in named:
        con.execute(
            "UPDATE backup.blobs SET data = ?, file = NULL "
            "WHERE project_id = ? AND kind = ? AND key = ?",
            [files.read(name), project, kind, key],
        )


def restore_duckdb(backup: Path, db: Path) -> Path | None:
    """Replace the store at ``db`` with ``backup``; return where the replaced store
    was kept (None when there was none)."""
    _metric_count(backup)  # refuses a file that is not a MonitorX store
    kept: Path | None = None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    if db.exists():
        kept = db.with_name(f"{db.name}.before-restore-{stamp}")
        db.rename(kept)
        wal = Path(str(db) + ".wal")
        if wal.exists():
            wal.rename(Path(str(kept) + ".wal"))
        blobs = blob_directory(db)
        if blobs.exists():  # the replaced store's blob files stay with it
            blobs.rename(blob_directory(kept))
    log = _log_dir(db)
    if log.exists():
        log.rename(Path(f"{log}.before-restore-{stamp}"))
    db.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(backup, db)
    return kept


def _metric_count(path: Path) -> int:
    """How many inference metrics a MonitorX store file holds; refuses other files."""
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise ValidationError(f"{path} is not a DuckDB database: {exc}", "file") from exc
    try:
        (version,) = con.execute("SELECT max(version) FROM schema_migrations").fetchall()[0]
        ((count,),) = con.execute("SELECT count(*) FROM inference_metrics").fetchall()
    except duckdb.Error as exc:
        raise ValidationError(f"{path} is not a MonitorX store: {exc}", "file") from exc
    finally:
        con.close()
    if version is None or version > MIGRATIONS[-1][0]:
        raise ValidationError(
            f"{path} has schema version {version}; this release reads up to "
            f"{MIGRATIONS[-1][0]} (upgrade MonitorX to restore it)",
            "file",
        )
    return int(count)


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
