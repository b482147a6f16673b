"""The window rules of a project: kept as documents of kind ``rule`` in the store,
served from memory, and handed to the `RuleEvaluator` on every change.

Rules come from two places. The API creates, replaces and deletes its own rules.
The rules file (setting ``rules_file``) is the truth for its rules: at startup
they are upserted with source ``file``, stored file rules the file no longer holds
are deleted, and the API refuses to change or delete a file rule (409) — edit the
file and restart instead, as with Prometheus's rule files.
"""

from __future__ import annotations

__all__ = ["RULE_DOCUMENT_KIND", "RuleCatalog"]

import asyncio
import logging
from collections.abc import Sequence

from monitorx.alerting.rules.definition import RuleRecord, RuleSource
from monitorx.alerting.rules.evaluation import RuleEvaluator
from monitorx.core import Conflict, NotFound, ValidationError
from monitorx.store import DocumentStore
from monitorx.store.config_changes import in_held_order

logger = logging.getLogger("monitorx.alerting.rules")

RULE_DOCUMENT_KIND = "rule"


class RuleCatalog:
    """Create, replace, delete and list rules; every change is stored first."""

    def __init__(self, storage: DocumentStore, evaluator: RuleEvaluator) -> None:
        self._storage = storage
        self._evaluator = evaluator
        self._rules: dict[str, RuleRecord] = {}  # in creation order
        self._lock = asyncio.Lock()

    @property
    def evaluator(self) -> RuleEvaluator:
        return self._evaluator

    async def load(self, file_rules: Sequence[RuleRecord] = ()) -> None:
        """Read the stored rules, apply the rules file's, and start evaluating them."""
        async with self._lock:
            stored = await self._stored()
            from_file = {record.id: record for record in file_rules}
            for key, record in list(stored.items()):
                if record.source is RuleSource.FILE and key not in from_file:
                    await self._storage.delete_document(RULE_DOCUMENT_KIND, key)
                    del stored[key]
                    logger.info("rule %r left the rules file; deleted", key)
            for record in file_rules:
                previous = stored.get(record.id)
                if previous is not None and previous.source is RuleSource.API:
                    logger.warning(
                        "the rules file replaces rule %r made through the API", record.id
                    )
                await self._storage.put_document(RULE_DOCUMENT_KIND, record.id, record.stored())
                stored[record.id] = record
            self._rules = stored
            await self._evaluator.set_rules(self._rules.values())
        await self._evaluator.restore()

    async def reload(self) -> None:
        """Read the stored rules again (another replica changed them), keeping the
        state of each rule that stays as it was; the rules file is not applied again
        (the replica that started with it stored its rules)."""
        async with self._lock:
            self._rules = in_held_order(self._rules, await self._stored())
            await self._evaluator.set_rules(self._rules.values())

    async def _stored(self) -> dict[str, RuleRecord]:
        stored: dict[str, RuleRecord] = {}
        for key, body in await self._storage.list_documents(RULE_DOCUMENT_KIND):
            try:
                stored[key] = RuleRecord.from_stored(body)
            except (ValueError, ValidationError):
                logger.exception("stored rule %r cannot be read; it is not evaluated", key)
        return stored

    def all(self) -> list[RuleRecord]:
        return list(self._rules.values())

    def get(self, rule_id: str) -> RuleRecord:
        record = self._rules.get(rule_id)
        if record is None:
            raise NotFound(f"no rule with id {rule_id!r}")
        return record

    async def create(self, record: RuleRecord) -> None:
        """Add a rule; 409 if one with its id exists."""
        async with self._lock:
            if record.id in self._rules:
                raise Conflict(
                    f"rule {record.id!r} already exists; use PUT /api/v1/rules/{record.id}"
                )
            await self._save(record)

    async def put(self, record: RuleRecord) -> bool:
        """Create or replace a rule; True when it was created."""
        async with self._lock:
            previous = self._rules.get(record.id)
            if previous is not None:
                self._refuse_file_rule(previous)
            await self._save(record)
            return previous is None

    async def delete(self, rule_id: str) -> None:
        """Delete a rule and resolve the alerts it has firing."""
        async with self._lock:
            self._refuse_file_rule(self.get(rule_id))
            await self._storage.delete_document(RULE_DOCUMENT_KIND, rule_id)
            del self._rules[rule_id]
            await self._evaluator.set_rules(self._rules.values())

    async def _save(self, record: RuleRecord) -> None:
        await self._storage.put_document(RULE_DOCUMENT_KIND, record.id, record.stored())
        self._rules[record.id] = record
        await self._evaluator.set_rules(self._rules.values())

    @staticmethod
    def _refuse_file_rule(record: RuleRecord) -> None:
        if record.source is RuleSource.FILE:
            raise Conflict(
                f"rule {record.id!r} comes from the rules file; change it there and restart"
            )
