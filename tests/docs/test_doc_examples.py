"""Every example in README.md and docs/ runs as written, against a server started as
the README's tour starts one: ``monitorx serve`` with auth on (the default) and its
data in ``./data``.

- One server per page, a subprocess with a fresh data directory ``data/`` in the
  page's working directory: its first start writes ``data/admin-api-key``, as on a
  reader's machine. ``.venv`` in that directory is the repository's.
- A page's examples run in order and build on each other: one server, one working
  directory (a file one block writes, the next reads), and the shell variables a
  bash block sets are set in the page's later bash blocks.
- The environment is a reader's after the setup docs/api.md describes
  (``export KEY=$(cat data/admin-api-key)``, ``export MONITORX_API_KEY=$KEY``): KEY
  and MONITORX_API_KEY hold the admin key, and the virtualenv's ``bin`` is first on
  PATH (``monitorx``, ``python``).
- The one substitution: the server listens on a free port, not 8000, so
  ``localhost:8000`` and ``127.0.0.1:8000`` in the code name that port, and so does
  MONITORX_URL (the SDK's default URL). A page that names port 4317 gets a server
  that also serves OTLP/gRPC, on another free port, which ``localhost:4317`` names.
- bash, sh and console blocks run with ``set -euo pipefail`` and ``curl`` with
  ``--fail-with-body``: a failing command or an HTTP error fails the block. A
  python block runs in a fresh interpreter and must exit 0 without a traceback; on
  the SDK's pages, every model it names in a ``model_id`` must have gained metrics
  on the server (the SDK would only log a failed delivery). A json block must parse
  (one JSON value, or one per line).
- A block right after ``<!-- not run: why -->`` is not run:
  ``test_the_blocks_not_run_are_the_known_ones`` lists them.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.docs.examples import (
    CHECK_LANGUAGES,
    PAGES,
    ROOT,
    RUN_LANGUAGES,
    Example,
    console_commands,
    examples,
    uses_otlp_grpc,
    with_port,
)
from tests.system.conftest import ServerProcess, start_server

pytestmark = pytest.mark.system

# The pages whose python blocks must make the models they name gain metrics.
SDK_PAGES = ("docs/sdk.md", "docs/llm.md", "docs/instrumentation.md")
# How many blocks of each page are marked not to be run: a block is not dropped
# from the run without this table saying so.
NOT_RUN = {
    "README.md": 4,
    "docs/channels.md": 1,
    "docs/dashboard.md": 3,
    "docs/deployment.md": 6,
    "docs/grafana.md": 3,
    "docs/llm.md": 1,
    "docs/notifications.md": 1,
    "docs/opentelemetry.md": 1,
    "docs/performance.md": 9,
    "docs/sdk.md": 2,
    "docs/security.md": 7,
    "docs/storage.md": 2,
    "docs/traces.md": 1,
}
VENV = Path(sys.executable).parents[1]
_MODEL_ID = re.compile(r"""model_id\s*=\s*["']([^"']+)["']|["']model_id["']:\s*["']([^"']+)["']""")

_SHELL = """\
set -euo pipefail
curl() {{ command curl --fail-with-body --show-error "$@"; }}
source ./.examples-state
__before=$(compgen -v | sort)
{code}
# The variables the block set, for the page's later blocks.
for __name in $(comm -13 <(printf '%s\\n' "$__before") <(compgen -v | sort)); do
  case $__name in __*|BASH*|FUNCNAME|PIPESTATUS|_) ;; *) declare -p "$__name" ;; esac
done >> ./.examples-state
"""

ALL = [example for page in PAGES for example in examples(page)]
RUN = [e for e in ALL if e.lang in RUN_LANGUAGES and e.not_run is None]
RUN_PAGES = [page for page in PAGES if any(e.page == page for e in RUN)]


def test_the_blocks_not_run_are_the_known_ones() -> None:
    not_run = [e for e in ALL if e.not_run is not None]
    listing = "\n".join(f"{e.where} ({e.lang}): {e.not_run}" for e in not_run)
    print(f"\n{len(not_run)} blocks not run:\n{listing}")
    assert all(e.not_run for e in not_run), f"a marker without its reason:\n{listing}"
    counted = {page: sum(e.page == page for e in not_run) for page in NOT_RUN}
    assert counted == NOT_RUN, listing
    assert not_run == [e for e in not_run if e.page in NOT_RUN], listing


def test_every_page_is_looked_at() -> None:
    assert "docs/api.md" in RUN_PAGES and "README.md" in RUN_PAGES
    assert len(RUN) >= 40


JSON_EXAMPLES = [e for e in ALL if e.lang in CHECK_LANGUAGES and e.not_run is None]


@pytest.mark.parametrize("example", JSON_EXAMPLES, ids=[e.where for e in JSON_EXAMPLES])
def test_the_json_example_parses(example: Example) -> None:
    """One JSON value, or several in a row (a stream of messages)."""
    decoder, text, at = json.JSONDecoder(), example.code, 0
    while at < len(text):
        try:
            _, end = decoder.raw_decode(text, at)
        except json.JSONDecodeError as exc:
            line = example.line + text.count("\n", 0, exc.pos)
            pytest.fail(f"{example.page}:{line} is not JSON: {exc.msg}\n{text}")
        at = end + len(text[end:]) - len(text[end:].lstrip())


class PageRun:
    """A page's server, working directory and environment."""

    def __init__(self, server: ServerProcess, work: Path, grpc_port: int | None) -> None:
        self.server = server
        self.work = work
        self.grpc_port = grpc_port
        self.port = int(server.url.rsplit(":", 1)[1])
        self.key = (server.data_dir / "admin-api-key").read_text().strip()
        (work / ".venv").symlink_to(VENV)
        (work / ".examples-state").touch()
        self.env = {
            "PATH": f"{VENV / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(work),
            "LANG": "C.UTF-8",
            "KEY": self.key,
            "MONITORX_API_KEY": self.key,
            "MONITORX_URL": server.url,
            "PYTHONPATH": str(ROOT / "src"),
        }

    def metric_count(self, model_id: str) -> int:
        response = httpx.get(
            f"{self.server.api}/metrics/inference",
            params={"model_id": model_id, "limit": 10_000},
            headers={"X-API-Key": self.key},
            timeout=30,
        )
        response.raise_for_status()
        return len(response.json())

    def run(self, example: Example) -> None:
        code = with_port(example.code, self.port, self.grpc_port)
        if example.lang == "console":
            code = console_commands(code)
        if example.lang == "python":
            script = self.work / f"example_{example.line}.py"
            script.write_text(code)
            command = [sys.executable, script.name]
        else:
            command = ["bash", "-c", _SHELL.format(code=code)]
        models = set()
        if example.lang == "python" and example.page in SDK_PAGES:
            models = {a or b for a, b in _MODEL_ID.findall(code)}
        before = {model: self.metric_count(model) for model in models}
        done = subprocess.run(
            command,
            cwd=self.work,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        output = f"--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
        failed = done.returncode != 0 or "Traceback" in done.stderr
        assert not failed, f"{example.where} failed ({done.returncode}):\n{code}\n{output}"
        for model, count in before.items():
            assert self.metric_count(model) > count, (
                f"{example.where} recorded nothing for {model!r}:\n{code}\n{output}"
            )


@pytest.mark.timeout(600)
@pytest.mark.parametrize("page", RUN_PAGES)
def test_the_examples_of_the_page_run_in_order(page: str, tmp_path: Path) -> None:
    grpc_port = free_port() if uses_otlp_grpc(page) else None
    grpc_args = ["--otlp-grpc-port", str(grpc_port)] if grpc_port else []
    server = start_server(tmp_path / "data", {"MONITORX_AUTH_ENABLED": "true"}, grpc_args)
    try:
        run = PageRun(server, tmp_path, grpc_port)
        for example in examples(page):
            if example.lang in RUN_LANGUAGES and example.not_run is None:
                run.run(example)
    except AssertionError as failure:
        log = (server.data_dir / "server.log").read_text()[-2000:]
        raise AssertionError(f"{failure}\n--- server log\n{log}") from None
    finally:
        server.stop()
