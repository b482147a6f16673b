"""How fast logs are written and found by words in the embedded store (DuckDB),
with its own word index (`log_words`, store/duckdb/logs.py) against the scans
it replaces: a scan of whole words (a ``LIKE`` prefilter, then the message's
words), which finds what the index finds, and a bare ``LIKE '%word%'``, which
also finds substrings (``w3`` in ``w30``).

    python bench/log_search.py [--logs 200000] [--batch 10000] [--runs 5]

Writes ``--logs`` log lines in batches through `DuckDBStorage.write_logs` (each
message 8–16 words of a 5,000-word vocabulary drawn Zipf-like, plus one word
that occurs once in 10,000 lines), then times, median of ``--runs``: a search for
a common word, for two words, for the rare word, and the same three as scans of
the messages. Prints one line per figure. docs/events-and-logs.md has the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitorx.core.events import LogEntry, LogQuery, LogSeverity
from monitorx.store import DuckDBStorage

VOCABULARY = [f"w{i}" for i in range(5000)]
WEIGHTS = [1 / (i + 1) for i in range(len(VOCABULARY))]


def _logs(count: int, start: datetime, rng: random.Random) -> list[LogEntry]:
    out = []
    for i in range(count):
        words = rng.choices(VOCABULARY, WEIGHTS, k=rng.randint(8, 16))
        if rng.random() < 1e-4:
            words.append("needle")
        out.append(
            LogEntry(
                id=uuid.uuid4().hex,
                time=start + timedelta(milliseconds=i),
                severity=LogSeverity.INFO,
                message=" ".join(words),
                model_id=f"model-{i % 10}",
            )
        )
    return out


async def _median(runs: int, work) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        await work()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


async def main(logs: int, batch: int, runs: int) -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as folder:
        store = DuckDBStorage(Path(folder) / "logs.duckdb", hot_max_points=0)
        await store.open()
        start = datetime(2026, 1, 1, tzinfo=UTC)
        written = 0.0
        for offset in range(0, logs, batch):
            entries = _logs(min(batch, logs - offset), start + timedelta(seconds=offset), rng)
            began = time.perf_counter()
            await store.write_logs(entries)
            written += time.perf_counter() - began
        print(f"write_logs: {logs / written:,.0f} lines/s ({logs:,} lines, batches of {batch:,})")
        for label, text in (
            ("common word", "w3"),
            ("two words", "w3 w10"),
            ("rare word", "needle"),
        ):
            found = await store.search_logs(LogQuery(limit=100, text=text))

            async def indexed(text: str = text) -> None:
                await store.search_logs(LogQuery(limit=100, text=text))

            words = text.split()
            likes = " AND ".join(["lower(message) LIKE %s"] * len(words))
            exact = " AND ".join(
                [
                    "(lower(message) LIKE %s AND list_contains(regexp_extract_all("
                    "lower(message), '[\\pL\\pN]+'), %s))"
                ]
                * len(words)
            )

            async def substring_scan(words: list[str] = words, likes: str = likes) -> None:
                await store._sql.read(  # a scan: substrings, not words ('w3' finds 'w30')
                    f"SELECT id FROM logs WHERE project_id = %s AND {likes} "
                    "ORDER BY time DESC LIMIT 100",
                    [store.project_id, *[f"%{w}%" for w in words]],
                )

            async def word_scan(words: list[str] = words, exact: str = exact) -> None:
                params: list[object] = [store.project_id]
                for w in words:
                    params += [f"%{w}%", w]
                await store._sql.read(  # a scan with the index's meaning: whole words
                    f"SELECT id FROM logs WHERE project_id = %s AND {exact} "
                    "ORDER BY time DESC LIMIT 100",
                    params,
                )

            print(
                f"{label} ({text!r}, {len(found)} shown): index "
                f"{await _median(runs, indexed):.1f} ms, word scan "
                f"{await _median(runs, word_scan):.1f} ms, substring scan "
                f"{await _median(runs, substring_scan):.1f} ms"
            )
        await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logs", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.logs, args.batch, args.runs))
