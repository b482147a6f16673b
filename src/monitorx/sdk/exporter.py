"""The default exporter behind ``monitor_inference`` and ``track``, and its module API.

    monitorx.init(url="http://127.0.0.1:8000", api_key="...")   # optional
    monitorx.flush(timeout=10.0)   # True once everything recorded so far was delivered
    monitorx.shutdown()            # flush, then stop the worker; also runs at exit

Without ``init()``, the first recorded metric creates the exporter from
``MONITORX_URL`` (default ``http://127.0.0.1:8000``) and ``MONITORX_API_KEY``.
"""

from __future__ import annotations

__all__ = ["Exporter", "default_exporter", "flush", "init", "shutdown"]

import atexit
import logging
import os
import threading
from typing import Any

import httpx

from monitorx.sdk.config import DEFAULT_URL
from monitorx.sdk.payloads import JSONObject
from monitorx.sdk.resources import ResourceSampler
from monitorx.sdk.results import WorkerStats, WriteResult
from monitorx.sdk.spool import DEFAULT_SPOOL_MAX_BYTES, DiskSpool, SpoolLocked
from monitorx.sdk.spool_sender import SpoolSender
from monitorx.sdk.sync_client import MonitorX
from monitorx.sdk.worker import BatchWorker

logger = logging.getLogger("monitorx.sdk")

# The longest wait between two tries of the spool.
_MAX_BACKOFF_S = 30.0

URL_ENV = "MONITORX_URL"
API_KEY_ENV = "MONITORX_API_KEY"


def _open_spool(directory: str | os.PathLike[str] | None, max_bytes: int) -> DiskSpool | None:
    if directory is None:
        return None
    try:
        return DiskSpool(directory, max_bytes)
    except (SpoolLocked, OSError) as exc:  # monitoring must not stop the service starting
        logger.error("MonitorX runs without its spool: %s", exc)
        return None


def _start_sampler(resources: ResourceSampler | bool) -> ResourceSampler | None:
    if resources is False:
        return None
    sampler = ResourceSampler() if resources is True else resources
    return sampler.start()


