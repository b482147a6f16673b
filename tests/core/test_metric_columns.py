"""`MetricColumns`: columns of optional fields may be left out when building one."""

from __future__ import annotations

from monitorx.core import LLM_FIELDS, RESOURCE_FIELDS, MetricColumns


def test_left_out_optional_columns_hold_none_for_every_metric() -> None:
    columns = MetricColumns(
        model_id=["a", "b"], request_id=["r1", "r2"], ts_us=[1, 2], latency=[5.0, 6.0],
        cpu_percent=[10.0, None], prompt_tokens=[3, None],
    )  # fmt: skip
    assert len(columns) == 2
    assert columns.error == [False, False]
    assert columns.cpu_percent == [10.0, None] and columns.prompt_tokens == [3, None]
    for name in ("model_type", "throughput", "error_rate", "tags_json", *RESOURCE_FIELDS):
        if name != "cpu_percent":
            assert getattr(columns, name) == [None, None], name
    assert [getattr(columns, name) for name in LLM_FIELDS[1:]] == [[None, None]] * 3


def test_an_empty_batch_stays_empty_and_concatenates() -> None:
    empty = MetricColumns()
    assert len(empty) == 0 and empty.error == [] and empty.cost_usd == []
    one = MetricColumns(model_id=["a"], request_id=["r"], ts_us=[1], latency=[2.0])
    merged = MetricColumns.concat([empty, one, one])
    assert merged.latency == [2.0, 2.0] and merged.cost_usd == [None, None]
