"""The kinds of blob a model's drift data is kept under, in the store's blobs."""

from __future__ import annotations

__all__ = ["LABELS", "RECORDS", "REFERENCE"]

REFERENCE = "drift-reference"
"""One Parquet blob per reference set version: ``<model>/reference/<version>``."""
RECORDS = "drift-records"
"""Logged records, per hour: ``<model>/<bucket>/<part>`` (`records.reservoir`)."""
LABELS = "drift-labels"
"""Labels, per hour of arrival: ``<model>/<bucket>/c<seq>-<rows>[-<token>]``."""
