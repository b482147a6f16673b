"""The delivery queue against a real local webhook receiver: retries with backoff
while it is down, rate limits per channel, the delivery log — on a FakeClock."""

from __future__ import annotations

import random
import time
from datetime import timedelta

import httpx

from monitorx.alerting.notify.channels import WebhookChannel, build_channel
from monitorx.alerting.notify.delivery import (
    DeliveryAttempt,
    DeliveryPolicy,
    DeliveryQueue,
    Outcome,
)
from monitorx.alerting.notify.rate_limits import RateLimit
from monitorx.core import AlertStatus, FakeClock
from monitorx.core.backoff import Backoff
from tests.alerting.notify.channels.samples import STARTED, make_alert, make_notification
from tests.http_receiver import HttpReceiver


class Log:
    def __init__(self) -> None:
        self.attempts: list[DeliveryAttempt] = []

    async def __call__(self, attempt: DeliveryAttempt) -> None:
        self.attempts.append(attempt)


def queue(
    channels: dict[str, WebhookChannel], clock: FakeClock, log: Log, **options: object
) -> DeliveryQueue:
    policy = DeliveryPolicy(backoff=Backoff(max_s=60.0, jitter=0.0), **options)  # type: ignore[arg-type]
    return DeliveryQueue(channels, clock, policy, record=log, rng=random.Random(1))


def webhook(http: httpx.AsyncClient, url: str) -> WebhookChannel:
    channel = build_channel("webhook", {"url": url}, http)
    assert isinstance(channel, WebhookChannel)
    return channel


async def test_a_receiver_down_for_a_while_gets_the_alert_once_it_is_back(
    receiver: HttpReceiver, http: httpx.AsyncClient
) -> None:
    clock, log = FakeClock(STARTED), Log()
    for _ in range(3):
        receiver.answer(503, "maintenance")
    q = queue({"ops": webhook(http, receiver.url())}, clock, log)
    q.submit("ops", make_notification(make_alert()))

    waits = []
    while q.pending():
        assert await q.run_due() in (0, 1)
        job = q.pending()[0] if q.pending() else None
        if job is not None:
            waits.append((job.due - clock.now()).total_seconds())
            clock.set(job.due)
    # Backoff 1 s, 2 s, 4 s, then delivered on the fourth attempt.
    assert waits == [1.0, 2.0, 4.0]
    assert [a.outcome for a in log.attempts] == [Outcome.FAILED] * 3 + [Outcome.DELIVERED]
    assert q.outcomes == {"ops": {Outcome.FAILED: 3, Outcome.DELIVERED: 1}}
    assert [a.status_code for a in log.attempts] == [503, 503, 503, 200]
    assert log.attempts[0].alert_ids == ("a1",)
    assert "503" in log.attempts[0].error
    assert len(receiver.requests) == 4
    assert receiver.requests[-1].json()["alerts"][0]["labels"]["model_id"] == "fraud-v3"


async def test_retry_after_is_honoured(receiver: HttpReceiver, http: httpx.AsyncClient) -> None:
    clock, log = FakeClock(STARTED), Log()
    receiver.answer(429, "slow down", **{"Retry-After": "30"})
    q = queue({"ops": webhook(http, receiver.url())}, clock, log)
    q.submit("ops", make_notification())
    await q.run_due()
    assert q.pending()[0].due == STARTED + timedelta(seconds=30)


async def test_a_refused_payload_is_not_retried(
    receiver: HttpReceiver, http: httpx.AsyncClient
) -> None:
    clock, log = FakeClock(STARTED), Log()
    receiver.answer(400, "bad payload")
    q = queue({"ops": webhook(http, receiver.url())}, clock, log)
    q.submit("ops", make_notification())
    await q.run_due()
    assert q.pending() == []
    assert [a.outcome for a in log.attempts] == [Outcome.GAVE_UP]
    assert q.outcomes == {"ops": {Outcome.GAVE_UP: 1}}


