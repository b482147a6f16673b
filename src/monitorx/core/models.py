"""The model registry's domain objects: a model and its thresholds."""

from __future__ import annotations

__all__ = ["Environment", "ModelConfig", "ModelType", "Thresholds"]

from dataclasses import dataclass, field, fields
from enum import StrEnum


class ModelType(StrEnum):
    LLM = "llm"
    CV = "cv"
    TABULAR = "tabular"


class Environment(StrEnum):
    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Per-model limits; ``None`` means no check. A breach is a value strictly above."""

    latency_ms: float | None = None
    error_rate: float | None = None
    gpu_memory_mb: float | None = None
    cpu_percent: float | None = None
    memory_mb: float | None = None
    drift_confidence: float | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))

    def to_dict(self) -> dict[str, float]:
        """The thresholds that are set (API.md shows absent fields as absent)."""
        return {f.name: v for f in fields(self) if (v := getattr(self, f.name)) is not None}


@dataclass(frozen=True, slots=True)
class ModelConfig:
    """A registered model (API.md `ModelConfig`)."""

    id: str
    model_type: ModelType
    name: str
    version: str = "1"
    environment: Environment = Environment.PROD
    thresholds: Thresholds = field(default_factory=Thresholds)
    tags: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "model_type": self.model_type.value,
            "version": self.version,
            "environment": self.environment.value,
            "thresholds": self.thresholds.to_dict(),
            "tags": dict(self.tags),
        }
