"""The fenced examples of the repository's markdown pages, and how they are run.

An example is a fenced block whose language is one of ``RUN_LANGUAGES`` (run) or
``CHECK_LANGUAGES`` (parsed). The line right before the fence may say
``<!-- not run: why -->``: the block is then listed, with its reason, and not run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("README.md", *sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")))
RUN_LANGUAGES = ("bash", "sh", "console", "python")
CHECK_LANGUAGES = ("json",)

_BLOCK = re.compile(r"(?P<before>[^\n]*)\n```(?P<lang>[a-z]+)[^\n]*\n(?P<code>.*?)\n```", re.DOTALL)
_NOT_RUN = re.compile(r"<!--\s*not run:\s*(?P<why>.*?)\s*-->")


@dataclass(frozen=True)
class Example:
    page: str
    line: int  # of the block's first line of code
    lang: str
    code: str
    not_run: str | None  # the reason, for a block marked not to be run

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def examples(page: str) -> list[Example]:
    """The page's examples in order."""
    text = (ROOT / page).read_text()
    found = []
    for block in _BLOCK.finditer(text):
        if block["lang"] not in RUN_LANGUAGES + CHECK_LANGUAGES:
            continue
        marker = _NOT_RUN.search(block["before"])
        line = text.count("\n", 0, block.start("code")) + 1
        why = None if marker is None else marker["why"]
        found.append(Example(page, line, block["lang"], block["code"], why))
    return found


def console_commands(code: str) -> str:
    """A ``console`` block's commands: its ``$ `` lines, without the prompt."""
    return "\n".join(line[2:] for line in code.splitlines() if line.startswith("$ "))


_OTLP_GRPC = re.compile(r"\b(localhost|127\.0\.0\.1):4317\b")


def uses_otlp_grpc(page: str) -> bool:
    """Whether the page's examples talk OTLP/gRPC to ``localhost:4317``."""
    return any(_OTLP_GRPC.search(e.code) for e in examples(page) if e.not_run is None)


def with_port(code: str, port: int, grpc_port: int | None = None) -> str:
    """The examples talk to ``localhost:8000`` or ``127.0.0.1:8000``, where
    scripts/quickstart and the README serve, and OTLP/gRPC to ``localhost:4317``; the
    test's server has ports of its own."""
    code = re.sub(r"\b(localhost|127\.0\.0\.1):8000\b", rf"\g<1>:{port}", code)
    if grpc_port is not None:
        code = _OTLP_GRPC.sub(rf"\g<1>:{grpc_port}", code)
    return code
