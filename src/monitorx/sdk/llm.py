"""The ``llm`` object of an InferenceMetric: its fields, their checks, pricing and usage.

    {"prompt_tokens": 812, "completion_tokens": 143,
     "time_to_first_token_ms": 180.5, "cost_usd": 0.0021}

Every field is optional. Tokens are non-negative integers; the time to first token
(milliseconds) and the cost (US dollars) are non-negative finite numbers.
:func:`llm_body` checks a mapping strictly (the clients raise on a bad value);
:func:`llm_record` is the lenient form ``track()`` and ``@monitor_inference`` use,
which logs and leaves out a bad value instead of raising into the caller's code.
"""

from __future__ import annotations

__all__ = [
    "LLMPricing",
    "TokenUsage",
    "llm_body",
    "llm_record",
    "usage_tokens",
]

import logging
import math
import numbers
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, SupportsIndex

from monitorx.core.errors import ValidationError
from monitorx.core.metrics import LLM_FIELDS, LLM_TOKEN_FIELDS

logger = logging.getLogger("monitorx.sdk")


# Providers quote prices per 1,000 or per 1,000,000 tokens.
_TOKENS_PER_1K = 1000.0
_THOUSANDS_PER_MILLION = 1000.0


def _token_count(value: object, field: str) -> int:
    if isinstance(value, bool):
        raise ValidationError("expected a whole number of tokens, got a boolean", field)
    if isinstance(value, float):
        # 812.0 is a count; 812.5 is not. The server takes JSON integers only.
        if not value.is_integer():
            raise ValidationError(f"expected a whole number of tokens, got {value!r}", field)
        count = int(value)
    elif isinstance(value, SupportsIndex):  # int, and numpy's integers
        count = operator.index(value)
    else:
        raise ValidationError(
            f"expected a whole number of tokens, got {type(value).__name__}", field
        )
    if count < 0:
        raise ValidationError(f"must be >= 0, got {count}", field)
    return count


