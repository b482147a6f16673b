"""Admin commands on the data itself: ``import``, ``backup`` and ``restore``.

They open the store named by the settings (``MONITORX_STORAGE_URL`` /
``--storage``, default the embedded DuckDB file under ``--data-dir``) directly,
without a server. The embedded store can be opened by one process at a time, so
stop ``monitorx serve`` first when it uses DuckDB (a command that finds the store
in use says which process holds it); PostgreSQL and InfluxDB stores can be
imported into while servers run.
"""

from __future__ import annotations

__all__ = [
    "add_data_commands",
    "project_store",
    "run_command",
    "settings_from_args",
    "store_options",
]

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from monitorx.cli.environment import warn_unknown_variables
from monitorx.cli.store_in_use import check_store_free, embedded_store, store_in_use
from monitorx.core import MonitorXError, SystemClock
from monitorx.core.timeparse import from_epoch_us

if TYPE_CHECKING:
    from monitorx.server.settings import Settings
    from monitorx.store import Storage

Command = Callable[[argparse.Namespace], Coroutine[object, object, int]]


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The server's settings, with the command's ``--data-dir`` and ``--storage``."""
    from monitorx.server.settings import Settings

    warn_unknown_variables(Settings.model_fields)
    overrides: dict[str, object] = {}
    if args.data_dir is not None:
        overrides["data_dir"] = Path(args.data_dir)
    if args.storage is not None:
        overrides["storage_url"] = args.storage
    return Settings(**overrides)  # type: ignore[arg-type]


@asynccontextmanager
async def project_store(settings: Settings, project: str) -> AsyncIterator[Storage]:
    """The store the settings name, open as ``project``'s for a command (no hot
    tier: a command reads and writes configuration, not metrics), closed after."""
    from monitorx.store import open_storage

    store = open_storage(
        settings.resolved_storage_url(), project, data_dir=settings.data_dir, hot_max_points=0
    )
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def _embedded_path(args: argparse.Namespace) -> Path:
    url = settings_from_args(args).resolved_storage_url()
    path = embedded_store(url)
    if path is None:
        raise SystemExit(
            f"backup and restore work on the embedded store (duckdb://…), not {url}; "
            "use your database's own tools (pg_dump, influxd backup) for servers"
        )
    check_store_free(path)  # restore would move the file from under its holder
    return path


async def _import(args: argparse.Namespace) -> int:
    from monitorx.ingest.file_import import read_metric_file
    from monitorx.ingest.masking import masker_for
    from monitorx.server.pii_policy import pii_policy
    from monitorx.store import DataLifecycle, metric_table, open_storage

    settings = settings_from_args(args)
    # Tags are masked as the server masks them (the same policy and hash key).
    masker = masker_for(pii_policy(settings, settings.project_id))
    store = open_storage(
        settings.resolved_storage_url(),
        settings.project_id,
        data_dir=settings.data_dir,
        hot_max_points=0,
    )
    await store.open()
    imported = refused = 0
    first = last = None
    try:
        for chunk in read_metric_file(Path(args.file), datetime.now(UTC), masker):
            for rejection in chunk.rejected[: max(0, 20 - refused)]:
                print(f"row {rejection.index}: {rejection.error}", file=sys.stderr)
            refused += len(chunk.rejected)
            if len(chunk.columns):
                await store.write_metrics(metric_table(chunk.columns))
                imported += len(chunk.columns)
                low, high = min(chunk.columns.ts_us), max(chunk.columns.ts_us)
                first = low if first is None else min(first, low)
                last = high if last is None else max(last, high)
        if first is not None and last is not None:
            # Rollups of the imported range, so that long-range charts include it.
            lifecycle = DataLifecycle(store, settings.retention_policy(), SystemClock())
            await lifecycle.rebuild(from_epoch_us(first), from_epoch_us(last + 1))
    finally:
        await store.close()
    print(f"imported {imported} metrics from {args.file}; {refused} rows refused")
    return 0 if imported or not refused else 1


async def _backup(args: argparse.Namespace) -> int:
    from monitorx.store.duckdb.backup import backup_duckdb

    count = await backup_duckdb(_embedded_path(args), Path(args.out))
    print(f"backed up {count} metrics to {args.out}")
    return 0


async def _restore(args: argparse.Namespace) -> int:
    from monitorx.store.duckdb.backup import restore_duckdb

    db = _embedded_path(args)
    kept = restore_duckdb(Path(args.file), db)
    print(f"restored {args.file} into {db}")
    if kept is not None:
        print(f"the store it replaced is kept at {kept}")
    return 0


def run_command(command: Command) -> Callable[[argparse.Namespace], int]:
    """``command`` as an argparse handler: run to its end; our errors are one line."""

    def run(args: argparse.Namespace) -> int:
        try:
            result: int = asyncio.run(command(args))
        except MonitorXError as exc:
            print(f"monitorx {args.command}: {store_in_use(exc) or exc}", file=sys.stderr)
            return 2
        return result

    return run


def store_options(parser: argparse.ArgumentParser) -> None:
    """``--data-dir`` and ``--storage``, as `settings_from_args` reads them."""
    parser.add_argument("--data-dir", help="where the embedded store lives (default ./data)")
    parser.add_argument("--storage", help="storage URL (default: the embedded store)")


def add_data_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    common = store_options

    p_import = commands.add_parser("import", help="load historical metrics from CSV or Parquet")
    p_import.add_argument("file", help="a .csv, .tsv or .parquet file (docs/storage.md)")
    common(p_import)
    p_import.set_defaults(func=run_command(_import))

    p_backup = commands.add_parser("backup", help="copy the embedded store to one file")
    p_backup.add_argument("out", help="the backup file to create")
    common(p_backup)
    p_backup.set_defaults(func=run_command(_backup))

    p_restore = commands.add_parser("restore", help="replace the embedded store by a backup")
    p_restore.add_argument("file", help="a file made by `monitorx backup`")
    common(p_restore)
    p_restore.set_defaults(func=run_command(_restore))
