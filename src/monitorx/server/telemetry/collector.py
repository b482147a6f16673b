"""MonitorX's own metrics as Prometheus metric families.

The custom-collector pattern of prometheus_client: the parts below ``server``
keep plain counters of what they do (`IngestStats`, `DecoderStats`, the
evaluator's rounds, the delivery queue's outcomes, the scheduler's job states)
and know nothing of Prometheus; at scrape time their counters are copied
(`take_snapshot`) and `families` turns the copy into metric families. Nothing is
paid on the hot path but those counters. Each family is named ``monitorx_…``;
docs/prometheus.md lists them.
"""

from __future__ import annotations

__all__ = ["MonitorXCollector", "SnapshotCollector", "families"]

from collections.abc import Iterator, Sequence

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.metrics_core import Metric

from monitorx.alerting.notify.delivery import Outcome
from monitorx.core.histogram import BucketHistogram
from monitorx.server.telemetry.models import ModelSeries
from monitorx.server.telemetry.snapshot import ObservedParts, Snapshot, take_snapshot


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


def _buckets(histogram: BucketHistogram) -> list[tuple[str, float]]:
    return [(_le(bound), count) for bound, count in histogram.cumulative()]


def _histogram(
    name: str, doc: str, labels: Sequence[str], rows: Iterator[tuple[list[str], BucketHistogram]]
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, doc, labels=list(labels))
    for values, histogram in rows:
        family.add_metric(values, _buckets(histogram), histogram.sum)
    return family


class MonitorXCollector:
    """A prometheus_client collector over one server's live `ObservedParts`: collect
    it on the event loop, where the counters change (`Telemetry.exposition` copies
    them there and formats the copy in a worker thread)."""

    def __init__(self, parts: ObservedParts) -> None:
        self.parts = parts

    def collect(self) -> Iterator[Metric]:
        return families(take_snapshot(self.parts))


