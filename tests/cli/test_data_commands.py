"""`monitorx import`, `backup` and `restore` on a real embedded store."""

from __future__ import annotations

import asyncio
import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from monitorx.cli.main import main
from monitorx.core import MetricName
from monitorx.core.pii import PiiMasker
from monitorx.server.pii_policy import HASH_KEY_FILE, pii_policy
from monitorx.server.settings import Settings
from monitorx.store import DuckDBStorage, MetricQuery, Resolution

START = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=20)
FAR = datetime(1971, 1, 1, tzinfo=UTC)


def rows(n: int, model: str = "imported-v1") -> list[dict[str, object]]:
    return [
        {
            "model_id": model,
            "timestamp": (START + timedelta(seconds=30 * i)).isoformat(),
            "latency": 10.0 + i % 7,
            "error": "true" if i % 10 == 0 else "false",
            "gpu_memory_mb": 1500.0 + i,
            "tags": '{"region": "eu"}',
            "request_id": f"{model}-{i}",
        }
        for i in range(n)
    ]


def write_csv(path: Path, data: list[dict[str, object]]) -> Path:
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(data[0]))
        writer.writeheader()
        writer.writerows(data)
    return path


def stored(data_dir: Path, model: str | None = None) -> list[object]:
    """The metrics in the store (the CLI runs its own event loop, so tests are sync)."""
    return asyncio.run(_stored(data_dir, model))


async def _stored(data_dir: Path, model: str | None) -> list[object]:
    store = DuckDBStorage(data_dir / "monitorx.duckdb", hot_max_points=0)
    await store.open()
    try:
        end = datetime.now(UTC) + timedelta(days=1)
        return list(await store.query_metrics(MetricQuery(FAR, end, 100_000, model)))
    finally:
        await store.close()


def test_import_csv_keeps_valid_rows_and_names_refused_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = rows(300)
    data[4]["latency"] = "-3"
    data[9]["model_id"] = "bad id!"
    source = write_csv(tmp_path / "history.csv", data)
    data_dir = tmp_path / "data"

    assert main(["import", str(source), "--data-dir", str(data_dir)]) == 0
    out, err = capsys.readouterr()
    assert "imported 298 metrics" in out and "2 rows refused" in out
    assert "row 5: latency" in err and "row 10: model_id" in err

    metrics = stored(data_dir)
    assert len(metrics) == 298
    first = min(metrics, key=lambda m: m.timestamp)  # type: ignore[attr-defined]
    assert first.timestamp == START
    assert first.error is True
    assert first.tags == {"region": "eu"}
    assert first.resource_usage == {"gpu_memory_mb": 1500.0}


def test_import_masks_tags_as_the_server_would(tmp_path: Path) -> None:
    data = rows(3)
    data[1]["tags"] = '{"user": "jane@example.com", "region": "eu"}'
    data_dir = tmp_path / "data"
    assert (
        main(["import", str(write_csv(tmp_path / "h.csv", data)), "--data-dir", str(data_dir)]) == 0
    )
    # The key the import made is the server's (the same data directory, the same masks).
    policy = pii_policy(Settings(data_dir=data_dir))
    assert (data_dir / HASH_KEY_FILE).stat().st_mode & 0o777 == 0o600
    tags = {m.request_id: m.tags for m in stored(data_dir)}  # type: ignore[attr-defined]
    assert tags["imported-v1-1"] == {
        "user": PiiMasker(policy).mask("jane@example.com"),
        "region": "eu",
    }
    assert tags["imported-v1-1"]["user"].startswith("<email:")


async def rollups(data_dir: Path, resolution: Resolution) -> pa.Table:
    store = DuckDBStorage(data_dir / "monitorx.duckdb", hot_max_points=0)
    await store.open()
    try:
        now = datetime.now(UTC)
        return await store.read_rollups(resolution, FAR, now, "imported-v1", MetricName.LATENCY)
    finally:
        await store.close()


def test_imported_history_is_rolled_up_for_long_range_charts(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "history.csv", rows(240))
    data_dir = tmp_path / "data"
    assert main(["import", str(source), "--data-dir", str(data_dir)]) == 0
    minutes = asyncio.run(rollups(data_dir, Resolution.MINUTE))
    hours = asyncio.run(rollups(data_dir, Resolution.HOUR))
    assert sum(minutes.column("count").to_pylist()) == 240
    assert sum(hours.column("count").to_pylist()) == 240


