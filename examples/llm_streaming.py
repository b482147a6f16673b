"""A streaming text model behind ``@monitor_inference``: tokens, time to first token, cost.

    pip install monitorx
    monitorx serve &                                   # the MonitorX server, port 8000
    python examples/llm_streaming.py --port 8081       # this service
    curl -N localhost:8081/generate -d '{"prompt": "the model", "max_tokens": 30}'

    python examples/llm_streaming.py --demo 20         # 20 streamed completions, then exit

With auth on, set ``MONITORX_API_KEY`` for the exporter and the report.

The "model" is a bigram chain built from one paragraph (no download, no GPU): it
waits a little for its "prefill", then yields one word at a time with a short
"decode" step between words, as an LLM streams tokens. ``@monitor_inference`` on
the generator times the whole stream, records the time to the first word, counts
the words as completion tokens (``count_tokens=True``) and prices them
(``pricing=``), and sends each completion to MonitorX in the background.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from collections import defaultdict
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from typing import Any

import httpx

import monitorx

MODEL_ID = "bigram-chat"
# What this model "costs": $0.60 per million completion tokens, priced by the SDK.
PRICING = monitorx.LLMPricing.per_million_tokens(prompt_usd=0.15, completion_usd=0.60)

CORPUS = """
the model reads the prompt and the model writes the answer one word at a time while
the service streams each word to the user as soon as the model writes it so the user
sees the first word long before the last one and the time to the first word is what
the user feels while the whole answer decides how long the request holds a slot on
the server and every word the model writes is a token the service pays for so the
cost of a request grows with the length of the answer and the monitor watches the
latency the time to the first token the tokens and the cost of every request
"""


class BigramModel:
    """Next words drawn from the words that followed each word in ``text``."""

    def __init__(self, text: str) -> None:
        words = text.split()
        self.followers: dict[str, list[str]] = defaultdict(list)
        for word, following in pairwise(words):
            self.followers[word].append(following)
        self.vocabulary = sorted(self.followers)

    def generate(self, prompt: str, max_tokens: int, rng: random.Random) -> Iterator[str]:
        """``max_tokens`` words continuing the prompt's last word."""
        known = [word for word in prompt.lower().split() if word in self.followers]
        word = known[-1] if known else rng.choice(self.vocabulary)
        for _ in range(max_tokens):
            word = rng.choice(self.followers.get(word) or self.vocabulary)
            yield word


class ChatService:
    """The model behind a monitored streaming ``generate``."""

    def __init__(self, prefill_s: float = 0.03, decode_s: float = 0.002, seed: int = 0) -> None:
        self.model = BigramModel(CORPUS)
        self.prefill_s = prefill_s
        self.decode_s = decode_s
        self.rng = random.Random(seed)
        self.generate = monitorx.monitor_inference(
            model_id=MODEL_ID, model_type="llm", count_tokens=True, pricing=PRICING
        )(self._generate)

    def _generate(self, prompt: str, max_tokens: int = 30) -> Iterator[str]:
        time.sleep(self.prefill_s)  # reading the prompt: the wait before the first token
        for i, word in enumerate(self.model.generate(prompt, max_tokens, self.rng)):
            if i:
                time.sleep(self.decode_s)  # one decode step per token
            yield word if i == 0 else f" {word}"


def handler_for(service: ChatService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: the body is streamed as it is written and ends when the connection closes.
        protocol_version = "HTTP/1.0"

        def do_POST(self) -> None:
            if self.path != "/generate":
                self.send_error(404)
                return
            try:
                body: Any = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                prompt = str(body["prompt"])
                max_tokens = int(body.get("max_tokens", 30))
                if not 1 <= max_tokens <= 1000:
                    raise ValueError("max_tokens must be 1..1000")
            except (ValueError, KeyError, TypeError) as exc:
                data = json.dumps({"detail": str(exc)}).encode()
                self.send_response(422)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.end_headers()
            for token in service.generate(prompt, max_tokens):
                self.wfile.write(token.encode())
                self.wfile.flush()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def demo(service: ChatService, count: int) -> bool:
    """Stream ``count`` completions; True when MonitorX got every one."""
    prompts = ["the model", "the user", "every request", "the cost"]
    for i in range(count):
        text = "".join(service.generate(prompts[i % len(prompts)], 10 + i % 20))
        print(f"{prompts[i % len(prompts)]!r} -> {text}")
    return monitorx.flush(timeout=30)


def report(monitorx_url: str) -> None:
    """Print what MonitorX stored for the last completions."""
    api_key = os.environ.get("MONITORX_API_KEY")
    response = httpx.get(
        f"{monitorx_url}/api/v1/metrics/inference",
        params={"model_id": MODEL_ID, "limit": 5},
        headers={"X-API-Key": api_key} if api_key else None,
    )
    response.raise_for_status()
    rows = response.json()
    for row in rows:
        llm = row.get("llm") or {}
        print(
            f"latency {row['latency']:7.1f} ms  "
            f"first token {llm.get('time_to_first_token_ms', 0):6.1f} ms  "
            f"tokens {llm.get('completion_tokens')}  cost ${llm.get('cost_usd', 0):.8f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description="A streaming text model behind MonitorX")
    parser.add_argument("--monitorx-url", default="http://127.0.0.1:8000")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--demo", type=int, metavar="N", help="stream N completions, then exit")
    args = parser.parse_args()
    monitorx.init(url=args.monitorx_url)
    service = ChatService()
    if args.demo is not None:
        delivered = demo(service, args.demo)
        print(f"delivered to MonitorX: {delivered}")
        report(args.monitorx_url)
        return
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(service))
    print(f"bigram chat on http://127.0.0.1:{args.port} (POST /generate streams text)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        monitorx.shutdown()


if __name__ == "__main__":
    main()
