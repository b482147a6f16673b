"""MonitorX's own metrics, read from its parts when Prometheus scrapes.

The custom-collector pattern of prometheus_client: the parts below ``server``
keep plain counters of what they do (`IngestStats`, `DecoderStats`, the
evaluator's rounds, the delivery queue's outcomes, the scheduler's job states)
and know nothing of Prometheus; `MonitorXCollector.collect` turns them into metric
families at scrape time. Nothing is paid on the hot path but those counters, and a
scrape sees every part as it is at that moment. Each family is named
``monitorx_…``; docs/prometheus.md lists them.

`collect` runs on the event loop, the thread that changes the counters, so it
reads consistent values without locks.
"""

from __future__ import annotations

__all__ = ["MonitorXCollector", "ObservedParts"]

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.metrics_core import Metric

from monitorx.alerting.engine import AlertEngine
from monitorx.alerting.notify.delivery import DeliveryQueue, Outcome
from monitorx.core import Severity
from monitorx.core.histogram import BucketHistogram
from monitorx.evaluation.batches import Evaluator
from monitorx.evaluation.scheduler import Scheduler
from monitorx.ingest.pool import BatchDecoder
from monitorx.ingest.stats import IngestStats
from monitorx.server.live import LiveHub
from monitorx.server.telemetry.models import ModelSeries
from monitorx.server.telemetry.requests import RequestLatency


@dataclass(frozen=True, slots=True)
class ObservedParts:
    """The parts of one server whose state the collector reports."""

    version: str
    ingest: IngestStats
    decoder: BatchDecoder
    evaluator: Evaluator
    engine: AlertEngine
    deliveries: DeliveryQueue
    live: LiveHub
    scheduler: Scheduler
    requests: RequestLatency
    models: ModelSeries | None  # None: per-model series are off


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
    """A prometheus_client collector over one server's `ObservedParts`."""

    def __init__(self, parts: ObservedParts) -> None:
        self._parts = parts

    def collect(self) -> Iterator[Metric]:
        build = GaugeMetricFamily(
            "monitorx_build_info", "The MonitorX version serving (always 1).", labels=["version"]
        )
        build.add_metric([self._parts.version], 1)
        yield build
        yield from self._http()
        yield from self._ingest()
        yield from self._decoder()
        yield from self._alerts()
        yield from self._notifications()
        yield from self._scheduler()
        clients = GaugeMetricFamily(
            "monitorx_websocket_clients", "Clients connected to the live WebSocket."
        )
        clients.add_metric([], self._parts.live.subscriber_count)
        yield clients
        if self._parts.models is not None:
            yield from self._models(self._parts.models)

    def _http(self) -> Iterator[Metric]:
        histograms = self._parts.requests.histograms
        yield _histogram(
            "monitorx_http_request_duration_seconds",
            "HTTP requests by route template, method and status class, and how long "
            "each took to answer.",
            ["endpoint", "method", "status"],
            ((list(key), histogram) for key, histogram in sorted(histograms.items())),
        )

    def _ingest(self) -> Iterator[Metric]:
        stats = self._parts.ingest
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

    def _decoder(self) -> Iterator[Metric]:
        stats = self._parts.decoder.stats()
        gauges = (
            ("monitorx_decoder_workers", "Decoder worker processes configured.", stats.workers),
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

    def _alerts(self) -> Iterator[Metric]:
        evaluator = self._parts.evaluator
        counters = (
            (
                "monitorx_alert_evaluations",
                "Rounds of threshold evaluation of committed batches.",
                evaluator.rounds,
            ),
            (
                "monitorx_alert_evaluation_failures",
                "Evaluation rounds that failed.",
                evaluator.failed_rounds,
            ),
            (
                "monitorx_alert_breaches",
                "Threshold breaches found (each opens or updates an alert).",
                evaluator.breaches,
            ),
        )
        for name, doc, value in counters:
            yield CounterMetricFamily(name, doc, value=value)
        yield GaugeMetricFamily(
            "monitorx_alert_evaluation_backlog",
            "Committed batches waiting to be evaluated.",
            value=evaluator.backlog,
        )
        active = GaugeMetricFamily(
            "monitorx_alerts_active", "Alerts not resolved, by severity.", labels=["severity"]
        )
        counts = Counter(alert.severity for alert in self._parts.engine.active())
        for severity in Severity:
            active.add_metric([severity.value], counts[severity])
        yield active

    def _notifications(self) -> Iterator[Metric]:
        queue = self._parts.deliveries
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
        for channel, outcomes in sorted(queue.outcomes.items()):
            sent.add_metric([channel], outcomes[Outcome.DELIVERED])
            failed.add_metric([channel], outcomes[Outcome.FAILED] + outcomes[Outcome.GAVE_UP])
            gave_up.add_metric([channel], outcomes[Outcome.GAVE_UP])
        yield sent
        yield failed
        yield gave_up
        yield GaugeMetricFamily(
            "monitorx_notifications_pending",
            "Notifications waiting to be delivered (due, retrying or rate limited).",
            value=len(queue.pending()),
        )

    def _scheduler(self) -> Iterator[Metric]:
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
        for job in self._parts.scheduler.jobs:
            runs.add_metric([job.name], job.runs)
            failures.add_metric([job.name], job.failures)
            if job.last_finished is not None:
                last.add_metric([job.name], job.last_finished.timestamp())
        yield runs
        yield failures
        yield last

    def _models(self, models: ModelSeries) -> Iterator[Metric]:
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
