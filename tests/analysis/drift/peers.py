"""Running a peer tool (Evidently, NannyML) on the cases MonitorX is compared on.

The peers live in .venv-peers (scripts/bootstrap dev creates it): Evidently 0.7
needs pandas < 3. Each peer script reads its cases as JSON on stdin and prints
its results as JSON. Without .venv-peers a comparison fails under CI and is
skipped elsewhere.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
PEERS_PYTHON = ROOT / ".venv-peers" / "bin" / "python"
PEER_TIMEOUT_S = 800


def run_peer(script: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The JSON the peer `script` (a file beside this one) prints for `payload`."""
    if not PEERS_PYTHON.exists():
        message = "the peers' environment .venv-peers is missing: run scripts/bootstrap dev"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    completed = subprocess.run(
        [str(PEERS_PYTHON), str(Path(__file__).with_name(script))],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=PEER_TIMEOUT_S,
        check=False,
    )
    if completed.returncode != 0:
        pytest.fail(f"{script} failed:\n{completed.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(completed.stdout)
    return result
