"""A real local peer for alerting tests: an HTTP receiver that records every request.

The receiver stands in for Slack, PagerDuty, Teams and webhook hosts (which are not
on this machine): it is a real HTTP server on 127.0.0.1, in a thread, answering
what the test tells it to, so each test checks the exact bytes a channel sent.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.perf_counter)
    """When the request was read (``time.perf_counter``)."""

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)


class _Server(ThreadingHTTPServer):
    # Room for a storm's concurrent connections (the standard library's default
    # listen backlog is 5: a burst past it is refused, as no real receiver would).
    request_queue_size = 256


class HttpReceiver:
    """Records requests; answers each with the next queued Answer (or the default)."""

    def __init__(self, port: int = 0) -> None:
        self.requests: list[Recorded] = []
        self.answers: list[Answer] = []
        self.default = Answer()
        self.delay_s = 0.0  # how long each answer takes (a slow receiver)
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append(
                        Recorded(self.command, self.path, dict(self.headers.items()), body)
                    )
                    answer = receiver.answers.pop(0) if receiver.answers else receiver.default
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_POST = _handle
            do_PUT = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep the test output (and the captured logs) to the channel's own

        self._server = _Server(("127.0.0.1", port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.01,), daemon=True
        )

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, status: int, body: str | bytes = b"", **headers: str) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.answers.append(Answer(status, data, headers))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Recorded]:
        """The requests once at least ``count`` arrived (fails after ``timeout`` s)."""
        wait_until(lambda: len(self.requests) >= count, timeout)
        return list(self.requests)


def wait_until(
    condition: Callable[[], bool],
    timeout: float = 10.0,
    result: Callable[[], Any] = lambda: None,
) -> Any:
    """Poll ``condition`` every 10 ms; raise AssertionError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.01)
    return result()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: a receiver that is down."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()
    return f"http://127.0.0.1:{port}/hook"
