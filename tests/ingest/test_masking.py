"""Every form data comes in is masked per distinct value, and nothing else of it
changes: tags of a metrics batch, labels of custom metric series, string columns
of records, labels and reference sets."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import orjson
import pyarrow as pa

from monitorx.core.pii import MaskMode, PiiKind, PiiMasker, PiiPolicy
from monitorx.core.samples import SampleColumns
from monitorx.ingest.decode import decode_metric, decode_metric_batch
from monitorx.ingest.masking import mask_series_labels, mask_table, mask_tags_json, masker_for
from monitorx.ingest.records import FEATURE_PREFIX, decode_records
from monitorx.store.samples.batch import KeyedSamples

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
POLICY = PiiPolicy(frozenset({PiiKind.EMAIL, PiiKind.CARD, PiiKind.PHONE}), key=b"k" * 32)


def _masker() -> PiiMasker:
    return PiiMasker(POLICY)


def test_masking_off_returns_every_input_as_it_is() -> None:
    tags = ['{"user":"bob@example.com"}', None]
    assert mask_tags_json(None, tags) is tags
    table = pa.table({"x": ["bob@example.com"]})
    assert mask_table(None, table) is table
    samples = KeyedSamples.empty()
    assert mask_series_labels(None, samples) is samples
    assert masker_for(PiiPolicy.off()) is None


def test_tags_are_masked_once_per_distinct_set_and_keep_their_keys() -> None:
    masker = _masker()
    tags = [
        orjson.dumps({"user": "bob@example.com", "env": "prod"}).decode(),
        None,
        orjson.dumps({"env": "prod"}).decode(),
    ] * 1000
    masked = mask_tags_json(masker, tags)
    assert len(masked) == len(tags)
    first = orjson.loads(masked[0])  # type: ignore[arg-type]
    assert list(first) == ["user", "env"] and first["env"] == "prod"
    assert first["user"] == masker.mask("bob@example.com") != "bob@example.com"
    assert masked[1] is None and masked[2] == '{"env":"prod"}'
    assert len(set(masked)) == 3


def test_a_decoded_metric_and_batch_carry_masked_tags() -> None:
    masker = _masker()
    item = {"model_id": "m", "latency": 1.0, "tags": {"phone": "+44 20 7946 0958"}}
    one = decode_metric(orjson.dumps(item), NOW, masker)
    batch, rejected = decode_metric_batch(orjson.dumps([item, item]), NOW, 10, masker)
    assert not rejected
    expected = orjson.dumps({"phone": masker.mask("+44 20 7946 0958")}).decode()
    assert one.tags_json == [expected] and batch.tags_json == [expected, expected]


def test_series_labels_are_masked_per_series_and_alike_ones_merge() -> None:
    masker = PiiMasker(PiiPolicy(frozenset({PiiKind.EMAIL}), mode=MaskMode.REDACT))
    columns = SampleColumns()
    bob, alice, plain = {"user": "bob@x.io"}, {"user": "alice@x.io"}, {"user": "guest"}
    for i, labels in enumerate([bob, alice, plain, bob]):
        columns.append("logins", float(i), 1_000 + i, labels, None)
    masked = mask_series_labels(masker, KeyedSamples.of(columns))
    assert masked.labels == [{"user": "<email>"}, {"user": "<email>"}, {"user": "guest"}]
    assert masked.labels[2] is plain  # unchanged series keep their dict
    assert np.array_equal(masked.key, [0, 1, 2, 0]) and np.array_equal(masked.value, [0, 1, 2, 3])
    assert bob == {"user": "bob@x.io"}


def test_string_columns_of_a_table_are_masked_and_numbers_and_nulls_kept() -> None:
    masker = PiiMasker(
        PiiPolicy(
            frozenset({PiiKind.EMAIL, PiiKind.CARD}),
            key=b"k" * 32,
            exempt_keys=frozenset({"build"}),
        )
    )
    table = decode_records(
        [
            {
                "request_id": "bob@example.com",
                "features": {"email": "bob@example.com", "amount": 4111111111111111,
                             "build": "4111111111111111", "plan": "pro"},
                "prediction": "card 4111 1111 1111 1111",
            },
            {"request_id": "r2", "features": {"email": None, "amount": 2.0,
                                              "build": "x", "plan": "free"}},
        ],
        0,
    )  # fmt: skip
    masked = mask_table(masker, table, ("request_id",), FEATURE_PREFIX)
    rows = masked.to_pylist()
    assert masked.schema == table.schema
    assert rows[0]["request_id"] == "bob@example.com"  # skipped: the join key
    assert rows[0]["f:email"] == masker.mask("bob@example.com") and rows[1]["f:email"] is None
    assert rows[0]["f:amount"] == 4111111111111111.0  # a number: not a string feature
    assert rows[0]["f:build"] == "4111111111111111"  # an exempt name
    assert rows[0]["prediction"] == "card " + masker.mask("4111111111111111")
    assert [r["f:plan"] for r in rows] == ["pro", "free"]


def test_a_table_with_nothing_to_mask_is_returned_as_it_is() -> None:
    table = pa.table({"plan": ["pro", "free"], "x": [1.0, 2.0]})
    assert mask_table(_masker(), table) is table
