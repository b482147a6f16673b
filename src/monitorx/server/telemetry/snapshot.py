"""What the server's parts have counted, copied at one moment for a scrape.

The parts change their counters on the event loop; a scrape copies them there
(`take_snapshot`: dictionaries and bucket lists, well under a millisecond even
with a thousand models' series) and formats the copy elsewhere, so that building
the text — tens of milliseconds for large scrapes — never holds up a request.
"""

from __future__ import annotations

__all__ = ["JobCounts", "ObservedParts", "Snapshot", "take_snapshot"]

from collections import Counter
from dataclasses import dataclass

from monitorx.alerting.engine import AlertEngine
from monitorx.alerting.notify.delivery import DeliveryQueue, Outcome
from monitorx.core import Severity
from monitorx.core.histogram import BucketHistogram
from monitorx.evaluation.batches import Evaluator
from monitorx.evaluation.scheduler import Scheduler
from monitorx.ingest.pool import BatchDecoder, DecoderStats
from monitorx.ingest.stats import IngestStats
from monitorx.server.live import LiveHub
from monitorx.server.telemetry.models import ModelSeries
from monitorx.server.telemetry.requests import RequestKey, RequestLatency


@dataclass(frozen=True, slots=True)
class ObservedParts:
    """The parts of one server whose counters are reported."""

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


@dataclass(frozen=True, slots=True)
class JobCounts:
    name: str
    runs: int
    failures: int
    last_finished_s: float | None  # Unix time


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Copies of every counter `ObservedParts` keep, taken at one moment."""

    version: str
    requests: dict[RequestKey, BucketHistogram]
    ingest: IngestStats
    decoder: DecoderStats
    evaluation_rounds: int
    failed_evaluation_rounds: int
    breaches: int
    evaluation_backlog: int
    active_alerts: dict[Severity, int]
    deliveries: dict[str, dict[Outcome, int]]
    pending_notifications: int
    websocket_clients: int
    live_relay: dict[str, int] | None
    """Live messages published to, received from and dropped before Redis (in a
    cluster; None otherwise)."""
    jobs: tuple[JobCounts, ...]
    models: ModelSeries | None


def take_snapshot(parts: ObservedParts) -> Snapshot:
    """Copy the counters; call it on the event loop, where they change."""
    evaluator = parts.evaluator
    severities = Counter(alert.severity for alert in parts.engine.active())
    return Snapshot(
        version=parts.version,
        requests=parts.requests.copy(),
        ingest=parts.ingest.copy(),
        decoder=parts.decoder.stats(),
        evaluation_rounds=evaluator.rounds,
        failed_evaluation_rounds=evaluator.failed_rounds,
        breaches=evaluator.breaches,
        evaluation_backlog=evaluator.backlog,
        active_alerts={severity: severities[severity] for severity in Severity},
        deliveries={
            channel: {outcome: outcomes[outcome] for outcome in Outcome}
            for channel, outcomes in parts.deliveries.outcomes.items()
        },
        pending_notifications=len(parts.deliveries.pending()),
        websocket_clients=parts.live.subscriber_count,
        live_relay=(
            None
            if parts.live.relay is None
            else {
                "published": parts.live.relay.published,
                "received": parts.live.relay.received,
                "dropped": parts.live.relay.dropped,
            }
        ),
        jobs=tuple(
            JobCounts(
                job.name,
                job.runs,
                job.failures,
                None if job.last_finished is None else job.last_finished.timestamp(),
            )
            for job in parts.scheduler.jobs
        ),
        models=None if parts.models is None else parts.models.copy(),
    )
