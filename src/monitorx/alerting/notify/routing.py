"""The routing tree: which receivers an alert goes to, and how it is grouped there.

Alertmanager's semantics (dispatch/route.go): a tree of routes under an implicit
root that matches everything; a child inherits its parent's options and overrides
the ones it sets; matching is depth-first — a route whose matchers fail is skipped,
otherwise its children are tried in order and the first that matches wins unless it
has ``continue: true``, in which case later siblings are tried too; a route none
of whose children matched is itself the match. API.md's routes are the root's
children, in the order they were created.

Defaults, as Alertmanager's: ``group_wait`` 30 s, ``group_interval`` 5 min,
``repeat_interval`` 4 h, ``group_by`` empty (one group for all the route's alerts);
``group_by: ["..."]`` groups by every label.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_ROUTE_OPTIONS",
    "Route",
    "RouteMatch",
    "RouteOptions",
    "group_key",
    "group_labels",
    "match_routes",
]

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from monitorx.alerting.matchers import Matcher, matches_all
from monitorx.alerting.notify.notification import default_group_key
from monitorx.core import ValidationError

GROUP_BY_ALL = "..."


@dataclass(frozen=True, slots=True)
class RouteOptions:
    receivers: tuple[str, ...] = ()
    group_by: tuple[str, ...] = ()
    group_wait_s: float = 30.0
    group_interval_s: float = 300.0
    repeat_interval_s: float = 4 * 3600.0

    def __post_init__(self) -> None:
        if GROUP_BY_ALL in self.group_by and len(self.group_by) > 1:
            raise ValidationError(
                "cannot group by every label ('...') and by named labels", "group_by"
            )


DEFAULT_ROUTE_OPTIONS = RouteOptions()


@dataclass(frozen=True, slots=True)
class Route:
    """One node: its matchers, the options it sets (None: inherited), its children."""

    id: str
    matchers: tuple[Matcher, ...] = ()
    receivers: tuple[str, ...] | None = None
    group_by: tuple[str, ...] | None = None
    group_wait_s: float | None = None
    group_interval_s: float | None = None
    repeat_interval_s: float | None = None
    continue_matching: bool = False
    routes: tuple[Route, ...] = field(default=())

    def options(self, parent: RouteOptions) -> RouteOptions:
        """This route's options: the parent's, overridden by those set here."""
        changes = {
            name: value
            for name, value in (
                ("receivers", self.receivers),
                ("group_by", self.group_by),
                ("group_wait_s", self.group_wait_s),
                ("group_interval_s", self.group_interval_s),
                ("repeat_interval_s", self.repeat_interval_s),
            )
            if value is not None
        }
        return replace(parent, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """Where an alert lands: the route (by path of ids) and its effective options."""

    path: tuple[str, ...]
    options: RouteOptions


def _match(
    route: Route, labels: Mapping[str, str], parent: RouteOptions, path: tuple[str, ...]
) -> list[RouteMatch]:
    if not matches_all(route.matchers, labels):
        return []
    options = route.options(parent)
    here = (*path, route.id)
    found: list[RouteMatch] = []
    for child in route.routes:
        matched = _match(child, labels, options, here)
        if matched:
            found += matched
            if not child.continue_matching:
                break
    return found or [RouteMatch(here, options)]


def match_routes(
    routes: Sequence[Route],
    labels: Mapping[str, str],
    root: RouteOptions = DEFAULT_ROUTE_OPTIONS,
) -> list[RouteMatch]:
    """The routes an alert with ``labels`` lands on; [] when no route matches or none
    names a receiver (the alert is then stored and shown, but not sent)."""
    tree = Route("root", routes=tuple(routes))
    found = _match(tree, labels, root, ())
    return [m for m in found if m.path != ("root",) and m.options.receivers]


def group_labels(match: RouteMatch, labels: Mapping[str, str]) -> dict[str, str]:
    """The labels that name an alert's aggregation group on a route: its ``group_by``
    labels (every label for ``...``; none without ``group_by``)."""
    by = match.options.group_by
    names = sorted(labels) if by == (GROUP_BY_ALL,) else sorted(by)
    return {name: labels.get(name, "") for name in names}


def group_key(match: RouteMatch, labels: Mapping[str, str]) -> str:
    """The aggregation group an alert joins on a route, written as Alertmanager
    writes ``groupKey``: the route's path, then the group's labels."""
    route = "{" + "/".join(match.path[1:]) + "}"
    return default_group_key(group_labels(match, labels), route)
