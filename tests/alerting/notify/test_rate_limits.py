"""Rate limits: every window of a channel must hold; sends wait, in order; the
channel types' defaults are the providers' documented limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitorx.alerting.notify.channels.registry import DEFAULT_RATE_LIMITS
from monitorx.alerting.notify.rate_limits import ChannelRateLimiter, RateLimit

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _sends(limiter: ChannelRateLimiter, seconds: float, step: float = 0.05) -> list[float]:
    """Send as soon as allowed for ``seconds``; return the offsets of the sends."""
    sent: list[float] = []
    now = T0
    while now < T0 + timedelta(seconds=seconds):
        if limiter.next_allowed(now) <= now:
            limiter.record(now)
            sent.append((now - T0).total_seconds())
        now += timedelta(seconds=step)
    return sent


def test_no_limits_never_waits() -> None:
    limiter = ChannelRateLimiter(())
    assert all(limiter.next_allowed(T0) == T0 for _ in range(1000))


def test_every_window_holds_at_once() -> None:
    # Teams' first two windows: 4 a second and 60 in 30 s.
    limiter = ChannelRateLimiter((RateLimit(4, 1.0), RateLimit(60, 30.0)))
    sent = _sends(limiter, 60)
    for start in sent:
        assert sum(1 for s in sent if start <= s < start + 1.0) <= 4
        assert sum(1 for s in sent if start <= s < start + 30.0) <= 60
    # The burst allowance is used, not more: 60 in the first 30 s, 60 in the next.
    assert len(sent) == 120


def test_a_send_over_a_window_waits_for_the_oldest_to_leave() -> None:
    limiter = ChannelRateLimiter((RateLimit(2, 60.0),))
    limiter.record(T0)
    limiter.record(T0 + timedelta(seconds=10))
    assert limiter.next_allowed(T0 + timedelta(seconds=20)) == T0 + timedelta(seconds=60)
    assert limiter.next_allowed(T0 + timedelta(seconds=60)) == T0 + timedelta(seconds=60)


def test_defaults_follow_the_providers_and_leave_webhooks_and_email_alone() -> None:
    assert DEFAULT_RATE_LIMITS["webhook"] == ()
    assert DEFAULT_RATE_LIMITS["email"] == ()
    assert DEFAULT_RATE_LIMITS["slack"] == (RateLimit(1, 1.0),)
    assert DEFAULT_RATE_LIMITS["pagerduty"] == (RateLimit(120, 60.0),)
    assert RateLimit(4, 1.0) in DEFAULT_RATE_LIMITS["teams"]
    assert RateLimit(60, 30.0) in DEFAULT_RATE_LIMITS["teams"]
