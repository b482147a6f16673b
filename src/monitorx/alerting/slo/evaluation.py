"""Evaluating SLOs against stored metrics: burn-rate alerts and status.

Every tick (`SLOEvaluator.evaluate_once`, run by the scheduler) reads, for each
SLO, its model's requests over each burn-rate window and over the SLO window, all
ending now. A query is made once per tick: SLOs of one model that need the same
window (and, for latency objectives, the same limit) share it.

Each SLO owns at most one alert, of type ``slo_burn`` with the label
``{"slo": <id>}``. While a condition of the window table fires (`monitorx.alerting.slo.objective`),
the alert is opened or updated with the most urgent one: severity from the SLO's
``page_severity`` or ``ticket_severity``, value the burn rate over the long window,
threshold the factor. As for every alert, severity only rises while it fires (a
page that calms down to a ticket stays at the page's severity). When no condition
fires, the evaluator resolves the alert; the engine's clear period does not apply.
An alert whose SLO was deleted (or moved to another model) is resolved too.

Burn rates and budgets are read from raw points. Burn-rate windows must fit in raw
retention (`check_within_retention`, enforced when an SLO is saved); an SLO window
longer than raw retention is measured over the retained part, and its status says
so (``measured_s`` below ``window_s``).
"""

from __future__ import annotations

__all__ = ["SLOEvaluator", "SLOStatus", "WindowBurn"]

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitorx.alerting.engine import AlertEngine
from monitorx.alerting.slo.objective import (
    SLO,
    AlertKind,
    BurnCondition,
    BurnVerdict,
    ErrorBudget,
    Objective,
    WindowCounts,
    burn_rate,
    duration_text,
    evaluate_burn,
)
from monitorx.core import Alert, AlertType, Breach, Clock, NotFound
from monitorx.store import MetricStore

logger = logging.getLogger("monitorx.alerting.slo")

SLO_LABEL = "slo"


@dataclass(frozen=True, slots=True)
class WindowBurn:
    """The requests of one trailing window and the burn rate they show."""

    window_s: float
    counts: WindowCounts
    burn_rate: float | None


@dataclass(frozen=True, slots=True)
class SLOStatus:
    """Where an SLO stands at ``evaluated_at``."""

    slo: SLO
    evaluated_at: datetime
    measured_s: float
    counts: WindowCounts
    windows: tuple[WindowBurn, ...]
    verdict: BurnVerdict
    alert: Alert | None

    @property
    def budget(self) -> ErrorBudget:
        """The error budget over the measured part of the SLO window."""
        return ErrorBudget.of(self.counts, self.slo.target)

    @property
    def window_clipped(self) -> bool:
        """True when raw retention is shorter than the SLO window."""
        return self.measured_s < self.slo.window_s

    @property
    def firing(self) -> AlertKind | None:
        condition = self.verdict.firing
        return None if condition is None else condition.windows.kind


_QueryKey = tuple[str, float, float | None]


class _WindowReader:
    """Reads window counts ending at one instant, each distinct query once."""

    def __init__(self, storage: MetricStore, end: datetime) -> None:
        self._storage = storage
        self.end = end
        self._cache: dict[_QueryKey, WindowCounts] = {}

    async def counts(self, slo: SLO, length_s: float) -> WindowCounts:
        latency_over = slo.latency_ms if slo.objective is Objective.LATENCY else None
        key = (slo.model_id, length_s, latency_over)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        start = self.end - timedelta(seconds=length_s)
        window = await self._storage.error_window(slo.model_id, start, self.end, latency_over)
        self._cache[key] = counts = WindowCounts(
            window.count, _bad_requests(slo, window.count, window.error_rate, window.slow)
        )
        return counts


def _bad_requests(slo: SLO, count: int, error_rate: float | None, slow: int) -> float:
    if slo.objective is Objective.LATENCY:
        return float(slow)
    # Each metric's error share (1.0 for an error, else its error_rate) summed.
    return 0.0 if error_rate is None else error_rate * count


