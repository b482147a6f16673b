"""Hostile bodies against every write endpoint of the OpenAPI schema, on a real server.

For each POST, PUT and PATCH operation the running server's ``/openapi.json``
lists (a new endpoint is covered without touching this file), hypothesis takes a
valid body for it and breaks one thing: nesting 65 to 10,000 levels deep, a lone
surrogate, NUL or another control character in a string or a key, a number past
the float range, a string of megabytes, a value of the wrong type — sent as
escaped ASCII or as raw UTF-8. Whatever it sends:

- the answer is never a 5xx, and its body is JSON that says what was wrong (the
  standard ways in — OTLP, line protocol, remote_write — say it in their
  protocol's own error body, which their clients read);
- nothing of a refused body is stored: every GET that shows stored state answers
  the same before and after (a refused item of a batch is not among the metrics);
- nothing stored holds a character the rule of stored text forbids
  (`monitorx.core.text`), whatever was accepted;
- the server is ready afterwards.

`scripts/test` runs it on DuckDB, PostgreSQL and InfluxDB (MONITORX_TEST_BACKEND).
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from monitorx.core.text import FORBIDDEN_RANGES, find_bad_text
from monitorx.server.app import PROTOCOL_PATHS
from tests.conftest import LiveServer
from tests.http_receiver import HttpReceiver

MODEL = "hx-model"
PATH_VALUES = {
    "model_id": MODEL,
    "channel_id": "hx-hook",
    "route_id": "hx-route",
    "rule_id": "hx-rule",
    "slo_id": "hx-slo",
    "dashboard_id": "hx-dash",
    "alert_id": "hx-alert",
    "silence_id": "hx-silence",
    "model_type": "tabular",
    "environment": "prod",
}
# GETs that show computed or time-dependent figures rather than what was stored.
NOT_STATE = {
    "/api/v1/health",
    "/api/v1/health/live",
    "/api/v1/health/ready",
    "/api/v1/summary",
    "/api/v1/models/{model_id}/summary",
    "/api/v1/alerts",  # alerts are raised in the background after a 202
    "/api/v1/alerts/{alert_id}",
    "/api/v1/alerts/{alert_id}/notifications",
    "/api/v1/models/{model_id}/quality",
    "/api/v1/models/{model_id}/drift/report.html",
    "/api/v1/slos/{slo_id}/status",
    "/api/v1/audit",  # a refused change is recorded there, by design (docs/security.md)
}
# Fields of a shown resource that the server's background work changes: a rule's
# state per model, an SLO's budget, a drift schedule's last run, a concept drift
# detector's counters.
VOLATILE = {
    "models", "status", "last_run", "points_seen", "batches_dropped", "detections",
    "last_detection",
}  # fmt: skip
EXAMPLES_PER_OPERATION = 4  # random ones, beside the 9 explicit examples
JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Raw:
    """JSON text put into a body as it is: what ``json.dumps`` cannot write."""

    text: str


def deep(levels: int, objects: bool) -> Raw:
    if objects:
        return Raw('{"a":' * levels + "1" + "}" * levels)
    return Raw("[" * levels + "]" * levels)


CONTROLS = [
    chr(code) for low, high in FORBIDDEN_RANGES if low < 0xD800 for code in range(low, high + 1)
]
FORBIDDEN_CHAR = st.sampled_from(CONTROLS) | st.characters(
    min_codepoint=0xD800, max_codepoint=0xDFFF
)
HOSTILE_TEXT = st.builds(
    lambda before, bad, after: before + bad + after,
    st.text(max_size=4),
    FORBIDDEN_CHAR,
    st.text(max_size=4),
)
HOSTILE = st.one_of(
    HOSTILE_TEXT,
    st.sampled_from([300_000, 2_000_000]).map(lambda size: "x" * size),
    st.sampled_from(["1e400", "-1e400", "1" + "0" * 400, "NaN", "-Infinity"]).map(Raw),
    st.builds(deep, st.integers(65, 10_000), st.booleans()),
    st.sampled_from([None, True, 0, -1, 2**70, 1.5, "", "text", [], {}, ["a", 1], {"k": None}]),
)
# Where the hostile value goes: a string, a number, a key (then a hostile string),
# any value, or the whole body; the integer picks one of the places of that kind.
MUTATION = st.one_of(
    st.tuples(st.sampled_from(["string", "number", "value", "whole"]), st.integers(0, 99), HOSTILE),
    st.tuples(st.just("key"), st.integers(0, 99), HOSTILE_TEXT),
)


def seeds(receiver: HttpReceiver, n: int) -> dict[tuple[str, str], Any]:
    """A valid body for each write operation; ``n`` makes created ids unique."""
    rows = [{"amount": float(i), "country": ["fr", "de", "es"][i % 3]} for i in range(30)]
    hook = {"url": receiver.url(), "headers": {"X-Team": "ml"}}
    metric = {"model_id": MODEL, "latency": 12.5, "tags": {"region": "eu"}}
    panel = {"title": "Worst", "metric": "latency", "agg": "max", "models": [MODEL], "range": None}
    return {
        ("POST", "/api/v1/models"): {
            "id": f"hx-new-{n}", "name": "Hostile", "model_type": "llm", "tags": {"team": "ml"}
        },
        ("PUT", "/api/v1/models/{model_id}"): {
            "name": "Hx", "model_type": "tabular", "version": "2", "tags": {"team": "ml"}
        },
        ("POST", "/api/v1/metrics/inference"): metric | {"request_id": f"r-{n}"},
        ("POST", "/api/v1/metrics/inference/batch"): [
            metric | {"request_id": f"b-{n}-0"},
            metric | {"request_id": f"b-{n}-1", "latency": 13.5},
        ],
        ("POST", "/api/v1/metrics/drift"): {
            "model_id": MODEL, "drift_type": "data", "feature": "amount", "score": 0.3,
            "confidence": 0.5,
        },
        ("PUT", "/api/v1/models/{model_id}/reference"): {"rows": rows},
        ("POST", "/api/v1/models/{model_id}/records"): [
            {"request_id": f"q-{n}", "features": {"amount": 1.0, "country": "fr"},
             "prediction": 0.5}
        ],
        ("POST", "/api/v1/models/{model_id}/labels"): [{"request_id": f"q-{n}", "label": 1}],
        ("POST", "/api/v1/models/{model_id}/drift/analyze"): {
            "current": {"rows": rows}, "stattest": "psi", "threshold": 0.2
        },
        ("PUT", "/api/v1/models/{model_id}/concept-drift"): {"detector": "adwin"},
        ("POST", "/api/v1/channels"): {
            "id": f"hx-hook-{n}", "type": "webhook", "config": hook, "send_resolved": True
        },
        ("PUT", "/api/v1/channels/{channel_id}"): {"type": "webhook", "config": hook},
        ("POST", "/api/v1/routes"): {
            "id": f"hx-route-{n}", "matchers": {"severity": "critical"}, "channels": ["hx-hook"],
            "group_by": ["model_id"], "group_wait": "30s",
        },
        ("PUT", "/api/v1/routes/{route_id}"): {
            "matchers": ['model_id=~"hx-.*"'], "channels": ["hx-hook"]
        },
        ("POST", "/api/v1/silences"): {
            "matchers": {"model_id": MODEL}, "duration": "1h", "created_by": "ana",
            "comment": "quiet",
        },
        ("POST", "/api/v1/rules"): {
            "id": f"hx-rule-{n}", "metric": "latency", "aggregation": "p95", "window": "5m",
            "op": ">", "threshold": 250, "for": "2m", "description": "slow",
        },
        ("PUT", "/api/v1/rules/{rule_id}"): {
            "metric": "latency", "aggregation": "count", "window": "10m", "op": "<",
            "threshold": 1, "severity": "critical", "model_ids": [MODEL], "description": "quiet",
        },
        ("PUT", "/api/v1/threshold-profiles/{model_type}/{environment}"): {
            "thresholds": {"cpu_percent": 90},
            "learn": {"latency_ms": {"aggregation": "p99", "factor": 1.5, "window": "7d"}},
        },
        ("POST", "/api/v1/slos"): {
            "id": f"hx-slo-{n}", "model_id": MODEL, "objective": "availability",
            "target": 0.999, "window": "30d", "description": "answers",
        },
        ("PUT", "/api/v1/slos/{slo_id}"): {
            "model_id": MODEL, "objective": "latency", "latency_ms": 250, "target": 0.99,
            "window": "7d",
        },
        ("PUT", "/api/v1/models/{model_id}/quality-config"): {
            "task": "classification", "interval": "15m", "thresholds": {"accuracy_min": 0.9}
        },
        ("PUT", "/api/v1/models/{model_id}/data-quality/rules"): {
            "window": "1h", "default": {"missing_share": 0.05},
            "features": {"amount": {"out_of_range_share": 0.01}},
        },
        ("POST", "/api/v1/models/{model_id}/data-quality/analyze"): {"current": {"rows": rows}},
        ("PUT", "/api/v1/models/{model_id}/drift-schedule"): {
            "window": "1h", "interval": "1h", "stattest": "psi"
        },
        ("POST", "/api/v1/dashboards"): {
            "id": f"hx-dash-{n}", "title": "Hostile", "range": "6h", "panels": [panel]
        },
        ("PUT", "/api/v1/dashboards/{dashboard_id}"): {"title": "Hostile", "panels": [panel]},
    }  # fmt: skip


# A body for an operation this file does not know yet: a plain object to break.
UNKNOWN_OPERATION_SEED = {"id": "hx-other", "name": "other", "value": 1.5, "items": ["a"]}
# What the server must hold before the fuzzing starts (the PUT/POST seeds above
# that create what the other operations refer to), in order.
SETUP = [
    ("POST", "/api/v1/models", {"id": MODEL, "model_type": "tabular"}),
    ("PUT", "/api/v1/models/{model_id}/reference", None),
    ("PUT", "/api/v1/channels/{channel_id}", None),
    ("PUT", "/api/v1/routes/{route_id}", None),
    ("PUT", "/api/v1/rules/{rule_id}", None),
    ("PUT", "/api/v1/slos/{slo_id}", None),
    ("PUT", "/api/v1/dashboards/{dashboard_id}", None),
]


def places(body: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """Every place in ``body``: (kind, path); kinds are string, number, key, value."""
    if path:
        yield "value", path
    if isinstance(body, str):
        yield "string", path
    elif isinstance(body, int | float) and not isinstance(body, bool):
        yield "number", path
    elif isinstance(body, dict):
        for key, value in body.items():
            yield "key", (*path, key)
            yield from places(value, (*path, key))
    elif isinstance(body, list):
        for index, value in enumerate(body):
            yield from places(value, (*path, index))


def mutate(seed: Any, mutation: tuple[str, int, Any]) -> Any:
    kind, index, hostile = mutation
    found = [path for k, path in places(seed) if k == kind]
    if kind == "whole" or not found:
        return hostile
    path = found[index % len(found)]
    body = copy.deepcopy(seed)
    parent = body
    for step in path[:-1]:
        parent = parent[step]
    if kind == "key":
        parent[hostile] = parent.pop(path[-1])
    else:
        parent[path[-1]] = hostile
    return body


def encode(body: Any, ascii_only: bool) -> bytes:
    raws: list[str] = []

    def placeholder(value: object) -> str:
        assert isinstance(value, Raw)
        raws.append(value.text)
        return f"@@raw{len(raws) - 1}@@"

    text = json.dumps(body, ensure_ascii=ascii_only, default=placeholder)
    for number, raw in enumerate(raws):
        text = text.replace(f'"@@raw{number}@@"', raw)
    # Raw UTF-8 cannot hold a lone surrogate: "surrogatepass" writes the bytes a
    # careless encoder would, which no parser may accept.
    return text.encode("utf-8", "surrogatepass")


def error_text(template: str, response: httpx.Response) -> str:
    """What an error answer says was wrong: the ``detail`` of MonitorX's JSON error
    body (always JSON, whatever was sent), or for a standard way in its protocol's
    own: InfluxDB's ``error`` (1.x) or ``message`` (2.x), the ``message`` of OTLP's
    ``google.rpc.Status``, remote_write's plain text (as Prometheus' receiver)."""
    if template not in PROTOCOL_PATHS:
        detail = response.json().get("detail")
        return detail if isinstance(detail, str) else ""
    if response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        found = [body.get(key) for key in ("error", "message")]
        return next((text for text in found if isinstance(text, str) and text), "")
    return response.text


def write_operations(api: httpx.Client) -> list[tuple[str, str]]:
    schema = api.get("/openapi.json").json()
    return [
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in ("post", "put", "patch")
    ]


def state_reads(api: httpx.Client) -> list[str]:
    """Every GET of the schema that shows stored state and needs no query."""
    schema = api.get("/openapi.json").json()
    reads = []
    for path, operations in schema["paths"].items():
        get = operations.get("get")
        if get is None or path in NOT_STATE or not path.startswith("/api/v1/"):
            continue
        if any(p.get("required") and p["in"] == "query" for p in get.get("parameters", [])):
            continue
        reads.append(fill(path) + ("?limit=10000" if path.endswith("/inference") else ""))
    return reads


def fill(template: str) -> str:
    names = {name: PATH_VALUES.get(name, "hx") for name in _path_names(template)}
    return template.format(**names)


def _path_names(template: str) -> list[str]:
    return [part[1:-1] for part in template.split("/") if part.startswith("{")]


def _without_volatile(shown: Any) -> Any:
    """A GET's answer without the `VOLATILE` fields of the resources it shows."""
    if isinstance(shown, list):
        return [_without_volatile(item) for item in shown]
    if isinstance(shown, dict):
        return {key: value for key, value in shown.items() if key not in VOLATILE}
    return shown


