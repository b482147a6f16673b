"""Warnings about ``MONITORX_*`` environment variables that no part of MonitorX reads.

pydantic-settings ignores a variable it has no field for, so a typo
(``MONITORX_ALERT_CLEAR_PERIOD`` for ``MONITORX_ALERT_CLEAR_PERIOD_S``) or a setting
of a later release would change nothing without a word. The commands that read the
server's settings name each such variable once at start, with the closest known
name when one is close.
"""

from __future__ import annotations

__all__ = ["SDK_VARIABLES", "unknown_variable_warnings", "warn_unknown_variables"]

import difflib
import os
import sys
from collections.abc import Iterable, Mapping
from typing import TextIO

PREFIX = "MONITORX_"

# Read by the SDK in the processes it instruments (monitorx.sdk.exporter,
# monitorx.sdk.instrument.modes), never by the server: often set beside it all the
# same, in one environment file. tests/cli/test_environment.py keeps this list whole.
SDK_VARIABLES = frozenset(
    {
        "MONITORX_URL",
        "MONITORX_API_KEY",
        "MONITORX_MONITORING_MODE",
        "MONITORX_EVENTS_TO",
        "MONITORX_SERVICE",
        "MONITORX_REDIS_URL",
        "MONITORX_REDIS_CHANNEL",
    }
)
# The project's own test harness (tests/backends.py, tests/influxd.py, ...) passes
# these to the servers it starts.
TEST_PREFIX = "MONITORX_TEST_"
CLOSE_ENOUGH = 0.75  # difflib ratio (names without the prefix) to suggest a known name


def unknown_variable_warnings(
    environ: Mapping[str, str], settings_fields: Iterable[str]
) -> list[str]:
    """One warning per ``MONITORX_*`` variable in ``environ`` that is neither a
    server setting (``settings_fields``, the settings' field names) nor the SDK's,
    in name order. Names compare case-insensitively, as pydantic-settings reads them."""
    known = {PREFIX + field.upper() for field in settings_fields} | SDK_VARIABLES
    # Compared without the prefix that they all share, which would make any two look alike.
    suffixes = sorted(name.removeprefix(PREFIX) for name in known)
    warnings = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith(PREFIX) or upper.startswith(TEST_PREFIX) or upper in known:
            continue
        text = f"{name} is not a MonitorX setting and is ignored"
        suffix = upper.removeprefix(PREFIX)
        close = difflib.get_close_matches(suffix, suffixes, n=1, cutoff=CLOSE_ENOUGH)
        if close:
            text += f" (did you mean {PREFIX}{close[0]}?)"
        warnings.append(text + "; the settings are listed in docs/configuration.md")
    return warnings


def warn_unknown_variables(settings_fields: Iterable[str], out: TextIO | None = None) -> None:
    """Print :func:`unknown_variable_warnings` for this process's environment (to
    stderr unless ``out`` is given)."""
    for warning in unknown_variable_warnings(os.environ, settings_fields):
        print(f"monitorx: warning: {warning}", file=out or sys.stderr)
