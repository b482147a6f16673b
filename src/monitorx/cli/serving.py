"""Running the app under uvicorn for ``monitorx serve``.

A start-up that fails with one of our own errors (a store another process holds,
a database that cannot be reached) ends the command with that error's message, as
every other command does, instead of uvicorn's traceback and "Application startup
failed" lines. Any other failure keeps uvicorn's report: it is a bug to look at.

With a certificate and key (``--ssl-certfile``/``--ssl-keyfile``) uvicorn serves
HTTPS itself; they are loaded once before anything starts, so a missing file, a key
that does not match or a wrong password is one line, not a traceback.
"""

from __future__ import annotations

__all__ = ["STARTUP_FAILURE", "TLSFiles", "check_tls", "run_server"]

import logging
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from monitorx.core import MonitorXError

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
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=access_log,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        ssl_certfile=tls.certfile if tls else None,
        ssl_keyfile=tls.keyfile if tls else None,
        ssl_keyfile_password=tls.password if tls else None,
    )
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
