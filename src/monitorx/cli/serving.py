"""Running the app under uvicorn for ``monitorx serve``.

A start-up that fails with one of our own errors (a store another process holds,
a database that cannot be reached) ends the command with that error's message, as
every other command does, instead of uvicorn's traceback and "Application startup
failed" lines. Any other failure keeps uvicorn's report: it is a bug to look at.

With a certificate and key (``--ssl-certfile``/``--ssl-keyfile``) uvicorn serves
HTTPS itself; they are loaded once before anything starts, so a missing file, a key
that does not match or a wrong password is one line, not a traceback.

``--workers N`` runs N server processes on one machine that share the port
(uvicorn's workers: each one builds the app from the environment, `worker_app`).
They are replicas of a cluster, so it is allowed only where replicas are
(`check_workers`): a PostgreSQL store *and* Redis. The embedded DuckDB store is
opened by one process only, InfluxDB keeps its registry in such a file, and
PostgreSQL without Redis would split rate limits and the live feed per process.
"""

from __future__ import annotations

__all__ = [
    "STARTUP_FAILURE",
    "TLSFiles",
    "check_tls",
    "check_workers",
    "run_server",
    "run_workers",
    "worker_app",
]

import gc
import logging
import ssl
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn
from fastapi import FastAPI

from monitorx.core import MonitorXError

if TYPE_CHECKING:
    from monitorx.server.settings import Settings

STARTUP_FAILURE = 3  # uvicorn's exit code for a start-up that failed
GRACEFUL_SHUTDOWN_S = 10


@dataclass(frozen=True, slots=True)
class TLSFiles:
    """What HTTPS is served with: a PEM certificate (chain) and its private key."""

    certfile: Path
    keyfile: Path | None = None  # None: the key is in the certfile
    password: str | None = None  # of an encrypted key


def check_tls(tls: TLSFiles) -> None:
    """Load the certificate and key as uvicorn will; `MonitorXError` naming what
    is wrong when they cannot be."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(tls.certfile, tls.keyfile, tls.password)
    except (OSError, ssl.SSLError) as exc:
        files = str(tls.certfile) + (f" and {tls.keyfile}" if tls.keyfile else "")
        raise MonitorXError(f"cannot serve HTTPS with {files}: {exc}") from None


class _StartupFailure(logging.Filter):
    """Holds the error that stopped the start-up, and silences uvicorn's own report
    of it (the traceback, then "Application startup failed. Exiting.")."""

    def __init__(self) -> None:
        super().__init__()
        self.error: MonitorXError | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        return self.error is None


def _watch_startup(app: FastAPI, failure: _StartupFailure) -> None:
    inner: Callable[[Any], AbstractAsyncContextManager[Any]] = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[Any]:
        started = False
        try:
            async with inner(app) as state:
                started = True
                yield state
        except MonitorXError as exc:
            if not started:
                failure.error = exc
            raise

    app.router.lifespan_context = lifespan


def run_server(
    app: FastAPI,
    host: str,
    port: int,
    log_level: str,
    access_log: bool,
    tls: TLSFiles | None = None,
) -> int:
    """Serve ``app`` (over HTTPS with ``tls``) until a signal stops it; 0 after a
    clean stop. Raises the ``MonitorXError`` that stopped the start-up, if one did."""
    failure = _StartupFailure()
    _watch_startup(app, failure)
    config = uvicorn.Config(app, **_uvicorn_options(host, port, log_level, access_log, tls))
    server = uvicorn.Server(config)  # Config above set up uvicorn's loggers
    uvicorn_log = logging.getLogger("uvicorn.error")
    uvicorn_log.addFilter(failure)
    try:
        server.run()
    except KeyboardInterrupt:
        pass  # as uvicorn.run: Ctrl-C is how a server is stopped
    except SystemExit:  # how some uvicorn versions end a failed start-up
        if failure.error is None:
            raise
    finally:
        uvicorn_log.removeFilter(failure)
    if failure.error is not None:
        raise failure.error
    return 0 if server.started else STARTUP_FAILURE


ONE_PROCESS_ADVICE = (
    "run one process (without --workers), or several replicas on PostgreSQL with "
    "Redis (MONITORX_STORAGE_URL=postgresql://…, MONITORX_REDIS_URL=redis://…; "
    "docs/deployment.md)"
)


def check_workers(settings: Settings, workers: int) -> None:
    """`MonitorXError` saying why ``workers`` processes cannot share this store, and
    what to do instead; nothing for one worker or a cluster's settings."""
    if workers < 1:
        raise MonitorXError(f"--workers must be 1 or more, not {workers}")
    if workers == 1:
        return
    scheme = settings.resolved_storage_url().partition("://")[0]
    if scheme == "duckdb":
        raise MonitorXError(
            f"--workers {workers} needs a store that several processes share; the "
            f"embedded DuckDB store is opened by one process only: {ONE_PROCESS_ADVICE}"
        )
    if scheme in ("influxdb", "influx"):
        raise MonitorXError(
            f"--workers {workers} needs a store that several processes share; the "
            "InfluxDB store keeps its registry and alerts in a local DuckDB file, which "
            f"one process opens: {ONE_PROCESS_ADVICE}"
        )
    if not settings.distributed:
        raise MonitorXError(
            f"--workers {workers} on PostgreSQL also needs Redis (MONITORX_REDIS_URL): "
            "without it each worker would keep its own rate limits and live feed"
        )
    if settings.otlp_grpc_port is not None:
        raise MonitorXError(
            f"--workers {workers} with OTLP/gRPC (--otlp-grpc-port) is not supported: "
            "serve OTLP/gRPC from a replica of its own, or OTLP/HTTP (/v1/metrics) here"
        )


def tune_for_ingest() -> None:
    """Ingest allocates thousands of short-lived objects per batch; the default GC
    thresholds (700 allocations) make it scan them several times a batch. Freeze
    what startup made and collect less often: ~20% more metrics/s
    (docs/performance.md)."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    sys.setswitchinterval(0.0005)


def _uvicorn_options(
    host: str, port: int, log_level: str, access_log: bool, tls: TLSFiles | None
) -> dict[str, Any]:
    """What one server process and ``--workers`` processes are served with alike."""
    return {
        "host": host,
        "port": port,
        "log_level": log_level,
        "access_log": access_log,
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_S,
        "ssl_certfile": tls.certfile if tls else None,
        "ssl_keyfile": tls.keyfile if tls else None,
        "ssl_keyfile_password": tls.password if tls else None,
    }


def worker_app() -> FastAPI:
    """The app of one ``--workers`` process, from the settings in the environment
    (`run_workers`' caller put its command line's there); uvicorn calls it by name."""
    from monitorx.cli.pandas_check import skip_pyarrow_pandas_check

    skip_pyarrow_pandas_check()  # as `monitorx serve`: before the first arrays
    from monitorx.server.app import create_app
    from monitorx.server.secret_keys import load_secret_keys
    from monitorx.server.settings import Settings

    settings = Settings()
    app = create_app(settings, secret_keys=load_secret_keys(settings))
    tune_for_ingest()
    return app


def run_workers(
    workers: int,
    host: str,
    port: int,
    log_level: str,
    access_log: bool,
    tls: TLSFiles | None = None,
) -> int:
    """Serve ``workers`` processes of `worker_app` on one port until a signal stops
    them; 0 after a clean stop."""
    with suppress(KeyboardInterrupt):
        uvicorn.run(
            f"{__name__}:worker_app",
            factory=True,
            workers=workers,
            **_uvicorn_options(host, port, log_level, access_log, tls),
        )
    return 0
