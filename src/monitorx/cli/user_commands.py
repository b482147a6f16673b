"""``monitorx users create|list|disable|delete``: users in the store, before or
beside a server (docs/security.md#users-and-tokens).

Like ``monitorx keys`` they open the store the settings name directly: on the
embedded store, before ``monitorx serve`` starts (or through ``/api/v1/users``);
on PostgreSQL a running server sees the change within a few seconds. The password
is read from stdin — one line from a pipe, or typed without echo at a terminal —
never from the command line, where other users' ``ps`` would see it.
"""

from __future__ import annotations

__all__ = ["add_user_commands"]

import argparse
import getpass
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from monitorx.cli.data_commands import (
    project_store,
    run_command,
    settings_from_args,
    store_options,
)
from monitorx.core import SystemClock, ValidationError
from monitorx.core.access import Role

if TYPE_CHECKING:
    from monitorx.server.users import UserDirectory


@asynccontextmanager
async def _directory(args: argparse.Namespace) -> AsyncIterator[UserDirectory]:
    """The users of ``--project`` (else the settings' project) in the store, open."""
    from monitorx.server.users import UserDirectory

    settings = settings_from_args(args)
    project = args.project or settings.project_id
    async with project_store(settings, project) as store:
        yield UserDirectory(store, SystemClock(), project)


def _read_password() -> str:
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise ValidationError("the two passwords differ", "password")
        return password
    return sys.stdin.readline().rstrip("\r\n")


async def _create(args: argparse.Namespace) -> int:
    password = _read_password()
    async with _directory(args) as users:
        record = await users.create(args.username, Role(args.role), password)
    print(f"created user {record.username} ({record.role.value}) of project {record.project}:")
    print(record.id)
    return 0


async def _list(args: argparse.Namespace) -> int:
    async with _directory(args) as users:
        found = await users.list()
    for u in found:
        state = f"disabled {u.disabled_at:%Y-%m-%d %H:%M:%S}Z" if u.disabled_at else "active"
        totp = "totp" if u.totp_enabled else "-"
        created = f"{u.created_at:%Y-%m-%d %H:%M:%S}Z"
        print(f"{u.id}  {u.username:24}  {u.role.value:7}  {created}  {state}  {totp}")
    if not found:
        print("no users")
    return 0


async def _disable(args: argparse.Namespace) -> int:
    async with _directory(args) as users:
        record = await users.find(args.user)
        await users.disable(record.id)
    print(f"disabled user {record.username}")
    return 0


async def _delete(args: argparse.Namespace) -> int:
    async with _directory(args) as users:
        record = await users.find(args.user)
        await users.delete(record.id)
    print(f"deleted user {record.username}")
    return 0


def add_user_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p_users = commands.add_parser("users", help="create, list, disable and delete users")
    actions = p_users.add_subparsers(dest="action", required=True)

    def with_store(parser: argparse.ArgumentParser) -> None:
        store_options(parser)
        parser.add_argument("--project", help="the project (default: MONITORX_PROJECT_ID)")

    p_create = actions.add_parser(
        "create", help="a new user; the password is read from stdin; prints its id last"
    )
    p_create.add_argument("--username", required=True)
    p_create.add_argument("--role", required=True, choices=[r.value for r in Role])
    with_store(p_create)
    p_create.set_defaults(func=run_command(_create))

    p_list = actions.add_parser("list", help="the project's users, never a password")
    with_store(p_list)
    p_list.set_defaults(func=run_command(_list))

    for name, command, what in (
        ("disable", _disable, "a user can no longer log in; its tokens are revoked"),
        ("delete", _delete, "delete a user; its tokens are revoked"),
    ):
        parser = actions.add_parser(name, help=what)
        parser.add_argument("user", help="the user's id or username")
        with_store(parser)
        parser.set_defaults(func=run_command(command))
