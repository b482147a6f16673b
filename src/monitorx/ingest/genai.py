"""What MonitorX reads of the OpenTelemetry GenAI conventions on a span, accepting
both the current names and the older ones clients still send (the GenAI
conventions are "Development": instrumentations that shipped v1.36 or older keep
their names by default), and OpenInference's ``llm.*`` names. First present wins:

- model: ``gen_ai.request.model`` > ``gen_ai.response.model`` > ``llm.request.model``
  > ``llm.response.model`` > ``llm.model_name`` — the model asked for, so that a
  dated answer (``gpt-4o-2024-08-06``) counts under the model the client named;
- input tokens: ``gen_ai.usage.input_tokens`` > ``gen_ai.usage.prompt_tokens``
  (before v1.27) > ``llm.token_count.prompt``; output tokens likewise with
  ``output_tokens`` > ``completion_tokens`` > ``llm.token_count.completion``;
- session: ``gen_ai.conversation.id`` > ``session.id`` > ``langfuse.session.id``;
- cost in US dollars, when the client priced the call: ``gen_ai.usage.cost`` >
  ``llm.cost.total`` (MonitorX keeps no price list of its own);
- time to first token: ``gen_ai.response.time_to_first_chunk`` (seconds).

Content — prompts, completions, messages, tool arguments and results — is
recognised by `is_content_attribute` and `is_content_event`, so that it is kept
only where the project allows it.
"""

from __future__ import annotations

__all__ = [
    "CONTENT_DROPPED_ATTRIBUTE",
    "GenAIFields",
    "genai_fields",
    "is_content_attribute",
    "is_content_event",
    "model_id_from",
]

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

MODEL_KEYS = (
    "gen_ai.request.model",
    "gen_ai.response.model",
    "llm.request.model",
    "llm.response.model",
    "llm.model_name",
)
INPUT_TOKEN_KEYS = (
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "llm.token_count.prompt",
)
OUTPUT_TOKEN_KEYS = (
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
)
SESSION_KEYS = ("gen_ai.conversation.id", "session.id", "langfuse.session.id")
COST_KEYS = ("gen_ai.usage.cost", "llm.cost.total")
TTFT_KEY = "gen_ai.response.time_to_first_chunk"
OPERATION_KEYS = ("gen_ai.operation.name", "llm.request.type")
PROVIDER_KEYS = ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")

# The attribute a span gets when content was dropped from it: how many attributes
# and events were left out, so that a reader sees "not kept", not "not sent".
CONTENT_DROPPED_ATTRIBUTE = "monitorx.content_dropped"

_CONTENT_KEYS = frozenset(
    {
        "gen_ai.prompt",  # ≤ v1.27
        "gen_ai.completion",
        "gen_ai.input.messages",  # ≥ v1.37
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
        "gen_ai.tool.definitions",
        "gen_ai.tool.call.arguments",
        "gen_ai.tool.call.result",
        "input.value",  # OpenInference
        "output.value",
    }
)
# Flattened messages: gen_ai.prompt.0.content, llm.input_messages.0.message.content.
_CONTENT_PREFIXES = (
    "gen_ai.prompt.",
    "gen_ai.completion.",
    "llm.input_messages.",
    "llm.output_messages.",
)
_CONTENT_EVENTS = frozenset(
    {
        "gen_ai.system.message",  # v1.28–v1.36, one event per message
        "gen_ai.user.message",
        "gen_ai.assistant.message",
        "gen_ai.tool.message",
        "gen_ai.choice",
        "gen_ai.content.prompt",
        "gen_ai.content.completion",
        "gen_ai.client.inference.operation.details",  # ≥ v1.37
    }
)
_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9._:-]")
_MAX_MODEL_ID = 128


def is_content_attribute(key: str) -> bool:
    """Whether a span attribute carries prompt or completion content."""
    return key in _CONTENT_KEYS or key.startswith(_CONTENT_PREFIXES)


def is_content_event(name: str) -> bool:
    """Whether a span event carries prompt or completion content."""
    return name in _CONTENT_EVENTS


def model_id_from(name: str) -> str | None:
    """The model id of a model name: each character outside the identifier set
    replaced by ``:`` (``meta-llama/Llama-3-8B`` → ``meta-llama:Llama-3-8B``), cut
    to 128 characters; None for an empty name."""
    if not name:
        return None
    return _NOT_IDENTIFIER.sub(":", name)[:_MAX_MODEL_ID]


@dataclass(frozen=True, slots=True)
class GenAIFields:
    """What a span says of its model call; None where it does not say."""

    model_id: str | None
    input_tokens: int | None
    output_tokens: int | None
    session_id: str | None
    cost_usd: float | None
    time_to_first_token_ms: float | None
    operation: str | None
    provider: str | None


def _first(attributes: Mapping[str, object], keys: tuple[str, ...]) -> object:
    for key in keys:
        value = attributes.get(key)
        if value is not None and value != "":
            return value
    return None


def _count(value: object) -> int | None:
    """A token count: a non-negative integer (sent as an int, a whole double, or text)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    return value if isinstance(value, int) and 0 <= value < 2**63 else None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def genai_fields(attributes: Mapping[str, object]) -> GenAIFields:
    """The GenAI fields of a span's attributes."""
    model = _first(attributes, MODEL_KEYS)
    ttft_s = _number(attributes.get(TTFT_KEY))
    return GenAIFields(
        model_id=model_id_from(str(model)) if model is not None else None,
        input_tokens=_count(_first(attributes, INPUT_TOKEN_KEYS)),
        output_tokens=_count(_first(attributes, OUTPUT_TOKEN_KEYS)),
        session_id=_text(_first(attributes, SESSION_KEYS)),
        cost_usd=_number(_first(attributes, COST_KEYS)),
        time_to_first_token_ms=None if ttft_s is None else ttft_s * 1000.0,
        operation=_text(_first(attributes, OPERATION_KEYS)),
        provider=_text(_first(attributes, PROVIDER_KEYS)),
    )
