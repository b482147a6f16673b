"""Personal data masked on the way in, before anything is stored (`monitorx.core.pii`).

Each way data enters hands its strings to a `PiiMasker` in the form it already has
them, and each form is masked per distinct value, never per row:

- inference metrics' tags, as the JSON texts of a batch's ``tags_json`` column
  (`mask_tags_json`): a batch of 10,000 metrics usually holds a handful of tag sets;
- custom metric labels, per series of a `KeyedSamples` batch (`mask_series_labels`);
- records, labels and reference sets, per string column of an Arrow table
  (`mask_table`): the column's distinct values are masked, then taken back into
  place in C.

``None`` for a masker means masking is off: every function then returns its input
as it is, at the cost of one comparison.
"""

from __future__ import annotations

__all__ = ["mask_series_labels", "mask_table", "mask_tags_json", "masker_for"]

import functools
from collections.abc import Collection, Mapping, Sequence

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from monitorx.core.pii import PiiMasker, PiiPolicy
from monitorx.store.samples.batch import KeyedSamples

_UNSEEN = "\x00unseen"  # no JSON text of tags is this (it is not JSON)


@functools.lru_cache(maxsize=8)
def masker_for(policy: PiiPolicy) -> PiiMasker | None:
    """One masker per policy in this process (a worker's masker outlives the batch
    that brought its policy, and so do the values it has masked); None when the
    policy masks nothing."""
    return PiiMasker(policy) if policy.enabled else None


def mask_tags_json(
    masker: PiiMasker | None,
    tags_json: list[str | None],
    tags: Sequence[Mapping[str, str] | None] | None = None,
) -> list[str | None]:
    """Each row's tags (a JSON object of strings, or None) with their values masked;
    ``tags``, when given, are the same rows' tags as dicts (spares parsing them)."""
    if masker is None:
        return tags_json
    done: dict[str | None, str | None] = {None: None}
    get = done.get
    out: list[str | None] = []
    append = out.append
    for row, text in enumerate(tags_json):
        masked = get(text, _UNSEEN)
        if masked is _UNSEEN:
            assert text is not None
            as_dict = tags[row] if tags is not None else None
            changed = masker.mask_labels(orjson.loads(text) if as_dict is None else as_dict)
            masked = done[text] = text if changed is None else orjson.dumps(changed).decode()
        append(masked)
    return out


def mask_series_labels(masker: PiiMasker | None, samples: KeyedSamples) -> KeyedSamples:
    """The samples with each series' label values masked. Two series whose labels
    mask alike (two emails under mode ``redact``) become one series."""
    if masker is None:
        return samples
    labels = samples.labels
    masked: list[dict[str, str]] | None = None
    for index, series_labels in enumerate(labels):
        changed = masker.mask_labels(series_labels)
        if changed is not None:
            if masked is None:
                masked = list(labels)
            masked[index] = changed
    if masked is None:
        return samples
    return KeyedSamples(
        samples.names, masked, samples.units, samples.key, samples.ts_us, samples.value
    )


def mask_table(
    masker: PiiMasker | None, table: pa.Table, skip: Collection[str] = (), prefix: str = ""
) -> pa.Table:
    """The table with the values of its string columns masked. ``skip`` names
    columns left as they are (a request id); ``prefix`` is what column names carry
    before the feature name that the policy's exempt names match (``f:``)."""
    if masker is None:
        return table
    columns = table.columns
    changed = False
    for index, name in enumerate(table.column_names):
        if name in skip or masker.exempt(name.removeprefix(prefix)):
            continue
        column = table.column(index)
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            continue
        masked = _mask_column(masker, column)
        if masked is not None:
            columns[index] = masked
            changed = True
    if not changed:
        return table
    return pa.table(columns, schema=table.schema)


def _mask_column(masker: PiiMasker, column: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """The column with its distinct values masked; None when none changed."""
    distinct = pc.unique(column.drop_null())
    values: list[str] = distinct.to_pylist()
    masked = [masker.mask(v) for v in values]
    if masked == values:
        return None
    positions = pc.index_in(column, value_set=distinct)  # chunked as the column
    taken = pa.array(masked, column.type).take(positions)
    # (Never pa.chunked_array() of a chunked array: it goes through Python objects.)
    return taken if isinstance(taken, pa.ChunkedArray) else pa.chunked_array([taken])
