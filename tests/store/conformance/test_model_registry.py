"""The model registry: `save_model`, `get_model`, `list_models`, `delete_model`."""

from __future__ import annotations

from dataclasses import replace

from monitorx.core import Environment, ModelConfig, ModelType, Thresholds
from monitorx.store import Storage

MODELS = [
    ModelConfig(
        id="fraud-v3",
        model_type=ModelType.TABULAR,
        name="Fraud detector",
        version="3.1.0",
        environment=Environment.PROD,
        thresholds=Thresholds(latency_ms=250.0, error_rate=0.05, drift_confidence=0.8),
        tags={"team": "risk", "région": "Zürich"},
    ),
    ModelConfig(id="chat.llm:2", model_type=ModelType.LLM, name="chat.llm:2"),
    ModelConfig(
        id="vision_x",
        model_type=ModelType.CV,
        name="Vision — 東京",
        version="0.1",
        environment=Environment.STAGING,
        thresholds=Thresholds(
            latency_ms=12.5,
            error_rate=0.0,
            gpu_memory_mb=20_000.0,
            cpu_percent=90.0,
            memory_mb=8_000.0,
            drift_confidence=1.0,
        ),
    ),
]


def _by_id(models: list[ModelConfig]) -> list[ModelConfig]:
    return sorted(models, key=lambda m: m.id)


async def test_saving_a_new_model_creates_it(storage: Storage) -> None:
    for model in MODELS:
        assert await storage.save_model(model) is True, model.id

    for model in MODELS:
        assert await storage.get_model(model.id) == model
    assert _by_id(await storage.list_models()) == _by_id(MODELS)


async def test_saving_again_replaces_the_model(storage: Storage) -> None:
    for model in MODELS:
        await storage.save_model(model)
    changed = replace(
        MODELS[0],
        name="Fraud detector, retrained",
        version="3.2.0",
        environment=Environment.DEV,
        thresholds=Thresholds(latency_ms=300.0),
        tags={},
    )

    assert await storage.save_model(changed) is False

    assert await storage.get_model(changed.id) == changed
    assert _by_id(await storage.list_models()) == _by_id([changed, *MODELS[1:]])


async def test_an_unknown_model_is_none(storage: Storage) -> None:
    await storage.save_model(MODELS[0])

    assert await storage.get_model("never-registered") is None
    assert await storage.get_model("fraud") is None


async def test_an_empty_registry_lists_nothing(storage: Storage) -> None:
    assert await storage.list_models() == []


async def test_deleting_a_model_removes_it_alone(storage: Storage) -> None:
    for model in MODELS:
        await storage.save_model(model)

    assert await storage.delete_model(MODELS[1].id) is True

    assert await storage.get_model(MODELS[1].id) is None
    assert _by_id(await storage.list_models()) == _by_id([MODELS[0], MODELS[2]])
    assert await storage.delete_model(MODELS[1].id) is False
    assert await storage.delete_model("never-registered") is False


async def test_a_deleted_model_can_be_created_again(storage: Storage) -> None:
    await storage.save_model(MODELS[0])
    await storage.delete_model(MODELS[0].id)

    assert await storage.save_model(MODELS[0]) is True
    assert await storage.get_model(MODELS[0].id) == MODELS[0]


async def test_thresholds_left_unset_stay_unset(storage: Storage) -> None:
    for model in MODELS:
        await storage.save_model(model)

    for model in MODELS:
        found = await storage.get_model(model.id)
        assert found is not None
        assert found.thresholds.to_dict() == model.thresholds.to_dict(), model.id
