"""Grouping timers and dedup with Alertmanager's semantics, on an injectable clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitorx.alerting.matchers import Matcher
from monitorx.alerting.notify.dispatch import Dispatcher
from monitorx.alerting.notify.notification import Notification, NotifiedAlert, fingerprint
from monitorx.alerting.notify.routing import Route
from monitorx.core import AlertStatus, FakeClock

NOW = T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def alert(
    model: str, name: str = "latency", status: str = "firing", at: datetime = T0
) -> NotifiedAlert:
    labels = {"alertname": name, "model_id": model, "severity": "high"}
    return NotifiedAlert(
        status=AlertStatus(status),
        labels=labels,
        annotations={"summary": f"{name} of {model}"},
        starts_at=at,
        ends_at=None if status == "firing" else at + timedelta(minutes=1),
        fingerprint=fingerprint({"alertname": name, "model_id": model}),
    )


class Receiver:
    def __init__(self) -> None:
        self.got: list[Notification] = []
        self.up = True

    async def __call__(self, notification: Notification) -> bool:
        if not self.up:
            return False
        self.got.append(notification)
        return True

    def models(self, index: int = -1) -> list[str]:
        return [a.model_id for a in self.got[index].alerts]


def dispatcher(clock: FakeClock, receiver: Receiver, **options: object) -> Dispatcher:
    route = Route("ops", receivers=("ops",), **options)  # type: ignore[arg-type]
    return Dispatcher((route,), clock, receiver)


async def step(d: Dispatcher, clock: FakeClock, seconds: float) -> int:
    clock.advance(seconds)
    return await d.flush_due()


async def test_group_wait_collects_alerts_into_one_notification(clock: FakeClock) -> None:
    receiver = Receiver()
    d = dispatcher(clock, receiver)
    d.add(alert("a"))
    assert await step(d, clock, 10) == 0
    d.add(alert("b", at=clock.now()))
    assert await step(d, clock, 19) == 0  # 29 s after the first alert
    assert await step(d, clock, 1) == 1  # group_wait (30 s) is up
    assert receiver.models() == ["a", "b"]
    assert receiver.got[0].group_key == "{ops}:{}"


async def test_group_interval_then_repeat_interval(clock: FakeClock) -> None:
    receiver = Receiver()
    d = dispatcher(clock, receiver)
    d.add(alert("a"))
    await step(d, clock, 30)
    d.add(alert("c", at=clock.now()))
    assert await step(d, clock, 299) == 0
    assert await step(d, clock, 1) == 1  # group_interval (5 min) after the first flush
    assert receiver.models() == ["a", "c"]
    # Nothing new: silent at every group_interval until repeat_interval (4 h) passes.
    sent = sum([await step(d, clock, 300) for _ in range(47)])
    assert sent == 0
    assert await step(d, clock, 300) == 1
    assert len(receiver.got) == 3


async def test_resolved_alerts_are_sent_once_and_leave_the_group(clock: FakeClock) -> None:
    receiver = Receiver()
    d = dispatcher(clock, receiver)
    d.add(alert("a"))
    await step(d, clock, 30)
    d.add(alert("a", status="resolved"))
    await step(d, clock, 300)
    assert receiver.got[-1].status is AlertStatus.RESOLVED
    assert d.groups == {}
    assert await step(d, clock, 300) == 0


async def test_receivers_that_do_not_want_resolved_get_nothing(clock: FakeClock) -> None:
    receiver = Receiver()
    route = Route("ops", receivers=("ops",))
    d = Dispatcher((route,), clock, receiver, send_resolved={"ops": False})
    d.add(alert("a"))
    await step(d, clock, 30)
    d.add(alert("a", status="resolved"))
    assert await step(d, clock, 300) == 0
    assert len(receiver.got) == 1 and d.groups == {}


async def test_an_old_alert_flushes_at_once(clock: FakeClock) -> None:
    receiver = Receiver()
    d = dispatcher(clock, receiver)
    d.add(alert("a", at=T0 - timedelta(minutes=10)))
    assert await d.flush_due() == 1


async def test_group_by_splits_groups(clock: FakeClock) -> None:
    receiver = Receiver()
    d = dispatcher(clock, receiver, group_by=("model_id",))
    d.add(alert("a"))
    d.add(alert("b"))
    assert await step(d, clock, 30) == 2
    assert sorted(n.group_key for n in receiver.got) == [
        '{ops}:{model_id="a"}',
        '{ops}:{model_id="b"}',
    ]


async def test_a_failed_delivery_is_tried_again_at_the_next_flush(clock: FakeClock) -> None:
    receiver = Receiver()
    receiver.up = False
    d = dispatcher(clock, receiver)
    d.add(alert("a"))
    assert await step(d, clock, 30) == 0
    receiver.up = True
    assert await step(d, clock, 300) == 1
    assert receiver.models() == ["a"]


async def test_muted_alerts_are_not_sent(clock: FakeClock) -> None:
    receiver = Receiver()
    route = Route("ops", receivers=("ops",))
    d = Dispatcher((route,), clock, receiver, muted=lambda a: a.model_id == "quiet")
    d.add(alert("quiet"))
    d.add(alert("loud"))
    await step(d, clock, 30)
    assert receiver.models() == ["loud"]


async def test_only_matching_routes_get_the_alert(clock: FakeClock) -> None:
    receiver = Receiver()
    route = Route("fraud", matchers=(Matcher.create("model_id", "fraud"),), receivers=("r",))
    d = Dispatcher((route,), clock, receiver)
    assert d.add(alert("other")) == []
    assert d.add(alert("fraud")) == ["{fraud}:{}"]
