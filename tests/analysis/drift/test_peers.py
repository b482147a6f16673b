"""Without the peers' environment the comparisons fail under CI, skip elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.analysis.drift import peers


def test_missing_peers_fail_under_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(peers, "PEERS_PYTHON", tmp_path / "missing" / "python")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="venv-peers"):
        peers.run_peer("evidently_peer.py", {"cases": []})


def test_missing_peers_skip_outside_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(peers, "PEERS_PYTHON", tmp_path / "missing" / "python")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        peers.run_peer("evidently_peer.py", {"cases": []})


def test_a_failing_peer_fails_the_comparison() -> None:
    with pytest.raises(pytest.fail.Exception, match="failed"):
        peers.run_peer("evidently_peer.py", {"no cases": []})