class Exporter:
    """Sends recorded inference metrics from a daemon thread, in batches.

    ``record()`` appends to a bounded queue on the caller's thread, without a lock,
    and returns at once; it never raises. ``@monitor_inference`` appends to the same
    queue, :attr:`ring`, directly: two clock readings per call, turned into a metric
    dict on the worker's thread (ring.py). Every ``flush_interval`` seconds, or as soon as
    ``batch_size`` metrics wait, the worker posts them to
    ``/api/v1/metrics/inference/batch``. While the server is unreachable the batch
    is retried (with the client's retries and circuit breaker, then backoff) and new
    metrics queue behind it, the oldest dropped and counted once ``queue_size`` is
    reached. Failures are logged on the ``monitorx.sdk`` logger, never raised.

    With ``spool_dir``, batches that cannot be delivered go to a bounded on-disk
    spool of at most ``spool_max_bytes`` (spool.py), and so does what is left at
    shutdown; they are sent once the server answers, by this process or the next
    one started with the same directory. A directory another process holds is
    logged and the exporter runs without a spool.

    With ``resources=True`` (or a :class:`ResourceSampler`), every metric recorded
    without its own ``resource_usage`` gets the sampler's last sample (process CPU %
    and RSS, GPU memory and utilization: resources.py); the sampler runs on its own
    thread, so recording only reads an attribute.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        api_key: str | None = None,
        *,
        batch_size: int = 1000,
        flush_interval: float = 0.2,
        queue_size: int = 10_000,
        timeout: float = 10.0,
        max_retries: int = 3,
        retry_backoff: float = 1.0,
        enable_circuit_breaker: bool = True,
        failure_threshold: int = 5,
        recovery_time: float = 30.0,
        shutdown_timeout: float = 2.0,
        spool_dir: str | os.PathLike[str] | None = None,
        spool_max_bytes: int = DEFAULT_SPOOL_MAX_BYTES,
        resources: ResourceSampler | bool = False,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url
        self._client_options: dict[str, Any] = {
            "api_key": api_key,
            "timeout": timeout,
            "max_retries": max_retries,
            "retry_backoff": retry_backoff,
            "enable_circuit_breaker": enable_circuit_breaker,
            "failure_threshold": failure_threshold,
            "recovery_time": recovery_time,
            "transport": transport,
        }
        self._shutdown_timeout = shutdown_timeout
        self._owns_sampler = resources is True
        self.resources = _start_sampler(resources)
        self.spool = _open_spool(spool_dir, spool_max_bytes)
        self._worker = BatchWorker(
            self._deliver,
            batch_size=batch_size,
            flush_interval_s=flush_interval,
            queue_size=queue_size,
            retry_backoff_s=retry_backoff,
            on_fork=self._replace_client,
            spool=None
            if self.spool is None
            else SpoolSender(
                self.spool,
                self._deliver,
                batch_size=batch_size,
                retry_backoff_s=retry_backoff,
                max_backoff_s=_MAX_BACKOFF_S,
            ),
        )
        self.ring = self._worker.ring
        """Where ``@monitor_inference`` appends its recordings (ring.py); one object for
        the exporter's life."""
        if self.resources is not None:
            self.ring.usage = self.resources.latest_usage or None
            self.resources.add_listener(self._usage_sampled)
        self._client = self._new_client()
        self._worker.send_spooled()

    def _usage_sampled(self, usage: dict[str, float]) -> None:
        # On the sampler's thread: the resource_usage recordings carry from now on.
        self.ring.usage = usage or None

    def _new_client(self) -> MonitorX:
        # The client sleeps between retries with the worker's wait, which a
        # shutdown cuts short.
        return MonitorX(self.url, sleep=self._worker.wait, **self._client_options)

    def _replace_client(self) -> None:
        # After a fork the parent's pooled connections are not ours to use.
        self._client = self._new_client()

    def _deliver(self, metrics: list[JSONObject]) -> WriteResult:
        return self._client.collect_inference_metrics_batch(metrics)

    @property
    def client(self) -> MonitorX:
        """The client the worker sends with (its options say where and how)."""
        return self._client

    @property
    def stats(self) -> WorkerStats:
        """Counters: recorded, queued, delivered, rejected, dropped, lost, failed attempts."""
        return self._worker.stats

    def record(self, metric: JSONObject) -> bool:
        """Queue one InferenceMetric dict; False when it was dropped or displaced another.

        The dict is queued as it is, not copied: do not change it afterwards.
        """
        try:
            if self.resources is not None and "resource_usage" not in metric:
                usage = self.resources.latest_usage
                if usage:
                    metric["resource_usage"] = usage
            return self._worker.record(metric)
        except Exception:  # recording must never break the caller
            logger.exception("MonitorX could not record a metric")
            return False

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything recorded so far was delivered (True) or ``timeout`` passed."""
        return self._worker.flush(timeout)

    def shutdown(self, timeout: float | None = None) -> bool:
        """Flush, stop the worker, close the connections; True when nothing was left behind.

        ``timeout`` defaults to ``shutdown_timeout`` (2 s), so that a process exiting
        while the server is unreachable is held up only that long.
        """
        delivered = self._worker.shutdown(self._shutdown_timeout if timeout is None else timeout)
        self._client.close()
        if self.resources is not None:
            self.resources.remove_listener(self._usage_sampled)
            if self._owns_sampler:
                self.resources.stop()
        return delivered


_default: Exporter | None = None
_default_lock = threading.Lock()
_atexit_registered = False


def _set_default(exporter: Exporter) -> Exporter:
    # Called with _default_lock held.
    global _default, _atexit_registered
    _default = exporter
    if not _atexit_registered:
        atexit.register(shutdown)
        _atexit_registered = True
    return exporter


def init(url: str | None = None, api_key: str | None = None, **options: Any) -> Exporter:
    """Configure the default exporter and return it; a previous one is shut down first.

    ``url`` and ``api_key`` default to ``MONITORX_URL`` and ``MONITORX_API_KEY``;
    ``options`` are :class:`Exporter`'s (``batch_size``, ``flush_interval``,
    ``queue_size``, ``timeout``, ``max_retries``, ``retry_backoff``, …).
    """
    exporter = Exporter(
        url or os.environ.get(URL_ENV) or DEFAULT_URL,
        api_key if api_key is not None else os.environ.get(API_KEY_ENV) or None,
        **options,
    )
    with _default_lock:
        previous = _default
        _set_default(exporter)
    if previous is not None:
        previous.shutdown()
    return exporter


def default_exporter() -> Exporter:
    """The default exporter, created from the environment on first use."""
    exporter = _default
    if exporter is not None:
        return exporter
    with _default_lock:
        if _default is not None:
            return _default
        url = os.environ.get(URL_ENV) or DEFAULT_URL
        return _set_default(Exporter(url, os.environ.get(API_KEY_ENV) or None))


def flush(timeout: float = 10.0) -> bool:
    """Wait until every metric recorded so far was delivered; False when ``timeout`` passed."""
    exporter = _default
    return True if exporter is None else exporter.flush(timeout)


def shutdown(timeout: float | None = None) -> bool:
    """Flush the default exporter, then stop its worker; the next record starts a new one."""
    global _default
    with _default_lock:
        exporter, _default = _default, None
    return True if exporter is None else exporter.shutdown(timeout)
