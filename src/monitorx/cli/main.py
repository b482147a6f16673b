"""The ``monitorx`` command: ``serve`` runs the server, ``demo`` sends demo traffic,
``import``, ``backup`` and ``restore`` work on the stored data, ``secrets`` on the
keys of channel secrets."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from monitorx.cli.data_commands import add_data_commands
from monitorx.cli.environment import warn_unknown_variables
from monitorx.cli.key_commands import add_key_commands
from monitorx.cli.secret_commands import add_secret_commands
from monitorx.cli.store_in_use import store_in_use
from monitorx.cli.user_commands import add_user_commands
from monitorx.core import MonitorXError

if TYPE_CHECKING:  # imported where used: the bare install has no server
    from monitorx.cli.serving import TLSFiles
    from monitorx.server.settings import Settings

# `pip install monitorx` is the SDK alone; the commands below the SDK need this.
SERVER_EXTRA = 'pip install "monitorx[server]"'
STOPPED_BY_CTRL_C = ("serve", "demo")  # commands that run until interrupted


def _shown_url(url: str) -> str:
    """A storage URL as the start-up banner prints it: a password or a credential in
    its query replaced by ``<secret>`` (a log line never holds one)."""
    from monitorx.alerting.notify.channels.redaction import REDACTED, redact_url_credentials

    redacted = redact_url_credentials(url)
    return redacted if REDACTED in redacted else url


def serve(args: argparse.Namespace) -> int:
    from monitorx.cli.pandas_check import skip_pyarrow_pandas_check

    skip_pyarrow_pandas_check()  # before the server's modules build their first arrays
    from pydantic import SecretStr

    from monitorx.cli.bootstrap_key import bootstrap_admin_key
    from monitorx.cli.serving import (
        check_tls,
        check_workers,
        run_server,
        run_workers,
        tune_for_ingest,
    )
    from monitorx.cli.store_in_use import check_store_free, embedded_store
    from monitorx.server.app import create_app
    from monitorx.server.secret_keys import load_secret_keys
    from monitorx.server.settings import Settings

    warn_unknown_variables(Settings.model_fields)
    overrides: dict[str, object] = {}
    if args.host is not None:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    if args.data_dir is not None:
        overrides["data_dir"] = Path(args.data_dir)
    if args.storage is not None:
        overrides["storage_url"] = args.storage
    if args.otlp_grpc_port is not None:
        overrides["otlp_grpc_port"] = args.otlp_grpc_port
    if args.ssl_certfile is not None:
        overrides["ssl_certfile"] = Path(args.ssl_certfile)
    if args.ssl_keyfile is not None:
        overrides["ssl_keyfile"] = Path(args.ssl_keyfile)
    settings = Settings(**overrides)  # type: ignore[arg-type]
    check_workers(settings, args.workers)  # before anything starts: one line
    tls = _tls_files(settings)
    if tls is not None:
        check_tls(tls)  # a bad certificate or key: one line, before anything starts
    embedded = embedded_store(settings.resolved_storage_url())
    if embedded is not None:
        check_store_free(embedded)  # before anything starts or prints: one line
    if settings.auth_enabled and not settings.api_keys and settings.jwt_secret is None:
        bootstrap = asyncio.run(bootstrap_admin_key(settings))
        if bootstrap.legacy_key is not None:
            settings.api_keys = [SecretStr(bootstrap.legacy_key)]
        print(bootstrap.message)
    secret_keys = load_secret_keys(settings)  # a PostgreSQL store without keys stops here
    if args.workers > 1:
        # A store that does not answer: one line here, not a traceback from each
        # worker (and uvicorn stopping them all).
        asyncio.run(_store_answers(settings))
        # Each worker builds its app from the environment: the command line's
        # settings go there (its own environment, inherited by its workers only).
        _settings_to_environment(overrides, settings)
    else:
        app = create_app(settings, secret_keys=secret_keys)
        tune_for_ingest()
    print(f"MonitorX {_version()} storing data at {_shown_url(settings.resolved_storage_url())}")
    scheme = "https" if tls else "http"
    print(f"Dashboard and API on {scheme}://{settings.host}:{settings.port}/ (docs at /docs)")
    print(secret_keys.describe())
    if settings.otlp_grpc_port is not None:
        print(f"OTLP/gRPC metrics on {settings.host}:{settings.otlp_grpc_port}")
    print(_pii_line(settings))
    print(_rate_limits_line(settings))
    if not settings.auth_enabled:
        print(AUTH_OFF_WARNING)
    if args.workers > 1:
        print(f"{args.workers} worker processes share the port (replicas of one cluster)")
        sys.stdout.flush()
        return run_workers(
            args.workers, settings.host, settings.port, args.log_level, args.access_log, tls
        )
    sys.stdout.flush()
    return run_server(app, settings.host, settings.port, args.log_level, args.access_log, tls)


async def _store_answers(settings: Settings) -> None:
    from monitorx.cli.data_commands import project_store

    async with project_store(settings, settings.project_id):
        pass


def _settings_to_environment(overrides: dict[str, object], settings: Settings) -> None:
    """The command line's settings, and a bootstrap key accepted from its file, as
    the ``MONITORX_*`` variables a worker reads."""
    for name, value in overrides.items():
        os.environ[f"MONITORX_{name.upper()}"] = str(value)
    if settings.api_keys:
        keys = [key.get_secret_value() for key in settings.api_keys]
        os.environ["MONITORX_API_KEYS"] = json.dumps(keys)


AUTH_OFF_WARNING = (
    "WARNING: auth is OFF (MONITORX_AUTH_ENABLED=false): anyone who can reach this "
    "server can read, change and delete everything in it, with no key."
)


def _tls_files(settings: Settings) -> TLSFiles | None:
    from monitorx.cli.serving import TLSFiles

    if settings.ssl_certfile is None:
        return None
    password = settings.ssl_keyfile_password
    return TLSFiles(
        settings.ssl_certfile,
        settings.ssl_keyfile,
        password.get_secret_value() if password is not None else None,
    )


def _rate_limits_line(settings: Settings) -> str:
    if settings.rate_limit_per_s <= 0:
        return "Rate limits: off (MONITORX_RATE_LIMIT_PER_S)"
    where = "shared through Redis" if settings.redis_url else "kept in this process"
    return (
        f"Rate limits: {settings.rate_limit_per_s:g} requests/s, bursts of "
        f"{settings.rate_limit_burst}, per key or client address, {where}"
    )


def _pii_line(settings: Settings) -> str:
    """What the server masks before storing, in a line (docs/security.md)."""
    masked = [str(d) for d in settings.pii_detectors] + list(settings.pii_custom_patterns)
    if not masked:
        return "PII masking is off (MONITORX_PII_DETECTORS=[]): values are stored as sent"
    return f"PII masking: {', '.join(masked)} ({settings.pii_mode})"


def demo(args: argparse.Namespace) -> int:
    from monitorx.cli.demo import run_demo

    api_key = args.api_key or os.environ.get("MONITORX_API_KEY")
    run_demo(args.url, api_key=api_key, duration_s=args.duration, rate_per_s=args.rate)
    return 0


def _version() -> str:
    import monitorx

    return monitorx.__version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="monitorx", description=__doc__)
    parser.add_argument("--version", action="version", version=f"monitorx {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)

    p_serve = commands.add_parser("serve", help="run the server (API, dashboard, alerting)")
    p_serve.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    p_serve.add_argument("--port", type=int, help="port (default 8000)")
    p_serve.add_argument("--data-dir", help="where the embedded store lives (default ./data)")
    p_serve.add_argument("--storage", help="storage URL, e.g. duckdb:///path/to/file.db")
    p_serve.add_argument(
        "--otlp-grpc-port",
        type=int,
        help="also serve OTLP/gRPC metrics on this port, usually 4317 (default: off; "
        'needs pip install "monitorx[otlp-grpc]")',
    )
    p_serve.add_argument(
        "--ssl-certfile", help="serve HTTPS with this PEM certificate (chain) (default: HTTP)"
    )
    p_serve.add_argument(
        "--ssl-keyfile", help="the certificate's PEM private key, unless it is in the certfile"
    )
    p_serve.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    p_serve.add_argument("--access-log", action="store_true", help="log every request")
    p_serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes on this machine sharing the port (default 1; more only "
        "on PostgreSQL with Redis, see docs/deployment.md)",
    )
    p_serve.set_defaults(func=serve)

    p_demo = commands.add_parser("demo", help="send realistic demo traffic to a server")
    p_demo.add_argument("--url", default=os.environ.get("MONITORX_URL", "http://127.0.0.1:8000"))
    p_demo.add_argument("--api-key", help="API key (default: $MONITORX_API_KEY)")
    p_demo.add_argument("--duration", type=float, help="seconds to run (default: until Ctrl-C)")
    p_demo.add_argument("--rate", type=float, default=50.0, help="metrics per second per model")
    p_demo.set_defaults(func=demo)

    add_data_commands(commands)
    add_key_commands(commands)
    add_user_commands(commands)
    add_secret_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
    except MonitorXError as exc:
        # A bad setting or config file, a store in use: say what is wrong, without a
        # traceback.
        print(f"monitorx {args.command}: {store_in_use(exc) or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # Ctrl-C is how a server or the demo is stopped (the demo printed its summary);
        # it cuts the other commands short.
        return 0 if args.command in STOPPED_BY_CTRL_C else 130
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.partition(".")[0] == "monitorx":
            raise  # our own code is broken: that traceback is worth reading
        print(
            f"monitorx {args.command} needs the server's dependencies ({exc.name} is not "
            f"installed): {SERVER_EXTRA}",
            file=sys.stderr,
        )
        return 2
    return result


if __name__ == "__main__":
    raise SystemExit(main())
