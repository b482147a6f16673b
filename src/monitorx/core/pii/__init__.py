"""Personal data in what clients send: the detectors, the policy and the masker."""

from monitorx.core.pii.detectors import PiiKind, PiiSpan, find_spans, luhn_valid
from monitorx.core.pii.policy import (
    HASH_HEX_CHARS,
    CustomPattern,
    MaskMode,
    PiiMasker,
    PiiPolicy,
)

__all__ = [
    "HASH_HEX_CHARS",
    "CustomPattern",
    "MaskMode",
    "PiiKind",
    "PiiMasker",
    "PiiPolicy",
    "PiiSpan",
    "find_spans",
    "luhn_valid",
]