class SnapshotCollector:
    """A collector over one `Snapshot`: safe to collect in any thread."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        return families(self.snapshot)


def families(snapshot: Snapshot) -> Iterator[Metric]:
    """Every ``monitorx_…`` family of ``snapshot``."""
    build = GaugeMetricFamily(
        "monitorx_build_info", "The MonitorX version serving (always 1).", labels=["version"]
    )
    build.add_metric([snapshot.version], 1)
    yield build
    yield from _http(snapshot)
    yield from _ingest(snapshot)
    yield from _decoder(snapshot)
    yield from _alerts(snapshot)
    yield from _notifications(snapshot)
    yield from _scheduler(snapshot)
    yield GaugeMetricFamily(
        "monitorx_websocket_clients",
        "Clients connected to the live WebSocket.",
        value=snapshot.websocket_clients,
    )
    if snapshot.live_relay is not None:
        relay = CounterMetricFamily(
            "monitorx_live_relay_messages",
            "Live-feed messages this replica published to the others through Redis, "
            "received from them, or dropped because Redis was slow or away.",
            labels=["outcome"],
        )
        for outcome, count in snapshot.live_relay.items():
            relay.add_metric([outcome], count)
        yield relay
    if snapshot.models is not None:
        yield from _models(snapshot.models)


def _http(snapshot: Snapshot) -> Iterator[Metric]:
    histograms = snapshot.requests
    yield _histogram(
        "monitorx_http_request_duration_seconds",
        "HTTP requests by route template, method and status class, and how long "
        "each took to answer.",
        ["endpoint", "method", "status"],
        ((list(key), histogram) for key, histogram in sorted(histograms.items())),
    )


def _ingest(snapshot: Snapshot) -> Iterator[Metric]:
    stats = snapshot.ingest
    accepted = CounterMetricFamily(
        "monitorx_ingest_accepted",
        "Items stored, by kind: inference metrics, drift metrics, custom samples.",
        labels=["kind"],
    )
    rejected = CounterMetricFamily(
        "monitorx_ingest_rejected",
        "Items refused one by one (invalid, or past a limit), by kind; a body "
        "refused whole shows as a 4xx in monitorx_http_request_duration_seconds.",
        labels=["kind"],
    )
    errors = CounterMetricFamily(
        "monitorx_storage_write_errors",
        "Store writes of ingested data that failed (the request got an error).",
        labels=["kind"],
    )
    for kind in stats.accepted:
        accepted.add_metric([kind.value], stats.accepted[kind])
        rejected.add_metric([kind.value], stats.rejected[kind])
        errors.add_metric([kind.value], stats.write_errors[kind])
    yield accepted
    yield rejected
    yield _histogram(
        "monitorx_ingest_batch_size",
        "Items per request body (accepted and rejected), by kind.",
        ["kind"],
        (([kind.value], h) for kind, h in stats.batch_sizes.items()),
    )
    yield _histogram(
        "monitorx_storage_write_seconds",
        "How long each store write of ingested data took, until durable.",
        ["kind"],
        (([kind.value], h) for kind, h in stats.write_seconds.items()),
    )
    yield errors


def _decoder(snapshot: Snapshot) -> Iterator[Metric]:
    stats = snapshot.decoder
    gauges = (
        ("monitorx_decoder_workers", "Decoder worker processes configured.", stats.workers),
        (
            "monitorx_decoder_workers_started",
            "Decoder worker processes started (by the first large body; none while idle).",
            stats.processes,
        ),
        ("monitorx_decoder_workers_alive", "Decoder worker processes alive.", stats.alive),
        (
            "monitorx_decoder_batches_in_flight",
            "Batches handed to the decoder workers and not yet back (the queue).",
            stats.in_flight,
        ),
    )
    for name, doc, value in gauges:
        yield GaugeMetricFamily(name, doc, value=value)
    yield CounterMetricFamily(
        "monitorx_decoder_restarts",
        "Times the decoder's worker pool was restarted after a worker died.",
        value=stats.restarts,
    )
    batches = CounterMetricFamily(
        "monitorx_decoder_batches",
        "Batch bodies decoded, in a worker process (pool) or in the server (inline).",
        labels=["where"],
    )
    batches.add_metric(["pool"], stats.pool_batches)
    batches.add_metric(["inline"], stats.inline_batches)
    yield batches


def _alerts(snapshot: Snapshot) -> Iterator[Metric]:
    counters = (
        (
            "monitorx_alert_evaluations",
            "Rounds of threshold evaluation of committed batches.",
            snapshot.evaluation_rounds,
        ),
        (
            "monitorx_alert_evaluation_failures",
            "Evaluation rounds that failed.",
            snapshot.failed_evaluation_rounds,
        ),
        (
            "monitorx_alert_breaches",
            "Threshold breaches found (each opens or updates an alert).",
            snapshot.breaches,
        ),
    )
    for name, doc, value in counters:
        yield CounterMetricFamily(name, doc, value=value)
    yield GaugeMetricFamily(
        "monitorx_alert_evaluation_backlog",
        "Committed batches waiting to be evaluated.",
        value=snapshot.evaluation_backlog,
    )
    active = GaugeMetricFamily(
        "monitorx_alerts_active", "Alerts not resolved, by severity.", labels=["severity"]
    )
    for severity, count in snapshot.active_alerts.items():
        active.add_metric([severity.value], count)
    yield active


def _notifications(snapshot: Snapshot) -> Iterator[Metric]:
    sent = CounterMetricFamily(
        "monitorx_notifications_sent",
        "Notifications delivered, by channel.",
        labels=["channel"],
    )
    failed = CounterMetricFamily(
        "monitorx_notifications_failed",
        "Delivery attempts that failed, by channel (retried later, or given up).",
        labels=["channel"],
    )
    gave_up = CounterMetricFamily(
        "monitorx_notifications_gave_up",
        "Notifications abandoned, by channel: refused, or out of attempts or time.",
        labels=["channel"],
    )
    for channel, outcomes in sorted(snapshot.deliveries.items()):
        sent.add_metric([channel], outcomes[Outcome.DELIVERED])
        failed.add_metric([channel], outcomes[Outcome.FAILED] + outcomes[Outcome.GAVE_UP])
        gave_up.add_metric([channel], outcomes[Outcome.GAVE_UP])
    yield sent
    yield failed
    yield gave_up
    yield GaugeMetricFamily(
        "monitorx_notifications_pending",
        "Notifications waiting to be delivered (due, retrying or rate limited).",
        value=snapshot.pending_notifications,
    )


def _scheduler(snapshot: Snapshot) -> Iterator[Metric]:
    # The label is job_name, not job: Prometheus gives each target a job label.
    runs = CounterMetricFamily(
        "monitorx_scheduler_job_runs", "Runs of each scheduled job, ended.", labels=["job_name"]
    )
    failures = CounterMetricFamily(
        "monitorx_scheduler_job_failures",
        "Runs of each scheduled job that failed.",
        labels=["job_name"],
    )
    last = GaugeMetricFamily(
        "monitorx_scheduler_job_last_run_timestamp_seconds",
        "When each scheduled job last finished a run (Unix time).",
        labels=["job_name"],
    )
    for job in snapshot.jobs:
        runs.add_metric([job.name], job.runs)
        failures.add_metric([job.name], job.failures)
        if job.last_finished_s is not None:
            last.add_metric([job.name], job.last_finished_s)
    yield runs
    yield failures
    yield last


def _models(models: ModelSeries) -> Iterator[Metric]:
    requests = CounterMetricFamily(
        "monitorx_model_requests",
        "Inference metrics received per model (one per request the model served).",
        labels=["model_id"],
    )
    errors = CounterMetricFamily(
        "monitorx_model_errors",
        "Inference metrics flagged as errors, per model.",
        labels=["model_id"],
    )
    for model_id in sorted(models.requests):
        requests.add_metric([model_id], models.requests[model_id])
        errors.add_metric([model_id], models.errors[model_id])
    yield requests
    yield errors
    yield _histogram(
        "monitorx_model_latency_seconds",
        "The latency each inference metric reported, per model.",
        ["model_id"],
        (([model_id], h) for model_id, h in sorted(models.latency.items())),
    )
