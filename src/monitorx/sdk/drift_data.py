"""Drift data from Python: DataFrames and Arrow tables sent as Arrow IPC streams, and
the drift calls of both clients as sans-IO operations (see ``effects``).

``data`` may be a pandas or polars DataFrame or a pyarrow Table (or RecordBatch):
one column per feature, and for records the optional ``request_id``,
``prediction`` and ``timestamp`` columns (API.md). It goes to the server as one
Arrow IPC stream per at most ``MAX_BODY_ROWS`` rows, never row by row.

pyarrow comes with the ``data`` extra (``pip install "monitorx[data]"``); it is
imported only when a drift call needs it, so the light SDK never loads it. pandas
and polars are never imported here: a frame is recognised by its class's module
and converted by its own ``to_arrow`` (polars) or by ``pyarrow.Table.from_pandas``.
"""

from __future__ import annotations

__all__ = [
    "ARROW_STREAM",
    "MAX_BODY_ROWS",
    "analyze",
    "arrow_bodies",
    "drift_report_html",
    "log_labels",
    "log_records",
    "require_pyarrow",
    "set_reference",
    "to_arrow_table",
]

import importlib
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from monitorx.core.errors import ValidationError
from monitorx.sdk.delivery import DeliveryPolicy, call
from monitorx.sdk.drift_report import DriftReport
from monitorx.sdk.effects import ApiRequest, Operation
from monitorx.sdk.errors import MissingDependency
from monitorx.sdk.payloads import JSONObject, Timestamp, encode_json, timestamp_value
from monitorx.sdk.results import WriteResult

ARROW_STREAM = "application/vnd.apache.arrow.stream"
# Rows per request: 100,000 rows of 60 features is about 50 MB of Arrow, well
# within the server's 256 MB bulk body limit (MONITORX_MAX_BULK_BODY_BYTES).
MAX_BODY_ROWS = 100_000
# Labels go as JSON (API.md); a request holds at most this many (about 5 MB).
MAX_LABELS_PER_REQUEST = 50_000
INSTALL_HINT = 'pip install "monitorx[data]"'


def require_pyarrow() -> Any:
    """The pyarrow module, or :class:`MissingDependency` naming the extra."""
    try:
        return importlib.import_module("pyarrow")
    except ImportError:
        raise MissingDependency(
            f"sending DataFrames or Arrow tables needs pyarrow: {INSTALL_HINT}"
        ) from None


