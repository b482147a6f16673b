"""``monitorx demo``: realistic traffic for three simulated models.

An LLM, a vision model and a tabular model send metrics about once a second:
lognormal latencies with heavy tails, GPU and CPU figures, occasional error bursts,
latency spikes that cross their thresholds (the first within ~15 s, so a newcomer
sees a firing alert within a minute) and, for the tabular model, drift reports.
It talks to the server over plain HTTP, as any client would.
"""

from __future__ import annotations

__all__ = ["DemoReport", "run_demo"]

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

import httpx
import numpy as np


@dataclass(frozen=True)
class SimulatedModel:
    id: str
    model_type: str
    name: str
    median_ms: float
    spread: float  # sigma of the lognormal latency
    thresholds: dict[str, float]
    tags: dict[str, str]
    gpu_memory_mb: float | None = None


MODELS = (
    SimulatedModel(
        "chat-llm", "llm", "Support chat LLM", 900.0, 0.35,
        {"latency_ms": 5000.0, "gpu_memory_mb": 30000.0, "error_rate": 0.05},
        {"team": "assist", "region": "eu"}, gpu_memory_mb=22000.0,
    ),
    SimulatedModel(
        "vision-resnet", "cv", "Product image classifier", 45.0, 0.25,
        {"latency_ms": 150.0, "gpu_memory_mb": 12000.0},
        {"team": "catalog", "region": "us"}, gpu_memory_mb=6000.0,
    ),
    SimulatedModel(
        "fraud-xgb", "tabular", "Card fraud scorer", 12.0, 0.3,
        {"latency_ms": 50.0, "error_rate": 0.05, "drift_confidence": 0.8, "cpu_percent": 95.0},
        {"team": "risk", "region": "eu"},
    ),
)  # fmt: skip


@dataclass
class DemoReport:
    """What the demo did: metrics sent per model, errors among them, alerts seen."""

    sent: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    drift_reports: int = 0
    alerts_seen: list[str] = field(default_factory=list)


@dataclass
class _Incident:
    """A spike or an error burst on one model, from ``start`` for ``seconds``."""

    model_id: str
    kind: str  # "spike" | "errors"
    start: float
    seconds: float


def _schedule(rng: np.random.Generator, duration_s: float | None) -> list[_Incident]:
    # The first spike comes early so that an alert fires within the first minute.
    incidents = [_Incident("vision-resnet", "spike", 8.0, 12.0)]
    horizon = duration_s if duration_s is not None else 3600.0
    t = 25.0
    while t < horizon:
        model = MODELS[int(rng.integers(0, len(MODELS)))]
        kind = "errors" if rng.random() < 0.4 else "spike"
        incidents.append(_Incident(model.id, kind, t, float(rng.uniform(6, 15))))
        t += float(rng.uniform(20, 45))
    return incidents


def _metrics(
    model: SimulatedModel, n: int, rng: np.random.Generator, spike: bool, errors: bool, now: float
) -> list[dict[str, Any]]:
    # Lognormal latencies: a long right tail, as real services have. Thresholds sit
    # past the normal tail (about 4.5 sigma), so only incidents breach them.
    median = model.median_ms * (4.0 if spike else 1.0)
    latencies = rng.lognormal(np.log(median), model.spread, n)
    failed = rng.random(n) < (0.35 if errors else 0.005)
    out = []
    for i in range(n):
        usage: dict[str, float] = {
            "cpu_percent": round(abs(float(rng.normal(80 if spike else 45, 8))), 1),
            "memory_mb": round(float(rng.normal(3000, 150)), 1),
        }
        if model.gpu_memory_mb is not None:
            usage["gpu_memory_mb"] = round(model.gpu_memory_mb * float(rng.uniform(0.95, 1.05)), 1)
            usage["gpu_utilization"] = round(float(rng.uniform(55, 95)), 1)
        out.append(
            {
                "model_id": model.id,
                "model_type": model.model_type,
                "latency": round(float(latencies[i]), 3),
                "throughput": float(n),
                "error": bool(failed[i]),
                "resource_usage": usage,
                "tags": {"region": model.tags["region"], "version": "1"},
                "timestamp": now - float(rng.uniform(0, 1)),
            }
        )
    return out


