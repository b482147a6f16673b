"""Inference and drift metrics as the platform stores them.

``MetricColumns`` is the write path's unit: one batch, column by column, so that the
store appends it in one columnar operation and the evaluators work on whole columns.
"""

from __future__ import annotations

__all__ = [
    "LLM_FIELDS",
    "LLM_TOKEN_FIELDS",
    "RESOURCE_FIELDS",
    "DriftMetric",
    "DriftType",
    "InferenceMetric",
    "MetricColumns",
    "MetricName",
]

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from monitorx.core.alerts import Severity

RESOURCE_FIELDS = ("gpu_memory_mb", "gpu_utilization", "cpu_percent", "memory_mb")
# The fields of an inference's ``llm`` object (API.md): token counts are integers.
LLM_TOKEN_FIELDS = ("prompt_tokens", "completion_tokens")
LLM_FIELDS = (*LLM_TOKEN_FIELDS, "time_to_first_token_ms", "cost_usd")
# The columns of `MetricColumns` that may hold None for a metric without the field.
_OPTIONAL_COLUMNS = (
    "model_type",
    "throughput",
    "error_rate",
    *RESOURCE_FIELDS,
    "tags_json",
    *LLM_FIELDS,
)


class MetricName(StrEnum):
    """Series that `GET /metrics/aggregate` can aggregate."""

    LATENCY = "latency"
    THROUGHPUT = "throughput"
    ERROR_RATE = "error_rate"
    GPU_MEMORY_MB = "gpu_memory_mb"
    GPU_UTILIZATION = "gpu_utilization"
    CPU_PERCENT = "cpu_percent"
    MEMORY_MB = "memory_mb"
    PROMPT_TOKENS = "prompt_tokens"
    COMPLETION_TOKENS = "completion_tokens"
    TIME_TO_FIRST_TOKEN_MS = "time_to_first_token_ms"
    COST_USD = "cost_usd"

    @property
    def is_llm(self) -> bool:
        """Whether this series comes from the ``llm`` object of a metric."""
        return self.value in LLM_FIELDS


class DriftType(StrEnum):
    DATA = "data"
    CONCEPT = "concept"
    PREDICTION = "prediction"
    FEATURE = "feature"


@dataclass(slots=True)
class MetricColumns:
    """A validated batch of inference metrics, one list per field, all the same length.

    ``ts_us`` is microseconds since the Unix epoch (UTC); ``tags_json`` holds each
    metric's tags encoded as a JSON object, or ``None`` when it has none. A column
    whose field is optional may be left empty, and ``error`` too: they then hold
    ``None`` (``error``: ``False``) for every metric.
    """

    model_id: list[str] = field(default_factory=list)
    model_type: list[str | None] = field(default_factory=list)
    request_id: list[str] = field(default_factory=list)
    ts_us: list[int] = field(default_factory=list)
    latency: list[float] = field(default_factory=list)
    throughput: list[float | None] = field(default_factory=list)
    error_rate: list[float | None] = field(default_factory=list)
    error: list[bool] = field(default_factory=list)
    gpu_memory_mb: list[float | None] = field(default_factory=list)
    gpu_utilization: list[float | None] = field(default_factory=list)
    cpu_percent: list[float | None] = field(default_factory=list)
    memory_mb: list[float | None] = field(default_factory=list)
    tags_json: list[str | None] = field(default_factory=list)
    prompt_tokens: list[int | None] = field(default_factory=list)
    completion_tokens: list[int | None] = field(default_factory=list)
    time_to_first_token_ms: list[float | None] = field(default_factory=list)
    cost_usd: list[float | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        count = len(self.latency)
        if not count:
            return
        for name in _OPTIONAL_COLUMNS:
            if not getattr(self, name):
                setattr(self, name, [None] * count)
        if not self.error:
            self.error = [False] * count

    def __len__(self) -> int:
        return len(self.latency)

    @classmethod
    def concat(cls, parts: list[MetricColumns]) -> MetricColumns:
        """One batch holding ``parts`` in order."""
        merged = cls()
        for name in cls.__dataclass_fields__:
            column: list[object] = getattr(merged, name)
            for part in parts:
                column.extend(getattr(part, name))
        return merged


@dataclass(frozen=True, slots=True)
class InferenceMetric:
    """One stored inference metric, as read back (API.md `InferenceMetric`)."""

    model_id: str
    model_type: str | None
    request_id: str
    timestamp: datetime
    latency: float
    throughput: float | None = None
    error_rate: float | None = None
    error: bool = False
    resource_usage: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    llm: dict[str, float] = field(default_factory=dict)
    """The LLM fields it carried (`LLM_FIELDS`); token counts are ints."""


@dataclass(frozen=True, slots=True)
class DriftMetric:
    """A drift figure reported by a client (API.md `DriftMetric`)."""

    model_id: str
    drift_type: DriftType
    confidence: float
    severity: Severity
    timestamp: datetime
    feature: str | None = None
    score: float | None = None
