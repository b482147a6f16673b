"""What the input guards cost on the ingest hot path, beside decoding the same body.

    python bench/input_guards.py [--batch-size 5000] [--repeat 200]

Builds `bench/ingest.py`'s batch bodies (with and without the LLM fields) and
times, per body, in this process:

- ``json_depth``: the exact nesting depth every JSON body is measured by before
  any parser sees it (`monitorx.ingest.json_depth`);
- ``text_prefilter``: the byte searches that show a body holds no string the rule
  of stored text refuses (`monitorx.core.text.may_hold_bad_text`);
- ``decode``: `decode_metric_batch`, the msgspec decode and validation the guards
  precede, for scale.

Each figure is the best of 7 rounds of ``--repeat`` calls (the least disturbed by
other work on the machine), in microseconds per body.
"""

from __future__ import annotations

import argparse
import sys
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from ingest import batch_bodies
from monitorx.core.text import may_hold_bad_text
from monitorx.ingest.decode import decode_metric_batch
from monitorx.ingest.json_depth import json_depth


def best_us(call: Callable[[], object], repeat: int) -> float:
    return min(timeit.repeat(call, number=repeat, repeat=7)) / repeat * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    now = datetime.now(UTC)
    print(f"{'body':<28} {'bytes':>9} {'json_depth':>11} {'text_prefilter':>15} {'decode':>9}")
    for llm in (False, True):
        [body] = batch_bodies(args.batch_size, args.batch_size, "hour", llm=llm)
        depth = best_us(lambda body=body: json_depth(body), args.repeat)
        text = best_us(lambda body=body: may_hold_bad_text(body), args.repeat)
        decode = best_us(
            lambda body=body: decode_metric_batch(body, now, 10_000), max(args.repeat // 10, 1)
        )
        name = f"{args.batch_size} metrics" + (" with LLM fields" if llm else "")
        print(
            f"{name:<28} {len(body):>9,} {depth:>9.0f}µs {text:>13.0f}µs {decode:>7.0f}µs"
            f"  (guards {100 * (depth + text) / decode:.1f}% of decode)"
        )


if __name__ == "__main__":
    main()
