"""Routing, matchers, silences and inhibition with Alertmanager's semantics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitorx.alerting.matchers import Matcher, MatchOp, matchers_from_json
from monitorx.alerting.notify.routing import Route, RouteOptions, group_key, match_routes
from monitorx.alerting.notify.silences import (
    InhibitRule,
    Silence,
    SilenceState,
    inhibited,
    silenced_by,
)
from monitorx.core import ValidationError

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
FRAUD_CRITICAL = {"alertname": "latency", "model_id": "fraud-v3", "severity": "critical"}
FRAUD_HIGH = {"alertname": "error_rate", "model_id": "fraud-v3", "severity": "high"}
CHAT_LOW = {"alertname": "latency", "model_id": "chat", "severity": "low"}


@pytest.mark.parametrize(
    ("matcher", "labels", "expected"),
    [
        (Matcher.create("severity", "critical"), FRAUD_CRITICAL, True),
        (Matcher.create("severity", "critical", "!="), FRAUD_CRITICAL, False),
        (Matcher.create("model_id", "fraud-.*", "=~"), FRAUD_HIGH, True),
        # Regular expressions are anchored: a partial match is no match.
        (Matcher.create("model_id", "fraud", "=~"), FRAUD_HIGH, False),
        (Matcher.create("model_id", "fraud-.*", "!~"), CHAT_LOW, True),
        # A missing label is the empty string.
        (Matcher.create("team", ""), CHAT_LOW, True),
        (Matcher.create("team", "risk", "!="), CHAT_LOW, True),
    ],
)
def test_matchers(matcher: Matcher, labels: dict[str, str], expected: bool) -> None:
    assert matcher.matches(labels) is expected


def test_matchers_from_the_api_forms() -> None:
    assert matchers_from_json({"severity": "critical"}) == (Matcher.create("severity", "critical"),)
    (parsed,) = matchers_from_json(['model_id=~"fraud-.*"'])
    assert (parsed.name, parsed.value, parsed.op) == ("model_id", "fraud-.*", MatchOp.REGEX)
    (obj,) = matchers_from_json([{"name": "severity", "value": "low", "op": "!="}])
    assert obj.op is MatchOp.NOT_EQUAL
    with pytest.raises(ValidationError, match="bad regular expression"):
        matchers_from_json(['model_id=~"("'])
    with pytest.raises(ValidationError):
        matchers_from_json("severity")


ROUTES = (
    Route("critical", matchers=(Matcher.create("severity", "critical"),), receivers=("pager",),
          group_wait_s=0, continue_matching=True),
    Route("fraud", matchers=(Matcher.create("model_id", "fraud-.*", "=~"),),
          receivers=("risk-team",), group_by=("model_id", "alertname"),
          routes=(Route("fraud-errors", matchers=(Matcher.create("alertname", "error_rate"),),
                        receivers=("risk-oncall",), repeat_interval_s=3600),)),
    Route("everything", receivers=("ops",)),
)  # fmt: skip


def test_first_matching_route_wins_unless_it_continues() -> None:
    paths = [m.path for m in match_routes(ROUTES, FRAUD_CRITICAL)]
    assert paths == [("root", "critical"), ("root", "fraud")]
    assert [m.path for m in match_routes(ROUTES, CHAT_LOW)] == [("root", "everything")]


def test_children_inherit_and_override_options() -> None:
    (match,) = match_routes(ROUTES, FRAUD_HIGH)
    assert match.path == ("root", "fraud", "fraud-errors")
    assert match.options == RouteOptions(
        receivers=("risk-oncall",),
        group_by=("model_id", "alertname"),
        group_wait_s=30.0,
        group_interval_s=300.0,
        repeat_interval_s=3600,
    )


def test_no_routes_means_stored_but_not_sent() -> None:
    assert match_routes((), FRAUD_CRITICAL) == []


def test_group_keys_follow_group_by() -> None:
    (fraud,) = match_routes(ROUTES[1:], FRAUD_CRITICAL)
    assert group_key(fraud, FRAUD_CRITICAL) == '{fraud}:{alertname="latency",model_id="fraud-v3"}'
    (ops,) = match_routes(ROUTES[2:], CHAT_LOW)
    # Without group_by, all of a route's alerts form one group.
    assert group_key(ops, CHAT_LOW) == group_key(ops, FRAUD_HIGH) == "{everything}:{}"
    with pytest.raises(ValidationError):
        RouteOptions(group_by=("...", "model_id"))


def silence(**changes: object) -> Silence:
    values: dict[str, object] = {
        "id": "s1",
        "matchers": (Matcher.create("model_id", "fraud-v3"),),
        "starts_at": NOW,
        "ends_at": NOW + timedelta(hours=1),
        "created_by": "ana",
        "comment": "deploy",
    }
    values.update(changes)
    return Silence(**values)  # type: ignore[arg-type]


def test_a_silence_mutes_matching_alerts_only_while_active() -> None:
    s = silence()
    assert s.state(NOW - timedelta(seconds=1)) is SilenceState.PENDING
    assert silenced_by([s], FRAUD_HIGH, NOW - timedelta(seconds=1)) == []
    assert silenced_by([s], FRAUD_HIGH, NOW) == ["s1"]
    assert silenced_by([s], CHAT_LOW, NOW) == []
    assert silenced_by([s], FRAUD_HIGH, NOW + timedelta(hours=1)) == []
    assert s.state(NOW + timedelta(hours=1)) is SilenceState.EXPIRED


def test_expiring_silences() -> None:
    active = silence().expired(NOW + timedelta(minutes=10))
    assert active.ends_at == NOW + timedelta(minutes=10)
    assert active.state(NOW + timedelta(minutes=10)) is SilenceState.EXPIRED
    pending = silence(starts_at=NOW + timedelta(hours=1), ends_at=NOW + timedelta(hours=2))
    ended = pending.expired(NOW)
    assert ended.starts_at == ended.ends_at == NOW
    assert ended.expired(NOW + timedelta(hours=3)) is ended


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"matchers": ()}, "matchers"),
        ({"matchers": (Matcher.create("model_id", ".*", "=~"),)}, "matchers"),
        ({"ends_at": NOW}, "ends_at"),
    ],
)
def test_invalid_silences_are_refused(changes: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        silence(**changes)
    assert [e.field for e in caught.value.errors] == [field]


def test_a_critical_alert_inhibits_lower_ones_of_the_same_model() -> None:
    assert inhibited(FRAUD_HIGH, [FRAUD_CRITICAL])
    assert not inhibited(CHAT_LOW, [FRAUD_CRITICAL])
    assert not inhibited(FRAUD_CRITICAL, [FRAUD_CRITICAL])
    rule = InhibitRule(
        source=(Matcher.create("alertname", "latency"),),
        target=(Matcher.create("alertname", "error_rate"),),
    )
    assert inhibited(FRAUD_HIGH, [CHAT_LOW], [rule])