class SLOEvaluator:
    """Turns the SLOs it is given into slo_burn alerts and status reports."""

    def __init__(
        self,
        storage: MetricStore,
        engine: AlertEngine,
        clock: Clock,
        raw_retention_s: float | None = None,
    ) -> None:
        self._storage = storage
        self._engine = engine
        self._clock = clock
        self._raw_retention_s = raw_retention_s
        self._slos: tuple[SLO, ...] = ()

    def set_slos(self, slos: Iterable[SLO]) -> None:
        """Evaluate these SLOs from now on (replacing the previous set)."""
        self._slos = tuple(slos)

    def slos(self) -> list[SLO]:
        return list(self._slos)

    async def evaluate_once(self) -> list[Alert]:
        """Raise, update or resolve each SLO's alert; return the alerts that changed."""
        reader = _WindowReader(self._storage, self._clock.now())
        breaches: list[Breach] = []
        calm: list[SLO] = []
        for slo in self._slos:
            try:
                status = await self._status(slo, reader)
            except Exception:
                logger.exception("evaluating SLO %s failed", slo.id)
                continue
            condition = status.verdict.firing
            if condition is None:
                calm.append(slo)
            else:
                breaches.append(_breach(status, condition))
        changed = await self._engine.process(breaches) if breaches else []
        for slo in calm:
            resolved = await self._engine.resolve_identity(
                slo.model_id, AlertType.SLO_BURN, {SLO_LABEL: slo.id}
            )
            if resolved is not None:
                changed.append(resolved)
        changed.extend(await self.resolve_orphans())
        return changed

    async def resolve_orphans(self) -> list[Alert]:
        """Resolve the open slo_burn alerts of SLOs that no longer exist (deleted, or
        now watching another model)."""
        current = {(slo.model_id, slo.id) for slo in self._slos}
        resolved: list[Alert] = []
        for alert in self._engine.active():
            slo_id = alert.labels.get(SLO_LABEL)
            if alert.alert_type is not AlertType.SLO_BURN or slo_id is None:
                continue
            if (alert.model_id, slo_id) not in current:
                done = await self._engine.resolve_identity(
                    alert.model_id, alert.alert_type, alert.labels
                )
                if done is not None:
                    resolved.append(done)
        return resolved

    async def status(self, slo_id: str) -> SLOStatus:
        """The SLO's state now: SLI and budget, burn rates, firing conditions."""
        for slo in self._slos:
            if slo.id == slo_id:
                return await self._status(slo, _WindowReader(self._storage, self._clock.now()))
        raise NotFound(f"no SLO with id {slo_id!r}")

    async def statuses(self) -> list[SLOStatus]:
        """The status of every SLO, read with one set of queries."""
        reader = _WindowReader(self._storage, self._clock.now())
        return [await self._status(slo, reader) for slo in self._slos]

    def measured_s(self, slo: SLO) -> float:
        """How much of the SLO window is read: all of it, or what raw retention keeps."""
        if self._raw_retention_s is None:
            return slo.window_s
        return min(slo.window_s, self._raw_retention_s)

    async def _status(self, slo: SLO, reader: _WindowReader) -> SLOStatus:
        table = slo.windows()
        lengths = sorted({row.long_s for row in table} | {row.short_s for row in table})
        counts = {length: await reader.counts(slo, length) for length in lengths}
        measured_s = self.measured_s(slo)
        return SLOStatus(
            slo=slo,
            evaluated_at=reader.end,
            measured_s=measured_s,
            counts=await reader.counts(slo, measured_s),
            windows=tuple(
                WindowBurn(length, counts[length], burn_rate(counts[length], slo.target))
                for length in lengths
            ),
            verdict=evaluate_burn(table, slo.target, counts),
            alert=self._engine.find(slo.model_id, AlertType.SLO_BURN, {SLO_LABEL: slo.id}),
        )


def _describe_objective(slo: SLO) -> str:
    """``availability 99.9 % over 30d`` or ``99 % of requests ≤ 250 ms over 7d``."""
    target = f"{slo.target * 100:g} %"
    window = duration_text(slo.window_s)
    if slo.objective is Objective.LATENCY:
        return f"{target} of requests ≤ {slo.latency_ms:g} ms over {window}"
    return f"availability {target} over {window}"


def _breach(status: SLOStatus, condition: BurnCondition) -> Breach:
    slo, windows = status.slo, condition.windows
    assert condition.long_rate is not None and condition.short_rate is not None
    remaining = status.budget.remaining
    left = "no requests yet" if remaining is None else f"{remaining:.1%} of the error budget left"
    if status.window_clipped:
        left += f" (measured over the last {duration_text(status.measured_s)})"
    message = (
        f"SLO {slo.id} ({_describe_objective(slo)}): burn rate {condition.long_rate:.3g} over "
        f"{duration_text(windows.long_s)} and {condition.short_rate:.3g} over "
        f"{duration_text(windows.short_s)}, above {windows.factor:g} ({windows.kind.value}); "
        f"{left}"
    )
    return Breach(
        model_id=slo.model_id,
        alert_type=AlertType.SLO_BURN,
        severity=slo.severity_of(windows.kind),
        value=condition.long_rate,
        threshold=windows.factor,
        message=message,
        observed_at=status.evaluated_at,
        labels={SLO_LABEL: slo.id},
    )
