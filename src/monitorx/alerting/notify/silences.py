"""Silences and inhibition: alerts that are kept and shown, but not notified.

Silences follow Alertmanager (silence/silence.go): one or more matchers, at least
one of which does not match the empty string (so no silence mutes everything); a
start and an end; the state comes from the clock — pending before ``starts_at``,
active until ``ends_at``, expired after. Expiring an active silence sets its end to
now; expiring a pending one sets both its start and end to now.

Inhibition (inhibit/inhibit.go): an alert matching a rule's target matchers is
muted while a *firing* alert matching its source matchers has the same values for
every ``equal`` label; an alert does not inhibit itself. The default rule mutes an
alert of a model while a critical one of the same model fires, i.e. source
``severity="critical"``, target ``severity=~"low|medium|high"``, equal ``model_id``.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_INHIBIT_RULES",
    "InhibitRule",
    "Silence",
    "SilenceState",
    "inhibited",
    "silenced_by",
]

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from monitorx.alerting.matchers import Matcher, MatchOp, matches_all
from monitorx.core import ValidationError


class SilenceState(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str

    def __post_init__(self) -> None:
        if not self.matchers:
            raise ValidationError("a silence needs at least one matcher", "matchers")
        if all(m.matches({}) for m in self.matchers):
            raise ValidationError(
                "at least one matcher must not match an empty label (it would silence every alert)",
                "matchers",
            )
        if self.ends_at <= self.starts_at:
            raise ValidationError("must be after starts_at", "ends_at")

    def state(self, now: datetime) -> SilenceState:
        if now < self.starts_at:
            return SilenceState.PENDING
        if now < self.ends_at:
            return SilenceState.ACTIVE
        return SilenceState.EXPIRED

    def mutes(self, labels: Mapping[str, str], now: datetime) -> bool:
        return self.state(now) is SilenceState.ACTIVE and matches_all(self.matchers, labels)

    def expired(self, now: datetime) -> Silence:
        """This silence, ended now (idempotent)."""
        state = self.state(now)
        if state is SilenceState.EXPIRED:
            return self
        if state is SilenceState.PENDING:
            return _unchecked(self, starts_at=now, ends_at=now)
        return _unchecked(self, ends_at=now)


def _unchecked(silence: Silence, **changes: datetime) -> Silence:
    """A changed copy that skips validation (an expired silence may end as it starts)."""
    copy = object.__new__(Silence)
    for name in Silence.__slots__:
        object.__setattr__(copy, name, changes.get(name, getattr(silence, name)))
    return copy


def silenced_by(silences: Iterable[Silence], labels: Mapping[str, str], now: datetime) -> list[str]:
    """The ids of the active silences that mute an alert with ``labels``."""
    return [s.id for s in silences if s.mutes(labels, now)]


@dataclass(frozen=True, slots=True)
class InhibitRule:
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...] = ()


DEFAULT_INHIBIT_RULES = (
    InhibitRule(
        source=(Matcher.create("severity", "critical"),),
        target=(Matcher.create("severity", "low|medium|high", MatchOp.REGEX),),
        equal=("model_id",),
    ),
)


def inhibited(
    labels: Mapping[str, str],
    firing: Sequence[Mapping[str, str]],
    rules: Sequence[InhibitRule] = DEFAULT_INHIBIT_RULES,
) -> bool:
    """Whether some firing alert (``firing``: their label sets) inhibits this one."""
    for rule in rules:
        if not matches_all(rule.target, labels):
            continue
        for source in firing:
            if source is labels or dict(source) == dict(labels):
                continue
            if matches_all(rule.source, source) and all(
                source.get(name, "") == labels.get(name, "") for name in rule.equal
            ):
                return True
    return False
