"""OpenTelemetry OTLP/gRPC: the official ``MetricsService/Export`` on a port of its
own (4317 by convention), off unless ``otlp_grpc_port`` is set (``monitorx serve
--otlp-grpc-port 4317``).

Many collectors and SDKs default to OTLP over gRPC; this serves them without a
Collector in between. It runs in the server's process and event loop — a
``grpc.aio`` server started and stopped with the app — and does what
``POST /v1/metrics`` does: the same decoder, the same store call
(`store_export`), the same keys (metadata ``x-api-key``, or ``authorization:
Bearer <key>`` / ``Token <key>``, the ``write`` role), and a message limit equal
to the body limit, checked by gRPC on the decompressed message. As the OTLP
specification asks of a gRPC server, a request with points rejected is still OK,
with ``partial_success`` counting them; the errors are status codes the exporters
know not to retry (INVALID_ARGUMENT for a request that does not parse,
UNAUTHENTICATED, PERMISSION_DENIED, RESOURCE_EXHAUSTED past the size limit, sent
without RetryInfo), except UNAVAILABLE when the store is down, which they retry.

grpcio is an optional dependency (``pip install "monitorx[otlp-grpc]"``): this
module imports it, so import it only when the port is set (`server.assembly`).
"""

from __future__ import annotations

__all__ = ["OtlpGrpcServer"]

import logging

import grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2

from monitorx.core import (
    Clock,
    Forbidden,
    MonitorXError,
    StorageError,
    Unauthorized,
    ValidationError,
)
from monitorx.core.access import Permission
from monitorx.core.text import printable
from monitorx.ingest.otlp_export import store_export
from monitorx.ingest.otlp_metrics import DecodedMetrics, decode_metrics, parse_metrics_request
from monitorx.ingest.service import IngestService
from monitorx.server.auth import Authenticator
from monitorx.server.projects import ProjectDirectory
from monitorx.server.routes.protocol_bodies import decode_off_loop, now_us

logger = logging.getLogger("monitorx.server")

SERVICE = metrics_service_pb2.DESCRIPTOR.services_by_name["MetricsService"].full_name
"""``opentelemetry.proto.collector.metrics.v1.MetricsService``, from the official messages."""
METHOD = "Export"
# How long a stopping server lets calls in flight finish.
_GRACE_S = 5.0


def _metadata(context: grpc.aio.ServicerContext[bytes, bytes]) -> dict[str, str]:
    """The call's text metadata, first value of each key (keys are lower case)."""
    found: dict[str, str] = {}
    for key, value in context.invocation_metadata() or ():
        if isinstance(value, str):
            found.setdefault(key, value)
    return found


class OtlpGrpcServer:
    """The OTLP/gRPC metrics service on ``host:port`` (see the module docstring)."""

    def __init__(
        self,
        ingest: IngestService,
        auth: Authenticator,
        clock: Clock,
        address: tuple[str, int],
        max_message_bytes: int,
        projects: ProjectDirectory | None = None,
    ) -> None:
        """``ingest``: the server's own project's; with ``projects``, each call
        writes into its caller's project (`monitorx.server.projects`) instead."""
        self._ingest = ingest
        self._projects = projects
        self._auth = auth
        self._clock = clock
        self._address = address
        self._max_message_bytes = max_message_bytes
        self._server: grpc.aio.Server | None = None
        self.port: int | None = None
        """The port it listens on once started (the one asked for, or the one the
        system chose for 0)."""

    async def start(self) -> None:
        """Listen; `MonitorXError` naming the address when it cannot."""
        limit = self._max_message_bytes
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", limit),
                ("grpc.max_send_message_length", limit),
                # A second server on a taken port fails, as uvicorn does, rather than
                # sharing it and taking half of the calls.
                ("grpc.so_reuseport", 0),
            ]
        )
        # Request and response stay bytes: the request is parsed with the body's
        # decoding, off the event loop when it is large, and a request that does not
        # parse is INVALID_ARGUMENT with the reason rather than gRPC's INTERNAL.
        handler: grpc.RpcMethodHandler[bytes, bytes] = grpc.unary_unary_rpc_method_handler(
            self._export
        )
        server.add_generic_rpc_handlers(
            [grpc.method_handlers_generic_handler(SERVICE, {METHOD: handler})]
        )
        host, port = self._address
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        try:
            self.port = server.add_insecure_port(where)
        except RuntimeError as exc:
            raise MonitorXError(f"OTLP/gRPC cannot listen on {where}: {exc}") from None
        await server.start()
        self._server = server
        logger.debug("OTLP/gRPC metrics on %s", where)

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop(_GRACE_S)
            self._server = None

    async def _export(self, raw: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        metadata = _metadata(context)
        try:
            principal = self._auth.authenticate_headers(metadata)
            self._auth.require(principal, Permission.INGEST)
            ingest = self._ingest
            if self._projects is not None:
                ingest = (await self._projects.of_principal(principal, metadata)).ingest
        except ValidationError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, printable(str(exc)))
        except Unauthorized as exc:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, printable(str(exc)))
        except Forbidden as exc:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, printable(str(exc)))
        now = now_us(self._clock)

        def decode() -> DecodedMetrics:
            return decode_metrics(parse_metrics_request(raw, False), now)

        try:
            decoded = await decode_off_loop(len(raw), decode)
        except MonitorXError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, printable(str(exc)))
        try:
            answer = await store_export(ingest, decoded)
        except StorageError as exc:
            logger.error("OTLP/gRPC export failed: %s", exc)
            await context.abort(grpc.StatusCode.UNAVAILABLE, printable(str(exc)))
        return answer.SerializeToString()