def _amount(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValidationError(f"expected a number, got {type(value).__name__}", field)
    amount = float(value)
    if not math.isfinite(amount):
        raise ValidationError(f"must be finite, got {amount!r}", field)
    if amount < 0:
        raise ValidationError(f"must be >= 0, got {amount!r}", field)
    return amount


def _checked(name: str, value: object) -> int | float:
    field = f"llm.{name}"
    return _token_count(value, field) if name in LLM_TOKEN_FIELDS else _amount(value, field)


def llm_body(llm: Mapping[str, object] | None) -> dict[str, Any] | None:
    """The ``llm`` object to send, Nones dropped; None when nothing is left.

    Raises :class:`ValidationError` naming the field (``llm.prompt_tokens``) for an
    unknown key, a negative or fractional token count, or a negative or non-finite
    time or cost.
    """
    if llm is None:
        return None
    body: dict[str, Any] = {}
    for name, value in llm.items():
        if name not in LLM_FIELDS:
            raise ValidationError(
                f"unknown field; expected one of {', '.join(LLM_FIELDS)}", f"llm.{name}"
            )
        if value is not None:
            body[name] = _checked(name, value)
    return body or None


@dataclass(frozen=True, slots=True)
class LLMPricing:
    """What a model's tokens cost, in US dollars per 1,000 tokens.

        GPT_4O_MINI = LLMPricing(prompt_usd_per_1k_tokens=0.00015,
                                 completion_usd_per_1k_tokens=0.0006)
        LLMPricing.per_million_tokens(prompt_usd=0.15, completion_usd=0.60)   # the same

    Given to ``track(pricing=...)`` or ``monitor_inference(pricing=...)``, it fills
    ``cost_usd`` from the recorded tokens when no cost was set explicitly.
    """

    prompt_usd_per_1k_tokens: float
    completion_usd_per_1k_tokens: float

    def __post_init__(self) -> None:
        _amount(self.prompt_usd_per_1k_tokens, "prompt_usd_per_1k_tokens")
        _amount(self.completion_usd_per_1k_tokens, "completion_usd_per_1k_tokens")

    @classmethod
    def per_million_tokens(cls, *, prompt_usd: float, completion_usd: float) -> LLMPricing:
        """Pricing from prices per 1,000,000 tokens, as most providers list them."""
        return cls(
            _amount(prompt_usd, "prompt_usd") / _THOUSANDS_PER_MILLION,
            _amount(completion_usd, "completion_usd") / _THOUSANDS_PER_MILLION,
        )

    def cost_usd(self, prompt_tokens: int | None, completion_tokens: int | None) -> float:
        """The cost of these tokens; a count that is None costs nothing."""
        return (
            (prompt_tokens or 0) * self.prompt_usd_per_1k_tokens
            + (completion_tokens or 0) * self.completion_usd_per_1k_tokens
        ) / _TOKENS_PER_1K


def llm_record(
    *,
    prompt_tokens: object = None,
    completion_tokens: object = None,
    time_to_first_token_ms: object = None,
    cost_usd: object = None,
    pricing: LLMPricing | None = None,
    model_id: str = "",
) -> dict[str, Any] | None:
    """The ``llm`` object of a recorded metric, or None when nothing was recorded.

    A bad value is logged (on the ``monitorx.sdk`` logger) and left out, so that the
    rest of the metric still gets through. Without an explicit cost, ``pricing``
    prices the valid token counts.
    """
    body: dict[str, Any] = {}
    for name, value in (
        ("prompt_tokens", prompt_tokens),
        ("completion_tokens", completion_tokens),
        ("time_to_first_token_ms", time_to_first_token_ms),
        ("cost_usd", cost_usd),
    ):
        if value is None:
            continue
        try:
            body[name] = _checked(name, value)
        except ValidationError as exc:
            logger.warning("MonitorX left out a bad LLM value for %r: %s", model_id, exc)
    if pricing is not None and "cost_usd" not in body and cost_usd is None:
        prompt, completion = body.get("prompt_tokens"), body.get("completion_tokens")
        if prompt is not None or completion is not None:
            body["cost_usd"] = pricing.cost_usd(prompt, completion)
    return body or None


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Token counts read from a provider's usage report; None where it had none."""

    prompt_tokens: int | None
    completion_tokens: int | None


# The names providers give the two counts: OpenAI's Chat Completions, then the
# input/output pair of Anthropic's Messages API and OpenAI's Responses API.
_USAGE_NAMES = (
    ("prompt_tokens", "completion_tokens"),
    ("input_tokens", "output_tokens"),
)


def _usage_value(usage: object, name: str) -> object:
    if isinstance(usage, Mapping):
        return usage.get(name)
    return getattr(usage, name, None)


def _count_or_none(value: object) -> int | None:
    if value is None:
        return None
    try:
        return _token_count(value, "")
    except ValidationError:
        return None


def usage_tokens(usage: object) -> TokenUsage:
    """Prompt and completion tokens from an OpenAI- or Anthropic-style usage.

    ``usage`` is an object with attributes or a mapping with keys
    ``prompt_tokens``/``completion_tokens`` or ``input_tokens``/``output_tokens``
    (Anthropic reports cached input apart, in ``cache_*_input_tokens``; those are
    not added). Anything else, or a count that is not a whole non-negative number,
    gives None for that count. Never raises.
    """
    prompt: int | None = None
    completion: int | None = None
    try:
        for prompt_name, completion_name in _USAGE_NAMES:
            if prompt is None:
                prompt = _count_or_none(_usage_value(usage, prompt_name))
            if completion is None:
                completion = _count_or_none(_usage_value(usage, completion_name))
    except Exception:  # a usage object whose attributes raise: report what was read
        logger.warning("MonitorX could not read token usage from %r", type(usage).__name__)
    return TokenUsage(prompt, completion)
