"""Opening or updating alerts on PostgreSQL as one atomic statement per storm.

A partial unique index keeps at most one unresolved alert per identity
(``alerts_open_identity``: project and `Alert.identity`, where the status is not
resolved). A breach is an ``INSERT … ON CONFLICT … DO UPDATE`` against it: however
many replicas see breaches of one model at the same moment, PostgreSQL serialises
them on the index entry, and they open one alert and update it. The update keeps
`Alert.absorb`'s rule: the breach's value, threshold and message, severity only
upwards.
"""

from __future__ import annotations

__all__ = ["open_or_update_alerts"]

from collections.abc import Sequence

from monitorx.core import Alert, Severity
from monitorx.store.postgres.connection import PostgresPool
from monitorx.store.sql import rows

_NAMES = [name.strip() for name in rows.ALERT_COLUMNS.split(",")]
_INSERTED = ["project_id", *_NAMES, "identity"]
# Severities from lowest to highest: array_position gives their rank.
_RANKS = "ARRAY[" + ", ".join(f"'{s.value}'" for s in sorted(Severity, key=lambda s: s.rank)) + "]"
_ON_CONFLICT = (
    " ON CONFLICT (project_id, identity) WHERE status <> 'resolved' DO UPDATE SET "
    "value = excluded.value, threshold = excluded.threshold, message = excluded.message, "
    f"severity = CASE WHEN array_position({_RANKS}, excluded.severity) > "
    f"array_position({_RANKS}, alerts.severity) THEN excluded.severity "
    "ELSE alerts.severity END, "
    "last_breach_at = excluded.last_breach_at, updated_at = excluded.updated_at "
    f"RETURNING {', '.join('alerts.' + n for n in _NAMES)}, alerts.identity, xmax = 0"
)
# Rows a statement: far below PostgreSQL's 65,535 parameters.
_ROWS = 1000


async def open_or_update_alerts(
    pool: PostgresPool, project: str, opened: Sequence[Alert]
) -> list[tuple[Alert, bool]]:
    """See `RegistryStore.open_or_update_alerts`: one transaction, one statement
    for every `_ROWS` alerts."""
    stored: dict[str, tuple[Alert, bool]] = {}
    row = "(" + ", ".join(["%s"] * len(_INSERTED)) + ")"
    async with pool.transaction() as conn:
        for start in range(0, len(opened), _ROWS):
            part = opened[start : start + _ROWS]
            sql = (
                f"INSERT INTO alerts ({', '.join(_INSERTED)}) VALUES "
                + ", ".join([row] * len(part))
                + _ON_CONFLICT
            )
            params = [
                value
                for alert in part
                for value in (project, *rows.alert_to_row(alert), alert.identity)
            ]
            cur = await conn.execute(sql, params)
            for found in await cur.fetchall():
                *columns, identity, inserted = found
                stored[identity] = (rows.alert_from_row(tuple(columns)), bool(inserted))
    return [stored[alert.identity] for alert in opened]
