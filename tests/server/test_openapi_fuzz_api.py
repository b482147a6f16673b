"""schemathesis over the server's own ``/openapi.json``: no request it generates, valid
or not, gets a 5xx (API.md: "No input a client can send produces a 5xx").

The server runs with auth on, as by default, and every request carries an admin
key, so the generated requests reach the handlers instead of stopping at the 401.
Each operation gets a few requests built from its schema (positive) and a few that
break it (negative); the numbers keep the run near half a minute per backend.
`scripts/test` runs this file on DuckDB, PostgreSQL and InfluxDB.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.conftest import LiveServer, make_settings, run_server

KEY = "schemathesis-admin-key"
AUTH = {"X-API-Key": KEY}
EXAMPLES_PER_MODE = 6

# The standard ways in take protobuf (OTLP, remote_write), which schemathesis cannot
# make from a schema: random bytes, as a broken or hostile client would send.
schemathesis.openapi.media_type("application/x-protobuf", st.binary(max_size=4096))


@pytest.fixture
def secured_server(tmp_path: Path) -> Iterator[LiveServer]:
    with run_server(make_settings(tmp_path / "data", auth_enabled=True, api_keys=[KEY])) as server:
        yield server


# The server runs in this process: on PostgreSQL its connection pool draws from the
# `random` module (psycopg_pool jitters connection lifetimes) while Hypothesis
# generates a case, which Hypothesis takes for a strategy using `random`. The cases
# themselves come from schemathesis' strategies alone.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
def test_no_generated_request_gets_a_5xx(secured_server: LiveServer) -> None:
    schema = schemathesis.openapi.from_url(f"{secured_server.url}/openapi.json", headers=AUTH)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 60, [op.label for op in operations]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES_PER_MODE,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate, Phase.shrink],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def send(case: schemathesis.Case) -> None:
                response = case.call(base_url=secured_server.url, headers=AUTH, timeout=30)
                assert response.status_code < 500, (
                    f"{case.method} {case.formatted_path} query={case.query} "
                    f"body={str(case.body)[:300]}: {response.status_code} {response.text[:300]}"
                )

            try:
                send()
            except Unsatisfiable:
                # An operation with nothing to break (no parameters, no body) has
                # no negative requests.
                if mode is GenerationMode.POSITIVE:
                    raise
