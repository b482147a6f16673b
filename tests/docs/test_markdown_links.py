"""Every link in the repository's markdown resolves inside the repository: a reader
of README.md or docs/ never lands on a file they do not have (such as the steering
notes beside the repository), and anchors name a heading of the page."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
_FENCE = re.compile(r"^```.*?^```", re.M | re.S)
_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\[[^\]]*\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
_HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*$", re.M)


def _markdown_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return sorted(ROOT / name for name in listed if (ROOT / name).is_file())


FILES = _markdown_files()


def _prose(path: Path) -> str:
    """The page without code blocks (a link there is an example, not a link)."""
    return _FENCE.sub("", path.read_text())


def _slug(title: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as -."""
    title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title).lower()
    return re.sub(r"[^\w\- ]", "", title).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    anchors: set[str] = set()
    for heading in _HEADING.finditer(_prose(path)):
        slug, n = _slug(heading["title"]), 1
        candidate = slug
        while candidate in anchors:
            candidate, n = f"{slug}-{n}", n + 1
        anchors.add(candidate)
    return anchors


def test_the_pages_are_found() -> None:
    names = {str(p.relative_to(ROOT)) for p in FILES}
    assert {"README.md", "docs/api.md", "docs/sdk.md"} <= names


@pytest.mark.parametrize("page", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_relative_links_resolve_inside_the_repository(page: Path) -> None:
    broken = []
    for link in _LINK.finditer(_prose(page)):
        target = link["target"]
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / unquote(path_part)).resolve() if path_part else page
        if not resolved.is_relative_to(ROOT):
            broken.append(f"{target}: outside the repository")
        elif not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(f"{target}: no heading #{anchor} in {resolved.name}")
    assert broken == []


@pytest.mark.parametrize("page", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_no_page_sends_readers_outside_the_repository(page: Path) -> None:
    """Not as a link and not as a path in code: `../shared/API.md` and the like."""
    outside = [
        span
        for span in re.findall(r"(?:\.\./)+[\w./-]+", page.read_text())
        if not (page.parent / span).resolve().is_relative_to(ROOT)
    ]
    assert outside == []
