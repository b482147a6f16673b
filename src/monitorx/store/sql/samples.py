"""What DuckDB and PostgreSQL share of the custom metrics' SQL: the rows of the
series catalog in and out, and the upkeep of each series' last sample time."""

from __future__ import annotations

__all__ = [
    "SAMPLE_ROLLUP_COLUMNS",
    "SeriesCatalogQueries",
    "series_from_rows",
    "series_rows",
    "touch_statements",
]

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from monitorx.core.samples import SeriesInfo, canonical_labels
from monitorx.core.timeparse import from_epoch_us, to_epoch_us
from monitorx.store.samples.batch import SAMPLE_ROLLUP_SCHEMA
from monitorx.store.sql import rows as stored
from monitorx.store.sql.session import SQLQueries, Statement

SAMPLE_ROLLUP_COLUMNS = ", ".join(SAMPLE_ROLLUP_SCHEMA.names)
# Series whose last sample time one UPDATE brings forward.
_TOUCH_ROWS = 1000


def series_rows(project_id: str, series: Sequence[SeriesInfo]) -> list[list[object]]:
    """Rows of ``sample_series`` (project, id, name, labels, unit, last_seen) for new
    series; a new series' last_seen starts at the epoch and moves with `touch`."""
    epoch = stored.naive_utc(from_epoch_us(0))
    return [
        [project_id, s.series_id, s.name, canonical_labels(s.labels), s.unit, epoch] for s in series
    ]


def series_from_rows(rows: Sequence[tuple[Any, ...]]) -> list[tuple[SeriesInfo, int]]:
    """(series, last seen in µs) from rows of (id, name, labels, unit, last_seen)."""
    found = []
    for sid, name, labels, unit, last_seen in rows:
        when: datetime = stored.utc(last_seen) if last_seen.tzinfo is None else last_seen
        info = SeriesInfo(int(sid), str(name), dict(orjson.loads(labels)), unit)
        found.append((info, to_epoch_us(when)))
    return found


def touch_statements(project_id: str, last_seen_us: Mapping[int, int]) -> list[Statement]:
    """UPDATEs that bring each series' last_seen forward (never back)."""
    items = sorted(last_seen_us.items())
    statements = []
    for low in range(0, len(items), _TOUCH_ROWS):
        chunk = items[low : low + _TOUCH_ROWS]
        values = ", ".join(["(CAST(%s AS BIGINT), CAST(%s AS TIMESTAMP))"] * len(chunk))
        params: list[object] = []
        for sid, seen_us in chunk:
            params += [sid, stored.naive_utc(from_epoch_us(seen_us))]
        statements.append(
            Statement(
                "UPDATE sample_series SET last_seen = seen.seen_at "
                f"FROM (VALUES {values}) AS seen (sid, seen_at) "
                "WHERE sample_series.project_id = %s AND sample_series.series_id = seen.sid "
                "AND seen.seen_at > sample_series.last_seen",
                [*params, project_id],
            )
        )
    return statements


class SeriesCatalogQueries(SQLQueries):
    """The series catalog's rows, read and kept up to date: mixed into the SQL stores."""

    async def list_series(self) -> list[tuple[SeriesInfo, int]]:
        rows = await self._sql.read(
            "SELECT series_id, name, labels, unit, last_seen FROM sample_series "
            "WHERE project_id = %s",
            [self._project],
        )
        return series_from_rows(rows)

    async def touch_series(self, last_seen_us: Mapping[int, int]) -> None:
        if last_seen_us:
            await self._sql.write_all(touch_statements(self._project, last_seen_us))
