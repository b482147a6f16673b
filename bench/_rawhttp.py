"""A minimal HTTP/1.1 load client on raw asyncio sockets.

Requests are encoded once, before timing, so that the client spends almost no CPU
and the figures measure the server. Every response must carry the expected status.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    requests: int = 0
    failures: int = 0
    seconds: float = 0.0
    latencies_s: list[float] = field(default_factory=list)


def encode_post(path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _connection(
    host: str, port: int, requests: list[bytes], expect: bytes, result: LoadResult
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for request in requests:
            started = time.perf_counter()
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            result.latencies_s.append(time.perf_counter() - started)
            result.requests += 1
            if not head.startswith(expect):
                result.failures += 1
    finally:
        writer.close()


def run_load(
    host: str, port: int, requests: list[bytes], connections: int, expect: bytes
) -> LoadResult:
    """Send ``requests`` over ``connections`` keep-alive connections, round robin."""
    result = LoadResult()
    shares = [requests[i::connections] for i in range(connections)]

    async def main() -> None:
        started = time.perf_counter()
        await asyncio.gather(*(_connection(host, port, s, expect, result) for s in shares))
        result.seconds = time.perf_counter() - started

    asyncio.run(main())
    return result
