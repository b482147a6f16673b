"""What the InfluxDB backend does beyond the conformance suite: the line-protocol
encoder (checked byte for byte), the sub-microsecond digits that keep points of one
model and microsecond apart, error translation, and the side store that holds the
registry."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import httpx
import numpy as np
import pyarrow as pa
import pytest

from monitorx.core import (
    FakeClock,
    MetricColumns,
    MetricName,
    ModelConfig,
    ModelType,
    StorageError,
    ValidationError,
)
from monitorx.core.timeparse import to_epoch_us
from monitorx.store import Aggregation, MetricQuery, metric_table, open_storage
from monitorx.store.influx.client import parse_url
from monitorx.store.influx.layout import NanoCounter, metric_lines
from monitorx.store.influx.lines import LineField, bodies, encode_lines, format_line
from monitorx.store.influx.storage import InfluxStorage
from monitorx.store.series_stats import bucket_aggregate, quantiles
from tests.backends import backend_url
from tests.conftest import free_port
from tests.influxd import influxd_binary, start_influxd

NOW = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)
T0 = to_epoch_us(NOW) - 60_000_000
PROJECT = "influx-specific"
EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def _metrics(ts_us: list[int], model_id: str = "fraud-v3", prefix: str = "r") -> MetricColumns:
    n = len(ts_us)
    return MetricColumns(
        model_id=[model_id] * n,
        model_type=["tabular"] * n,
        request_id=[f"{prefix}-{i}" for i in range(n)],
        ts_us=ts_us,
        latency=[float(10 + i) for i in range(n)],
    )


# The encoder, byte for byte --------------------------------------------------------


def test_tag_values_escape_commas_equals_and_spaces() -> None:
    line = format_line("m", {"project": "a b,c=d", "model_id": "x"}, {"v": 1.5}, 7)
    assert line == b"m,model_id=x,project=a\\ b\\,c\\=d v=1.5 7\n"


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ('say "hi"', b'"say \\"hi\\""'),
        ("back\\slash", b'"back\\\\slash"'),
        ("ends in \\", b'"ends in \\\\"'),
        ("two\nlines", b'"two\nlines"'),
        ("a b,c=d", b'"a b,c=d"'),
        ("東京 🚀", '"東京 🚀"'.encode()),
        ("", b'""'),
    ],
)
def test_string_fields_escape_quotes_and_backslashes_only(value: str, encoded: bytes) -> None:
    line = format_line("m", {"project": "p"}, {"v": 1.0, "s": value}, 1)
    assert line == b"m,project=p v=1.0,s=" + encoded + b" 1\n"


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (12.0, b"12.0"),
        (0.1, b"0.1"),
        (-3.0, b"-3.0"),
        (-0.0, b"-0.0"),
        (1e20, b"1e+20"),
        (1e-7, b"1e-7"),
        (123456789.12345679, b"123456789.12345679"),
        (0.30000000000000004, b"0.30000000000000004"),
        (1.7976931348623157e308, b"1.7976931348623157e+308"),
    ],
)
def test_floats_are_written_as_floats_that_read_back_exactly(value: float, encoded: bytes) -> None:
    line = format_line("m", {"project": "p"}, {"v": value}, 1)
    assert line == b"m,project=p v=" + encoded + b" 1\n"
    assert float(encoded.decode()) == value


def test_integers_take_the_i_suffix_and_booleans_are_words() -> None:
    line = format_line("m", {"project": "p"}, {"n": 3, "yes": True, "no": False}, 1)
    assert line == b"m,project=p n=3i,yes=true,no=false 1\n"


def test_null_fields_are_left_out_and_the_first_present_field_follows_the_space() -> None:
    lines = encode_lines(
        "m",
        {"project": "p", "model_id": pa.array(["a", "b", "a"])},
        [
            LineField("x", "float", pa.array([None, 2.0, None], pa.float64())),
            LineField("y", "float", pa.array([1.0, None, None], pa.float64())),
            LineField("s", "string", pa.array(["q", None, "r"])),
        ],
        np.array([10, 20, 30], np.int64),
    )
    assert b"".join(bodies(lines, 2)) == (
        b'm,model_id=a,project=p y=1.0,s="q" 10\n'
        b"m,model_id=b,project=p x=2.0 20\n"
        b'm,model_id=a,project=p s="r" 30\n'
    )


def test_integral_floats_among_nulls_still_get_their_point_zero() -> None:
    # A point without any field cannot be written: the encoder refuses it.
    with pytest.raises(ValidationError, match="at least one"):
        encode_lines(
            "m",
            {"project": "p"},
            [LineField("v", "float", pa.array([4.0, None], pa.float64()))],
            np.arange(2, dtype=np.int64),
        )
    ok = encode_lines(
        "m",
        {"project": "p"},
        [
            LineField("v", "float", pa.array([4.0, None, 4.5, 1e22], pa.float64())),
            LineField("n", "int", pa.array([1, 2, 3, 4])),
        ],
        np.arange(4, dtype=np.int64),
    )
    assert b"".join(bodies(ok, 10)) == (
        b"m,project=p v=4.0,n=1i 0\n"
        b"m,project=p n=2i 1\n"
        b"m,project=p v=4.5,n=3i 2\n"
        b"m,project=p v=1e+22,n=4i 3\n"
    )


def test_bodies_hold_whole_lines_within_the_line_and_byte_limits() -> None:
    lines = encode_lines(
        "m",
        {"project": "p"},
        [LineField("s", "string", pa.array(["x" * 10, "y" * 100, "z", "w" * 10, "v"]))],
        np.arange(5, dtype=np.int64),
    )
    whole = b"".join(bodies(lines, 1000))
    cut = list(bodies(lines, 2, max_bytes=50))
    assert b"".join(cut) == whole
    assert [body.count(b"\n") for body in cut] == [1, 1, 2, 1]
    assert all(body.endswith(b"\n") for body in cut)


def test_nan_and_infinity_are_refused_not_dropped() -> None:
    for bad in (math.nan, math.inf):
        with pytest.raises(ValidationError, match="NaN or infinity"):
            format_line("m", {"project": "p"}, {"v": bad}, 1)


@pytest.mark.parametrize("value", ["", "two\nlines", "ends in \\"])
def test_tag_values_line_protocol_cannot_carry_are_refused(value: str) -> None:
    with pytest.raises(ValidationError):
        format_line("m", {"project": value}, {"v": 1.0}, 1)


def test_a_metric_line_carries_every_present_field_and_no_request_tags() -> None:
    columns = _metrics([T0])
    columns.error_rate[0] = 0.25
    columns.error[0] = True
    columns.cpu_percent[0] = 50.0
    columns.tags_json[0] = '{"region":"eu west","q":"\\"x\\""}'
    lines = metric_lines(metric_table(columns), "proj", NanoCounter(0))
    assert b"".join(bodies(lines, 10)) == (
        b"inference,model_id=fraud-v3,project=proj latency=10.0,error_rate=0.25,error=true,"
        b'cpu_percent=50.0,model_type="tabular",request_id="r-0",'
        b'tags="{\\"region\\":\\"eu west\\",\\"q\\":\\"\\\\\\"x\\\\\\"\\"}" '
        + str(T0 * 1000).encode()
        + b"\n"
    )


def test_points_of_one_model_in_one_microsecond_get_distinct_nanoseconds() -> None:
    columns = _metrics([T0, T0, T0 + 1, T0])
    columns.model_id[3] = "other"
    counter = NanoCounter(998)
    lines = metric_lines(metric_table(columns), "p", counter)
    stamps = [int(line.rsplit(" ", 1)[1]) for line in lines.to_pylist()]
    # Ranks 0 and 1 within (fraud-v3, T0); the counter's 998 and 999 fill the digits.
    assert stamps == [T0 * 1000 + 998, T0 * 1000 + 999, (T0 + 1) * 1000 + 998, T0 * 1000 + 998]
    # The next batch starts after every number this one used, wrapping at 1000.
    assert counter.reserve(1) == 0


def test_more_than_a_thousand_points_in_one_microsecond_spill_into_a_seq_tag() -> None:
    lines = metric_lines(metric_table(_metrics([T0] * 1001)), "p", NanoCounter(0)).to_pylist()
    assert lines[999].startswith("inference,model_id=fraud-v3,project=p latency=")
    assert lines[999].endswith(f" {T0 * 1000 + 999}\n")
    assert lines[1000].startswith("inference,model_id=fraud-v3,project=p,seq=1 latency=")
    assert lines[1000].endswith(f" {T0 * 1000}\n")


def test_storage_urls_carry_credentials_token_tls_and_retention_policy() -> None:
    target = parse_url("influxdb://me:s%40cret@db.example:9999/metrics?rp=week&tls=true")
    assert target.base_url == "https://db.example:9999"
    assert (target.database, target.retention_policy) == ("metrics", "week")
    assert isinstance(target.auth, httpx.BasicAuth)
    token = parse_url("influxdb://db.example/metrics?token=abc")
    assert token.base_url == "http://db.example:8086"
    assert token.headers == {"Authorization": "Token abc"}
    with pytest.raises(ValidationError):
        parse_url("influxdb://db.example:8086/")


def test_percentiles_equal_numpys_to_the_last_bit() -> None:
    rng = np.random.default_rng(5)
    for size in (1, 2, 3, 10, 101, 1000):
        values = rng.lognormal(3, 1.5, size)
        qs = (0.5, 0.9, 0.95, 0.99)
        assert quantiles(values, qs) == [float(np.quantile(values, q)) for q in qs]
        buckets = bucket_aggregate(np.zeros(size, np.int64), values, Aggregation.P99, interval_us=1)
        assert buckets == [(0, float(np.quantile(values, 0.99)))]


# Against a real InfluxDB -----------------------------------------------------------


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    with backend_url("influx", tmp_path) as fresh:
        yield fresh


@pytest.fixture
async def store(url: str, tmp_path: Path) -> AsyncIterator[InfluxStorage]:
    opened = InfluxStorage(url, PROJECT, FakeClock(NOW), tmp_path / "side.duckdb")
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


async def test_two_metrics_of_one_model_in_the_same_microsecond_both_survive(
    store: InfluxStorage,
) -> None:
    await store.write_metrics(_metrics([T0, T0], prefix="batch"))
    await store.write_metrics(_metrics([T0], prefix="later"))
    found = await store.query_metrics(MetricQuery(*EVER, limit=10))
    assert sorted(m.request_id for m in found) == ["batch-0", "batch-1", "later-0"]
    assert {m.timestamp for m in found} == {NOW - timedelta(seconds=60)}


async def test_a_thousand_and_one_points_in_one_microsecond_all_survive(
    store: InfluxStorage,
) -> None:
    await store.write_metrics(_metrics([T0] * 1001))
    table = await store.read_metrics_table(*EVER)
    assert table.num_rows == 1001
    assert set(table.column("ts").cast(pa.int64()).to_pylist()) == {T0}


async def test_influxdb_refusing_a_write_raises_storage_error_with_its_message(
    store: InfluxStorage, url: str
) -> None:
    target = parse_url(url)
    # Make ``latency`` an integer field in this shard: our float then conflicts.
    line = f"inference,model_id=fraud-v3,project={PROJECT} latency=1i {T0 * 1000 + 500}"
    async with httpx.AsyncClient(base_url=target.base_url, timeout=30) as client:
        answer = await client.post(
            "/write", params={"db": target.database, "precision": "n"}, content=line
        )
    assert answer.status_code == 204
    with pytest.raises(StorageError, match="field type conflict"):
        await store.write_metrics(_metrics([T0 + 1]))


async def test_a_dead_influxdb_fails_open_with_storage_error(tmp_path: Path) -> None:
    url = f"influxdb://127.0.0.1:{free_port()}/nothing"
    store = InfluxStorage(url, PROJECT, FakeClock(NOW), tmp_path / "side.duckdb")
    with pytest.raises(StorageError, match=r"127\.0\.0\.1"):
        await store.open()
    await store.close()


async def test_writes_to_an_influxdb_that_died_raise_storage_error(tmp_path: Path) -> None:
    if influxd_binary() is None:
        pytest.skip("influxd is not installed")
    server = start_influxd(tmp_path / "influxd")
    store = InfluxStorage(
        f"influxdb://{server.url.removeprefix('http://')}/gone",
        PROJECT,
        FakeClock(NOW),
        tmp_path / "side.duckdb",
    )
    try:
        await store.open()
        await store.write_metrics(_metrics([T0]))
        server.stop()
        with pytest.raises(StorageError):
            await store.write_metrics(_metrics([T0 + 1]))
        with pytest.raises(StorageError):
            await store.ping()
    finally:
        server.stop()
        await store.close()


async def test_the_registry_lives_in_the_side_store_not_in_influxdb(
    url: str, tmp_path: Path
) -> None:
    store = open_storage(url, PROJECT, FakeClock(NOW), data_dir=tmp_path / "data")
    await store.open()
    model = ModelConfig(id="fraud-v3", name="Fraud", model_type=ModelType.TABULAR)
    assert await store.save_model(model)
    await store.write_metrics(_metrics([T0]))
    await store.close()

    side = tmp_path / "data" / "influx-records.duckdb"
    with duckdb.connect(str(side), read_only=True) as con:
        rows = con.execute("SELECT project_id, model_id FROM models").fetchall()
    assert rows == [(PROJECT, "fraud-v3")]
    target = parse_url(url)
    async with httpx.AsyncClient(base_url=target.base_url, timeout=30) as client:
        answer = await client.post(
            "/query", params={"db": target.database}, data={"q": "SHOW MEASUREMENTS"}
        )
    shown = answer.json()
    names = [v[0] for s in shown["results"][0].get("series", []) for v in s["values"]]
    assert names == ["inference"]


async def test_a_result_streamed_in_many_chunks_reads_back_whole(
    store: InfluxStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("monitorx.store.influx.client._CHUNK_ROWS", 7)
    await store.write_metrics(_metrics([T0 + i for i in range(40)], model_id="a"))
    await store.write_metrics(_metrics([T0 + i for i in range(25)], model_id="b"))
    table = await store.read_metrics_table(*EVER)
    assert table.num_rows == 65
    assert table.column("ts").to_pylist() == sorted(table.column("ts").to_pylist())
    stats = await store.window_stats(*EVER)
    assert [(s.model_id, s.count) for s in stats] == [("a", 40), ("b", 25)]
    assert stats[0].latency_max == 49.0


async def test_a_query_limit_of_zero_returns_nothing(store: InfluxStorage) -> None:
    await store.write_metrics(_metrics([T0, T0 + 1]))
    assert await store.query_metrics(MetricQuery(*EVER, limit=0)) == []


def _numpy(values: np.ndarray, agg: Aggregation) -> float:
    if agg is Aggregation.COUNT:
        return float(values.size)
    if agg is Aggregation.MEAN:
        return float(values.mean())
    if agg is Aggregation.MAX:
        return float(values.max())
    assert agg.quantile is not None
    return float(np.quantile(values, agg.quantile))


@pytest.mark.parametrize("interval_s", [0.25, 1.5, 7, 86400, 604800])
async def test_buckets_of_any_interval_start_at_multiples_of_it_since_the_epoch(
    store: InfluxStorage, interval_s: float
) -> None:
    rng = np.random.default_rng(11)
    ts = T0 - rng.choice(20 * 86400 * 1_000_000, 600, replace=False)
    if interval_s < 2:  # a few seconds of data, so that there are many buckets
        ts = T0 - rng.choice(10_000_000, 600, replace=False)
    columns = _metrics([int(t) for t in ts])
    columns.latency[:] = [float(v) for v in rng.lognormal(3, 1, ts.size)]
    columns.error_rate[:] = [float(v) if v < 0.5 else None for v in rng.random(ts.size)]
    columns.error[:] = [bool(v) for v in rng.random(ts.size) < 0.2]
    await store.write_metrics(columns)
    interval_us = round(interval_s * 1_000_000)
    buckets = ts // interval_us * interval_us
    latency = np.asarray(columns.latency)
    contributions = np.array(
        [1.0 if e else r or 0.0 for e, r in zip(columns.error, columns.error_rate, strict=True)]
    )
    for metric, values in ((MetricName.LATENCY, latency), (MetricName.ERROR_RATE, contributions)):
        for agg in (Aggregation.COUNT, Aggregation.MEAN, Aggregation.MAX, Aggregation.P95):
            found = await store.aggregate("fraud-v3", metric, agg, interval_s, *EVER)
            expected = [(int(b), _numpy(values[buckets == b], agg)) for b in np.unique(buckets)]
            assert [to_epoch_us(b.time) for b in found] == [b for b, _ in expected]
            assert [b.value for b in found] == pytest.approx([v for _, v in expected], rel=1e-9)


async def test_a_shared_http_client_is_used_and_left_open(url: str, tmp_path: Path) -> None:
    async with httpx.AsyncClient(timeout=30) as shared:
        store = InfluxStorage(url, PROJECT, FakeClock(NOW), tmp_path / "side.duckdb", client=shared)
        await store.open()
        await store.write_metrics(_metrics([T0]))
        assert await store.has_metrics("fraud-v3")
        await store.close()
        assert not shared.is_closed


async def test_a_point_with_neither_error_nor_error_rate_contributes_zero(
    store: InfluxStorage,
) -> None:
    table = metric_table(_metrics([T0, T0 + 1, T0 + 2]))
    error = pa.array([None, True, False], pa.bool_())
    await store.write_metrics(table.set_column(7, "error", error))
    window = await store.error_window("fraud-v3", *EVER)
    assert (window.count, window.error_rate) == (3, pytest.approx(1 / 3))
    for agg, expected in (
        (Aggregation.MIN, 0.0),
        (Aggregation.P50, 0.0),
        (Aggregation.MEAN, 1 / 3),
    ):
        (bucket,) = await store.aggregate("fraud-v3", MetricName.ERROR_RATE, agg, 3600, *EVER)
        assert bucket.value == pytest.approx(expected)
    read = await store.read_metrics_table(*EVER)
    assert read.column("error").to_pylist() == [None, True, False]
