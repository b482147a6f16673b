"""In-process alert handlers: Python callables that hear every alert transition.

A handler is called with an `AlertEvent` (change, alert, previous) after the change
is stored; it may be a plain function or a coroutine function. Handlers come from
the ``alert_handlers`` setting (``"package.module:function"``) and from installed
packages that declare an entry point in the ``monitorx.alert_handlers`` group::

    [project.entry-points."monitorx.alert_handlers"]
    page-oncall = "my_company.monitoring:on_alert"

A handler that raises is logged and does not stop the others or the engine.
"""

from __future__ import annotations

__all__ = ["ENTRY_POINT_GROUP", "load_alert_handlers"]

import importlib
import importlib.metadata
import logging
from collections.abc import Iterable

from monitorx.alerting.engine import AlertListener
from monitorx.core import ValidationError

ENTRY_POINT_GROUP = "monitorx.alert_handlers"
logger = logging.getLogger("monitorx.alerting.handlers")


def _by_name(name: str) -> AlertListener:
    module_name, _, attribute = name.partition(":")
    if not module_name or not attribute:
        raise ValidationError(f"expected 'package.module:function', got {name!r}", "alert_handlers")
    try:
        target: object = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise ValidationError(
            f"cannot load alert handler {name!r}: {exc}", "alert_handlers"
        ) from exc
    if not callable(target):
        raise ValidationError(f"alert handler {name!r} is not callable", "alert_handlers")
    return target  # type: ignore[return-value,unused-ignore]


def load_alert_handlers(names: Iterable[str]) -> list[AlertListener]:
    """The configured handlers, then those of the entry points (a broken entry point
    is logged and skipped; a broken configured one stops start-up)."""
    handlers = [_by_name(name) for name in names]
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            handlers.append(entry.load())
        except Exception:
            logger.exception("cannot load alert handler entry point %s", entry.value)
    return handlers
