"""Secrets in channel configs: held opaquely, shown redacted, scrubbed from text.

A channel's secrets are its SMTP password, webhook signing secret, PagerDuty routing
key, the Slack and Teams webhook URLs (their paths are the credentials), the
credentials a generic webhook URL carries (a password, a token in its path or
query: `redact_url_credentials`) and any credential-looking webhook header. A
`Secret` never prints its value (``repr``, ``str``, f-strings, dataclass reprs,
tracebacks); code that must send it calls ``reveal()``. Public views show
`REDACTED` instead, and error texts that a peer or a driver wrote are passed
through `scrub()` before they reach a log or an API answer.

httpx logs every request's full URL at INFO on the ``httpx`` logger, which would put
a Slack or Teams token in the server's log. `install_http_log_redaction()` (called
once by the server at start-up) rewrites those records to keep only scheme and host.
"""

from __future__ import annotations

__all__ = [
    "REDACTED",
    "HttpLogRedaction",
    "Secret",
    "install_http_log_redaction",
    "redact_url",
    "redact_url_credentials",
    "scrub",
    "url_credentials",
    "url_secret_parts",
]

import logging
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

import httpx

# How a secret is shown; also refused as a value, so a redacted view sent back as a
# config can never replace a real secret with this marker.
REDACTED = "<secret>"


class Secret:
    """A string that does not show itself. ``reveal()`` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    def __str__(self) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash((Secret, self._value))


def redact_url(url: str) -> str:
    """``scheme://host[:port]/<secret>``: where a secret URL points, without its token."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return REDACTED
    if not parts.scheme or not host:
        return REDACTED
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}/{REDACTED}"


# A path segment or query value this long is taken for a token (Slack's are 24
# characters, a Workflows `sig` 43); shorter ones are words like "services".
_TOKEN_MIN_LENGTH = 16


def url_secret_parts(url: str) -> tuple[str, ...]:
    """The pieces of a secret URL that must not appear in text: the URL, its path and
    query, each token-like segment or value, and their percent-encoded forms (a peer
    may echo any of them)."""
    pieces = [url]
    try:
        parts = urlsplit(url)
    except ValueError:
        return (url,)
    tail = parts.path + (f"?{parts.query}" if parts.query else "")
    # A bare "/" or a short path says nothing secret; tokens are long.
    if len(tail) >= 8:
        pieces.append(tail)
    words = parts.path.split("/") + [v for _, v in parse_qsl(parts.query)]
    pieces += [w for w in words if len(w) >= _TOKEN_MIN_LENGTH]
    if parts.password:
        pieces.append(parts.password)
    pieces += [quote(p, safe="") for p in list(pieces)]
    return tuple(dict.fromkeys(pieces))


# A query parameter whose name says it holds a credential (``token``, ``api_key``,
# ``sig``, ``code`` as Azure Functions name theirs, ``X-Amz-Signature`` …).
_CREDENTIAL_PARAM = re.compile(
    r"auth|token|secret|key|pass|sig|session|credential|code|hash|jwt", re.IGNORECASE
)


def _token_like(text: str) -> bool:
    """A path segment or value that reads as a random token: long, with a digit, or
    with upper and lower case mixed (``aB3…``, a UUID; not ``alertmanager-webhook``)."""
    if len(text) < _TOKEN_MIN_LENGTH:
        return False
    has_digit = any(c.isdigit() for c in text)
    mixed_case = any(c.isupper() for c in text) and any(c.islower() for c in text)
    return has_digit or mixed_case


def _credential_param(name: str, value: str) -> bool:
    return bool(value) and (bool(_CREDENTIAL_PARAM.search(name)) or _token_like(value))


def url_credentials(url: str) -> tuple[str, ...]:
    """The credentials ``url`` carries (see `redact_url_credentials`), as written in
    it; empty for a URL that carries none."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return (url,)
    found = [parts.password] if parts.password else []
    found += [s for s in parts.path.split("/") if _token_like(s)]
    for pair in parts.query.split("&") if parts.query else []:
        name, _, value = pair.partition("=")
        if _credential_param(name, value):
            found.append(value)
    return tuple(found)


def redact_url_credentials(url: str) -> str:
    """``url`` with each credential it carries replaced by `REDACTED`: a password,
    token-like path segments, and query values that are token-like or under a
    credential-shaped name. A URL that carries none comes back unchanged, so where
    a webhook points stays readable."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return REDACTED
    netloc = parts.netloc
    if parts.password is not None:
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host
        netloc = f"{parts.username or ''}:{REDACTED}@{host}" + (f":{port}" if port else "")
    path = "/".join(REDACTED if _token_like(s) else s for s in parts.path.split("/"))
    pairs = []
    for pair in parts.query.split("&") if parts.query else []:
        name, equals, value = pair.partition("=")
        pairs.append(f"{name}{equals}{REDACTED if _credential_param(name, value) else value}")
    return urlunsplit(parts._replace(netloc=netloc, path=path, query="&".join(pairs)))


# Secrets shorter than this are not scrubbed from free text: replacing every "ab" in
# a peer's error message would destroy it and protect nothing.
_MIN_SCRUB_LENGTH = 4


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret replaced by `REDACTED`."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= _MIN_SCRUB_LENGTH:
            text = text.replace(secret, REDACTED)
    return text


def _redacted_arg(value: object) -> object:
    if isinstance(value, httpx.URL):
        return redact_url(str(value))
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return redact_url(value)
    return value


class HttpLogRedaction(logging.Filter):
    """Rewrites URL arguments of httpx's log records to `redact_url` form."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(_redacted_arg(a) for a in record.args)
        return True


def install_http_log_redaction(logger: logging.Logger | None = None) -> HttpLogRedaction:
    """Attach `HttpLogRedaction` to the ``httpx`` logger once; return the filter."""
    target = logger or logging.getLogger("httpx")
    for existing in target.filters:
        if isinstance(existing, HttpLogRedaction):
            return existing
    redaction = HttpLogRedaction()
    target.addFilter(redaction)
    return redaction
