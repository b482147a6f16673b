"""A scikit-learn model served over HTTP behind ``@monitor_inference``.

    pip install "monitorx[resources]" scikit-learn
    monitorx serve &                                   # the MonitorX server, port 8000
    python examples/sklearn_service.py --port 8080     # this service
    curl -s localhost:8080/predict -d '{"features": [5.1, 3.5, 1.4, 0.2]}'
    curl -s localhost:8080/metrics                     # Prometheus text
    curl -s localhost:8080/healthz                     # healthy | degraded | unhealthy

    python examples/sklearn_service.py --demo 200      # 200 predictions, then exit

Every prediction is timed by ``@monitor_inference`` and sent to MonitorX in the
background (with the process's CPU and memory attached), counted per predicted
class in an in-process :class:`MemoryCollector` that ``/metrics`` exposes, and the
service's health rolls up a model check and a MonitorX reachability check.
"""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import monitorx
from monitorx.sdk.instrument import (
    CONTENT_TYPE,
    HealthCheckManager,
    MemoryCollector,
    to_prometheus_text,
)

MODEL_ID = "iris-logreg"


class IrisService:
    """The model, its metrics and its health checks."""

    def __init__(self, monitorx_url: str) -> None:
        iris = load_iris()
        self.classes = [str(name) for name in iris.target_names]
        self.model = LogisticRegression(max_iter=500).fit(iris.data, iris.target)
        self.collector = MemoryCollector()
        self.predictions = self.collector.counter(
            "predictions", "Predictions served, by class", labels=["label"]
        )
        self.bad_requests = self.collector.counter("bad_requests", "Requests refused")
        self.health = HealthCheckManager()
        self.health.register("model", lambda: hasattr(self.model, "coef_"))
        self.health.register(
            "monitorx",
            lambda: httpx.get(f"{monitorx_url}/api/v1/health/live", timeout=1.0).is_success,
            timeout_s=2.0,
            critical=False,  # the service answers without MonitorX: degraded, not down
            cache_s=10.0,
        )
        self.predict = monitorx.monitor_inference(model_id=MODEL_ID, model_type="tabular")(
            self._predict
        )

    def _predict(self, features: list[float]) -> str:
        label = self.classes[int(self.model.predict([features])[0])]
        self.predictions.labels(label=label).inc()
        return label


def handler_for(service: IrisService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: str, content_type: str = "application/json") -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/metrics":
                self._send(200, to_prometheus_text(service.collector), CONTENT_TYPE)
            elif self.path == "/healthz":
                report = service.health.run()
                status = 503 if report.status.value == "unhealthy" else 200
                self._send(status, json.dumps(report.as_dict()))
            else:
                self._send(404, '{"detail": "not found"}')

        def do_POST(self) -> None:
            if self.path != "/predict":
                self._send(404, '{"detail": "not found"}')
                return
            try:
                body: Any = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                features = [float(x) for x in body["features"]]
                if len(features) != 4:
                    raise ValueError("4 features expected")
            except (ValueError, KeyError, TypeError) as exc:
                service.bad_requests.inc()
                self._send(422, json.dumps({"detail": str(exc)}))
                return
            self._send(200, json.dumps({"label": service.predict(features)}))

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def demo(service: IrisService, count: int) -> bool:
    """Predict ``count`` rows of the iris data; True when MonitorX got every one."""
    rows = load_iris().data
    for i in range(count):
        service.predict([float(x) for x in rows[i % len(rows)]])
    return monitorx.flush(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description="An iris classifier behind @monitor_inference")
    parser.add_argument("--monitorx-url", default="http://127.0.0.1:8000")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--demo", type=int, metavar="N", help="predict N rows, then exit")
    args = parser.parse_args()
    monitorx.init(url=args.monitorx_url, resources=True)
    service = IrisService(args.monitorx_url)
    if args.demo is not None:
        delivered = demo(service, args.demo)
        print(to_prometheus_text(service.collector), end="")
        print(f"delivered to MonitorX: {delivered}")
        return
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(service))
    print(f"iris service on http://127.0.0.1:{args.port} (POST /predict, GET /metrics, /healthz)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        monitorx.shutdown()


if __name__ == "__main__":
    main()
