"""The cold tier: raw points past their retention, kept as Parquet files.

Layout (Hive-style partitions, readable as they are by DuckDB, pandas and Spark)::

    <root>/project=<project>/model=<model_id>/date=<YYYY-MM-DD>/part-<first_us>-<last_us>.parquet

Custom metrics go beside them, one file per metric and day, each sample with its
labels (JSON text) and unit, so that the file reads on its own::

    <root>/project=<project>/custom/metric=<name>/date=<YYYY-MM-DD>/part-<first_us>-<last_us>.parquet

Each file of inference metrics holds the raw metrics of one model on one UTC day in the columns of
``METRIC_BATCH_SCHEMA`` (``ts`` is a UTC timestamp in microseconds, ``tags`` the
JSON text), sorted by ``ts``. The file name carries the first and last timestamp
it holds, so exporting the same range again rewrites the same file instead of
adding a duplicate. Read it back with, for example::

    duckdb.sql("SELECT * FROM read_parquet('<root>/**/*.parquet', hive_partitioning=true)")
    pandas.read_parquet("<root>/project=default/model=fraud-v3")

``root`` is a local directory or any fsspec URL (``s3://bucket/prefix``,
``gs://…``, ``file:///…``; remote schemes need their fsspec package installed).
"""

from __future__ import annotations

__all__ = ["ColdTier"]

from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from monitorx.core import StorageError
from monitorx.core.samples import SeriesInfo, canonical_labels
from monitorx.store.metric_batch import METRIC_BATCH_SCHEMA

_DAY_US = 86_400 * 1_000_000


def _filesystem(root: str) -> tuple[pafs.FileSystem, str]:
    if "://" not in root:
        return pafs.LocalFileSystem(), str(root).rstrip("/")
    try:
        import fsspec.core
    except ImportError as exc:  # pragma: no cover - fsspec is a server dependency
        raise StorageError(f"cold tier URL {root!r} needs fsspec installed") from exc
    fs, path = fsspec.core.url_to_fs(root)
    return pafs.PyFileSystem(pafs.FSSpecHandler(fs)), str(path).rstrip("/")


class ColdTier:
    """Writes raw metric tables into the partitioned Parquet layout above."""

    def __init__(self, root: str) -> None:
        self._root_text = root
        self._fs, self._root = _filesystem(root)

    @property
    def root(self) -> str:
        return self._root_text

    def write(self, project_id: str, raw: pa.Table) -> list[str]:
        """Write ``raw`` (``METRIC_BATCH_SCHEMA``) as one file per model and day;
        return the paths written."""
        if raw.num_rows == 0:
            return []
        raw = raw.cast(METRIC_BATCH_SCHEMA)
        ts = raw.column("ts").cast(pa.int64()).to_numpy()
        days = ts // _DAY_US
        models = pc.dictionary_encode(raw.column("model_id")).combine_chunks()
        codes = models.indices.to_numpy()
        names = models.dictionary.to_pylist()
        written: list[str] = []
        for code in np.unique(codes):
            for day in np.unique(days[codes == code]):
                rows = np.flatnonzero((codes == code) & (days == day))
                part = raw.take(pa.array(rows)).sort_by("ts")
                part_ts = ts[rows]
                date = datetime.fromtimestamp(int(day) * 86_400, UTC).date().isoformat()
                folder = f"{self._root}/project={project_id}/model={names[code]}/date={date}"
                path = f"{folder}/part-{part_ts.min()}-{part_ts.max()}.parquet"
                try:
                    self._fs.create_dir(folder, recursive=True)
                    pq.write_table(part, path, filesystem=self._fs)
                except OSError as exc:
                    raise StorageError(f"cannot write cold-tier file {path}: {exc}") from exc
                written.append(path)
        return written

    def write_samples(
        self, project_id: str, raw: pa.Table, series: Callable[[int], SeriesInfo | None]
    ) -> list[str]:
        """Write raw samples (``SAMPLE_SCHEMA``) as one file per metric and day, each
        row with its series' labels and unit; return the paths written. Samples of a
        series the catalog no longer knows are skipped."""
        if raw.num_rows == 0:
            return []
        sid = raw.column("series_id").to_numpy()
        ts = raw.column("ts").cast(pa.int64()).to_numpy()
        value = raw.column("value").to_numpy()
        infos = {s: series(s) for s in np.unique(sid).tolist()}
        name_of = {s: (info.name if info is not None else "") for s, info in infos.items()}
        names = np.asarray([name_of[s] for s in sid.tolist()])
        days = ts // _DAY_US
        written: list[str] = []
        for name in sorted(n for n in set(names.tolist()) if n):
            for day in np.unique(days[names == name]):
                rows = np.flatnonzero((names == name) & (days == day))
                rows = rows[np.argsort(ts[rows], kind="stable")]
                part = pa.table(
                    {
                        "ts": pa.array(ts[rows], pa.timestamp("us", tz="UTC")),
                        "value": pa.array(value[rows]),
                        "labels": [canonical_labels(infos[s].labels) for s in sid[rows].tolist()],  # type: ignore[union-attr]
                        "unit": [infos[s].unit for s in sid[rows].tolist()],  # type: ignore[union-attr]
                    }
                )
                date = datetime.fromtimestamp(int(day) * 86_400, UTC).date().isoformat()
                folder = f"{self._root}/project={project_id}/custom/metric={name}/date={date}"
                path = f"{folder}/part-{ts[rows].min()}-{ts[rows].max()}.parquet"
                try:
                    self._fs.create_dir(folder, recursive=True)
                    pq.write_table(part, path, filesystem=self._fs)
                except OSError as exc:
                    raise StorageError(f"cannot write cold-tier file {path}: {exc}") from exc
                written.append(path)
        return written
