"""``monitorx demo``: realistic traffic for three simulated models.

An LLM, a vision model and a tabular model send metrics about once a second:
lognormal latencies with heavy tails, GPU and CPU figures, region and version tags,
error bursts, latency spikes that cross their thresholds (the first after 8 s, so a
newcomer sees a firing alert within a minute) and, for the tabular model, drift
reports. It talks to the server over plain HTTP, as any client would, and says in
plain words what it does and which alerts fire.
"""

from __future__ import annotations

__all__ = ["MODELS", "DemoReport", "SimulatedModel", "run_demo"]

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

import httpx
import numpy as np

# Thresholds sit about 4.8 sigma above each model's median latency: normal traffic
# breaches one about once an hour, incidents breach them at once.
SPIKE_FACTOR = 4.0  # an incident multiplies the median latency by this
BURST_FAILURE_SHARE = 0.6  # share of failing requests during an error burst
BASELINE_FAILURE_SHARE = 0.005
# The server judges error rates over the last 60 s once 10 metrics are in it: a stray
# error among a model's first requests would read as 10%. Background errors start later.
BASELINE_ERRORS_AFTER_S = 60.0
LLM_SPIKE_GPU_FACTOR = 1.35  # long prompts fill the KV cache: GPU memory past its threshold
LLM_MS_PER_TOKEN = 25.0  # streaming speed of the simulated chat model
LLM_PROMPT_USD_PER_1K = 0.0005  # list prices of a small hosted model, per 1,000 tokens
LLM_COMPLETION_USD_PER_1K = 0.0015
DRIFT_REPORT_CHANCE = 0.15  # per round, i.e. about one drift report every 7 s
ROUND_S = 1.0
PROGRESS_EVERY_S = 10.0
SERVER_WAIT_S = 30.0  # how long to wait for a server that is not up yet, or went away


@dataclass(frozen=True)
class SimulatedModel:
    """One model the demo pretends to serve, and how its traffic behaves."""

    id: str
    model_type: str
    name: str
    version: str
    median_ms: float
    spread: float  # sigma of the lognormal latency
    thresholds: dict[str, float]
    tags: dict[str, str]
    regions: tuple[str, ...]
    cpu_percent: float
    memory_mb: float
    gpu_memory_mb: float | None = None


MODELS = (
    SimulatedModel(
        "chat-llm", "llm", "Support chat assistant", "2.3.0", 650.0, 0.28,
        {"latency_ms": 2500.0, "gpu_memory_mb": 28000.0, "error_rate": 0.05},
        {"team": "assist"}, ("eu-west", "us-east"), 35.0, 6000.0, gpu_memory_mb=22000.0,
    ),
    SimulatedModel(
        "vision-resnet", "cv", "Product image classifier", "1.4.2", 42.0, 0.22,
        {"latency_ms": 120.0, "error_rate": 0.05},
        {"team": "catalog"}, ("us-east",), 45.0, 3000.0, gpu_memory_mb=6000.0,
    ),
    SimulatedModel(
        "fraud-xgb", "tabular", "Card fraud scorer", "3.1.0", 12.0, 0.25,
        {"latency_ms": 40.0, "error_rate": 0.05, "drift_confidence": 0.8},
        {"team": "risk"}, ("eu-west", "eu-central"), 30.0, 1500.0,
    ),
)  # fmt: skip
DRIFT_MODEL = MODELS[2]
DRIFT_FEATURES = ("amount", "merchant_category", "hour_of_day")


@dataclass
class DemoReport:
    """What one demo run did."""

    sent: dict[str, int] = field(default_factory=lambda: {m.id: 0 for m in MODELS})
    errors: int = 0
    drift_reports: int = 0
    rounds: int = 0
    failed_rounds: int = 0
    alerts_fired: list[str] = field(default_factory=list)  # "latency on vision-resnet", …

    @property
    def total(self) -> int:
        return sum(self.sent.values())


@dataclass(frozen=True)
class _Incident:
    model_id: str
    kind: str  # "spike" | "errors"
    start_s: float  # since the demo started
    length_s: float

    def active(self, elapsed_s: float) -> bool:
        return self.start_s <= elapsed_s < self.start_s + self.length_s


