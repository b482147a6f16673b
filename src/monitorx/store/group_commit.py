"""Group commit: concurrent writes gathered into one commit.

While one commit runs, the writes that arrive wait and then go together in the
next one, so a burst of single-metric requests costs the store a few commits, not
one each. Every writer returns only once the commit that carried its item is done
(and raises what that commit raised): acknowledged still means committed.
"""

from __future__ import annotations

__all__ = ["GroupCommit"]

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class GroupCommit(Generic[T]):
    """Runs ``commit`` on the items written since the last one, at most ``max_items``
    at a time, one commit at a time."""

    def __init__(self, commit: Callable[[list[T]], Awaitable[None]], max_items: int) -> None:
        self._commit = commit
        self._max_items = max_items
        self._waiting: list[tuple[T, asyncio.Future[None]]] = []
        self._leader: asyncio.Task[None] | None = None

    async def write(self, item: T) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._leader is None or self._leader.done():
            self._leader = asyncio.create_task(self._run(), name="monitorx-group-commit")
        await future

    async def _run(self) -> None:
        while self._waiting:
            batch = self._waiting[: self._max_items]
            del self._waiting[: self._max_items]
            try:
                await self._commit([item for item, _ in batch])
            except BaseException as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
            else:
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)
