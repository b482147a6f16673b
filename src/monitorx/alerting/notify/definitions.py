"""Channels, routes and silences as the API writes them and the store keeps them.

Each record parses an API body (API.md "Channels and routes"), validates every field
with an error that names it, and turns back into JSON two ways: ``stored(keys)``
(what the store keeps: a channel's whole ``config`` sealed with the secret keys, as
``sealed_config``) and ``public()`` (what the API shows: a channel's secrets
redacted).

Secrets on update, as Grafana's contact points treat their secure fields: they
are write-only. A client that read a channel and sends its config back gets
``"<secret>"`` where each secret was (``https://host/<secret>`` for a URL that is
or carries one). On PUT a value shown that way means "keep the stored one"
(`merge_secrets`), so a round trip never replaces a real secret with the marker and
never makes the client re-type it; any other value replaces it. Stored secrets stay
with their destination: a PUT that changes a channel's URL origin or SMTP host must
send its secrets again.
"""

from __future__ import annotations

__all__ = [
    "SEALED_CONFIG",
    "ChannelRecord",
    "Escalation",
    "RouteRecord",
    "is_plaintext_channel",
    "merge_secrets",
    "silence_from_body",
    "silence_from_stored",
    "silence_json",
]

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from monitorx.alerting.matchers import matchers_from_json
from monitorx.alerting.notify.channels.redaction import REDACTED
from monitorx.alerting.notify.channels.registry import SEND_RESOLVED_DEFAULTS, parse_channel_config
from monitorx.alerting.notify.rate_limits import RateLimit
from monitorx.alerting.notify.routing import Route
from monitorx.alerting.notify.silences import Silence
from monitorx.core import ValidationError
from monitorx.core.identifiers import check_identifier
from monitorx.core.timeparse import parse_duration, parse_timestamp
from monitorx.store.secret_keys import SecretKeyRing

_CHANNEL_KEYS = {"id", "type", "config", "send_resolved", "enabled", "rate_limit"}
_ROUTE_KEYS = {
    "id",
    "matchers",
    "channels",
    "group_by",
    "group_wait",
    "group_interval",
    "repeat_interval",
    "continue",
    "escalate",
}
_ROUTE_DEFAULTS = {"group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h"}