class _DemoTraffic:
    """One demo run: its client, its random source and what it has done so far."""

    def __init__(
        self, client: httpx.Client, rng: np.random.Generator, say: Callable[[str], None]
    ) -> None:
        self.client = client
        self.rng = rng
        self.say = say
        self.report = DemoReport(sent={m.id: 0 for m in MODELS})
        self._announced: set[int] = set()
        self._seen_alerts: set[str] = set()

    def register(self) -> None:
        for model in MODELS:
            body = {
                "model_type": model.model_type,
                "name": model.name,
                "thresholds": model.thresholds,
                "tags": model.tags,
            }
            self.client.put(f"/models/{model.id}", json=body).raise_for_status()
        names = ", ".join(
            f"{m.id} ({m.model_type}, latency threshold {m.thresholds['latency_ms']:g} ms)"
            for m in MODELS
        )
        self.say(f"Registered 3 models: {names}")

    def _incidents_now(
        self, model: SimulatedModel, incidents: list[_Incident], elapsed: float
    ) -> set[str]:
        kinds = set()
        for k, inc in enumerate(incidents):
            if inc.model_id != model.id or not inc.start <= elapsed < inc.start + inc.seconds:
                continue
            kinds.add(inc.kind)
            if k not in self._announced:
                self._announced.add(k)
                limit = model.thresholds["latency_ms"]
                what = (
                    f"latency spike, p95 will cross its {limit:g} ms threshold"
                    if inc.kind == "spike"
                    else "error burst, about a third of requests fail"
                )
                self.say(f"Incident on {model.id}: {what} (for {inc.seconds:.0f} s)")
        return kinds

    def send_round(
        self, incidents: list[_Incident], elapsed: float, rate: float, now: float
    ) -> None:
        batch: list[dict[str, Any]] = []
        for model in MODELS:
            kinds = self._incidents_now(model, incidents, elapsed)
            n = max(1, int(self.rng.poisson(rate)))
            metrics = _metrics(model, n, self.rng, "spike" in kinds, "errors" in kinds, now)
            batch.extend(metrics)
            self.report.sent[model.id] += n
            self.report.errors += sum(1 for m in metrics if m["error"])
        self.client.post("/metrics/inference/batch", json=batch).raise_for_status()
        if self.rng.random() < 0.15:
            confidence = round(float(self.rng.uniform(0.5, 0.97)), 3)
            drift = {
                "model_id": "fraud-xgb",
                "drift_type": "feature",
                "feature": "amount",
                "score": round(confidence / 3, 3),
                "confidence": confidence,
            }
            self.client.post("/metrics/drift", json=drift).raise_for_status()
            self.report.drift_reports += 1

    def announce_alerts(self) -> None:
        for alert in self.client.get("/alerts", params={"status": "firing"}).json():
            if alert["id"] in self._seen_alerts:
                continue
            self._seen_alerts.add(alert["id"])
            self.report.alerts_seen.append(alert["id"])
            self.say(
                f"ALERT firing: {alert['alert_type']} on {alert['model_id']} "
                f"({alert['severity']}): {alert['message']}"
            )


def run_demo(
    url: str,
    api_key: str | None = None,
    duration_s: float | None = None,
    rate_per_s: float = 50.0,
    seed: int | None = None,
    out: TextIO = sys.stdout,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
    transport: httpx.BaseTransport | None = None,
) -> DemoReport:
    """Send demo traffic to the server at ``url`` until ``duration_s`` passes (None:
    until interrupted). ``rate_per_s`` is metrics per second per model."""

    def say(text: str) -> None:
        print(text, file=out, flush=True)

    base = url.rstrip("/")
    headers = {"X-API-Key": api_key} if api_key else {}
    rng = np.random.default_rng(seed)
    with httpx.Client(
        base_url=f"{base}/api/v1", headers=headers, timeout=10, transport=transport
    ) as client:
        _wait_for_server(client, say, sleep)
        traffic = _DemoTraffic(client, rng, say)
        traffic.register()
        incidents = _schedule(rng, duration_s)
        started = last_progress = clock()
        try:
            while duration_s is None or clock() - started < duration_s:
                traffic.send_round(incidents, clock() - started, rate_per_s, clock())
                traffic.announce_alerts()
                if clock() - last_progress >= 10:
                    last_progress = clock()
                    sent = sum(traffic.report.sent.values())
                    say(
                        f"Sent {sent:,} metrics so far ({traffic.report.errors:,} errors); "
                        f"{len(traffic.report.alerts_seen)} alerts fired. Watch at {base}/"
                    )
                sleep(1.0)
        finally:
            report = traffic.report
            say(
                f"Demo stopped: {sum(report.sent.values()):,} metrics, {report.errors:,} "
                f"errors, {report.drift_reports} drift reports, "
                f"{len(report.alerts_seen)} alerts fired."
            )
    return report


def _wait_for_server(
    client: httpx.Client, say: Callable[[str], None], sleep: Callable[[float], None]
) -> None:
    for attempt in range(60):
        try:
            if client.get("/health/ready").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if attempt == 0:
            say(f"Waiting for the MonitorX server at {client.base_url} …")
        sleep(0.5)
    raise SystemExit(f"No MonitorX server answered at {client.base_url} within 30 s.")