class Witness:
    """Reads what the server stores, through the API, to compare before and after."""

    def __init__(self, root: httpx.Client, pool: ThreadPoolExecutor) -> None:
        self.root = root
        self.pool = pool  # the reads go side by side: they wait more than they compute
        self.reads = state_reads(root)
        self.last = self.read()

    def read(self) -> dict[str, Any]:
        return dict(zip(self.reads, self.pool.map(self._get, self.reads), strict=True))

    def _get(self, path: str) -> tuple[int, Any]:
        response = self.root.get(path)
        assert response.status_code < 500, f"GET {path}: {response.text[:300]}"
        return response.status_code, _without_volatile(response.json())

    def stored_request_ids(self) -> set[str]:
        metrics = self.last["/api/v1/metrics/inference?limit=10000"][1]
        return {m["request_id"] for m in metrics}


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    server = HttpReceiver()
    server.start()
    yield server
    server.stop()


def test_no_hostile_body_gets_a_5xx_or_leaves_anything_stored(
    live_server: LiveServer, receiver: HttpReceiver
) -> None:
    with (
        httpx.Client(base_url=live_server.url, timeout=60) as root,
        ThreadPoolExecutor(8) as pool,
    ):
        hostile_bodies_to_every_write(root, pool, receiver)


def hostile_bodies_to_every_write(
    root: httpx.Client, pool: ThreadPoolExecutor, receiver: HttpReceiver
) -> None:
    counter = itertools.count()
    first = seeds(receiver, next(counter))
    for method, template, body in SETUP:
        response = root.request(method, fill(template), json=body or first[(method, template)])
        assert response.status_code < 300, f"{method} {template}: {response.text}"
    witness = Witness(root, pool)
    operations = write_operations(root)
    assert len(operations) >= 25, operations  # the schema lists the write endpoints

    for method, template in operations:
        # A channel another hostile body changed may no longer reach the receiver,
        # and a failed test delivery is a 502 by contract: restore it first.
        restore = first[("PUT", "/api/v1/channels/{channel_id}")]
        assert root.put(fill("/api/v1/channels/{channel_id}"), json=restore).status_code == 200
        witness.last = witness.read()
        probe(root, witness, receiver, counter, method, template)

    assert root.get("/api/v1/health/ready").status_code == 200


