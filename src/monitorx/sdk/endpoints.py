"""The API's read and admin calls as sans-IO operations (writes are in ``delivery``)."""

from __future__ import annotations

__all__ = [
    "acknowledge_alert",
    "get_alerts",
    "get_summary",
    "health",
    "register_model",
    "resolve_alert",
]

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from monitorx.core.errors import DeliveryError
from monitorx.sdk.delivery import DeliveryPolicy, call
from monitorx.sdk.effects import ApiRequest, Operation
from monitorx.sdk.payloads import JSONObject, encode_json, model_config
from monitorx.sdk.retry import RetryPolicy

_ONE_TRY = DeliveryPolicy(RetryPolicy(max_retries=0), breaker=None, buffer_size=1)


def _segment(value: str) -> str:
    return quote(value, safe="")


def _decode(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError as exc:
        raise DeliveryError(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code} with a body that is not JSON"
        ) from exc


def _json_call(policy: DeliveryPolicy, request: ApiRequest) -> Operation[Any]:
    response = yield from call(policy, request)
    return _decode(response)


def register_model(
    policy: DeliveryPolicy,
    model_id: str,
    model_type: str,
    *,
    name: str | None = None,
    version: str | None = None,
    environment: str | None = None,
    thresholds: Mapping[str, float | None] | None = None,
    tags: Mapping[str, str] | None = None,
) -> Operation[JSONObject]:
    """``PUT /models/{id}``: create or replace, so registering twice is harmless."""
    body = model_config(
        model_type=model_type,
        name=name,
        version=version,
        environment=environment,
        thresholds=thresholds,
        tags=tags,
    )
    request = ApiRequest("PUT", f"/models/{_segment(model_id)}", content=encode_json(body))
    result: JSONObject = yield from _json_call(policy, request)
    return result


def get_summary(
    policy: DeliveryPolicy, window: str | int = "1h", model_id: str | None = None
) -> Operation[JSONObject]:
    """``GET /summary`` for all models, or ``GET /models/{id}/summary`` for one."""
    path = "/summary" if model_id is None else f"/models/{_segment(model_id)}/summary"
    result: JSONObject = yield from _json_call(policy, ApiRequest("GET", path, {"window": window}))
    return result


def get_alerts(
    policy: DeliveryPolicy,
    *,
    model_id: str | None = None,
    status: str | None = None,
    severity: str | None = None,
    alert_type: str | None = None,
    limit: int = 100,
) -> Operation[list[JSONObject]]:
    """``GET /alerts`` with its filters, newest first."""
    filters = {"model_id": model_id, "status": status, "severity": severity}
    params: dict[str, str | int | float] = {k: v for k, v in filters.items() if v is not None}
    if alert_type is not None:
        params["alert_type"] = alert_type
    params["limit"] = limit
    result: list[JSONObject] = yield from _json_call(policy, ApiRequest("GET", "/alerts", params))
    return result


def resolve_alert(policy: DeliveryPolicy, alert_id: str) -> Operation[JSONObject]:
    """``POST /alerts/{id}/resolve``; returns the resolved alert."""
    request = ApiRequest("POST", f"/alerts/{_segment(alert_id)}/resolve")
    result: JSONObject = yield from _json_call(policy, request)
    return result


def acknowledge_alert(policy: DeliveryPolicy, alert_id: str) -> Operation[JSONObject]:
    """``POST /alerts/{id}/acknowledge``; returns the acknowledged alert."""
    request = ApiRequest("POST", f"/alerts/{_segment(alert_id)}/acknowledge")
    result: JSONObject = yield from _json_call(policy, request)
    return result


def health() -> Operation[JSONObject]:
    """``GET /health``, tried once and outside the circuit breaker: it asks "is it up now?"."""
    result: JSONObject = yield from _json_call(_ONE_TRY, ApiRequest("GET", "/health"))
    return result