def _object(body: object, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValidationError(f"expected a JSON object for the {what}", "body")
    return body


def _no_unknown(body: Mapping[str, object], known: set[str]) -> None:
    unknown = sorted(set(body) - known)
    if unknown:
        raise ValidationError(
            f"unknown field; expected some of {', '.join(sorted(known))}", unknown[0]
        )


def _bool(body: Mapping[str, object], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ValidationError("expected true or false", name)
    return value


def _body_id(body: Mapping[str, object], path_id: str | None) -> str:
    value = body.get("id", path_id)
    if not isinstance(value, str):
        raise ValidationError("is required (a string)", "id")
    check_identifier(value, "id")
    if path_id is not None and value != path_id:
        raise ValidationError(f"body id {value!r} differs from the path's {path_id!r}", "id")
    return value


def merge_secrets(new: object, old: object, shown: object = None) -> object:
    """``new`` with every value that stands for a stored secret replaced by that
    secret: a value that is exactly the redaction marker, or exactly what the API
    showed for it (``shown``, the public view of ``old``), takes the value at the same
    place in ``old`` (objects merged key by key)."""
    if isinstance(new, str) and isinstance(old, str) and REDACTED in new:
        if new in (REDACTED, shown):
            return old
        return new
    if isinstance(new, dict) and isinstance(old, dict):
        seen = shown if isinstance(shown, dict) else {}
        return {k: merge_secrets(v, old.get(k), seen.get(k)) for k, v in new.items()}
    return new


# Channels ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChannelRecord:
    id: str
    type: str
    # As sent, secrets included: kept out of the repr, sealed in the store.
    config: Mapping[str, object] = field(repr=False)
    send_resolved: bool
    enabled: bool = True
    rate_limit: RateLimit | None = None  # None: the server's default

    @classmethod
    def from_body(
        cls, body: object, path_id: str | None = None, previous: ChannelRecord | None = None
    ) -> ChannelRecord:
        data = _object(body, "channel")
        _no_unknown(data, _CHANNEL_KEYS)
        channel_id = _body_id(data, path_id)
        channel_type = data.get("type")
        if not isinstance(channel_type, str):
            raise ValidationError("is required: webhook, slack, email, pagerduty or teams", "type")
        config = data.get("config", {})
        if not isinstance(config, dict):
            raise ValidationError("expected a JSON object", "config")
        if previous is not None and previous.type == channel_type:
            config = _keep_stored_secrets(config, previous)
        parse_channel_config(channel_type, config)  # every field checked, named on error
        default_resolved = SEND_RESOLVED_DEFAULTS.get(channel_type, True)
        return cls(
            id=channel_id,
            type=channel_type,
            config=config,
            send_resolved=_bool(data, "send_resolved", default_resolved),
            enabled=_bool(data, "enabled", True),
            rate_limit=_rate_limit(data.get("rate_limit")),
        )

    def _settings(self) -> dict[str, object]:
        """Everything but the config."""
        found: dict[str, object] = {
            "id": self.id,
            "type": self.type,
            "send_resolved": self.send_resolved,
            "enabled": self.enabled,
        }
        if self.rate_limit is not None:
            found["rate_limit"] = {
                "max": self.rate_limit.max_per_window,
                "window": self.rate_limit.window_s,
            }
        return found

    def stored(self, keys: SecretKeyRing) -> dict[str, object]:
        """What the store keeps: the config sealed whole, so that no rule about which
        field is a secret (a header's name, a token in a URL's path) can miss one."""
        return {**self._settings(), SEALED_CONFIG: keys.seal(json.dumps(dict(self.config)))}

    @classmethod
    def from_stored(cls, data: Mapping[str, Any], keys: SecretKeyRing) -> ChannelRecord:
        """The record `stored` wrote, or one stored in plaintext (``config``) by a
        version before secrets were sealed. `SecretUnreadable` when no key opens it."""
        if SEALED_CONFIG in data:
            config = json.loads(keys.unseal(data[SEALED_CONFIG]))
        else:
            config = data["config"]
        return cls(
            id=data["id"],
            type=data["type"],
            config=config,
            send_resolved=bool(data["send_resolved"]),
            enabled=bool(data.get("enabled", True)),
            rate_limit=_rate_limit(data.get("rate_limit")),
        )

    def public(self) -> dict[str, object]:
        shown = self._settings()
        shown["config"] = parse_channel_config(self.type, self.config).public()
        return {k: shown[k] for k in _PUBLIC_ORDER if k in shown}


# Where `ChannelRecord.stored` puts the sealed config; a stored channel without it
# is one an earlier version kept in plaintext (``config``).
SEALED_CONFIG = "sealed_config"
_PUBLIC_ORDER = ("id", "type", "config", "send_resolved", "enabled", "rate_limit")


def is_plaintext_channel(data: Mapping[str, Any]) -> bool:
    """Whether a stored channel still holds its config in plaintext."""
    return SEALED_CONFIG not in data


def _destination(config: Mapping[str, object]) -> tuple[object, ...]:
    """Where a channel's secrets go: its URL's scheme, host and port, its SMTP host."""
    url, host = config.get("url"), config.get("host")
    origin: tuple[object, ...] = ()
    if isinstance(url, str):
        try:
            parts = urlsplit(url)
            origin = (parts.scheme.lower(), parts.hostname, parts.port)
        except ValueError:
            origin = (url,)
    return (*origin, host.lower() if isinstance(host, str) else host)


def _marked(value: object, path: str) -> str | None:
    """The path of the first value under ``value`` that holds the redaction marker."""
    if isinstance(value, str):
        return path if REDACTED in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _marked(item, f"{path}.{key}")
            if found:
                return found
    return None


def _keep_stored_secrets(config: dict[str, Any], previous: ChannelRecord) -> dict[str, Any]:
    """``config`` with the secrets sent back as shown replaced by the stored ones —
    as long as the channel still sends to the same place. A stored secret never
    follows a changed URL or SMTP host (someone who may edit a channel could
    otherwise point it at a host of theirs and receive its token): a changed
    destination needs its secrets sent again."""
    shown = parse_channel_config(previous.type, previous.config).public()
    merged = merge_secrets(config, dict(previous.config), shown)
    assert isinstance(merged, dict)
    if merged == config:
        return config  # no stored secret kept
    try:
        # Compared as the API shows them, with the type's defaults filled in.
        after = _destination(parse_channel_config(previous.type, merged).public())
    except ValidationError:
        return merged  # refused by the caller's check, naming its fields
    if after != _destination(shown):
        raise ValidationError(
            "the channel's destination changed (its url or host): send its secrets "
            f"again instead of {REDACTED}; stored secrets only go where they went",
            _marked(config, "config") or "config",
        )
    return merged


def _rate_limit(value: object) -> RateLimit | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"max", "window"}:
        raise ValidationError('expected {"max": sends, "window": "1m"}', "rate_limit")
    count = value.get("max")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValidationError("must be a whole number of sends, at least 1", "rate_limit.max")
    window = parse_duration(value.get("window", 60), "rate_limit.window")
    return RateLimit(max_per_window=count, window_s=window)


# Routes --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Escalation:
    """Send a firing alert that nobody acknowledged after ``after_s`` to ``channels``."""

    after_s: float
    channels: tuple[str, ...]


def _strings(value: object, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError("expected a list of strings", name)
    return tuple(value)


@dataclass(frozen=True, slots=True)
class RouteRecord:
    id: str
    body: Mapping[str, Any]  # validated, with the defaults filled in
    route: Route
    escalations: tuple[Escalation, ...] = ()

    @property
    def channels(self) -> tuple[str, ...]:
        return self.route.receivers or ()

    def referenced_channels(self) -> set[str]:
        return set(self.channels).union(*(e.channels for e in self.escalations))

    @classmethod
    def from_body(cls, body: object, path_id: str | None = None) -> RouteRecord:
        data = _object(body, "route")
        _no_unknown(data, _ROUTE_KEYS)
        route_id = _body_id(data, path_id)
        matchers = matchers_from_json(data.get("matchers"))
        if "channels" not in data:
            raise ValidationError("is required: the ids of the channels to notify", "channels")
        channels = _strings(data["channels"], "channels")
        if not channels:
            raise ValidationError("name at least one channel", "channels")
        group_by = _strings(data.get("group_by") or [], "group_by")
        durations = {
            name: _route_duration(data.get(name, default), name)
            for name, default in _ROUTE_DEFAULTS.items()
        }
        escalations = _escalations(data.get("escalate"))
        route = Route(
            id=route_id,
            matchers=matchers,
            receivers=channels,
            group_by=group_by,
            group_wait_s=durations["group_wait"],
            group_interval_s=durations["group_interval"],
            repeat_interval_s=durations["repeat_interval"],
            continue_matching=_bool(data, "continue", False),
        )
        shown: dict[str, Any] = {
            "id": route_id,
            "matchers": data.get("matchers") or {},
            "channels": list(channels),
            "group_by": list(group_by),
            "continue": route.continue_matching,
        }
        shown.update({name: data.get(name, default) for name, default in _ROUTE_DEFAULTS.items()})
        shown["escalate"] = data.get("escalate") or []
        return cls(route_id, shown, route, escalations)


def _route_duration(value: object, name: str) -> float:
    """A route's timer; ``group_wait`` may be 0 (send at once), the others not."""
    if name == "group_wait" and value in (0, "0", "0s"):
        return 0.0
    return parse_duration(value, name)


def _escalations(value: object) -> tuple[Escalation, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValidationError('expected a list of {"after": "15m", "channels": [...]}', "escalate")
    steps = []
    for index, step in enumerate(value):
        where = f"escalate[{index}]"
        if not isinstance(step, dict) or set(step) != {"after", "channels"}:
            raise ValidationError('expected {"after": "15m", "channels": [...]}', where)
        channels = _strings(step["channels"], f"{where}.channels")
        if not channels:
            raise ValidationError("name at least one channel", f"{where}.channels")
        steps.append(Escalation(parse_duration(step["after"], f"{where}.after"), channels))
    afters = [s.after_s for s in steps]
    if afters != sorted(afters):
        raise ValidationError("steps must be in order of their 'after'", "escalate")
    return tuple(steps)


# Silences ------------------------------------------------------------------------

_SILENCE_KEYS = {
    "id",
    "matchers",
    "starts_at",
    "ends_at",
    "duration",
    "created_by",
    "comment",
}


def silence_from_body(body: object, now: datetime) -> Silence:
    """A new silence from ``POST /silences``: ``ends_at`` or ``duration`` (from its
    start, default now) is required; ``created_by`` and ``comment`` too, as in
    Alertmanager, so every silence says who muted what and why."""
    data = _object(body, "silence")
    _no_unknown(data, _SILENCE_KEYS)
    if "id" in data:
        raise ValidationError("is assigned by the server", "id")
    starts_at = now if data.get("starts_at") is None else parse_timestamp(data["starts_at"])
    if data.get("ends_at") is not None and data.get("duration") is not None:
        raise ValidationError("give ends_at or duration, not both", "duration")
    if data.get("ends_at") is not None:
        ends_at = parse_timestamp(data["ends_at"], "ends_at")
    elif data.get("duration") is not None:
        ends_at = starts_at + timedelta(seconds=parse_duration(data["duration"], "duration"))
    else:
        raise ValidationError("is required (or give a duration such as '2h')", "ends_at")
    if ends_at <= now:
        raise ValidationError("must be in the future", "ends_at")
    texts = {}
    for name in ("created_by", "comment"):
        value = data.get(name)
        if not isinstance(value, str) or not value.strip() or len(value) > 1000:
            raise ValidationError("is required: a non-empty string of up to 1,000 characters", name)
        texts[name] = value
    return Silence(
        id=uuid.uuid4().hex,
        matchers=matchers_from_json(data.get("matchers")),
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=texts["created_by"],
        comment=texts["comment"],
    )


def silence_json(silence: Silence, now: datetime | None = None) -> dict[str, object]:
    """The API's view (and, without ``now``, the stored form)."""
    shown: dict[str, object] = {
        "id": silence.id,
        "matchers": [m.to_json() for m in silence.matchers],
        "starts_at": silence.starts_at.isoformat(),
        "ends_at": silence.ends_at.isoformat(),
        "created_by": silence.created_by,
        "comment": silence.comment,
    }
    if now is not None:
        shown["state"] = silence.state(now).value
    return shown


def silence_from_stored(data: Mapping[str, Any]) -> Silence:
    silence = Silence(
        id=data["id"],
        matchers=matchers_from_json(data["matchers"]),
        starts_at=parse_timestamp(data["starts_at"]),
        ends_at=parse_timestamp(data["starts_at"]) + timedelta(microseconds=1),
        created_by=data["created_by"],
        comment=data["comment"],
    )
    # An expired silence may end as it starts; bypass the "end after start" check.
    object.__setattr__(silence, "ends_at", parse_timestamp(data["ends_at"]))
    return silence
