"""The wire shapes of ingested metrics, as msgspec structs.

msgspec checks types, ranges and lengths while it parses, which is what lets a
5,000-item batch be validated in a few milliseconds. The pydantic schemas in
``monitorx.server.schemas`` describe the same shapes for OpenAPI; a test keeps the
two in step.
"""

from __future__ import annotations

__all__ = ["DriftWire", "LLMWire", "MetricWire", "ResourceUsageWire", "Tags"]

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from monitorx.core.identifiers import IDENTIFIER_PATTERN
from monitorx.core.numbers import MAX_MEASURED

MAX_TAGS = 64
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 1024
MAX_REQUEST_ID = 128
MAX_NAME = 256

Identifier = Annotated[str, Meta(pattern=IDENTIFIER_PATTERN)]
# At most MAX_MEASURED: past it a window's sum overflows (core/numbers.py).
NonNegative = Annotated[float, Meta(ge=0, le=MAX_MEASURED)]
Measured = Annotated[float, Meta(ge=-MAX_MEASURED, le=MAX_MEASURED)]
Fraction = Annotated[float, Meta(ge=0, le=1)]
# Token counts: integers that a BIGINT column (and JavaScript) holds exactly.
TokenCount = Annotated[int, Meta(ge=0, le=2**53)]
Tags = Annotated[
    dict[
        Annotated[str, Meta(min_length=1, max_length=MAX_TAG_KEY)],
        Annotated[str, Meta(max_length=MAX_TAG_VALUE)],
    ],
    Meta(max_length=MAX_TAGS),
]
Timestamp = float | str


class ResourceUsageWire(msgspec.Struct, gc=False, omit_defaults=True):
    gpu_memory_mb: NonNegative | None = None
    gpu_utilization: NonNegative | None = None
    cpu_percent: NonNegative | None = None
    memory_mb: NonNegative | None = None


class LLMWire(msgspec.Struct, gc=False, omit_defaults=True, forbid_unknown_fields=True):
    """API.md `InferenceMetric.llm`. Unknown fields are refused here: a misspelt
    ``prompt_token`` would otherwise be dropped without a word."""

    prompt_tokens: TokenCount | None = None
    completion_tokens: TokenCount | None = None
    time_to_first_token_ms: NonNegative | None = None
    cost_usd: NonNegative | None = None


class MetricWire(msgspec.Struct, gc=False):
    """API.md `InferenceMetric`. Unknown fields are ignored, for forward compatibility.

    ``model_id``'s characters are checked after parsing, once per distinct id in a
    batch, which costs far less than a regular expression on every item.
    """

    model_id: Annotated[str, Meta(min_length=1, max_length=128)]
    latency: NonNegative
    model_type: Literal["llm", "cv", "tabular"] | None = None
    request_id: Annotated[str, Meta(min_length=1, max_length=MAX_REQUEST_ID)] | None = None
    throughput: NonNegative | None = None
    error_rate: Fraction | None = None
    error: bool = False
    resource_usage: ResourceUsageWire | None = None
    tags: Tags | None = None
    timestamp: Timestamp | None = None
    llm: LLMWire | None = None


class DriftWire(msgspec.Struct, gc=False):
    """API.md `DriftMetric`."""

    model_id: Identifier
    drift_type: Literal["data", "concept", "prediction", "feature"]
    confidence: Fraction
    feature: Annotated[str, Meta(min_length=1, max_length=MAX_NAME)] | None = None
    score: float | None = None
    severity: Literal["low", "medium", "high", "critical"] | None = None
    timestamp: Timestamp | None = None
