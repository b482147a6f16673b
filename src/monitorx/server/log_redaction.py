"""Credentials out of the server's log, whatever a client sends.

A client may put a key in a URL (``/api/v1/ws?api_key=…``), and uvicorn logs every
request line: the access log (``"GET /x?api_key=… HTTP/1.1" 200``), its WebSocket
lines on ``uvicorn.error`` (``"WebSocket /api/v1/ws?…" [accepted]``) and, at debug
level, the WebSocket library's handshake headers (``< x-api-key: …``) and frames
(``< TEXT '{"type":"auth","api_key":"…"}'``). `redact_credentials()` replaces the
value of every credential-shaped name in such text with `REDACTED`, and
`CredentialLogRedaction` applies it to each log record. `install_log_redaction()`
(called by the app at start-up, after uvicorn configured logging) puts the filter on
uvicorn's loggers and on the handlers that write the server's log, so every way of
running the app is covered.

The secrets of channel configs are another concern, handled where they are held:
`monitorx.alerting.notify.channels.redaction` (whose marker this module shares).
"""

from __future__ import annotations

__all__ = [
    "CredentialLogRedaction",
    "install_log_redaction",
    "is_credential_name",
    "redact_credentials",
]

import logging
import re
from collections.abc import Iterable
from urllib.parse import unquote_plus

from uvicorn.config import LOGGING_CONFIG

from monitorx.alerting.notify.channels.redaction import REDACTED

# A name is credential-shaped when one of its words (split at ``_ - .`` and at
# camelCase) is one of these, or when it ends with one of the suffixes (``apikey``,
# ``xauthtoken``). Over-redacting a log line costs little; a leaked key costs a lot.
_CREDENTIAL_WORDS = frozenset(
    {
        "apikey",
        "auth",
        "authorization",
        "bearer",
        "cookie",
        "credential",
        "credentials",
        "jwt",
        "key",
        "otp",
        "pass",
        "passphrase",
        "passwd",
        "password",
        "pwd",
        "secret",
        "session",
        "sessionid",
        "sig",
        "signature",
        "token",
        "totp",
    }
)
_CREDENTIAL_SUFFIXES = ("key", "token", "secret", "password", "passwd", "signature")
# Query parameters that carry a credential under a plain name: OAuth's authorization
# code (RFC 6749 §4.1.2), which the OpenID provider appends to /auth/oidc/callback.
# Matched as whole names, and only in ``name=value`` text: "status_code" stays.
_CREDENTIAL_PARAMETERS = frozenset({"code"})
# Names that look like credentials and are not: the WebSocket handshake's nonces.
_NOT_CREDENTIALS = frozenset({"sec-websocket-key", "sec-websocket-accept"})

_NAME_CHARS = r"A-Za-z0-9_.%+\-"
# ``name=value`` in a query string, a form body or key=value text. The value runs to
# the next separator of a query string, whitespace, a quote or an angle bracket.
_ASSIGNED = re.compile(rf"(?<![{_NAME_CHARS}])([{_NAME_CHARS}]+)=([^&;#\s\"'<>]*)")
# ``"name": "value"`` (JSON), ``'name': 'value'`` (a Python repr) and the header pairs
# ``(b'name', b'value')`` of an ASGI scope. The closing quote may be cut off (an
# elided WebSocket frame), then the value runs to the end of the text.
_QUOTED = re.compile(
    rf"""(["'])([{_NAME_CHARS}]{{1,64}})\1(\s*[:,=]\s*b?)(["'])((?:\\.|(?!\4)[^\\])*)(\4?)"""
)
# ``name: value`` as a header line (the WebSocket library logs ``< x-api-key: …``).
_HEADER_LINE = re.compile(r"(?m)^([<>]?[ \t]*)([A-Za-z0-9_\-]+)([ \t]*:[ \t]*)(\S[^\r\n]*)")
# ``Bearer <token>`` / ``Basic <credentials>`` anywhere, and InfluxDB's ``Token <key>``
# (capitalised, as clients send it: "token" is too common a word in messages).
_SCHEME = re.compile(r"\b((?i:bearer|basic)|Token)(\s+)([A-Za-z0-9._~+/=\-]{8,})")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")