def probe(
    root: httpx.Client,
    witness: Witness,
    receiver: HttpReceiver,
    counter: Iterator[int],
    method: str,
    template: str,
) -> None:
    """Send one operation its hostile bodies (explicit ones first, then random)."""

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(mutation=MUTATION, ascii_only=st.booleans())
    @example(mutation=("whole", 0, deep(10_000, objects=False)), ascii_only=True)
    @example(mutation=("whole", 0, deep(10_000, objects=True)), ascii_only=True)
    @example(mutation=("string", 0, "\ud800"), ascii_only=True)
    @example(mutation=("string", 1, "a\x00b"), ascii_only=True)
    @example(mutation=("string", 2, "a\x85b"), ascii_only=False)
    @example(mutation=("key", 0, "k\x1b"), ascii_only=True)
    @example(mutation=("number", 0, Raw("1e400")), ascii_only=True)
    @example(mutation=("string", 0, "x" * 2_000_000), ascii_only=True)
    @example(mutation=("value", 3, ["wrong", 1]), ascii_only=True)
    def send(mutation: tuple[str, int, Any], ascii_only: bool) -> None:
        seed = seeds(receiver, next(counter)).get((method, template), UNKNOWN_OPERATION_SEED)
        body = encode(mutate(seed, mutation), ascii_only)
        response = root.request(method, fill(template), content=body, headers=JSON)
        shown = (
            f"{method} {template} with {body[:200]!r}: {response.status_code} {response.text[:300]}"
        )
        assert response.status_code < 500, shown
        if response.status_code >= 400:
            assert error_text(template, response), shown
            assert witness.read() == witness.last, f"a refused body changed what is stored: {shown}"
            return
        answer = None if template in PROTOCOL_PATHS else response.json()  # JSON, whatever was sent
        witness.last = witness.read()
        bad = find_bad_text(witness.last)
        assert bad is None, f"stored text breaks the rule at {bad}: {shown}"
        if template.endswith("/inference/batch"):
            assert isinstance(answer, dict), shown
            refused = {item["index"] for item in answer["rejected"]}
            sent = json.loads(body) if refused else []
            items = [sent[i] for i in refused if isinstance(sent[i], dict)]
            ids = {item["request_id"] for item in items if isinstance(item.get("request_id"), str)}
            assert not ids & witness.stored_request_ids(), f"a refused item is stored: {shown}"

    send()