def to_arrow_table(data: Any, where: str = "data") -> Any:
    """A pandas or polars DataFrame, a pyarrow Table or RecordBatch as a pyarrow
    Table (pandas' index is left out)."""
    pa = require_pyarrow()
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    module = type(data).__module__.split(".", 1)[0]
    try:
        if module == "polars":
            return data.to_arrow()
        if module == "pandas":
            return pa.Table.from_pandas(data, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise ValidationError(f"cannot be converted to an Arrow table: {exc}", where) from None
    raise ValidationError(
        f"expected a pandas or polars DataFrame or a pyarrow Table, not {type(data).__name__}",
        where,
    )


def arrow_bodies(table: Any, max_rows: int = MAX_BODY_ROWS) -> Iterator[bytes]:
    """The table as Arrow IPC streams of at most ``max_rows`` rows each."""
    pa = require_pyarrow()
    for offset in range(0, max(table.num_rows, 1), max_rows):
        sink = pa.BufferOutputStream()
        piece = table.slice(offset, max_rows)
        with pa.ipc.new_stream(sink, piece.schema) as writer:
            writer.write_table(piece)
        yield sink.getvalue().to_pybytes()


def _path(model_id: str, tail: str) -> str:
    return f"/models/{quote(model_id, safe='')}/{tail}"


def _json(content: bytes) -> Any:
    return json.loads(content)


def set_reference(policy: DeliveryPolicy, model_id: str, data: Any) -> Operation[JSONObject]:
    """``PUT /models/{id}/reference`` with the table as one Arrow IPC stream; the
    server's ``{"rows", "columns"}``."""
    table = to_arrow_table(data)
    body = b"".join(arrow_bodies(table, max(table.num_rows, 1)))
    request = ApiRequest(
        "PUT", _path(model_id, "reference"), content=body, content_type=ARROW_STREAM
    )
    response = yield from call(policy, request)
    result: JSONObject = _json(response.content)
    return result


def log_records(
    policy: DeliveryPolicy, model_id: str, data: Any, predictions: Any = None
) -> Operation[WriteResult]:
    """``POST /models/{id}/records``: the table (with ``predictions`` as its
    ``prediction`` column when given) in Arrow IPC streams of ``MAX_BODY_ROWS``."""
    table = with_predictions(to_arrow_table(data), predictions)
    result = WriteResult()
    for body in arrow_bodies(table):
        request = ApiRequest(
            "POST", _path(model_id, "records"), content=body, content_type=ARROW_STREAM
        )
        response = yield from call(policy, request)
        result = result + WriteResult(accepted=int(_json(response.content)["accepted"]))
    return result


def with_predictions(table: Any, predictions: Any) -> Any:
    """The table with ``predictions`` (a sequence, numpy array, pandas or polars
    Series, or Arrow array of one value a row) as its ``prediction`` column."""
    if predictions is None:
        return table
    pa = require_pyarrow()
    if "prediction" in table.column_names:
        raise ValidationError("data already has a prediction column", "predictions")
    module = type(predictions).__module__.split(".", 1)[0]
    try:
        if module == "polars":
            column = predictions.to_arrow()
        elif module == "pandas":
            column = pa.Array.from_pandas(predictions)
        elif isinstance(predictions, pa.Array | pa.ChunkedArray):
            column = predictions
        else:
            column = pa.array(predictions)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise ValidationError(f"cannot be read as one column: {exc}", "predictions") from None
    if len(column) != table.num_rows:
        raise ValidationError(
            f"has {len(column)} values for {table.num_rows} rows of data", "predictions"
        )
    return table.append_column("prediction", column)


def label_items(labels: Any) -> list[JSONObject]:
    """Labels as API.md's items: a mapping of request id to label, a sequence of
    ``{"request_id", "label"}``, or a table or DataFrame with those two columns."""
    if isinstance(labels, Mapping):
        return [{"request_id": str(k), "label": v} for k, v in labels.items()]
    if isinstance(labels, Sequence) and not isinstance(labels, str | bytes):
        return [dict(item) for item in labels]
    table = to_arrow_table(labels, "labels")
    missing = {"request_id", "label"} - set(table.column_names)
    if missing:
        raise ValidationError(
            f"needs the columns request_id and label (missing: {', '.join(sorted(missing))})",
            "labels",
        )
    items: list[JSONObject] = table.select(["request_id", "label"]).to_pylist()
    return items


def log_labels(policy: DeliveryPolicy, model_id: str, labels: Any) -> Operation[WriteResult]:
    """``POST /models/{id}/labels`` in requests of ``MAX_LABELS_PER_REQUEST``."""
    items = label_items(labels)
    if not items:
        raise ValidationError("must hold at least one label", "labels")
    result = WriteResult()
    for offset in range(0, len(items), MAX_LABELS_PER_REQUEST):
        body = encode_json(items[offset : offset + MAX_LABELS_PER_REQUEST])
        request = ApiRequest("POST", _path(model_id, "labels"), content=body)
        response = yield from call(policy, request)
        result = result + WriteResult(accepted=int(_json(response.content)["accepted"]))
    return result


def _window(start: Timestamp | None, end: Timestamp | None) -> dict[str, str | float]:
    window: dict[str, str | float] = {}
    if start is not None:
        window["start"] = timestamp_value(start, "start")
    if end is not None:
        window["end"] = timestamp_value(end, "end")
    return window


def analyze(
    policy: DeliveryPolicy,
    model_id: str,
    start: Timestamp | None = None,
    end: Timestamp | None = None,
    options: Mapping[str, Any] | None = None,
) -> Operation[DriftReport]:
    """``POST /models/{id}/drift/analyze`` over ``[start, end)`` (the server's
    defaults: the hour before now); ``options`` are the analysis options of
    docs/drift.md (``stattest``, ``threshold``, …)."""
    body = {**_window(start, end), **(options or {})}
    request = ApiRequest("POST", _path(model_id, "drift/analyze"), content=encode_json(body))
    response = yield from call(policy, request)
    return DriftReport(_json(response.content))


def drift_report_html(
    policy: DeliveryPolicy,
    model_id: str,
    start: Timestamp | None = None,
    end: Timestamp | None = None,
) -> Operation[str]:
    """``GET /models/{id}/drift/report.html``: the server's full HTML drift report
    (charts of every feature) of ``[start, end)``."""
    params = _window(start, end)
    request = ApiRequest("GET", _path(model_id, "drift/report.html"), params)
    response = yield from call(policy, request)
    return response.text
