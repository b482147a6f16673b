"""The Python examples of the SDK's docs run as written, against a real server.

Every ```python block of the pages below runs in a fresh interpreter, its
``http://127.0.0.1:8000`` pointed at a server of its own, unless the line before it
is ``<!-- not run: why -->``. It must exit 0 without a traceback, and every model
it names in a ``model_id`` must have metrics on that server afterwards: an example
that records nothing, or sends to the wrong place, fails (the SDK would only log).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveServer

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("docs/sdk.md", "docs/llm.md", "docs/instrumentation.md")
DOC_URL = "http://127.0.0.1:8000"
_BLOCK = re.compile(r"(?P<before>[^\n]*)\n```python\n(?P<code>.*?)\n```", re.DOTALL)
_MODEL_ID = re.compile(r"""model_id\s*=\s*["']([^"']+)["']|["']model_id["']:\s*["']([^"']+)["']""")


def _examples() -> list[tuple[str, str]]:
    """(page:line, code) of every example that runs."""
    found = []
    for page in PAGES:
        text = (ROOT / page).read_text()
        for match in _BLOCK.finditer(text):
            if "<!-- not run" not in match["before"]:
                line = text.count("\n", 0, match.start("code"))
                found.append((f"{page}:{line}", match["code"]))
    return found


EXAMPLES = _examples()


def test_each_page_has_examples_that_run() -> None:
    pages = [where.split(":")[0] for where, _ in EXAMPLES]
    assert {page: pages.count(page) for page in PAGES} == {
        "docs/sdk.md": 7,
        "docs/llm.md": 3,
        "docs/instrumentation.md": 3,
    }


@pytest.mark.parametrize("code", [code for _, code in EXAMPLES], ids=[w for w, _ in EXAMPLES])
def test_the_example_runs_and_its_metrics_arrive(
    code: str, live_server: LiveServer, api: httpx.Client, tmp_path: Path
) -> None:
    script = tmp_path / "example.py"
    script.write_text(code.replace(DOC_URL, live_server.url))
    env = {"PATH": "/usr/bin:/bin", "MONITORX_URL": live_server.url, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    models = {a or b for a, b in _MODEL_ID.findall(code)}
    for model in models:
        stored = api.get("/metrics/inference", params={"model_id": model}).json()
        assert stored, f"the example recorded nothing for {model!r}: {done.stderr}"
