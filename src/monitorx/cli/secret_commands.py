"""``monitorx secrets``: the keys that encrypt channel secrets at rest.

``generate-key`` prints a new key for ``MONITORX_SECRET_KEYS``. ``rotate`` seals
every stored channel of every project with the first key — channels sealed with an older key, and
any an earlier version stored in plaintext — so that the older keys can be
removed; with ``--new-key`` it first puts a new key at the head of the data
directory's key file, and afterwards leaves that key alone in it. Like ``import``,
it opens the store itself: stop ``monitorx serve`` first when the store is the
embedded one (docs/security.md, "Secrets at rest", has the whole procedure).
"""

from __future__ import annotations

__all__ = ["add_secret_commands"]

import argparse
from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING

from monitorx.cli.data_commands import run_command, settings_from_args
from monitorx.cli.store_in_use import check_store_free, embedded_store
from monitorx.core import MonitorXError

if TYPE_CHECKING:
    from monitorx.alerting.notify.channel_secrets import ResealReport


async def _generate_key(_args: argparse.Namespace) -> int:
    from monitorx.store.secret_keys import generate_secret_key

    print(generate_secret_key())
    return 0


async def _rotate(args: argparse.Namespace) -> int:
    from monitorx.alerting.notify.channel_secrets import reseal_channels
    from monitorx.server.secret_keys import load_secret_keys
    from monitorx.store import open_storage
    from monitorx.store.secret_keys import SecretKeyRing, generate_secret_key, write_key_file

    settings = settings_from_args(args)
    embedded = embedded_store(settings.resolved_storage_url())
    if embedded is not None:
        check_store_free(embedded)
    source = load_secret_keys(settings)
    if args.new_key and source.file is None:
        raise MonitorXError(
            f"--new-key replaces the key in the data directory's key file, but the keys "
            f"come from {source.source}: put a new key (`monitorx secrets generate-key`) "
            "first there, give it to every server, then run `monitorx secrets rotate`"
        )
    store = open_storage(
        settings.resolved_storage_url(),
        settings.project_id,
        data_dir=settings.data_dir,
        hot_max_points=0,
    )
    await store.open()
    try:
        ring = source.ring
        if args.new_key:
            assert source.file is not None
            keys = [generate_secret_key(), *source.file.read_text().split()]
            write_key_file(source.file, keys)  # old keys still open what they sealed
            ring = SecretKeyRing(keys, str(source.file))
        # Every project's channels: a server serves them all with these keys. A
        # project refused (unreadable channels) stops the command before the key
        # file is trimmed, so the projects resealed before it stay readable.
        reports = []
        for project in sorted({settings.project_id} | await store.stored_projects()):
            own = project == settings.project_id
            view = store if own else store.for_project(project)
            if not own:
                await view.open()
            try:
                found = await reseal_channels(view, ring, delete_unreadable=args.delete_unreadable)
            finally:
                if not own:
                    await view.close()
            reports.append(found if own else _named_by_project(found, project))
        report = _merged(ring.key_id, reports)
    finally:
        await store.close()
    if source.file is not None and len(ring.key_ids) > 1:
        # Nothing stored needs the older keys now: the file keeps the new one alone.
        write_key_file(source.file, source.file.read_text().split()[:1])
    older = ", ".join(f"{n} from key {k}" for k, n in sorted(report.from_keys.items()))
    plaintext = f"{report.from_plaintext} from plaintext" if report.from_plaintext else ""
    detail = "; ".join(p for p in (older, plaintext) if p)
    print(
        f"{report.channels} channel(s) stored; {report.resealed} sealed again with key "
        f"{report.key_id}" + (f" ({detail})" if detail else "")
    )
    if report.deleted:
        print(f"deleted {len(report.deleted)} unreadable channel(s): {', '.join(report.deleted)}")
    if source.file is not None:
        print(f"{source.file} holds key {report.key_id} alone")
    elif len(ring.key_ids) > 1:
        print(
            f"no stored channel needs key(s) {', '.join(ring.key_ids[1:])} any more: "
            "remove them from MONITORX_SECRET_KEYS on every server"
        )
    return 0


def _named_by_project(report: ResealReport, project: str) -> ResealReport:
    """``report`` with its channels named ``channel (project)``."""
    return replace(
        report,
        unreadable={f"{c} ({project})": k for c, k in report.unreadable.items()},
        deleted=tuple(f"{c} ({project})" for c in report.deleted),
    )


def _merged(key_id: str, reports: list[ResealReport]) -> ResealReport:
    from monitorx.alerting.notify.channel_secrets import ResealReport

    from_keys: Counter[str] = Counter()
    for one in reports:
        from_keys.update(one.from_keys)
    return ResealReport(
        key_id=key_id,
        channels=sum(r.channels for r in reports),
        resealed=sum(r.resealed for r in reports),
        from_plaintext=sum(r.from_plaintext for r in reports),
        from_keys=dict(from_keys),
        unreadable={c: k for r in reports for c, k in r.unreadable.items()},
        deleted=tuple(c for r in reports for c in r.deleted),
    )


def add_secret_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p_secrets = commands.add_parser("secrets", help="the keys that encrypt channel secrets at rest")
    actions = p_secrets.add_subparsers(dest="action", required=True)
    p_generate = actions.add_parser("generate-key", help="print a new key for MONITORX_SECRET_KEYS")
    p_generate.set_defaults(func=run_command(_generate_key))
    p_rotate = actions.add_parser(
        "rotate", help="seal every stored channel secret with the first key"
    )
    p_rotate.add_argument("--data-dir", help="where the embedded store lives (default ./data)")
    p_rotate.add_argument("--storage", help="storage URL (default: the embedded store)")
    p_rotate.add_argument(
        "--new-key",
        action="store_true",
        help="first put a new key at the head of <data-dir>/secret-key (keys from the "
        "key file only)",
    )
    p_rotate.add_argument(
        "--delete-unreadable",
        action="store_true",
        help="delete the channels that no configured key opens (their key is lost)",
    )
    p_rotate.set_defaults(func=run_command(_rotate))