def is_credential_name(name: str, *, camel_case: bool = True) -> bool:
    """Whether a parameter, field or header called ``name`` holds a credential:
    ``api_key``, ``apiKey``, ``API-KEY``, ``api%5Fkey``, ``access_token``,
    ``X-API-Key``, ``password``, ``client_secret`` … (case-insensitive)."""
    text = unquote_plus(name)
    if text.lower() in _NOT_CREDENTIALS:
        return False
    if camel_case:
        text = _CAMEL.sub("_", text)
    words = [w for w in _WORD_SPLIT.split(text.lower()) if w]
    if not words:
        return False
    return any(w in _CREDENTIAL_WORDS for w in words) or "".join(words).endswith(
        _CREDENTIAL_SUFFIXES
    )


def _assigned(match: re.Match[str]) -> str:
    name, value = match.group(1), match.group(2)
    if not value or not (name.lower() in _CREDENTIAL_PARAMETERS or is_credential_name(name)):
        return match.group(0)
    return f"{name}={REDACTED}"


def _quoted(match: re.Match[str]) -> str:
    quote, name, separator, value_quote, closing = match.group(1, 2, 3, 4, 6)
    if not is_credential_name(name):
        return match.group(0)
    return f"{quote}{name}{quote}{separator}{value_quote}{REDACTED}{closing}"


def _header_line(match: re.Match[str]) -> str:
    prefix, name, separator = match.group(1, 2, 3)
    # Header names are not camelCase: "KeyError: …" is an exception, not a header.
    if not is_credential_name(name, camel_case=False):
        return match.group(0)
    return f"{prefix}{name}{separator}{REDACTED}"


def redact_credentials(text: str) -> str:
    """``text`` with the value of every credential-shaped query parameter, JSON or
    repr field, header line and ``Bearer``/``Basic`` credential replaced by
    `REDACTED`; everything else is kept as it was."""
    if "=" in text:
        text = _ASSIGNED.sub(_assigned, text)
    if "'" in text or '"' in text:
        text = _QUOTED.sub(_quoted, text)
    if ":" in text:
        text = _HEADER_LINE.sub(_header_line, text)
    return _SCHEME.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)


_TRACEBACKS = logging.Formatter()


class CredentialLogRedaction(logging.Filter):
    """Rewrites a record whose text holds a credential, keeping its shape where it
    can: string arguments are redacted one by one (uvicorn's access formatter reads
    its five arguments back), and only when that is not enough (a header line split
    over two arguments) does the record become its redacted message."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a broken record: logging reports it, with nothing to redact
        redacted = redact_credentials(message)
        if redacted != message:
            self._rewrite(record, redacted)
        if record.exc_info and not record.exc_text:
            record.exc_text = redact_credentials(_TRACEBACKS.formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact_credentials(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_credentials(record.stack_info)
        return True

    @staticmethod
    def _rewrite(record: logging.LogRecord, redacted: str) -> None:
        if isinstance(record.args, tuple) and record.args:
            original = (record.msg, record.args)
            record.args = tuple(
                redact_credentials(a) if isinstance(a, str) else a for a in record.args
            )
            if isinstance(record.msg, str):
                record.msg = redact_credentials(record.msg)
            try:
                if record.getMessage() == redacted:
                    return
            except (TypeError, ValueError):
                pass
            record.msg, record.args = original
        record.msg = redacted
        record.args = ()


# The loggers that write request lines: uvicorn's access log and its error log (the
# WebSocket lines and, at debug level, the WebSocket library's handshake and frames).
# uvicorn's own loggers, as its default logging configuration names them.
_SERVER_LOGGERS = tuple(LOGGING_CONFIG["loggers"])


def _add_once(target: logging.Logger | logging.Handler, redaction: CredentialLogRedaction) -> None:
    if not any(isinstance(f, CredentialLogRedaction) for f in target.filters):
        target.addFilter(redaction)


def install_log_redaction(
    loggers: Iterable[logging.Logger] | None = None,
) -> CredentialLogRedaction:
    """Put one `CredentialLogRedaction` on uvicorn's loggers (records logged there),
    and on their handlers and the root logger's (records that propagate from
    elsewhere); idempotent. Call it after logging is configured: ``dictConfig``
    replaces handlers, and uvicorn configures logging before the app starts."""
    targets = (
        list(loggers)
        if loggers is not None
        else [logging.getLogger(name) for name in _SERVER_LOGGERS] + [logging.getLogger()]
    )
    existing = [f for t in targets for f in t.filters if isinstance(f, CredentialLogRedaction)]
    redaction = existing[0] if existing else CredentialLogRedaction()
    for logger in targets:
        _add_once(logger, redaction)
        for handler in logger.handlers:
            _add_once(handler, redaction)
    return redaction
