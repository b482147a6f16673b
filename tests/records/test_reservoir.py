"""The bounded record samples' arithmetic: which parts of an hour are live, draws
that are uniform over every record the hour saw, and windows that take the same
share of every hour."""

from __future__ import annotations

import numpy as np
import pytest

from monitorx.records.reservoir import (
    BucketParts,
    PartKey,
    chunk_key,
    parse_parts,
    plan_draw,
    plan_window,
    sample_key,
)

HOUR = 1_795_000_000 // 3600 * 3600


def _chunk(seq: int, rows: int) -> PartKey:
    return PartKey(chunk_key("m", HOUR, seq, rows), seq, rows, rows, is_sample=False)


def test_a_sample_hides_the_chunks_it_covers_and_older_samples() -> None:
    keys = [
        chunk_key("m", HOUR, 1, 10),
        chunk_key("m", HOUR, 2, 10),
        sample_key("m", HOUR, 1, 10, 5),  # left behind by a crash mid-compaction
        sample_key("m", HOUR, 2, 20, 5),
        chunk_key("m", HOUR, 3, 7, token="ab12cd34"),
        chunk_key("m", HOUR + 3600, 1, 4),
        chunk_key("m2", HOUR, 1, 4),  # another model's key is ignored
    ]

    buckets = parse_parts("m", keys)

    first = buckets[HOUR]
    assert first.sample is not None and (first.sample.seen, first.sample.rows) == (20, 5)
    assert [c.seq for c in first.chunks] == [3]
    assert sorted(first.stale) == sorted(keys[:3])
    assert (first.seen, first.stored_rows, first.next_seq) == (27, 12, 4)
    assert buckets[HOUR + 3600].seen == 4
    assert set(buckets) == {HOUR, HOUR + 3600}


def test_a_draw_is_uniform_over_every_record_of_the_hour() -> None:
    """A sample of 100 standing for 1,000 records, and 300 chunk rows: a draw of 100
    takes from the sample 1,000 / 1,300 of the time, on average."""
    sample = PartKey(sample_key("m", HOUR, 4, 1000, 100), 4, 100, 1000, is_sample=True)
    bucket = BucketParts(HOUR, sample, [_chunk(5, 100), _chunk(6, 200)])
    rng = np.random.default_rng(7)
    from_sample = []
    for _ in range(2000):
        draws = plan_draw(bucket, 100, rng)
        assert sum(len(rows) for _, rows in draws) == 100
        for part, rows in draws:
            assert len(set(rows.tolist())) == len(rows)  # without replacement
            assert rows.min() >= 0 and rows.max() < part.rows
        from_sample.append(sum(len(r) for p, r in draws if p.is_sample))
    assert np.mean(from_sample) == pytest.approx(100 * 1000 / 1300, rel=0.01)


def test_a_draw_of_everything_takes_every_chunk_row() -> None:
    bucket = BucketParts(HOUR, None, [_chunk(1, 30), _chunk(2, 20)])

    draws = plan_draw(bucket, 50, np.random.default_rng(1))

    assert [(p.seq, r.tolist()) for p, r in draws] == [
        (1, list(range(30))),
        (2, list(range(20))),
    ]


def test_a_window_takes_the_same_share_of_every_hour() -> None:
    full = BucketParts(
        HOUR, PartKey(sample_key("m", HOUR, 9, 40_000, 10_000), 9, 10_000, 40_000, True)
    )
    quiet = BucketParts(HOUR + 3600, None, [_chunk(1, 2_000)])

    share, counts = plan_window([full, quiet], max_rows=200_000)

    assert share == pytest.approx(0.25)  # the full hour keeps a quarter of its records
    assert counts == [10_000, 500]
    share, counts = plan_window([full, quiet], max_rows=4_200)
    assert share == pytest.approx(0.1)
    assert counts == [4_000, 200]
    assert plan_window([], max_rows=10) == (0.0, [])
