"""Credential-shaped values out of log lines: the text rules, and the filter on records
formatted as uvicorn formats them."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from uvicorn.logging import AccessFormatter, DefaultFormatter

from monitorx.server.log_redaction import (
    CredentialLogRedaction,
    install_log_redaction,
    is_credential_name,
    redact_credentials,
)

KEY = "mx_Zq8sKx2LrWv0aT4nH7eYc1BuJd9FgPo3"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # uvicorn's access line and its WebSocket line
        (
            f'127.0.0.1:5 - "GET /api/v1/models?api_key={KEY} HTTP/1.1" 200',
            '127.0.0.1:5 - "GET /api/v1/models?api_key=<secret> HTTP/1.1" 200',
        ),
        (
            f'127.0.0.1:5 - "WebSocket /api/v1/ws?model_id=a&token={KEY}&x=1" [accepted]',
            '127.0.0.1:5 - "WebSocket /api/v1/ws?model_id=a&token=<secret>&x=1" [accepted]',
        ),
        # any case, any credential-shaped name, a percent-encoded name
        (
            f"/x?API_KEY={KEY}&apiKey={KEY}&api%5Fkey={KEY}&Access_Token={KEY}&limit=5",
            "/x?API_KEY=<secret>&apiKey=<secret>&api%5Fkey=<secret>&Access_Token=<secret>&limit=5",
        ),
        (
            f"/x?password={KEY}&client_secret={KEY}&key={KEY}&sig={KEY}&start=2026-01-01",
            "/x?password=<secret>&client_secret=<secret>&key=<secret>&sig=<secret>"
            "&start=2026-01-01",
        ),
        # the WebSocket library's debug lines: a frame, a handshake header
        (
            f'< TEXT \'{{"type":"auth","api_key":"{KEY}"}}\' [60 bytes]',
            '< TEXT \'{"type":"auth","api_key":"<secret>"}\' [60 bytes]',
        ),
        (f"< x-api-key: {KEY}", "< x-api-key: <secret>"),
        (f"< Authorization: Bearer {KEY}", "< Authorization: <secret>"),
        # an elided frame whose value lost its closing quote
        ('< TEXT \'{"token": "eyJhbGciOi...', '< TEXT \'{"token": "<secret>'),
        # an ASGI scope at trace level
        (
            f"{{'query_string': b'api_key={KEY}', 'headers': [(b'x-api-key', b'{KEY}')]}}",
            "{'query_string': b'api_key=<secret>', 'headers': [(b'x-api-key', b'<secret>')]}",
        ),
        (f"retrying with Bearer {KEY} now", "retrying with Bearer <secret> now"),
        (f"sent Token {KEY} to /api/v2/write", "sent Token <secret> to /api/v2/write"),
    ],
)
def test_credential_values_are_replaced(line: str, expected: str) -> None:
    assert redact_credentials(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        '127.0.0.1:5 - "GET /api/v1/metrics/aggregate?model_id=a&agg=p95&interval=30 HTTP/1.1" 200',
        "KeyError: 'fraud-v3'",
        "< sec-websocket-key: 1C1IJwQWGNoS+/1cYk1mfg==",
        '{"type": "subscribed", "models": null}',
        "api_key=<secret>",
    ],
)
def test_lines_without_a_credential_are_kept(line: str) -> None:
    assert redact_credentials(line) == line


@pytest.mark.parametrize(
    ("name", "credential"),
    [
        ("api_key", True),
        ("API-KEY", True),
        ("apiKey", True),
        ("apikey", True),
        ("x-auth-token", True),
        ("refresh_token", True),
        ("PASSWORD", True),
        ("model_id", False),
        ("interval", False),
        ("passed", False),
        ("Sec-WebSocket-Key", False),
    ],
)
def test_credential_names(name: str, credential: bool) -> None:
    assert is_credential_name(name) is credential


@pytest.fixture
def uvicorn_like() -> Iterator[tuple[logging.Logger, logging.Logger, io.StringIO]]:
    """Loggers and handlers as uvicorn's default config sets them up."""
    out = io.StringIO()
    access, error = logging.getLogger("test.access"), logging.getLogger("test.error")
    handlers = []
    for logger, formatter in (
        (access, AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s')),
        (error, DefaultFormatter("%(levelprefix)s %(message)s", use_colors=False)),
    ):
        handler = logging.StreamHandler(out)
        handler.setFormatter(formatter)
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        handlers.append((logger, handler))
    yield access, error, out
    for logger, handler in handlers:
        logger.removeHandler(handler)
        logger.filters.clear()


def test_uvicorn_lines_are_redacted_and_keep_their_format(
    uvicorn_like: tuple[logging.Logger, logging.Logger, io.StringIO],
) -> None:
    access, error, out = uvicorn_like
    install_log_redaction([access, error])
    # As uvicorn's protocols log them: the access formatter reads its five arguments.
    access.info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", f"/api/v1/models?api_key={KEY}", "1.1", 200
    )
    error.info('%s - "WebSocket %s" [accepted]', "127.0.0.1:6", f"/api/v1/ws?token={KEY}")
    error.debug("< %s: %s", "X-API-Key", KEY)
    try:
        raise ValueError(f"bad request /x?password={KEY}")
    except ValueError:
        error.exception("failed on %s", "/x")
    text = out.getvalue()
    assert KEY not in text
    assert '127.0.0.1:5 - "GET /api/v1/models?api_key=<secret> HTTP/1.1" 200' in text
    assert '"WebSocket /api/v1/ws?token=<secret>" [accepted]' in text
    assert "< X-API-Key: <secret>" in text
    assert "ValueError: bad request /x?password=<secret>" in text


def test_install_is_idempotent_and_covers_handlers(
    uvicorn_like: tuple[logging.Logger, logging.Logger, io.StringIO],
) -> None:
    access, error, _ = uvicorn_like
    first = install_log_redaction([access, error])
    assert install_log_redaction([access, error]) is first
    for target in (access, error, *access.handlers, *error.handlers):
        assert len([f for f in target.filters if isinstance(f, CredentialLogRedaction)]) == 1
    assert first in access.filters and first in error.filters


def test_a_record_from_another_logger_is_redacted_by_the_handler(
    uvicorn_like: tuple[logging.Logger, logging.Logger, io.StringIO],
) -> None:
    _, error, out = uvicorn_like
    install_log_redaction([error])
    child = logging.getLogger("test.error.child")  # propagates to error's handler
    child.warning("called %s", f"https://peer/hook?access_token={KEY}")
    assert KEY not in out.getvalue()
    assert "access_token=<secret>" in out.getvalue()
