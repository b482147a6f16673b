"""The threshold profiles of a project and the values learned for its models.

Profiles are kept as documents of kind ``threshold_profile`` and served from
memory. Learned values are not stored: `learn_once` recomputes them from the store
(the scheduler runs it every minute and at startup). A value that exists is
recomputed once it is ``refresh_s`` old (an hour by default); a field without a
value yet (too little history, a new model, a new or changed profile) is tried at
every run, so a model gets its learned threshold within a minute of having
``min_points`` points in the window.

`generation` changes whenever a profile or a learned value does: the model
registry rebuilds the thresholds the ingest path checks only then.
"""

from __future__ import annotations

__all__ = ["LEARNING_CHECK_S", "PROFILE_DOCUMENT_KIND", "ThresholdProfileCatalog"]

import asyncio
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from monitorx.alerting.profiles.profile import (
    LEARNABLE_FIELDS,
    EffectiveThreshold,
    LearnedValue,
    LearnSpec,
    ThresholdProfile,
    effective_thresholds,
    thresholds_of,
)
from monitorx.alerting.rules.values import aggregate_over
from monitorx.core import Clock, ModelConfig, NotFound, Thresholds, ValidationError
from monitorx.store import Aggregation, Storage

logger = logging.getLogger("monitorx.alerting.profiles")

PROFILE_DOCUMENT_KIND = "threshold_profile"
# How often the scheduler runs `learn_once`: what is due is learned at most this late.
LEARNING_CHECK_S = 60.0
# Reads `load` makes at most while changes made here keep overtaking it.
RELOAD_TRIES = 3


class ThresholdProfileCatalog:
    """Profiles, learned values, and the effective thresholds of each model."""

    def __init__(
        self, storage: Storage, clock: Clock, min_points: int = 100, refresh_s: float = 3600.0
    ) -> None:
        self._storage = storage
        self._clock = clock
        self.min_points = min_points
        self._refresh = timedelta(seconds=refresh_s)
        self._profiles: dict[str, ThresholdProfile] = {}
        self._learned: dict[str, dict[str, LearnedValue]] = {}  # model id → field → value
        self._lock = asyncio.Lock()
        self.generation = 0
        self._writes = 0  # changes made through this catalog, for `load`

    async def load(self) -> None:
        """Read the stored profiles (at start-up, and again when another replica
        changed them); learned values stay, and are learned again at the next run
        where their profile changed."""
        # Not under the lock, which learning holds for seconds; a change made here
        # while the store was read means the read may predate it: read again.
        for _ in range(RELOAD_TRIES):
            writes = self._writes
            found: dict[str, ThresholdProfile] = {}
            for key, body in await self._storage.list_documents(PROFILE_DOCUMENT_KIND):
                try:
                    found[key] = ThresholdProfile.from_stored(body)
                except (ValueError, KeyError, ValidationError):
                    logger.exception("stored threshold profile %r cannot be read; ignored", key)
            if writes == self._writes:
                break
        if found != self._profiles:
            self._profiles = found
            self.generation += 1

    def all(self) -> list[ThresholdProfile]:
        """Every profile, by model type, then environment."""
        return [self._profiles[key] for key in sorted(self._profiles)]

    def get(self, model_type: str, environment: str) -> ThresholdProfile:
        profile = self._profiles.get(f"{model_type}:{environment}")
        if profile is None:
            raise NotFound(f"no threshold profile for {model_type}/{environment}")
        return profile

    async def put(self, profile: ThresholdProfile) -> bool:
        """Create or replace a profile; True when it was created."""
        async with self._lock:
            created = await self._storage.put_document(
                PROFILE_DOCUMENT_KIND, profile.key, profile.stored()
            )
            self._profiles[profile.key] = profile
            self._writes += 1
            self.generation += 1
            return created

    async def delete(self, model_type: str, environment: str) -> None:
        async with self._lock:
            profile = self.get(model_type, environment)
            await self._storage.delete_document(PROFILE_DOCUMENT_KIND, profile.key)
            del self._profiles[profile.key]
            self._writes += 1
            self.generation += 1

    def profile_for(self, model: ModelConfig) -> ThresholdProfile | None:
        return self._profiles.get(f"{model.model_type.value}:{model.environment.value}")

    def effective(self, model: ModelConfig) -> dict[str, EffectiveThreshold]:
        """Every threshold field of ``model`` that is checked or being learned."""
        return effective_thresholds(model, self.profile_for(model), self._learned.get(model.id, {}))

    def thresholds_for(self, model: ModelConfig) -> Thresholds:
        """The thresholds the ingest path checks for ``model``."""
        if model.thresholds.is_empty() and self.profile_for(model) is None:
            return model.thresholds
        return thresholds_of(self.effective(model))

    async def learn_once(self, models: Iterable[ModelConfig]) -> None:
        """Learn what is due for each of ``models`` (the registered ones); forget the
        values of models and fields that no longer learn."""
        async with self._lock:
            now = self._clock.now()
            learned: dict[str, dict[str, LearnedValue]] = {}
            for model in models:
                profile = self.profile_for(model)
                if profile is None:
                    continue
                for name, spec in profile.learn.items():
                    if getattr(model.thresholds, name) is not None:
                        continue  # the model's own value wins; nothing to learn
                    current = self._learned.get(model.id, {}).get(name)
                    if current is None or self._due(current, spec, now):
                        try:
                            current = await self._learn(model.id, name, spec, now)
                        except Exception:
                            logger.exception("learning %s of model %s failed", name, model.id)
                            if current is None:
                                continue
                    learned.setdefault(model.id, {})[name] = current
            checked_before = _checked(self._learned)
            self._learned = learned
            if _checked(learned) != checked_before:
                self.generation += 1

    def _due(self, current: LearnedValue, spec: LearnSpec, now: datetime) -> bool:
        return (
            current.spec != spec
            or current.value is None
            or now - current.learned_at >= self._refresh
        )

    async def _learn(
        self, model_id: str, name: str, spec: LearnSpec, now: datetime
    ) -> LearnedValue:
        metric = LEARNABLE_FIELDS[name]
        start = now - timedelta(seconds=spec.window_s)
        count = await aggregate_over(self._storage, model_id, metric, Aggregation.COUNT, start, now)
        points = int(count or 0)
        if points < self.min_points:
            return LearnedValue(spec, None, points, now)
        found = await aggregate_over(self._storage, model_id, metric, spec.aggregation, start, now)
        value = None if found is None else spec.factor * found
        return LearnedValue(spec, value, points, now)


def _checked(learned: dict[str, dict[str, LearnedValue]]) -> dict[tuple[str, str], object]:
    """What the ingest path sees of learned values (not when they were computed)."""
    return {
        (model_id, name): (value.spec, value.value)
        for model_id, fields in learned.items()
        for name, value in fields.items()
    }
