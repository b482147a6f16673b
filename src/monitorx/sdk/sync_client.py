"""The synchronous client: ``with MonitorX(url) as client: ...``."""

from __future__ import annotations

__all__ = ["MonitorX"]

import logging
import random as _random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from monitorx.core.errors import ValidationError
from monitorx.sdk import delivery, drift_data, endpoints
from monitorx.sdk.breaker import CircuitState
from monitorx.sdk.config import DEFAULT_URL, ClientOptions
from monitorx.sdk.drift_report import DriftReport
from monitorx.sdk.effects import Operation, run_sync
from monitorx.sdk.payloads import JSONObject, Timestamp, drift_metric, inference_metric
from monitorx.sdk.results import WriteResult
from monitorx.sdk.worker import BatchWorker

logger = logging.getLogger("monitorx.sdk")
T = TypeVar("T")


class MonitorX:
    """Synchronous client for a MonitorX server, one connection pool per instance.

        with MonitorX("http://127.0.0.1:8000", api_key="...") as client:
            client.register_model("fraud-v3", model_type="tabular")
            client.collect_inference_metric(model_id="fraud-v3", latency=41.7)
            summary = client.get_summary(window="1h")

    It runs the very operations :class:`MonitorXClient` runs (see
    :mod:`monitorx.sdk.effects`), so the two behave alike; it is safe to share
    between threads.

    Connection errors, timeouts, 429 and 5xx are retried ``max_retries`` times with
    exponential backoff (``retry_backoff`` × 2ⁿ seconds, with jitter; a
    ``Retry-After`` is honoured). After ``failure_threshold`` failed calls in a row
    the circuit breaker opens and calls fail fast with :class:`CircuitOpenError`
    for ``recovery_time`` seconds — unless buffering is on (:meth:`enable_buffering`),
    in which case metric writes wait in a buffer of ``buffer_size`` (oldest dropped
    first) until :meth:`flush_buffer`. Any other error status raises at once
    (``ValidationError`` for 422, ``NotFound`` for 404, …) with the server's message.

    ``transport``, ``sleep``, ``clock`` and ``random`` replace the network, the
    waiting, the breaker's monotonic clock and the jitter source, for tests.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        api_key: str | None = None,
        max_retries: int = 3,
        retry_backoff: float = 1.0,
        enable_circuit_breaker: bool = True,
        buffer_size: int = 1000,
        timeout: float = 10.0,
        *,
        failure_threshold: int = 5,
        recovery_time: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = _random.random,
    ) -> None:
        self.options = ClientOptions(
            base_url=base_url,
            api_key=api_key,
            max_retries=max_retries,
            retry_backoff=retry_backoff,
            enable_circuit_breaker=enable_circuit_breaker,
            buffer_size=buffer_size,
            timeout=timeout,
            failure_threshold=failure_threshold,
            recovery_time=recovery_time,
        )
        self._policy = self.options.delivery_policy(clock, random)
        self._sleep = sleep or time.sleep
        self._http = httpx.Client(
            base_url=self.options.api_url,
            headers=self.options.headers(),
            timeout=timeout,
            transport=transport,
        )
        self._worker: BatchWorker | None = None
        self._worker_lock = threading.Lock()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Deliver what was recorded in the background, then close the connections.

        Buffered writes are not sent here (the server may be down); call
        :meth:`flush_buffer` first to keep them.
        """
        if self._worker is not None:
            self._worker.shutdown(self.options.timeout)
        if len(self._policy.buffer):
            logger.warning(
                "MonitorX closed with %d buffered metrics unsent", len(self._policy.buffer)
            )
        self._http.close()

    def _run(self, op: Operation[T]) -> T:
        return run_sync(op, self._http, self._sleep)

    # -- state -------------------------------------------------------------------

    @property
    def buffering(self) -> bool:
        """Whether failed metric writes go to the buffer instead of raising."""
        return self._policy.buffering

    @property
    def buffered(self) -> int:
        """How many metric writes wait in the buffer."""
        return len(self._policy.buffer)

    @property
    def dropped(self) -> int:
        """How many buffered writes were evicted because the buffer was full."""
        return self._policy.buffer.dropped

    @property
    def circuit_state(self) -> CircuitState | None:
        """The circuit breaker's state, or None when it is disabled."""
        breaker = self._policy.breaker
        return breaker.state if breaker is not None else None

    def enable_buffering(self) -> None:
        """Buffer metric writes that cannot be delivered (server down, breaker open)."""
        self._policy.buffering = True

    def disable_buffering(self) -> None:
        """Raise on undeliverable writes again; what is buffered stays for flush_buffer()."""
        self._policy.buffering = False

    def flush_buffer(self) -> WriteResult:
        """Send the buffered writes, oldest first, as batches; raise if the server is still down."""
        return self._run(delivery.flush_buffer(self._policy))

    # -- writes ------------------------------------------------------------------

    def register_model(
        self,
        model_id: str,
        model_type: str,
        name: str | None = None,
        version: str | None = None,
        environment: str | None = None,
        thresholds: Mapping[str, float | None] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> JSONObject:
        """Create or replace a model's configuration (idempotent); returns it as stored."""
        return self._run(
            endpoints.register_model(
                self._policy,
                model_id,
                model_type,
                name=name,
                version=version,
                environment=environment,
                thresholds=thresholds,
                tags=tags,
            )
        )

    def collect_inference_metric(
        self,
        model_id: str,
        model_type: str | None = None,
        latency: float | None = None,
        throughput: float | None = None,
        error_rate: float | None = None,
        error: bool = False,
        resource_usage: Mapping[str, float] | None = None,
        tags: Mapping[str, str] | None = None,
        request_id: str | None = None,
        timestamp: Timestamp | None = None,
        llm: Mapping[str, float | None] | None = None,
    ) -> WriteResult:
        """Send one inference metric (``latency`` in milliseconds is required).

        ``llm`` carries an LLM call's ``prompt_tokens``, ``completion_tokens``,
        ``time_to_first_token_ms`` and ``cost_usd`` (each optional); a bad value
        raises :class:`ValidationError` naming it before anything is sent.
        """
        if latency is None:
            raise ValidationError("required", "latency")
        metric = inference_metric(
            model_id=model_id,
            model_type=model_type,
            latency=latency,
            throughput=throughput,
            error_rate=error_rate,
            error=error,
            resource_usage=resource_usage,
            tags=tags,
            request_id=request_id,
            timestamp=timestamp,
            llm=llm,
        )
        return self._run(delivery.write_one(self._policy, "inference", metric))

    def collect_inference_metrics_batch(self, metrics: Sequence[Mapping[str, Any]]) -> WriteResult:
        """Send many metrics (dicts shaped as API.md's InferenceMetric) in ≤10,000-item requests.

        Returns how many were accepted and which were rejected, by index in ``metrics``.
        """
        return self._run(delivery.write_inference_batch(self._policy, metrics))

    def collect_drift_metric(
        self,
        model_id: str,
        drift_type: str,
        confidence: float,
        feature: str | None = None,
        score: float | None = None,
        severity: str | None = None,
        timestamp: Timestamp | None = None,
    ) -> WriteResult:
        """Report drift computed on the client side."""
        metric = drift_metric(
            model_id=model_id,
            drift_type=drift_type,
            confidence=confidence,
            feature=feature,
            score=score,
            severity=severity,
            timestamp=timestamp,
        )
        return self._run(delivery.write_one(self._policy, "drift", metric))

    def record_inference_metric(self, metric: JSONObject) -> bool:
        """Queue a metric dict for background delivery; never waits for the network nor raises.

        The dict is queued as it is: do not change it afterwards.

        Used by ``monitor_inference(client=...)`` and ``track(client=...)``: a daemon
        thread sends what is recorded in batches; :meth:`close` delivers the rest.
        """
        worker = self._worker
        if worker is None:
            with self._worker_lock:
                if self._worker is None:
                    self._worker = BatchWorker(
                        self._deliver_recorded,
                        retry_backoff_s=self.options.retry_backoff,
                        name="monitorx-client-recorder",
                    )
                worker = self._worker
        return worker.record(metric)

    def _deliver_recorded(self, metrics: list[JSONObject]) -> WriteResult:
        return self._run(delivery.write_inference_batch(self._policy, metrics, allow_buffer=False))

    # -- drift data (API.md "Drift analysis computed by the platform") -------------

    def set_reference(self, model_id: str, data: Any) -> JSONObject:
        """Replace the model's reference set with ``data`` (a pandas or polars
        DataFrame or a pyarrow Table, one column per feature), sent as an Arrow IPC
        stream; returns ``{"rows": n, "columns": [...]}``. Needs the ``data`` extra."""
        return self._run(drift_data.set_reference(self._policy, model_id, data))

    def log_records(self, model_id: str, data: Any, predictions: Any = None) -> WriteResult:
        """Log prediction records: ``data`` has one column per feature and may have
        ``request_id``, ``prediction`` and ``timestamp`` columns; ``predictions``
        (one value a row) becomes the ``prediction`` column. Sent as Arrow IPC
        streams of up to 100,000 rows. Needs the ``data`` extra."""
        return self._run(drift_data.log_records(self._policy, model_id, data, predictions))

    def log_labels(self, model_id: str, labels: Any) -> WriteResult:
        """Log labels joined to records by request id: ``{request_id: label}``, a
        list of ``{"request_id", "label"}``, or a table with those columns."""
        return self._run(drift_data.log_labels(self._policy, model_id, labels))

    def analyze(
        self,
        model_id: str,
        start: Timestamp | None = None,
        end: Timestamp | None = None,
        **options: Any,
    ) -> DriftReport:
        """The drift of the records logged in ``[start, end)`` (default: the hour
        before now) against the reference set. ``options`` are docs/drift.md's
        (``stattest="psi"``, ``threshold=0.2``, …)."""
        report = self._run(drift_data.analyze(self._policy, model_id, start, end, options))
        if not options:  # the page uses the schedule's options: the same only without others
            report.attach_page(lambda: self.drift_report_html(model_id, start, end))
        return report

    def drift_report_html(
        self, model_id: str, start: Timestamp | None = None, end: Timestamp | None = None
    ) -> str:
        """The server's full HTML drift report of ``[start, end)``, with charts."""
        return self._run(drift_data.drift_report_html(self._policy, model_id, start, end))

    # -- reads -------------------------------------------------------------------

    def get_summary(self, window: str | int = "1h", model_id: str | None = None) -> JSONObject:
        """Latency, error rate and throughput per model over ``window`` (or one model's)."""
        return self._run(endpoints.get_summary(self._policy, window, model_id))

    def get_alerts(
        self,
        model_id: str | None = None,
        status: str | None = None,
        severity: str | None = None,
        alert_type: str | None = None,
        limit: int = 100,
    ) -> list[JSONObject]:
        """Alerts, newest first, filtered by model, status, severity and type."""
        return self._run(
            endpoints.get_alerts(
                self._policy,
                model_id=model_id,
                status=status,
                severity=severity,
                alert_type=alert_type,
                limit=limit,
            )
        )

    def resolve_alert(self, alert_id: str) -> JSONObject:
        """Resolve an alert; returns it with ``status: "resolved"``."""
        return self._run(endpoints.resolve_alert(self._policy, alert_id))

    def acknowledge_alert(self, alert_id: str) -> JSONObject:
        """Acknowledge an alert; returns it with ``acknowledged: true``."""
        return self._run(endpoints.acknowledge_alert(self._policy, alert_id))

    def health(self) -> JSONObject:
        """The server's health report, asked once (no retries, no circuit breaker)."""
        return self._run(endpoints.health())
