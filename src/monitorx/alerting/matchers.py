"""Label matchers, as Alertmanager and Prometheus write them.

A matcher compares one label with a value: ``=`` (equal), ``!=`` (not equal),
``=~`` (the whole value matches a regular expression), ``!~`` (it does not). A
missing label counts as the empty string, as in Alertmanager. Routes, silences and
inhibition rules all use them; API.md's short form, a map ``{"severity":
"critical"}``, means one ``=`` matcher per entry.
"""

from __future__ import annotations

__all__ = ["MatchOp", "Matcher", "matchers_from_json", "matches_all"]

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from monitorx.core import ValidationError

_SHORT_FORM = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")


class MatchOp(StrEnum):
    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


@dataclass(frozen=True, slots=True)
class Matcher:
    name: str
    value: str
    op: MatchOp = MatchOp.EQUAL
    _pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def create(cls, name: str, value: str, op: MatchOp | str = MatchOp.EQUAL) -> Matcher:
        """A matcher; a regular expression is anchored (it must match the whole value)."""
        op = MatchOp(op)
        pattern = None
        if op in (MatchOp.REGEX, MatchOp.NOT_REGEX):
            try:
                pattern = re.compile(f"(?:{value})\\Z")
            except re.error as exc:
                raise ValidationError(f"bad regular expression {value!r}: {exc}", name) from exc
        return cls(name, value, op, pattern)

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """``severity="critical"``, ``model_id=~"fraud-.*"`` and friends."""
        found = _SHORT_FORM.match(text)
        if found is None:
            raise ValidationError(f"not a matcher: {text!r}", "matchers")
        name, op, value = found.groups()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        return cls.create(name, value, op)

    def matches(self, labels: Mapping[str, str]) -> bool:
        value = labels.get(self.name, "")
        if self.op is MatchOp.EQUAL:
            return value == self.value
        if self.op is MatchOp.NOT_EQUAL:
            return value != self.value
        assert self._pattern is not None
        found = self._pattern.match(value) is not None
        return found if self.op is MatchOp.REGEX else not found

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "value": self.value, "op": self.op.value}

    def __str__(self) -> str:
        return f'{self.name}{self.op.value}"{self.value}"'


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)


def matchers_from_json(value: object, field_name: str = "matchers") -> tuple[Matcher, ...]:
    """Matchers from the API's forms: a map of label to value (each an ``=``), a list
    of ``'name="value"'`` strings, or a list of ``{"name", "value", "op"}`` objects."""
    if value is None:
        return ()
    if isinstance(value, Mapping):
        return tuple(Matcher.create(str(k), str(v)) for k, v in value.items())
    if isinstance(value, list):
        found: list[Matcher] = []
        for item in value:
            if isinstance(item, str):
                found.append(Matcher.parse(item))
            elif isinstance(item, Mapping) and "name" in item and "value" in item:
                found.append(
                    Matcher.create(str(item["name"]), str(item["value"]), item.get("op", "="))
                )
            else:
                raise ValidationError(f"not a matcher: {item!r}", field_name)
        return tuple(found)
    raise ValidationError("expected a map of label to value, or a list of matchers", field_name)
