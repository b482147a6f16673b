"""Timestamps and durations as API.md defines them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitorx.core import ValidationError
from monitorx.core.timeparse import parse_duration, parse_timestamp, to_epoch_us


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-22T12:00:00Z", datetime(2026, 11, 22, 12, tzinfo=UTC)),
        ("2026-11-22T12:00:00", datetime(2026, 11, 22, 12, tzinfo=UTC)),
        ("2026-11-22T14:00:00+02:00", datetime(2026, 11, 22, 12, tzinfo=UTC)),
        ("2026-11-22T12:00:00.250Z", datetime(2026, 11, 22, 12, 0, 0, 250000, tzinfo=UTC)),
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
        (1_795_000_000.5, datetime.fromtimestamp(1_795_000_000.5, UTC)),
    ],
    ids=["zulu", "no-offset-is-utc", "offset-converted", "fraction", "epoch-zero", "epoch-float"],
)
def test_timestamps_parse_to_aware_utc(text: object, expected: datetime) -> None:
    parsed = parse_timestamp(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "bad",
    ["not-a-date", "", -1, 253402300800.0, float("nan"), float("inf"), True, None, "10000-01-01"],
)
def test_bad_timestamps_are_refused_naming_the_field(bad: object) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_timestamp(bad, "start")
    assert caught.value.errors[0].field == "start"


def test_timestamps_before_1970_are_refused() -> None:
    with pytest.raises(ValidationError, match="1970"):
        to_epoch_us(datetime(1969, 12, 31, tzinfo=UTC))


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (90, 90.0),
        ("90", 90.0),
        ("90s", 90.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("7d", 604800.0),
        (0.5, 0.5),
        ("1.5h", 5400.0),
    ],
)
def test_durations_in_seconds_or_with_units(value: object, seconds: float) -> None:
    assert parse_duration(value, "window") == seconds


@pytest.mark.parametrize("bad", [0, "0s", -5, "401d", "5 minutes", "abc", True, None, "nan"])
def test_bad_durations_are_refused(bad: object) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_duration(bad, "interval")
    assert caught.value.errors[0].field == "interval"


def test_400_days_is_the_longest_duration() -> None:
    assert parse_duration("400d", "window") == 400 * 86400
