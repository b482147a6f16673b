"""``monitorx keys create|list|revoke``: API keys in the store, before or beside a
server (docs/security.md#api-keys).

They open the store the settings name (``--storage``, default the embedded DuckDB
file under ``--data-dir``) directly. The embedded store admits one process at a
time: create the first keys before ``monitorx serve`` starts, or through
``/api/v1/keys``; on PostgreSQL a running server sees a key created here within a
few seconds.
"""

from __future__ import annotations

__all__ = ["add_key_commands"]

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from monitorx.cli.data_commands import (
    project_store,
    run_command,
    settings_from_args,
    store_options,
)
from monitorx.core import SystemClock
from monitorx.core.access import Role

if TYPE_CHECKING:
    from monitorx.server.keys import KeyRing


@asynccontextmanager
async def _keyring(args: argparse.Namespace) -> AsyncIterator[KeyRing]:
    """The keys of ``--project`` (else the settings' project) in the store, open."""
    from monitorx.server.keys import KeyRing

    settings = settings_from_args(args)
    project = args.project or settings.project_id
    async with project_store(settings, project) as store:
        yield KeyRing(store, SystemClock(), project)


async def _create(args: argparse.Namespace) -> int:
    async with _keyring(args) as keys:
        record, key = await keys.create(Role(args.role), args.name or "")
    print(f"created key {record.id} ({record.role.value}) of project {record.project}, shown once:")
    print(key)
    return 0


async def _list(args: argparse.Namespace) -> int:
    async with _keyring(args) as keys:
        found = await keys.list()
    for k in found:
        revoked = f"revoked {k.revoked_at:%Y-%m-%d %H:%M:%S}Z" if k.revoked_at else "live"
        created = f"{k.created_at:%Y-%m-%d %H:%M:%S}Z"
        print(f"{k.id}  {k.hint:16}  {k.role.value:7}  {created}  {revoked}  {k.name}")
    if not found:
        print("no keys")
    return 0


async def _revoke(args: argparse.Namespace) -> int:
    async with _keyring(args) as keys:
        await keys.revoke(args.id)
    print(f"revoked key {args.id}")
    return 0


def add_key_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p_keys = commands.add_parser("keys", help="create, list and revoke API keys")
    actions = p_keys.add_subparsers(dest="action", required=True)

    def with_store(parser: argparse.ArgumentParser) -> None:
        store_options(parser)
        parser.add_argument("--project", help="the project (default: MONITORX_PROJECT_ID)")

    p_create = actions.add_parser("create", help="a new key, printed alone on the last line")
    p_create.add_argument("--role", required=True, choices=[r.value for r in Role])
    p_create.add_argument("--name", help="what the key is for (shown in lists)")
    with_store(p_create)
    p_create.set_defaults(func=run_command(_create))

    p_list = actions.add_parser("list", help="the project's keys, never their secrets")
    with_store(p_list)
    p_list.set_defaults(func=run_command(_list))

    p_revoke = actions.add_parser("revoke", help="revoke a key by its id")
    p_revoke.add_argument("id", help="the key's id, as `keys list` shows it")
    with_store(p_revoke)
    p_revoke.set_defaults(func=run_command(_revoke))
