"""Typed domain objects shared by every layer; imports nothing else of MonitorX."""

from monitorx.core.alerts import Alert, AlertStatus, AlertType, Breach, Severity
from monitorx.core.clock import Clock, FakeClock, SystemClock
from monitorx.core.errors import (
    Conflict,
    DeliveryError,
    FieldError,
    Forbidden,
    MalformedPayload,
    MonitorXError,
    NotFound,
    PayloadTooLarge,
    ServerError,
    StorageError,
    Unauthorized,
    UnsupportedMediaType,
    ValidationError,
)
from monitorx.core.metrics import (
    LLM_FIELDS,
    RESOURCE_FIELDS,
    DriftMetric,
    DriftType,
    InferenceMetric,
    MetricColumns,
    MetricName,
)
from monitorx.core.models import Environment, ModelConfig, ModelType, Thresholds

__all__ = [
    "LLM_FIELDS",
    "RESOURCE_FIELDS",
    "Alert",
    "AlertStatus",
    "AlertType",
    "Breach",
    "Clock",
    "Conflict",
    "DeliveryError",
    "DriftMetric",
    "DriftType",
    "Environment",
    "FakeClock",
    "FieldError",
    "Forbidden",
    "InferenceMetric",
    "MalformedPayload",
    "MetricColumns",
    "MetricName",
    "ModelConfig",
    "ModelType",
    "MonitorXError",
    "NotFound",
    "PayloadTooLarge",
    "ServerError",
    "Severity",
    "StorageError",
    "SystemClock",
    "Thresholds",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationError",
]
