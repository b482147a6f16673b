"""`/api/v1/rules`: window rules ("p95 latency over 5 minutes above 250 ms for 2
minutes"), with each rule's current state per model or group of labels."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from monitorx.alerting.rules.catalog import RuleCatalog
from monitorx.alerting.rules.definition import RuleRecord
from monitorx.alerting.rules.window import Comparison
from monitorx.core import AlertType, MetricName, Severity
from monitorx.core.identifiers import IDENTIFIER_PATTERN, check_identifier
from monitorx.server.checked_json import read_checked_json
from monitorx.server.deps import RulesDep
from monitorx.server.openapi import ERROR_RESPONSES, PUT_RESPONSES
from monitorx.server.responses import JSONResponse
from monitorx.store import QueryAggregation

router = APIRouter(prefix="/rules", tags=["rules"])

_DURATION: dict[str, Any] = {
    "oneOf": [{"type": "number", "minimum": 0}, {"type": "string", "examples": ["5m"]}]
}
_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["id", "metric", "aggregation", "window", "op", "threshold"],
    "properties": {
        "id": {"type": "string", "pattern": IDENTIFIER_PATTERN},
        "metric": {
            "type": "string",
            "description": "an inference metric (" + ", ".join(m.value for m in MetricName) + ") "
            "or a custom metric's name",
        },
        "aggregation": {"enum": [a.value for a in QueryAggregation]},
        "window": {**_DURATION, "description": "at most 7 days"},
        "op": {"enum": [c.value for c in Comparison]},
        "threshold": {"type": "number"},
        "for": {**_DURATION, "description": "pending this long before firing (default 0)"},
        "clear": {**_DURATION, "description": "false this long before resolving (default 0)"},
        "severity": {"enum": [s.value for s in Severity], "description": "default: bands"},
        "model_ids": {
            "type": "array",
            "items": {"type": "string"},
            "description": "per-model rules: the models it applies to (default every model)",
        },
        "labels": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "exact label matchers; with them the rule is evaluated per group",
        },
        "group_by": {
            "type": "array",
            "items": {"type": "string"},
            "description": "label keys: one alert per group of their values",
        },
        "alert_type": {"enum": [t.value for t in AlertType]},
        "enabled": {"type": "boolean"},
        "description": {"type": "string", "maxLength": 1024},
    },
}
_WITH_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": _BODY}}}}


def _shown(catalog: RuleCatalog, record: RuleRecord) -> dict[str, object]:
    """The rule and, per model or group it was evaluated for, its state: ``inactive``,
    ``pending`` or ``firing``, since when, the last value and when it was computed."""
    states = catalog.evaluator.state().get(record.id, [])
    return {**record.to_json(), "models": [s.to_json() for s in states]}


@router.post("", status_code=201, responses=ERROR_RESPONSES, openapi_extra=_WITH_BODY)
async def create_rule(request: Request, catalog: RulesDep) -> JSONResponse:
    """Add a rule: ``{"id", "metric", "aggregation", "window", "op", "threshold",
    "for"?, "clear"?, "severity"?, "model_ids"?, "labels"?, "group_by"?, "alert_type"?,
    "enabled"?, "description"?}``. 409 if the id exists."""
    record = RuleRecord.from_body(await read_checked_json(request))
    await catalog.create(record)
    return JSONResponse(_shown(catalog, record), status_code=201)


@router.get("")
async def list_rules(catalog: RulesDep) -> JSONResponse:
    """Every rule, in the order they were created, each with its state per model."""
    return JSONResponse([_shown(catalog, record) for record in catalog.all()])


@router.get("/{rule_id}", responses=ERROR_RESPONSES)
async def get_rule(rule_id: str, catalog: RulesDep) -> JSONResponse:
    return JSONResponse(_shown(catalog, catalog.get(rule_id)))


@router.put("/{rule_id}", responses=PUT_RESPONSES, openapi_extra=_WITH_BODY)
async def put_rule(rule_id: str, request: Request, catalog: RulesDep) -> JSONResponse:
    """Create (201) or replace (200). The body may leave ``id`` out; another id is
    422. A rule from the rules file is 409: change it in the file."""
    check_identifier(rule_id, "rule_id")
    record = RuleRecord.from_body(await read_checked_json(request), path_id=rule_id)
    created = await catalog.put(record)
    return JSONResponse(_shown(catalog, record), status_code=201 if created else 200)


@router.delete("/{rule_id}", status_code=204, responses=ERROR_RESPONSES)
async def delete_rule(rule_id: str, rules: RulesDep) -> Response:
    """Delete a rule; the alerts it has firing are resolved. 409 for a file rule."""
    await rules.delete(rule_id)
    return Response(status_code=204)
