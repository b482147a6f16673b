"""The model registry, kept in memory in front of the store for the ingest path."""

from __future__ import annotations

__all__ = ["ModelRegistry"]

from monitorx.alerting.profiles.catalog import ThresholdProfileCatalog
from monitorx.core import ModelConfig, Thresholds
from monitorx.store import RegistryStore

# Reads `load` makes at most while changes made here keep overtaking it.
RELOAD_TRIES = 3


class ModelRegistry:
    """Registered models; reads are served from memory, writes go to the store first."""

    def __init__(
        self, storage: RegistryStore, profiles: ThresholdProfileCatalog | None = None
    ) -> None:
        self._storage = storage
        self._models: dict[str, ModelConfig] = {}
        # Thresholds merged with the profiles', rebuilt only when a model, a profile
        # or a learned value changed (the ingest path reads them for every batch).
        self._profiles = profiles
        self._changes = 0
        self._merged: dict[str, Thresholds] = {}
        self._merged_at: tuple[int, int] | None = None
        self._writes = 0  # saves and deletes made here, for `load`

    async def load(self) -> None:
        """Read the registered models (at start-up, and again when another replica
        changed them)."""
        # A save made here while the store was read may be missing from the read.
        for _ in range(RELOAD_TRIES):
            writes = self._writes
            models = {m.id: m for m in await self._storage.list_models()}
            if writes == self._writes:
                break
        if models != self._models:
            self._models = models
            self._changes += 1

    def get(self, model_id: str) -> ModelConfig | None:
        return self._models.get(model_id)

    def all(self) -> list[ModelConfig]:
        return [self._models[k] for k in sorted(self._models)]

    def thresholds(self) -> dict[str, Thresholds]:
        """Effective thresholds of every model that has any: its own, else its
        threshold profile's fixed or learned values (alerting.threshold_profiles)."""
        version = (self._changes, 0 if self._profiles is None else self._profiles.generation)
        if version != self._merged_at:
            merged = {
                mid: m.thresholds if self._profiles is None else self._profiles.thresholds_for(m)
                for mid, m in self._models.items()
            }
            self._merged = {mid: t for mid, t in merged.items() if not t.is_empty()}
            self._merged_at = version
        return self._merged

    async def save(self, model: ModelConfig) -> bool:
        created = await self._storage.save_model(model)
        self._models[model.id] = model
        self._writes += 1
        self._changes += 1
        return created

    async def delete(self, model_id: str) -> bool:
        deleted = await self._storage.delete_model(model_id)
        self._models.pop(model_id, None)
        self._writes += 1
        self._changes += 1
        return deleted
