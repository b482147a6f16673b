"""The embedded store's blobs as files beside the database.

DuckDB keeps a BLOB in its column's segments: fetching one blob of a few MB reads
the whole vector of blobs it shares a row group with (a quarter of a second for
one 2.5 MB Parquet part among forty, on this machine), so the Parquet parts of
logged records and reference sets live as files in ``<database>.blobs/``, and the
``blobs`` table names each one's file. A blob is written to a new file, fsynced,
before the row that names it commits; the file it replaces, or of a row deleted,
goes once that commit is done. A crash in between leaves a file no row names,
removed at the next open (`BlobFiles.sweep`). Rows from before this layout, or
from a backup (which carries its blobs inline, one self-contained file), keep
their bytes in the row until the next open moves them out.
"""

from __future__ import annotations

__all__ = ["BlobFiles", "blob_directory"]

import logging
import os
import uuid
from collections.abc import Iterable
from pathlib import Path

logger = logging.getLogger("monitorx.store")


def blob_directory(database: Path | str) -> Path:
    return Path(f"{database}.blobs")


class BlobFiles:
    """One directory of blob files, named at random (a name is never reused)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def write(self, data: bytes) -> str:
        """A new file holding ``data``, durable when this returns; its name."""
        self.directory.mkdir(parents=True, exist_ok=True)
        name = uuid.uuid4().hex
        path = self.directory / name
        with path.open("xb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)  # the name itself survives a crash
        finally:
            os.close(directory)
        return name

    def read(self, name: str) -> bytes:
        return (self.directory / name).read_bytes()

    def remove(self, names: Iterable[str | None]) -> None:
        for name in names:
            if name:
                (self.directory / name).unlink(missing_ok=True)

    def sweep(self, named: set[str]) -> int:
        """Remove every file no row names (left by a crash); how many went."""
        if not self.directory.is_dir():
            return 0
        orphans = [p.name for p in self.directory.iterdir() if p.name not in named]
        self.remove(orphans)
        if orphans:
            logger.info("removed %d blob files no row names", len(orphans))
        return len(orphans)
