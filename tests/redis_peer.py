"""Redis for tests: the shared server on 127.0.0.1:6379, or one a test starts.

`shared_redis()` gives a key prefix of its own on the shared server
(``MONITORX_TEST_REDIS_URL``, default ``redis://127.0.0.1:6379/0``) and deletes its
keys afterwards, so tests running at once never share a bucket.
`start_redis_server()` runs a private ``redis-server`` on a free loopback port, for
tests that stop and restart it. Either one missing skips the test locally and
fails it under ``CI=true`` (tests/backends.py ``unavailable``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

from monitorx.server.rate_limits.redis_buckets import describe_redis_url
from tests.backends import unavailable
from tests.conftest import free_port

__all__ = ["REDIS_URL", "RedisProcess", "shared_redis", "start_redis_server"]

REDIS_URL = os.environ.get("MONITORX_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
START_TIMEOUT_S = 10.0


@contextmanager
def shared_redis() -> Iterator[tuple[str, str]]:
    """The shared Redis' URL and a fresh key prefix; the prefix's keys go after."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        unavailable(f"Redis at {describe_redis_url(REDIS_URL)} ({exc})")  # no password
        raise
    prefix = f"monitorx-test:{uuid.uuid4().hex[:12]}:"
    try:
        yield REDIS_URL, prefix
    finally:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


@dataclass
class RedisProcess:
    """A private ``redis-server``: its URL, and how to stop and start it again."""

    port: int
    work: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable("redis-server (apt-get install redis-server)")
            raise AssertionError("unreachable")
        log = (self.work / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                *(binary, "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.work)),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + START_TIMEOUT_S
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    if time.monotonic() > deadline or self.process.poll() is not None:
                        raise RuntimeError("redis-server did not start") from None
                    time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # as a crash: nothing is saved
            self.process.wait(timeout=10)


def start_redis_server(work: Path) -> RedisProcess:
    server = RedisProcess(free_port(), work)
    server.start()
    return server