class _IncidentPlan:
    """Incidents in time order: two fixed ones in the first minute, then random ones."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self.incidents = [
            _Incident("vision-resnet", "spike", 8.0, 12.0),
            _Incident("fraud-xgb", "errors", 32.0, 10.0),
        ]

    def active(self, elapsed_s: float) -> list[tuple[int, _Incident]]:
        while self.incidents[-1].start_s < elapsed_s + 60:
            last = self.incidents[-1]
            model = MODELS[int(self._rng.integers(0, len(MODELS)))]
            kind = "errors" if self._rng.random() < 0.4 else "spike"
            start = last.start_s + last.length_s + float(self._rng.uniform(20, 45))
            self.incidents.append(_Incident(model.id, kind, start, float(self._rng.uniform(6, 15))))
        return [(k, inc) for k, inc in enumerate(self.incidents) if inc.active(elapsed_s)]


def _describe(model: SimulatedModel, incident: _Incident) -> str:
    if incident.kind == "errors":
        return (
            f"Error burst on {model.id}: {BURST_FAILURE_SHARE:.0%} of requests fail, the error "
            f"rate will cross its {model.thresholds['error_rate']:.0%} threshold"
        )
    text = (
        f"Latency spike on {model.id}: p95 will cross its "
        f"{model.thresholds['latency_ms']:,.0f} ms threshold"
    )
    if "gpu_memory_mb" in model.thresholds:
        text += f", GPU memory its {model.thresholds['gpu_memory_mb']:,.0f} MB"
    return f"{text} (for {incident.length_s:.0f} s)"


def _metrics(
    model: SimulatedModel,
    n: int,
    rng: np.random.Generator,
    kinds: set[str],
    now: float,
    baseline_failure_share: float,
) -> list[dict[str, Any]]:
    spike = "spike" in kinds
    latency = rng.lognormal(
        np.log(model.median_ms * (SPIKE_FACTOR if spike else 1.0)), model.spread, n
    )
    failed = rng.random(n) < (BURST_FAILURE_SHARE if "errors" in kinds else baseline_failure_share)
    cpu = np.clip(rng.normal(model.cpu_percent * (1.8 if spike else 1.0), 6.0, n), 1.0, 100.0)
    memory = rng.normal(model.memory_mb, model.memory_mb * 0.04, n)
    regions = rng.integers(0, len(model.regions), n)
    ages = rng.uniform(0.0, ROUND_S, n)
    gpu_scale = LLM_SPIKE_GPU_FACTOR if spike and model.model_type == "llm" else 1.0
    out = []
    for i in range(n):
        usage = {"cpu_percent": round(float(cpu[i]), 1), "memory_mb": round(float(memory[i]), 1)}
        if model.gpu_memory_mb is not None:
            gpu = model.gpu_memory_mb * gpu_scale * float(rng.uniform(0.95, 1.05))
            usage["gpu_memory_mb"] = round(gpu, 1)
            usage["gpu_utilization"] = round(float(rng.uniform(55.0, 95.0)), 1)
        metric = {
            "model_id": model.id,
            "model_type": model.model_type,
            "latency": round(float(latency[i]), 3),
            "throughput": float(n),
            "error": bool(failed[i]),
            "resource_usage": usage,
            "tags": {"region": model.regions[regions[i]], "version": model.version},
            "timestamp": round(now - float(ages[i]), 6),
        }
        if model.model_type == "llm":
            metric["llm"] = _llm_usage(rng, float(latency[i]))
        out.append(metric)
    return out


def _llm_usage(rng: np.random.Generator, latency_ms: float) -> dict[str, float]:
    """Tokens, time to first token and cost of one chat completion that took
    ``latency_ms``: most of the time is spent streaming the completion."""
    prompt = int(rng.integers(200, 2400))
    completion = max(1, int(latency_ms / LLM_MS_PER_TOKEN * float(rng.uniform(0.8, 1.2))))
    cost = (prompt * LLM_PROMPT_USD_PER_1K + completion * LLM_COMPLETION_USD_PER_1K) / 1000
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "time_to_first_token_ms": round(latency_ms * float(rng.uniform(0.08, 0.2)), 3),
        "cost_usd": round(cost, 6),
    }


def _ok(response: httpx.Response) -> httpx.Response:
    """The response if it succeeded; stop the demo with advice on 401/403."""
    if response.status_code in (401, 403):
        raise SystemExit(
            f"The server refused the demo ({response.status_code}): it has auth on. Pass "
            "--api-key KEY or set MONITORX_API_KEY (`monitorx serve` printed where its "
            "admin key is), or run the server with MONITORX_AUTH_ENABLED=false."
        )
    return response.raise_for_status()


class _DemoTraffic:
    """One demo run: its client, its random source and what it has done so far."""

    def __init__(
        self, client: httpx.Client, rng: np.random.Generator, say: Callable[[str], None]
    ) -> None:
        self.client = client
        self.rng = rng
        self.say = say
        self.report = DemoReport()
        self.plan = _IncidentPlan(rng)
        self._announced: set[int] = set()
        self._firing: dict[str, str] = {}  # alert id -> "latency on vision-resnet"

    def register(self) -> None:
        for model in MODELS:
            body = {
                "model_type": model.model_type,
                "name": model.name,
                "version": model.version,
                "thresholds": model.thresholds,
                "tags": model.tags,
            }
            _ok(self.client.put(f"/models/{model.id}", json=body))
        names = ", ".join(
            f"{m.id} ({m.model_type}, latency threshold {m.thresholds['latency_ms']:,.0f} ms)"
            for m in MODELS
        )
        self.say(f"Registered 3 models: {names}")

    def send_round(self, elapsed_s: float, rate_per_s: float, now: float) -> None:
        active = self.plan.active(elapsed_s)
        batch: list[dict[str, Any]] = []
        counts: dict[str, tuple[int, int]] = {}
        baseline_failures = BASELINE_FAILURE_SHARE if elapsed_s >= BASELINE_ERRORS_AFTER_S else 0.0
        for model in MODELS:
            kinds = {inc.kind for _, inc in active if inc.model_id == model.id}
            for k, inc in active:
                if inc.model_id == model.id and k not in self._announced:
                    self._announced.add(k)
                    self.say(_describe(model, inc))
            n = max(1, int(self.rng.poisson(rate_per_s)))
            metrics = _metrics(model, n, self.rng, kinds, now, baseline_failures)
            batch.extend(metrics)
            counts[model.id] = (len(metrics), sum(1 for m in metrics if m["error"]))
        _ok(self.client.post("/metrics/inference/batch", json=batch))
        for model_id, (n, errors) in counts.items():
            self.report.sent[model_id] += n
            self.report.errors += errors
        if self.rng.random() < DRIFT_REPORT_CHANCE:
            self._send_drift(now)

    def _send_drift(self, now: float) -> None:
        confidence = round(float(self.rng.beta(5, 3)), 3)  # above 0.8 about one time in five
        feature = DRIFT_FEATURES[int(self.rng.integers(0, len(DRIFT_FEATURES)))]
        drift = {
            "model_id": DRIFT_MODEL.id,
            "drift_type": "feature",
            "feature": feature,
            "score": round(confidence / 4, 3),
            "confidence": confidence,
            "timestamp": now,
        }
        _ok(self.client.post("/metrics/drift", json=drift))
        self.report.drift_reports += 1
        limit = DRIFT_MODEL.thresholds["drift_confidence"]
        if confidence > limit:
            self.say(
                f"Drift on {DRIFT_MODEL.id}: feature {feature} drifted with confidence "
                f"{confidence:.2f}, above its {limit} threshold"
            )

    def announce_alerts(self) -> None:
        firing = _ok(self.client.get("/alerts", params={"status": "firing", "limit": 1000})).json()
        now_firing = {a["id"]: f"{a['alert_type']} on {a['model_id']}" for a in firing}
        for alert in reversed(firing):  # oldest first
            if alert["id"] not in self._firing:
                self.report.alerts_fired.append(now_firing[alert["id"]])
                self.say(
                    f"ALERT firing: {now_firing[alert['id']]} ({alert['severity']}): "
                    f"{alert['message']}"
                )
        for alert_id, what in self._firing.items():
            if alert_id not in now_firing:
                self.say(f"Alert resolved: {what}")
        self._firing = now_firing

    @property
    def firing_count(self) -> int:
        return len(self._firing)


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
    """Send demo traffic to the server at ``url`` (e.g. ``http://127.0.0.1:8000``).

    Runs for ``duration_s`` seconds, or until interrupted when None; ``rate_per_s`` is
    metrics per second per model. ``clock`` (epoch seconds) and ``sleep`` drive the
    rounds, so tests can pass time without waiting. Waits up to 30 s for a server that
    is not up yet. Ctrl-C prints the summary, then re-raises ``KeyboardInterrupt``.
    Raises ``SystemExit`` with advice when the server stays unreachable or refuses
    the credentials.
    """

    def say(text: str) -> None:
        print(text, file=out, flush=True)

    base = url.rstrip("/")
    headers = {"X-API-Key": api_key} if api_key else {}
    timeout = httpx.Timeout(10.0, connect=2.0)
    with httpx.Client(
        base_url=f"{base}/api/v1", headers=headers, timeout=timeout, transport=transport
    ) as client:
        _wait_for_server(client, say, sleep, clock)
        traffic = _DemoTraffic(client, np.random.default_rng(seed), say)
        traffic.register()
        report = traffic.report
        started = clock()
        last_progress, sent_before, errors_before = started, 0, 0
        failing_since: float | None = None
        try:
            # Inside the try: a Ctrl-C as soon as this line shows still gets the summary.
            say(f"Sending about {rate_per_s * len(MODELS):,.0f} metrics/s. Dashboard: {base}/")
            while duration_s is None or clock() - started < duration_s:
                try:
                    traffic.send_round(clock() - started, rate_per_s, clock())
                    traffic.announce_alerts()
                    failing_since = None
                except (httpx.TransportError, httpx.HTTPStatusError) as exc:
                    report.failed_rounds += 1
                    failing_since = clock() if failing_since is None else failing_since
                    if clock() - failing_since > SERVER_WAIT_S:
                        raise SystemExit(f"Lost the MonitorX server at {base}: {exc}") from exc
                    say(f"The server did not take this round ({exc}); trying again.")
                report.rounds += 1
                if clock() - last_progress >= PROGRESS_EVERY_S:
                    say(
                        f"Sent {report.total - sent_before:,} metrics "
                        f"({report.errors - errors_before:,} errors) in the last "
                        f"{clock() - last_progress:.0f} s; {report.total:,} in all, "
                        f"{_plural(traffic.firing_count, 'alert')} firing."
                    )
                    last_progress, sent_before, errors_before = clock(), report.total, report.errors
                sleep(max(0.0, started + report.rounds * ROUND_S - clock()))
        finally:
            say(
                f"Demo stopped after {clock() - started:.0f} s: {report.total:,} metrics "
                f"({report.errors:,} errors), {_plural(report.drift_reports, 'drift report')}, "
                f"{_plural(len(report.alerts_fired), 'alert')} fired."
            )
    return report


def _wait_for_server(
    client: httpx.Client,
    say: Callable[[str], None],
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> None:
    deadline = clock() + SERVER_WAIT_S
    waited = False
    while True:
        try:
            if client.get("/health/ready").status_code == 200:
                if waited:
                    say("The server is up.")
                return
        except httpx.TransportError:
            pass
        if clock() >= deadline:
            raise SystemExit(
                f"No MonitorX server answered at {client.base_url} within "
                f"{SERVER_WAIT_S:.0f} s. Start one with `monitorx serve`, or pass --url."
            )
        if not waited:
            say(f"Waiting for the MonitorX server at {client.base_url} (up to 30 s)…")
            waited = True
        sleep(0.5)


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
