"""Without chromium the browser tests skip on a workstation and fail under CI=true."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
A_BROWSER_TEST = "tests/dashboard/test_browser_auth.py::test_login_with_a_jwt"


def run_without_chromium(ci: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"MONITORX_TEST_CHROMIUM": "/nonexistent/chromium", "CI": ci}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", A_BROWSER_TEST],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("ci", "exit_code", "outcome"), [("true", 1, "1 error"), ("", 0, "1 skipped")]
)
def test_missing_chromium_fails_under_ci_and_skips_elsewhere(
    ci: str, exit_code: int, outcome: str
) -> None:
    result = run_without_chromium(ci)
    assert result.returncode == exit_code, result.stdout
    assert outcome in result.stdout
    assert "/nonexistent/chromium is missing: run scripts/ensure-chromium" in result.stdout