async def test_past_the_retry_budget_it_gives_up(
    http: httpx.AsyncClient, receiver: HttpReceiver
) -> None:
    clock, log = FakeClock(STARTED), Log()
    receiver.default.status = 503
    q = queue({"ops": webhook(http, receiver.url())}, clock, log, budget_s=10.0)
    q.submit("ops", make_notification())
    while q.pending():
        await q.run_due()
        if q.pending():
            clock.set(q.pending()[0].due)
    # 1 + 2 + 4 s of waits fit in 10 s; the next (8 s) would not.
    assert [a.outcome for a in log.attempts] == [Outcome.FAILED] * 3 + [Outcome.GAVE_UP]


async def test_rate_limit_delays_sends_past_the_window(
    receiver: HttpReceiver, http: httpx.AsyncClient
) -> None:
    clock, log = FakeClock(STARTED), Log()
    q = DeliveryQueue(
        {"ops": webhook(http, receiver.url())},
        clock,
        limit=(RateLimit(max_per_window=2, window_s=60),),
        record=log,
        concurrency=1,  # one send at a time: arrivals in the order sent
    )
    for i in range(5):
        q.submit("ops", make_notification(make_alert(alert_id=f"a{i}")))
    assert await q.run_due() == 2
    assert len(q.pending()) == 3
    clock.advance(59)
    assert await q.run_due() == 0
    clock.advance(1)
    assert await q.run_due() == 2
    clock.advance(60)
    assert await q.run_due() == 1
    # Nothing was dropped, and the order held.
    sent = [r.json()["alerts"][0]["generatorURL"].rsplit("/", 1)[-1] for r in receiver.requests]
    assert sent == ["a0", "a1", "a2", "a3", "a4"]


async def test_a_dead_channel_does_not_hold_up_the_others(
    receiver: HttpReceiver, http: httpx.AsyncClient, down_url: str
) -> None:
    clock, log = FakeClock(STARTED), Log()
    q = queue({"dead": webhook(http, down_url), "ops": webhook(http, receiver.url())}, clock, log)
    q.submit("dead", make_notification())
    q.submit("ops", make_notification())
    assert await q.run_due() == 1
    assert len(receiver.requests) == 1
    (failed,) = [a for a in log.attempts if a.channel == "dead"]
    assert failed.outcome is Outcome.FAILED and failed.status_code is None


async def test_a_storm_goes_out_concurrently_not_one_send_after_another(
    receiver: HttpReceiver, http: httpx.AsyncClient
) -> None:
    # Each answer takes 200 ms: 32 notifications one after another would take 6.4 s.
    receiver.delay_s = 0.2
    clock, log = FakeClock(STARTED), Log()
    q = DeliveryQueue({"ops": webhook(http, receiver.url())}, clock, record=log, concurrency=16)
    for i in range(32):
        q.submit("ops", make_notification(make_alert(alert_id=f"a{i}")))
    started = time.perf_counter()
    assert await q.run_due() == 32
    assert time.perf_counter() - started < 2.0
    assert len(receiver.requests) == 32


async def test_a_resolve_is_not_overtaken_by_later_firing_notifications(
    receiver: HttpReceiver, http: httpx.AsyncClient
) -> None:
    clock, log = FakeClock(STARTED), Log()
    q = DeliveryQueue(
        {"ops": webhook(http, receiver.url())},
        clock,
        limit=(RateLimit(max_per_window=2, window_s=60),),
        record=log,
        concurrency=1,
    )
    for i in range(3):
        q.submit("ops", make_notification(make_alert(alert_id=f"f{i}")))
    assert await q.run_due() == 2  # f2 waits for the window
    resolved = make_alert(alert_id="f0", status=AlertStatus.RESOLVED)
    q.submit("ops", make_notification(resolved))
    for i in range(3, 6):
        clock.advance(10)
        q.submit("ops", make_notification(make_alert(alert_id=f"f{i}")))
        await q.run_due()
    clock.advance(60)
    assert await q.run_due() == 2
    sent = [
        (a["status"], a["generatorURL"].rsplit("/", 1)[-1])
        for r in receiver.requests
        for a in r.json()["alerts"]
    ]
    assert sent == [("firing", "f0"), ("firing", "f1"), ("firing", "f2"), ("resolved", "f0")]
