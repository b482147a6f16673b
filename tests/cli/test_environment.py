"""A `MONITORX_*` variable that nothing reads is named at start, not ignored silently."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from monitorx.cli.environment import SDK_VARIABLES, unknown_variable_warnings
from monitorx.server.settings import Settings
from tests.system.conftest import start_server

ROOT = Path(__file__).resolve().parents[2]
FIELDS = list(Settings.model_fields)
DOCS = "the settings are listed in docs/configuration.md"


def test_a_typo_is_named_with_the_setting_it_was_meant_to_be() -> None:
    env = {
        "MONITORX_ALERT_CLEAR_PERIOD": "60",
        "MONITORX_STORAGE": "postgresql://db/mx",
        "monitorx_auth_enable": "false",
    }
    assert unknown_variable_warnings(env, FIELDS) == [
        "MONITORX_ALERT_CLEAR_PERIOD is not a MonitorX setting and is ignored "
        f"(did you mean MONITORX_ALERT_CLEAR_PERIOD_S?); {DOCS}",
        "MONITORX_STORAGE is not a MonitorX setting and is ignored "
        f"(did you mean MONITORX_STORAGE_URL?); {DOCS}",
        "monitorx_auth_enable is not a MonitorX setting and is ignored "
        f"(did you mean MONITORX_AUTH_ENABLED?); {DOCS}",
    ]


def test_a_setting_of_a_later_release_is_named_without_a_guess() -> None:
    env = {"MONITORX_WEBHOOK_CONCURRENCY": "8"}
    assert unknown_variable_warnings(env, FIELDS) == [
        f"MONITORX_WEBHOOK_CONCURRENCY is not a MonitorX setting and is ignored; {DOCS}"
    ]


def test_settings_the_sdk_and_the_test_harness_pass_quietly() -> None:
    env = {
        "MONITORX_PORT": "8001",
        "monitorx_data_dir": "/srv/mx",  # pydantic-settings reads names in any case
        "MONITORX_URL": "http://mx:8000",
        "MONITORX_API_KEY": "k",
        "MONITORX_MONITORING_MODE": "direct",
        "MONITORX_TEST_BACKEND": "postgres",
        "PATH": "/usr/bin",
        "MONITORXFOO": "1",
    }
    assert unknown_variable_warnings(env, FIELDS) == []


def test_every_variable_the_code_reads_is_known() -> None:
    """A variable the SDK or the commands read, added later, joins SDK_VARIABLES
    or the settings; otherwise every server started beside it would warn."""
    known = {f"MONITORX_{field.upper()}" for field in FIELDS} | SDK_VARIABLES
    read = set()
    for path in (ROOT / "src" / "monitorx").rglob("*.py"):
        if path.name != "environment.py":  # the list itself, and its example of a typo
            read |= set(re.findall(r"MONITORX_[A-Z0-9_]*[A-Z0-9]", path.read_text()))
    assert "MONITORX_URL" in read and "MONITORX_REDIS_CHANNEL" in read
    assert read - known == set()


@pytest.mark.system
def test_serve_warns_at_start_about_a_variable_it_does_not_know(tmp_path: Path) -> None:
    server = start_server(
        tmp_path / "data",
        extra_env={
            "MONITORX_ALERT_CLEAR_PERIOD": "60",
            "MONITORX_URL": "http://127.0.0.1:8000",
            "MONITORX_RETENTION_RAW_S": "86400",
        },
    )
    server.stop()
    log = (tmp_path / "data" / "server.log").read_text()
    assert (
        "monitorx: warning: MONITORX_ALERT_CLEAR_PERIOD is not a MonitorX setting and is "
        "ignored (did you mean MONITORX_ALERT_CLEAR_PERIOD_S?)"
    ) in log
    assert log.count("monitorx: warning:") == 1, log
