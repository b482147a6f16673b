"""What PII masking costs on the ingest path, in-process, against masking off.

    python bench/pii_masking.py [--batch-size 5000] [--repeats 20]

Each figure is the median CPU time of ``--repeats`` runs of one step (runs with
masking off and on take turns), masking off (the
policy masks nothing: the code path a server with ``MONITORX_PII_DETECTORS=[]``
takes) and on (the default policy: email, card, phone, mode hash), and the cost
per row that masking adds:

- decoding an inference batch (``decode_metric_batch``, what the decoder workers
  run) whose tags are one set for all (``{"region": "eu"}``, as bench/ingest.py
  sends), 100 distinct user emails, or a distinct email per metric — the last both
  with the masker's memory warm (the same values again) and cold (new values each
  run: every value scanned);
- masking the labels of a custom metrics batch of ``--batch-size`` series (one
  sample each: the most series a batch can open);
- masking a records table of 100,000 rows with a string feature of 1,000 distinct
  values (``mask_table``, what ``POST /records`` pays).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
import orjson
import pyarrow as pa

from monitorx.core.pii import MaskMode, PiiKind, PiiMasker, PiiPolicy
from monitorx.ingest.decode import decode_metric_batch
from monitorx.ingest.masking import mask_series_labels, mask_table
from monitorx.store.samples.batch import KeyedSamples

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
DEFAULT = PiiPolicy(
    frozenset({PiiKind.EMAIL, PiiKind.CARD, PiiKind.PHONE}), mode=MaskMode.HASH, key=b"k" * 32
)


def _cpu_s(step: Callable[[], object]) -> float:
    """The CPU time of one run of ``step`` in this thread: on a shared machine, time
    spent waiting for a core is not the step's."""
    started = time.thread_time()
    step()
    return time.thread_time() - started


def _median_s(step: Callable[[], object], repeats: int) -> float:
    step()  # warm-up
    return statistics.median(_cpu_s(step) for _ in range(repeats))


def _paired_s(
    off: Callable[[], object], on: Callable[[], object], repeats: int
) -> tuple[float, float]:
    """Median CPU times of ``off`` and ``on``, run in turns so that both see the
    same machine."""
    off()
    on()
    times = [(_cpu_s(off), _cpu_s(on)) for _ in range(repeats)]
    return statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)


def _batch(n: int, tags: Callable[[int], dict[str, str]]) -> bytes:
    items = [
        {"model_id": f"model-{i % 20}", "latency": 12.5, "timestamp": 1.7e9 + i, "tags": tags(i)}
        for i in range(n)
    ]
    return orjson.dumps(items)


def _row(name: str, off_s: float, on_s: float, rows: int) -> None:
    extra_ns = (on_s - off_s) / rows * 1e9
    print(
        f"{name:<48} off {off_s * 1e3:8.2f} ms   on {on_s * 1e3:8.2f} ms   "
        f"+{extra_ns:7.0f} ns/row  ({(on_s / off_s - 1) * 100:+.0f}%)"
    )


def bench_decode(n: int, repeats: int) -> None:
    cases = {
        "batch, one tag set ({'region': 'eu'})": lambda i: {"region": "eu"},
        "batch, 100 distinct emails": lambda i: {"user": f"user{i % 100}@example.com"},
        "batch, an email per metric (warm)": lambda i: {"user": f"user{i}@example.com"},
    }
    for name, tags in cases.items():
        body = _batch(n, tags)
        masker = PiiMasker(DEFAULT)
        off, on = _paired_s(
            lambda b=body: decode_metric_batch(b, NOW, n),
            lambda b=body, m=masker: decode_metric_batch(b, NOW, n, m),
            repeats,
        )
        _row(name, off, on, n)
    # Cold: values the masker has never seen, every run.
    bodies = [_batch(n, lambda i, r=r: {"user": f"u{r}-{i}@example.com"}) for r in range(repeats)]
    masker = PiiMasker(DEFAULT)
    off_times, on_times = [], []
    for body in bodies:
        off_times.append(_cpu_s(lambda b=body: decode_metric_batch(b, NOW, n)))
        on_times.append(_cpu_s(lambda b=body: decode_metric_batch(b, NOW, n, masker)))
    _row(
        "batch, an email per metric (cold: all new)",
        statistics.median(off_times),
        statistics.median(on_times),
        n,
    )


def bench_labels(n: int, repeats: int) -> None:
    keyed = KeyedSamples(
        ["logins"] * n,
        [{"user": f"user{i}@example.com", "env": "prod"} for i in range(n)],
        [None] * n,
        np.arange(n, dtype=np.int64),
        np.full(n, 1_700_000_000_000_000, np.int64),
        np.ones(n),
    )
    masker = PiiMasker(DEFAULT)
    on = _median_s(lambda: mask_series_labels(masker, keyed), repeats)
    off = _median_s(lambda: mask_series_labels(None, keyed), repeats)
    print(f"{f'custom metric labels, {n:,} series (warm)':<48} on {on * 1e3:8.2f} ms   "
          f"{on / n * 1e9:7.0f} ns/series (off: {off * 1e9:.0f} ns per batch)")  # fmt: skip


def bench_records(repeats: int) -> None:
    rows = 100_000
    rng = np.random.default_rng(1)
    table = pa.table(
        {
            "request_id": [f"r{i}" for i in range(rows)],
            "f:customer": [f"c{int(k)}@example.com" for k in rng.integers(0, 1_000, rows)],
            "f:plan": [["free", "pro", "team"][int(k)] for k in rng.integers(0, 3, rows)],
            "f:amount": rng.random(rows),
        }
    )
    masker = PiiMasker(DEFAULT)
    on = _median_s(lambda: mask_table(masker, table, ("request_id",), "f:"), repeats)
    print(f"{'records, 100,000 rows, 1,000 distinct emails':<48} on {on * 1e3:8.2f} ms   "
          f"{on / rows * 1e9:7.0f} ns/row")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=5_000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    bench_decode(args.batch_size, args.repeats)
    bench_labels(args.batch_size, args.repeats)
    bench_records(args.repeats)


if __name__ == "__main__":
    main()
