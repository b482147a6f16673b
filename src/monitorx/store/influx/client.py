"""The InfluxDB v1 HTTP API, as the store speaks it: ``/ping``, ``/write``, ``/query``.

InfluxDB 1.x serves this API natively, and 2.x and 3.x serve it for compatibility,
so it is the one surface that reaches all three. Everything goes through one shared
`httpx.AsyncClient` with timeouts; every driver or server error leaves this module
as `StorageError`, carrying InfluxDB's own message.

Queries are sent as POST forms (no URL length limit; 1.x requires POST for
``CREATE``/``DELETE``) with ``chunked=true``: the server streams a large result as
JSON documents of at most ``chunk_size`` rows instead of building it whole in
memory, and no ``max-row-limit`` can truncate it silently.
"""

from __future__ import annotations

__all__ = ["InfluxClient", "Series", "parse_url"]

import asyncio
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import orjson

from monitorx.core import StorageError, ValidationError

DEFAULT_PORT = 8086
# Reads of millions of rows and writes under load take seconds; connecting never should.
_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
_CHUNK_ROWS = 20_000
# Answers up to this size are parsed on the event loop: a thread hop costs more.
_PARSE_INLINE_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class _Target:
    base_url: str
    database: str
    retention_policy: str | None
    auth: httpx.Auth | None
    headers: dict[str, str]


def parse_url(url: str) -> _Target:
    """Read ``influxdb://[user:password@]host[:port]/database[?rp=..&token=..&tls=true]``.

    ``user:password`` is sent as HTTP basic auth (1.x, and 2.x's v1 API); ``token``
    as ``Authorization: Token`` (2.x and 3.x); ``tls=true`` speaks HTTPS.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("influxdb", "influx") or not parts.hostname:
        raise ValidationError(f"not an InfluxDB URL: {url!r}", "storage_url")
    database = unquote(parts.path.strip("/"))
    if not database or "/" in database:
        raise ValidationError(
            "an InfluxDB URL names one database: influxdb://host:8086/db", "storage_url"
        )
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    scheme = "https" if query.get("tls", "").lower() in ("1", "true", "yes") else "http"
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    auth = None
    if parts.username:
        auth = httpx.BasicAuth(unquote(parts.username), unquote(parts.password or ""))
    headers = {"Authorization": f"Token {query['token']}"} if "token" in query else {}
    return _Target(
        f"{scheme}://{host}:{parts.port or DEFAULT_PORT}",
        database,
        query.get("rp"),
        auth,
        headers,
    )


@dataclass(slots=True)
class Series:
    """One series of a statement's result: ``values`` are rows in ``columns`` order."""

    name: str
    tags: dict[str, str]
    columns: list[str]
    values: list[list[Any]] = field(default_factory=list)


class InfluxClient:
    """One InfluxDB database over the v1 HTTP API.

    ``client`` may be a shared `httpx.AsyncClient` (the process's one client, or
    one with a test transport); requests carry absolute URLs and their own
    credentials, so it needs no configuration for InfluxDB. Without it, this
    opens its own, with timeouts, and closes it in `aclose`.
    """

    def __init__(self, url: str, client: httpx.AsyncClient | None = None) -> None:
        self._target = parse_url(url)
        self._shared = client
        self._own: httpx.AsyncClient | None = None

    @property
    def database(self) -> str:
        return self._target.database

    @property
    def base_url(self) -> str:
        return self._target.base_url

    def _http(self) -> httpx.AsyncClient:
        if self._shared is not None:
            return self._shared
        if self._own is None:
            self._own = httpx.AsyncClient(
                timeout=_TIMEOUT,
                limits=httpx.Limits(max_connections=16, max_keepalive_connections=8),
            )
        return self._own

    async def aclose(self) -> None:
        if self._own is not None:
            await self._own.aclose()
            self._own = None

    async def ping(self) -> None:
        """Raise `StorageError` unless the server answers ``/ping``."""
        response = await self._send("GET", "/ping")
        if response.status_code != 204:
            raise StorageError(
                f"InfluxDB at {self.base_url} answered /ping with {response.status_code}"
            )

    async def write(self, body: bytes) -> None:
        """Write line-protocol ``body`` (nanosecond timestamps); returns on 204, once
        InfluxDB has logged the points to its WAL."""
        params = {"db": self.database, "precision": "n"}
        if self._target.retention_policy:
            params["rp"] = self._target.retention_policy
        response = await self._send(
            "POST",
            "/write",
            params=params,
            content=body,
            headers={"Content-Type": "text/plain; charset=utf-8"},
        )
        if response.status_code != 204:
            raise StorageError(f"InfluxDB refused a write: {_message(response)}")

    async def query(self, *statements: str, database: bool = True) -> list[list[Series]]:
        """Run InfluxQL ``statements`` in one request; each statement's series, in order.

        Times come back as integer microseconds (``epoch=u``), which truncates the
        sub-microsecond digits writes use to keep points apart. A large answer is
        parsed on a worker thread, not on the event loop.
        """
        params = {"epoch": "u", "chunked": "true", "chunk_size": str(_CHUNK_ROWS)}
        if database:
            params["db"] = self.database
            if self._target.retention_policy:
                params["rp"] = self._target.retention_policy
        response = await self._send(
            "POST", "/query", params=params, data={"q": ";\n".join(statements)}
        )
        if response.status_code >= 300:
            raise StorageError(f"InfluxDB query failed: {_message(response)}")
        body = response.content
        if len(body) < _PARSE_INLINE_BYTES:
            return _parse(body, len(statements))
        return await asyncio.to_thread(_parse, body, len(statements))

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self._target.headers, **kwargs.pop("headers", {})}
        try:
            return await self._http().request(
                method,
                f"{self.base_url}{path}",
                auth=self._target.auth or httpx.USE_CLIENT_DEFAULT,
                headers=headers,
                **kwargs,
            )
        except httpx.HTTPError as exc:
            raise StorageError(f"InfluxDB at {self.base_url} failed: {exc!r}") from exc


def _parse(body: bytes, statements: int) -> list[list[Series]]:
    """Each statement's series from a chunked answer: one JSON document a line (JSON
    escapes newlines inside strings, so lines split documents)."""
    results: dict[int, list[Series]] = {}
    for line in body.split(b"\n"):
        if line.strip():
            _merge_chunk(orjson.loads(line), results)
    return [results.get(i, []) for i in range(statements)]


def _merge_chunk(chunk: dict[str, Any], results: dict[int, list[Series]]) -> None:
    """Fold one chunk of a chunked response into ``results``: a series split over
    chunks arrives as consecutive parts with the same name and tags."""
    if "error" in chunk:
        raise StorageError(f"InfluxDB query failed: {chunk['error']}")
    for result in chunk.get("results", []):
        if "error" in result:
            raise StorageError(f"InfluxDB query failed: {result['error']}")
        found = results.setdefault(int(result.get("statement_id", 0)), [])
        for part in result.get("series", []):
            name, tags = part.get("name", ""), part.get("tags") or {}
            last = found[-1] if found else None
            if last is not None and last.name == name and last.tags == tags:
                last.values.extend(part.get("values", []))
            else:
                found.append(Series(name, tags, part["columns"], part.get("values", [])))


def _message(response: httpx.Response) -> str:
    """InfluxDB's error text (its JSON ``error``), or the status and body."""
    try:
        body = orjson.loads(response.content)
        if isinstance(body, dict) and "error" in body:
            return f"{response.status_code} {body['error']}"
    except orjson.JSONDecodeError:
        pass
    return f"{response.status_code} {response.text[:500]}"
