"""Traces: spans/s through OTLP/HTTP, and the trace list's latency with 1,000,000
spans stored, on the embedded store (DuckDB).

    python bench/traces.py [--batches 200] [--batch-spans 512] [--stored 1000000] [--runs 30]

1. Ingest: starts `monitorx serve` with a fresh data directory and sends
   ``--batches`` OTLP protobuf bodies of ``--batch-spans`` spans each (traces of
   four spans: an agent span over three GenAI chat spans, so three in four spans
   also become inference metrics), one after another on one keep-alive
   connection, every body encoded before timing. Prints spans/s end to end (each
   request answered 200 without a partial success: stored and committed) and the
   p50/p99 request latency.
2. Trace list: writes ``--stored`` spans straight through the store
   (`Storage.write_spans`, Arrow batches of 100,000, in time order as exporters
   send spans, with random ids as SDKs make them) into a fresh data directory,
   every span in the last hour (the worst case: the default range holds them all),
   starts the server on it and times ``GET /api/v1/traces`` (newest 100 of 250,000
   traces), with ``model_id``, with ``error=true`` and with ``min_duration_ms``,
   and ``GET /api/v1/traces/{id}``: median and p95 of ``--runs`` requests after 3
   warm-ups, at an HTTP client (httpx, keep-alive).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

sys.path.insert(0, str(Path(__file__).parent))
from _server import monitorx_server

from monitorx.store import SPAN_SCHEMA, DuckDBStorage

MODELS = ("gpt-4o", "gpt-4o-mini", "meta-llama/Llama-3-8B", "claude-sonnet")
SPANS_PER_TRACE = 4


def _attribute(span: Span, key: str, value: str | int) -> None:
    item = span.attributes.add()
    item.key = key
    if isinstance(value, int):
        item.value.int_value = value
    else:
        item.value.string_value = value


def otlp_bodies(batches: int, batch_spans: int, seed: int = 7) -> list[bytes]:
    rng = np.random.default_rng(seed)
    now_ns = time.time_ns()
    bodies = []
    for _ in range(batches):
        request = ExportTraceServiceRequest()
        resource_spans = request.resource_spans.add()
        service = resource_spans.resource.attributes.add()
        service.key, service.value.string_value = "service.name", "support-bot"
        spans = resource_spans.scope_spans.add().spans
        for first in range(0, batch_spans, SPANS_PER_TRACE):
            trace_id = rng.bytes(16)
            root_id = rng.bytes(8)
            start = now_ns - int(rng.integers(1, 600)) * 1_000_000_000
            for index in range(min(SPANS_PER_TRACE, batch_spans - first)):
                span = spans.add()
                span.trace_id = trace_id
                span.span_id = root_id if index == 0 else rng.bytes(8)
                span.start_time_unix_nano = start + index * 1_000_000
                if index == 0:
                    span.name, span.kind = "invoke_agent support", Span.SPAN_KIND_INTERNAL
                    span.end_time_unix_nano = start + 900_000_000
                    _attribute(span, "gen_ai.conversation.id", f"conv-{first % 97}")
                    continue
                model = MODELS[int(rng.integers(len(MODELS)))]
                span.parent_span_id = root_id
                span.name, span.kind = f"chat {model}", Span.SPAN_KIND_CLIENT
                span.end_time_unix_nano = span.start_time_unix_nano + int(
                    rng.integers(50, 800) * 1_000_000
                )
                _attribute(span, "gen_ai.operation.name", "chat")
                _attribute(span, "gen_ai.provider.name", "openai")
                _attribute(span, "gen_ai.request.model", model)
                _attribute(span, "gen_ai.usage.input_tokens", int(rng.integers(10, 2000)))
                _attribute(span, "gen_ai.usage.output_tokens", int(rng.integers(1, 500)))
                if rng.random() < 0.02:
                    span.status.code = Status.STATUS_CODE_ERROR
                    span.status.message = "upstream timed out"
        bodies.append(request.SerializeToString())
    return bodies


def bench_ingest(batches: int, batch_spans: int) -> None:
    bodies = otlp_bodies(batches, batch_spans)
    headers = {"Content-Type": "application/x-protobuf"}
    with monitorx_server() as (url, _), httpx.Client(base_url=url, timeout=60) as client:
        for body in bodies[:3]:  # warm-up: connection, first-use paths
            client.post("/v1/traces", content=body, headers=headers).raise_for_status()
        latencies = []
        started = time.perf_counter()
        for body in bodies:
            sent = time.perf_counter()
            answer = client.post("/v1/traces", content=body, headers=headers)
            latencies.append(time.perf_counter() - sent)
            answer.raise_for_status()
            parsed = ExportTraceServiceResponse.FromString(answer.content)
            assert not parsed.partial_success.rejected_spans, parsed
        seconds = time.perf_counter() - started
    spans = batches * batch_spans
    latencies.sort()
    print(
        f"OTLP/HTTP protobuf, {batch_spans} spans a request, one connection: "
        f"{spans / seconds:,.0f} spans/s ({spans:,} spans in {seconds:.1f} s); "
        f"request p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.1f} ms"
    )


def span_table(trace_start: np.ndarray, trace_ids: list[str], rng: np.random.Generator) -> pa.Table:
    """Traces of `SPANS_PER_TRACE` spans each, starting at ``trace_start`` (epoch µs)."""
    traces = len(trace_start)
    n = traces * SPANS_PER_TRACE
    position = np.tile(np.arange(SPANS_PER_TRACE), traces)
    ids = np.repeat(np.array(trace_ids, dtype=object), SPANS_PER_TRACE)
    span_ids = [rng.bytes(8).hex() for _ in range(n)]
    roots = np.repeat(np.array(span_ids[::SPANS_PER_TRACE], dtype=object), SPANS_PER_TRACE)
    parents = np.where(position == 0, None, roots)
    start = np.repeat(trace_start, SPANS_PER_TRACE) + position * 1000
    duration = np.where(position == 0, 900_000, rng.integers(50_000, 800_000, n))
    models = np.array(MODELS, dtype=object)[rng.integers(0, len(MODELS), n)]
    llm = position > 0
    error = llm & (rng.random(n) < 0.02)
    sessions = np.repeat(rng.integers(0, 5000, traces), SPANS_PER_TRACE)
    return pa.table(
        {
            "trace_id": pa.array(ids, pa.string()),
            "span_id": span_ids,
            "parent_span_id": pa.array(parents, pa.string()),
            "name": np.where(llm, "chat " + models.astype(str), "invoke_agent support"),
            "kind": np.where(llm, 3, 1),
            "start_ts": pa.array(start, pa.timestamp("us")),
            "end_ts": pa.array(start + duration, pa.timestamp("us")),
            "status": np.where(error, "error", "unset"),
            "status_message": pa.array(np.where(error, "upstream timed out", None)),
            "model_id": pa.array(
                np.where(llm, np.char.replace(models.astype(str), "/", ":"), None)
            ),
            "session_id": pa.array([f"conv-{s}" for s in sessions]),
            "input_tokens": pa.array(np.where(llm, rng.integers(10, 2000, n), 0)).cast(pa.int64()),
            "output_tokens": pa.array(np.where(llm, rng.integers(1, 500, n), 0)).cast(pa.int64()),
            "attributes": pa.array(['{"gen_ai.operation.name":"chat"}'] * n),
            "resource": pa.array(['{"service.name":"support-bot"}'] * n),
            "events": pa.array(["[]"] * n),
        },
        schema=SPAN_SCHEMA,
    )


async def store_spans(data_dir: Path, stored: int) -> None:
    storage = DuckDBStorage(data_dir / "monitorx.duckdb", "default", hot_max_points=0)
    await storage.open()
    rng = np.random.default_rng(11)
    now_us = int(datetime.now(UTC).timestamp() * 1_000_000)
    traces = stored // SPANS_PER_TRACE
    # Random ids, as SDKs make them; traces in time order over the last hour, as
    # exporters send spans shortly after they end.
    starts = np.sort(now_us - rng.integers(1_000_000, 3_500_000_000, traces))
    ids = [rng.bytes(16).hex() for _ in range(traces)]
    chunk = 100_000 // SPANS_PER_TRACE
    started = time.perf_counter()
    for first in range(0, traces, chunk):
        part = slice(first, first + chunk)
        await storage.write_spans(span_table(starts[part], ids[part], rng))
    seconds = time.perf_counter() - started
    await storage.close()
    print(f"stored {stored:,} spans through Storage.write_spans in {seconds:.1f} s")


def timed(client: httpx.Client, path: str, params: dict[str, object], runs: int) -> str:
    for _ in range(3):
        client.get(path, params=params).raise_for_status()
    latencies = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(path, params=params).raise_for_status()
        latencies.append(time.perf_counter() - started)
    latencies.sort()
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
    return f"median {statistics.median(latencies) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"


def bench_trace_list(stored: int, runs: int) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="monitorx-bench-traces-"))
    asyncio.run(store_spans(data_dir, stored))
    with (
        monitorx_server(data_dir=data_dir) as (url, _),
        httpx.Client(base_url=f"{url}/api/v1", timeout=60) as client,
    ):
        listed = client.get("/traces").json()
        assert len(listed) == 100, len(listed)
        cases: list[tuple[str, dict[str, object]]] = [
            ("GET /traces (newest 100)", {}),
            ("GET /traces?model_id=gpt-4o", {"model_id": "gpt-4o"}),
            ("GET /traces?error=true", {"error": "true"}),
            ("GET /traces?min_duration_ms=850", {"min_duration_ms": 850}),
            ("GET /traces?session_id=conv-7", {"session_id": "conv-7"}),
        ]
        for label, params in cases:
            print(f"{stored:,} spans stored, {label}: {timed(client, '/traces', params, runs)}")
        one = listed[0]["trace_id"]
        figures = timed(client, f"/traces/{one}", {}, runs)
        print(f"{stored:,} spans stored, GET /traces/{{id}}: {figures}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch-spans", type=int, default=512)
    parser.add_argument("--stored", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    bench_ingest(args.batches, args.batch_spans)
    bench_trace_list(args.stored, args.runs)


if __name__ == "__main__":
    main()
