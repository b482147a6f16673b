"""Configuration that other processes change in a shared store, as a stream of hints.

Replicas on one PostgreSQL store each hold the configuration (models, thresholds,
profiles, rules, SLOs, quality checks, drift schedules, channels, routes, silences,
keys, users) in memory. When one of them — or the CLI — changes it, the others
must read it again. `ConfigChanges` tells them when: each `ConfigChange` names the
projects whose configuration was written, or says `everything` after the listener
(re)connected, since what was written while it was away was never heard.

A change is a hint, not the data: the reader reads the store again. Hints can be
lost (a connection that drops), so a reader also reloads everything now and then.
A store that one process owns alone (DuckDB, InfluxDB with its DuckDB side store)
has no such stream: `Storage.config_changes` returns None.
"""

from __future__ import annotations

__all__ = ["ConfigChange", "ConfigChanges", "in_held_order"]

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """The projects whose configuration changed; with ``everything``, every project's
    may have (the listener has just (re)connected: changes made meanwhile were lost)."""

    projects: frozenset[str] = frozenset()
    everything: bool = False


class ConfigChanges(Protocol):
    """Where a process hears that another one changed the store's configuration."""

    @property
    def connected(self) -> bool:
        """True while changes are heard as they happen (False before the first
        connection, and while reconnecting)."""

    def listen(self) -> AsyncIterator[ConfigChange]:
        """The changes, for as long as the caller iterates: an `everything` change
        first, and again after every reconnection; never ends on its own (a lost
        connection is retried with backoff)."""


def in_held_order(held: Mapping[K, V], found: Mapping[K, V]) -> dict[K, V]:
    """What a reload ``found``, in the order already ``held`` (then the new ones in
    the order found): the store orders by creation time, and things created in the
    same instant would otherwise change places at every reload."""
    kept = {key: found[key] for key in held if key in found}
    return kept | {key: value for key, value in found.items() if key not in kept}
