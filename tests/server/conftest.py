"""What the standard ways in (OTLP, line protocol, remote_write) stored.

`stored_samples` reads the live server's own store — the series it keeps and their
samples, on the server's event loop — so that a test can check exactly what a
real client's request became (timestamps to the microsecond, escaped labels,
units) on whichever backend the tests run on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitorx.core.samples import canonical_labels
from monitorx.core.timeparse import from_epoch_us
from tests.conftest import LiveServer

Row = tuple[str, float, int, dict[str, str], str | None]
"""A stored sample: name, value, time (epoch µs), labels, unit."""

_FIRST = datetime(1970, 1, 1, tzinfo=UTC)


def _key(row: Row) -> tuple[str, int, str, float]:
    return row[0], row[2], canonical_labels(row[3]), row[1]


def in_order(rows: list[Row]) -> list[Row]:
    """Rows in the order `stored_samples` gives them: by name, time, labels, value."""
    return sorted(rows, key=_key)


def stored_samples(server: LiveServer, name: str | None = None) -> list[Row]:
    """Every sample the server's store holds (of metric ``name`` only, when given),
    read from the store itself, in `in_order`'s order."""
    storage = server.services.storage
    series = {info.series_id: info for info, _ in server.on_loop(storage.list_series())}
    # Everything up to the last time the store keeps (its very last µs aside).
    last = from_epoch_us(storage.latest_sample_us)
    table = server.on_loop(storage.read_samples(_FIRST, last)).to_pylist()
    rows: list[Row] = []
    for sample in table:
        info = series[sample["series_id"]]
        if name is None or info.name == name:
            ts_us = (sample["ts"].replace(tzinfo=UTC) - _FIRST) // timedelta(microseconds=1)
            rows.append((info.name, sample["value"], ts_us, info.labels, info.unit))
    return in_order(rows)
