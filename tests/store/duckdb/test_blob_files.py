"""The embedded store keeps blobs as files beside its database: what a user sees
is that reading a Parquet part is a file read, that nothing is left behind when a
blob is replaced, deleted or its model purged, that a crash between the file and
its row leaves nothing, that stores from before (bytes in the row) are moved out
when they open, and that a backup is still one self-contained file."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from monitorx.store.duckdb.backup import backup_duckdb, restore_duckdb
from monitorx.store.duckdb.blob_files import blob_directory
from monitorx.store.duckdb.storage import DuckDBStorage

PART = os.urandom(300_000)


def _files(db: Path) -> list[str]:
    directory = blob_directory(db)
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


async def _open(db: Path) -> DuckDBStorage:
    store = DuckDBStorage(db, "p1")
    await store.open()
    return store


async def test_each_blob_is_one_file_and_nothing_is_left_behind(tmp_path: Path) -> None:
    db = tmp_path / "mx.duckdb"
    store = await _open(db)
    try:
        await store.put_blob("records", "fraud/1/a", PART)
        await store.put_blob("records", "fraud/1/b", PART[:1000])
        await store.put_blob("reference", "fraud", b"reference v1")
        assert len(_files(db)) == 3
        assert await store.get_blob("records", "fraud/1/a") == PART

        await store.put_blob("reference", "fraud", b"reference v2")  # replaced
        assert len(_files(db)) == 3
        assert await store.get_blob("reference", "fraud") == b"reference v2"

        assert await store.delete_blobs("records", "fraud/1/b") == 1
        assert len(_files(db)) == 2
        await store.purge_model_data("fraud")
        assert _files(db) == []
        assert await store.get_blob("records", "fraud/1/a") is None
    finally:
        await store.close()


async def test_a_crash_between_file_and_row_leaves_nothing(tmp_path: Path) -> None:
    db = tmp_path / "mx.duckdb"
    store = await _open(db)
    await store.put_blob("records", "m/1/a", PART)
    await store.close()
    blob_directory(db).joinpath("0" * 32).write_bytes(b"written, never named by a row")

    store = await _open(db)
    try:
        assert len(_files(db)) == 1
        assert await store.get_blob("records", "m/1/a") == PART
    finally:
        await store.close()


async def test_bytes_kept_in_rows_before_are_moved_out_at_open(tmp_path: Path) -> None:
    db = tmp_path / "mx.duckdb"
    store = await _open(db)
    await store.close()
    with duckdb.connect(str(db)) as con:  # as an older release wrote it
        con.execute(
            "INSERT INTO blobs (project_id, kind, key, data, updated_at) "
            "VALUES ('p1', 'records', 'm/1/old', ?, now())",
            [PART],
        )

    store = await _open(db)
    try:
        assert len(_files(db)) == 1
        assert await store.get_blob("records", "m/1/old") == PART
    finally:
        await store.close()
    with duckdb.connect(str(db)) as con:
        ((size, named),) = con.execute(
            "SELECT octet_length(data), file IS NOT NULL FROM blobs"
        ).fetchall()
    assert (size, named) == (0, True)


async def test_a_backup_holds_the_bytes_and_restores_them(tmp_path: Path) -> None:
    db = tmp_path / "mx.duckdb"
    store = await _open(db)
    await store.put_blob("records", "m/1/a", PART)
    await store.close()
    backup = tmp_path / "backup.duckdb"

    await backup_duckdb(db, backup)
    assert not blob_directory(backup).exists()  # one self-contained file
    kept = restore_duckdb(backup, db)

    assert kept is not None and len(_files(kept)) == 1  # the replaced store keeps its own
    store = await _open(db)
    try:
        assert await store.get_blob("records", "m/1/a") == PART
        assert len(_files(db)) == 1
    finally:
        await store.close()
