"""The rules file: window rules kept in YAML beside the server's configuration.

The file holds one key, ``rules``, a list of rules with the API's fields::

    rules:
      - id: p95-latency
        metric: latency
        aggregation: p95
        window: 5m
        op: ">"
        threshold: 250
        for: 2m
        clear: 5m

A file that cannot be read or holds a bad rule stops the server from starting: the
error names the file, the rule (its place in the list and its id) and the field,
such as ``rules[1].threshold: in rules.yaml, rule 'p95-latency': must be a finite
number``.
"""

from __future__ import annotations

__all__ = ["load_rules_file", "parse_rules_file"]

from pathlib import Path

import yaml

from monitorx.alerting.rules.definition import RuleRecord, RuleSource
from monitorx.core import FieldError, ValidationError


def load_rules_file(path: Path) -> list[RuleRecord]:
    """The rules of the YAML file at ``path``; raises `ValidationError` naming what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot read the rules file {path}: {exc}", "rules_file") from exc
    return parse_rules_file(text, str(path))


def parse_rules_file(text: str, name: str) -> list[RuleRecord]:
    """The rules of a rules file's text; ``name`` says where it came from in errors."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationError(
            f"the rules file {name} is not valid YAML: {exc}", "rules_file"
        ) from exc
    if document is None:
        return []  # an empty file: no rules
    if not isinstance(document, dict) or set(document) != {"rules"}:
        raise ValidationError(f"the rules file {name} must hold one key, 'rules'", "rules_file")
    listed = document["rules"]
    if listed is None:
        return []
    if not isinstance(listed, list):
        raise ValidationError(f"in {name}: expected a list of rules", "rules")
    records: list[RuleRecord] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(listed):
        where = f"rules[{index}]"
        rule_id = raw.get("id") if isinstance(raw, dict) else None
        about = f"in {name}, rule {rule_id!r}" if isinstance(rule_id, str) else f"in {name}"
        try:
            record = RuleRecord.from_body(raw, source=RuleSource.FILE)
        except ValidationError as exc:
            raise ValidationError(
                [FieldError(_join(where, e.field), f"{about}: {e.message}") for e in exc.errors]
            ) from None
        if record.id in seen:
            raise ValidationError(
                f"{about}: the id is already used by rules[{seen[record.id]}]", f"{where}.id"
            )
        seen[record.id] = index
        records.append(record)
    return records


def _join(where: str, field: str) -> str:
    return where if field in ("", "body") else f"{where}.{field}"
