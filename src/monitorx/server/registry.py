"""The model registry, kept in memory in front of the store for the ingest path."""

from __future__ import annotations

__all__ = ["ModelRegistry"]

from monitorx.core import ModelConfig, Thresholds
from monitorx.store import Storage


class ModelRegistry:
    """Registered models; reads are served from memory, writes go to the store first."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._models: dict[str, ModelConfig] = {}

    async def load(self) -> None:
        self._models = {m.id: m for m in await self._storage.list_models()}

    def get(self, model_id: str) -> ModelConfig | None:
        return self._models.get(model_id)

    def all(self) -> list[ModelConfig]:
        return [self._models[k] for k in sorted(self._models)]

    def thresholds(self) -> dict[str, Thresholds]:
        """Thresholds of every model that has any."""
        return {mid: m.thresholds for mid, m in self._models.items() if not m.thresholds.is_empty()}

    async def save(self, model: ModelConfig) -> bool:
        created = await self._storage.save_model(model)
        self._models[model.id] = model
        return created

    async def delete(self, model_id: str) -> bool:
        deleted = await self._storage.delete_model(model_id)
        self._models.pop(model_id, None)
        return deleted
