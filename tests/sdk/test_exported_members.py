"""The public API is exactly the curated ``__all__`` (as httpx pins its own)."""

from __future__ import annotations

import subprocess
import sys
import types

import monitorx
import monitorx.sdk


def _public_names(module: types.ModuleType) -> list[str]:
    return [
        name
        for name, value in vars(module).items()
        if (not name.startswith("_") or name == "__version__")
        and not isinstance(value, types.ModuleType)
    ]


def test_all_lists_every_public_name_sorted() -> None:
    assert monitorx.__all__ == sorted(_public_names(monitorx))


def test_sdk_all_lists_every_public_name_sorted() -> None:
    assert monitorx.sdk.__all__ == sorted(_public_names(monitorx.sdk))


def test_top_level_names_are_those_of_sdk_md() -> None:
    for name in ("MonitorXClient", "MonitorX", "monitor_inference", "track", "MonitorXError"):
        assert name in monitorx.__all__
    for name in ("init", "flush", "shutdown"):
        assert callable(getattr(monitorx, name))
    assert monitorx.__version__ == "0.1.0"


def test_every_sdk_exception_derives_from_monitorx_error() -> None:
    for name in monitorx.sdk.__all__:
        value = getattr(monitorx.sdk, name)
        if isinstance(value, type) and issubclass(value, BaseException):
            assert issubclass(value, monitorx.MonitorXError), name


def test_importing_monitorx_loads_no_server_dependency() -> None:
    code = (
        "import sys, monitorx; "
        "heavy = {'fastapi', 'starlette', 'pydantic', 'numpy', 'duckdb', 'pyarrow', 'uvicorn',"
        " 'msgspec', 'monitorx.server', 'monitorx.store', 'monitorx.ingest', 'psutil', 'pynvml',"
        " 'redis', 'prometheus_client', 'pandas', 'polars'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