def test_import_parquet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = rows(50, "pq-model")
    table = pa.Table.from_pylist(
        [
            {
                **r,
                "timestamp": datetime.fromisoformat(str(r["timestamp"])),
                "error": r["error"] == "true",
            }
            for r in data
        ]
    )
    pq.write_table(table, tmp_path / "history.parquet")
    assert (
        main(["import", str(tmp_path / "history.parquet"), "--data-dir", str(tmp_path / "d")]) == 0
    )
    assert "imported 50 metrics" in capsys.readouterr().out
    metrics = stored(tmp_path / "d", "pq-model")
    assert sorted(m.request_id for m in metrics) == sorted(str(r["request_id"]) for r in data)  # type: ignore[attr-defined]


def test_import_parquet_with_llm_columns(tmp_path: Path) -> None:
    # As pandas writes it: a token column with gaps is float64 with NaN.
    table = pa.table(
        {
            "model_id": ["chat"] * 3,
            "timestamp": [START + timedelta(seconds=i) for i in range(3)],
            "latency": [900.0, 950.0, 1000.0],
            "prompt_tokens": pa.array([812.0, None, 40.0], pa.float64()),
            "completion_tokens": pa.array([143, 7, None], pa.int64()),
            "time_to_first_token_ms": [180.5, None, 95.0],
            "cost_usd": [0.0021, 0.0004, None],
            "request_id": ["a", "b", "c"],
        }
    )
    pq.write_table(table, tmp_path / "llm.parquet")
    assert main(["import", str(tmp_path / "llm.parquet"), "--data-dir", str(tmp_path / "d")]) == 0
    by_id = {m.request_id: m.llm for m in stored(tmp_path / "d", "chat")}  # type: ignore[attr-defined]
    assert by_id == {
        "a": {
            "prompt_tokens": 812,
            "completion_tokens": 143,
            "time_to_first_token_ms": 180.5,
            "cost_usd": 0.0021,
        },
        "b": {"completion_tokens": 7, "cost_usd": 0.0004},
        "c": {"prompt_tokens": 40, "time_to_first_token_ms": 95.0},
    }


def test_import_refuses_a_file_without_the_required_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_csv(tmp_path / "bad.csv", [{"model_id": "m", "value": 1}])
    assert main(["import", str(source), "--data-dir", str(tmp_path / "d")]) == 2
    assert "missing column(s) latency, timestamp" in capsys.readouterr().err


def test_backup_and_restore_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = tmp_path / "data"
    main(
        [
            "import",
            str(write_csv(tmp_path / "a.csv", rows(120, "first"))),
            "--data-dir",
            str(data_dir),
        ]
    )
    backup = tmp_path / "backups" / "monitorx-backup.duckdb"
    assert main(["backup", str(backup), "--data-dir", str(data_dir)]) == 0
    assert "backed up 120 metrics" in capsys.readouterr().out

    # Later changes, then the restore brings back exactly what was backed up.
    main(
        [
            "import",
            str(write_csv(tmp_path / "b.csv", rows(80, "second"))),
            "--data-dir",
            str(data_dir),
        ]
    )
    assert len(stored(data_dir)) == 200
    assert main(["restore", str(backup), "--data-dir", str(data_dir)]) == 0
    assert "the store it replaced is kept at" in capsys.readouterr().out
    metrics = stored(data_dir)
    assert len(metrics) == 120
    assert {m.model_id for m in metrics} == {"first"}  # type: ignore[attr-defined]
    assert list(data_dir.glob("monitorx.duckdb.before-restore-*"))

    # A backup file is never overwritten.
    assert main(["backup", str(backup), "--data-dir", str(data_dir)]) == 2


def test_restore_refuses_a_file_that_is_not_a_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"not a database")
    assert main(["restore", str(junk), "--data-dir", str(tmp_path / "d")]) == 2
    assert "not a DuckDB database" in capsys.readouterr().err
    assert not (tmp_path / "d" / "monitorx.duckdb").exists()
