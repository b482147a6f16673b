"""Decoding in a worker process gives what decoding in-process gives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
import psutil
import pytest

from monitorx.core import PayloadTooLarge, ValidationError
from monitorx.core.pii import PiiKind, PiiMasker, PiiPolicy
from monitorx.ingest.pool import POOL_MIN_BYTES, BatchDecoder, decode_batch_to_table
from tests.polling import eventually

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def decoder() -> Iterator[BatchDecoder]:
    pool = BatchDecoder(workers=1)
    pool.start()
    pool.warm()
    yield pool
    pool.stop()


def _body(n: int, bad_every: int = 0) -> bytes:
    items = [
        {
            "model_id": f"m{i % 7}",
            "latency": -1 if bad_every and i % bad_every == 0 else i / 10,
            "tags": {"region": "eu", "i": str(i)},
            "resource_usage": {"gpu_memory_mb": 100 + i},
        }
        for i in range(n)
    ]
    body = orjson.dumps(items)
    assert len(body) >= POOL_MIN_BYTES
    return body


async def test_worker_decodes_the_same_table(decoder: BatchDecoder) -> None:
    body = _body(3_000, bad_every=500)
    table, rejected = await decoder.decode(body, NOW, 10_000)
    expected, expected_rejected = decode_batch_to_table(body, NOW, 10_000)
    assert table.drop_columns(["request_id"]).equals(expected.drop_columns(["request_id"]))
    assert rejected == expected_rejected
    assert [r.index for r in rejected] == list(range(0, 3_000, 500))


async def test_a_worker_masks_tags_as_the_server_process_would(decoder: BatchDecoder) -> None:
    items = [
        {"model_id": "m", "latency": 1.0, "tags": {"user": f"user{i % 5}@example.com"}}
        for i in range(3_000)
    ]
    body = orjson.dumps(items)
    assert len(body) >= POOL_MIN_BYTES
    masker = PiiMasker(PiiPolicy(frozenset({PiiKind.EMAIL}), key=b"k" * 32))
    table, _ = await decoder.decode(body, NOW, 10_000, masker)
    here, _ = decode_batch_to_table(body, NOW, 10_000, masker)
    assert decoder.stats().pool_batches >= 1
    tags = table.column("tags").to_pylist()
    assert tags == here.column("tags").to_pylist()
    assert len(set(tags)) == 5 and not any("@" in t for t in tags)


async def test_errors_cross_the_process_boundary_with_their_field(decoder: BatchDecoder) -> None:
    with pytest.raises(PayloadTooLarge) as caught:
        await decoder.decode(_body(3_000), NOW, 100)
    assert caught.value.errors[0].field == "body"
    with pytest.raises(ValidationError, match="array"):
        await decoder.decode(b'{"model_id": "' + b"x" * POOL_MIN_BYTES + b'"}', NOW, 10)


_SERVER_STAND_IN = """
import sys, time
from monitorx.ingest.pool import BatchDecoder
pool = BatchDecoder(workers=2)
pool.start()
pool.warm()  # the workers are up
print(*pool._pool._processes, flush=True)
time.sleep(60)
"""


def test_workers_leave_when_the_server_is_killed_outright() -> None:
    with subprocess.Popen(
        [sys.executable, "-c", _SERVER_STAND_IN], stdout=subprocess.PIPE, text=True
    ) as server:
        assert server.stdout is not None
        workers = [int(pid) for pid in server.stdout.readline().split()]
        assert len(workers) == 2 and all(psutil.pid_exists(pid) for pid in workers)
        server.kill()  # SIGKILL: no shutdown code runs
        server.wait()
        alive = eventually(
            lambda: [p for p in workers if _running(p)], lambda left: not left, timeout_s=10
        )
        assert alive == []


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def test_workers_ignore_ctrl_c_and_go_on_decoding() -> None:
    """A terminal's Ctrl-C reaches the workers too; the server stops them itself."""
    pool = BatchDecoder(workers=2)
    pool.start()
    pool.warm()
    try:
        assert pool._pool is not None
        for future in [pool._pool.submit(int) for _ in range(4)]:
            future.result()  # the workers are up
        workers = sorted(pool._pool._processes)
        for pid in workers:
            os.kill(pid, signal.SIGINT)
        body = _body(3_000)
        for _ in range(4):
            table, _ = await pool.decode(body, NOW, 10_000)
            assert table.num_rows == 3_000
        assert sorted(pool._pool._processes) == workers
        assert all(_running(pid) for pid in workers)
    finally:
        pool.stop()


async def test_workers_start_with_the_first_large_body_which_is_decoded_here() -> None:
    """An idle server holds no decoder processes; the first large body starts them
    and is decoded in-process meanwhile; once they are up, large bodies go to them."""
    pool = BatchDecoder(workers=1)
    pool.start()
    try:
        assert pool.stats().processes == 0
        small = orjson.dumps([{"model_id": "m", "latency": 1.0}])
        await pool.decode(small, NOW, 10)
        assert pool.stats().processes == 0  # a small body starts nothing
        body = _body(3_000)
        table, _ = await pool.decode(body, NOW, 10_000)
        assert table.num_rows == 3_000
        assert (pool.stats().pool_batches, pool.stats().processes) == (0, 1)
        pool.warm()
        await pool.decode(body, NOW, 10_000)
        assert pool.stats().pool_batches == 1
    finally:
        pool.stop()
