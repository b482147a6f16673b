"""The HTTP API's schemas (pydantic), which FastAPI turns into the OpenAPI document.

Models, alerts and summaries are validated through these. The ingest hot path is
parsed by msgspec (``monitorx.ingest.wire``) and only *described* here; a test
keeps the two in step.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from monitorx.core.identifiers import IDENTIFIER_PATTERN
from monitorx.core.text import text_problem


def _storable(value: str) -> str:
    """The one rule of stored text (`monitorx.core.text`), as a pydantic check."""
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


StoredText = AfterValidator(_storable)
"""Put on every string field of a body that is stored: no control character but
tab, line feed and carriage return, no lone surrogate (pydantic refuses those first)."""

Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]
TagKey = Annotated[str, StringConstraints(min_length=1, max_length=128), StoredText]
TagValue = Annotated[str, StringConstraints(max_length=1024), StoredText]
Tags = Annotated[dict[TagKey, TagValue], Field(max_length=64)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Timestamp = Annotated[
    datetime | float,
    Field(description="RFC 3339 (no offset means UTC) or Unix epoch seconds; absent = now"),
]

_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)


class ThresholdsSchema(BaseModel):
    """Per-model limits; null or absent = no check. A breach is a value strictly above."""

    model_config = _STRICT

    latency_ms: NonNegative | None = None
    error_rate: Fraction | None = None
    gpu_memory_mb: NonNegative | None = None
    cpu_percent: NonNegative | None = None
    memory_mb: NonNegative | None = None
    drift_confidence: Fraction | None = None


class ModelConfigBody(BaseModel):
    """A model as sent to `POST /models` and `PUT /models/{id}`."""

    model_config = _STRICT

    id: Identifier | None = None
    name: Annotated[str, StringConstraints(min_length=1, max_length=256), StoredText] | None = None
    model_type: Literal["llm", "cv", "tabular"]
    version: Annotated[str, StringConstraints(min_length=1, max_length=64), StoredText] = "1"
    environment: Literal["dev", "staging", "prod"] = "prod"
    thresholds: ThresholdsSchema = Field(default_factory=ThresholdsSchema)
    tags: Tags = Field(default_factory=dict)


class ModelConfigOut(BaseModel):
    id: str
    name: str
    model_type: Literal["llm", "cv", "tabular"]
    version: str
    environment: Literal["dev", "staging", "prod"]
    thresholds: dict[str, float]
    tags: dict[str, str]


class ResourceUsage(BaseModel):
    gpu_memory_mb: NonNegative | None = None
    gpu_utilization: NonNegative | None = None
    cpu_percent: NonNegative | None = None
    memory_mb: NonNegative | None = None


class LLMUsage(BaseModel):
    """What one LLM call used; every field optional."""

    model_config = ConfigDict(extra="forbid")

    prompt_tokens: Annotated[int, Field(ge=0, le=2**53)] | None = Field(
        default=None, description="tokens in the prompt (input)"
    )
    completion_tokens: Annotated[int, Field(ge=0, le=2**53)] | None = Field(
        default=None, description="tokens generated (output)"
    )
    time_to_first_token_ms: NonNegative | None = Field(
        default=None, description="milliseconds from the request to the first streamed token"
    )
    cost_usd: NonNegative | None = Field(default=None, description="what the call cost, in USD")


class InferenceMetricIn(BaseModel):
    """One inference (API.md `InferenceMetric`)."""

    model_id: Identifier
    model_type: Literal["llm", "cv", "tabular"] | None = None
    request_id: Annotated[str, StringConstraints(max_length=128)] | None = None
    latency: NonNegative = Field(description="milliseconds")
    throughput: NonNegative | None = Field(default=None, description="requests per second")
    error_rate: Fraction | None = None
    error: bool = False
    resource_usage: ResourceUsage | None = None
    tags: Tags | None = None
    timestamp: Timestamp | None = None
    llm: LLMUsage | None = None


class InferenceMetricOut(BaseModel):
    model_id: str
    model_type: str | None
    request_id: str
    latency: float
    throughput: float | None
    error_rate: float | None
    error: bool
    resource_usage: dict[str, float]
    tags: dict[str, str]
    llm: dict[str, float] = Field(description="the LLM fields the metric carried ({} if none)")
    timestamp: datetime


class Accepted(BaseModel):
    accepted: int


class RejectedItem(BaseModel):
    index: int
    error: str


class BatchAccepted(BaseModel):
    accepted: int
    rejected: list[RejectedItem]


class BucketOut(BaseModel):
    time: datetime = Field(description="start of the bucket")
    value: float


class DriftMetricIn(BaseModel):
    """A drift figure computed by the client (API.md `DriftMetric`)."""

    model_id: Identifier
    drift_type: Literal["data", "concept", "prediction", "feature"]
    feature: Annotated[str, StringConstraints(max_length=256)] | None = None
    score: float | None = None
    confidence: Fraction
    severity: Literal["low", "medium", "high", "critical"] | None = None
    timestamp: Timestamp | None = None


class DriftMetricOut(BaseModel):
    model_id: str
    drift_type: str
    feature: str | None
    score: float | None
    confidence: float
    severity: str
    timestamp: datetime


class LatencyStats(BaseModel):
    mean: float | None
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None


class ModelSummary(BaseModel):
    model_id: str
    count: int
    latency: LatencyStats
    error_rate: float | None
    throughput: float
    active_alerts: int


class Summary(BaseModel):
    window_seconds: float
    models: list[ModelSummary]


class AlertOut(BaseModel):
    id: str
    model_id: str | None = Field(
        description="null for a rule's group of series with no model_id label"
    )
    alert_type: str
    severity: Literal["low", "medium", "high", "critical"]
    status: Literal["pending", "firing", "resolved"]
    message: str
    value: float
    threshold: float
    timestamp: datetime = Field(description="when it started firing")
    resolved: bool
    resolved_at: datetime | None
    acknowledged: bool
    acknowledged_at: datetime | None
    last_breach_at: datetime
    updated_at: datetime
    labels: dict[str, str]


class CheckOut(BaseModel):
    status: Literal["healthy", "degraded", "unhealthy"]


class HealthOut(BaseModel):
    status: Literal["healthy", "degraded", "unhealthy"]
    version: str
    checks: dict[str, dict[str, object]]


class ErrorOut(BaseModel):
    error: str
    detail: str
    errors: list[dict[str, str]] | None = None


class AuditEntryOut(BaseModel):
    """One entry of the audit log (docs/security.md)."""

    time: str = Field(description="RFC 3339, UTC")
    actor: str = Field(description="the key's or user's name; never its secret")
    project: str
    action: str = Field(description="the API operation, or `authenticate` for a refused credential")
    target: str = Field(description="the request's path")
    source_ip: str
    outcome: Literal["success", "denied", "failure"]


class NewApiKeyOut(BaseModel):
    """A key just created: ``key`` is shown here only."""

    id: str
    key: str
    project: str
    role: Literal["ingest", "viewer", "editor", "admin"]
    name: str


class ApiKeyOut(BaseModel):
    """A key as listed: never its secret."""

    id: str
    project: str
    role: Literal["ingest", "viewer", "editor", "admin"]
    name: str
    hint: str = Field(description="how the key starts: `mxk_<id>_…`")
    created_at: str
    revoked_at: str | None


RequestId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
MAX_ERASURE_REQUEST_IDS = 10_000


class ErasureIn(BaseModel):
    """What `POST /records/erase` deletes: the records and labels of
    ``request_ids``, or those whose ``column`` (a feature, ``prediction`` or
    ``label``) equals ``value``, with the reference rows holding it."""

    model_config = _STRICT

    request_ids: (
        Annotated[list[RequestId], Field(min_length=1, max_length=MAX_ERASURE_REQUEST_IDS)] | None
    ) = Field(default=None, description=f"at most {MAX_ERASURE_REQUEST_IDS:,} request ids")
    column: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = Field(
        default=None, description="a feature's name, `prediction` or `label`"
    )
    value: Annotated[str, StringConstraints(min_length=1, max_length=1024)] | None = Field(
        default=None, description="the value to erase, as it was sent (matched masked too)"
    )
    model_id: Identifier | None = Field(default=None, description="absent: every model")


class ErasureOut(BaseModel):
    """The rows an erasure deleted, and the models they belonged to."""

    records: int
    labels: int
    reference_rows: int
    models: list[str]
