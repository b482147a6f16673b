"""MonitorX: observability for ML and AI models in production.

``pip install monitorx`` gives the SDK that lives inside inference services; the
server comes with the ``server`` extra. The names below are the SDK's public face
(SDK.md); importing this package loads the SDK (httpx) and nothing of the server.
"""

from monitorx.sdk import (
    CircuitOpenError,
    DeliveryError,
    LLMPricing,
    MonitorX,
    MonitorXClient,
    MonitorXError,
    NotFound,
    ServerError,
    ValidationError,
    WriteResult,
    flush,
    init,
    monitor_inference,
    shutdown,
    track,
)

__version__ = "0.1.0"

__all__ = [
    "CircuitOpenError",
    "DeliveryError",
    "LLMPricing",
    "MonitorX",
    "MonitorXClient",
    "MonitorXError",
    "NotFound",
    "ServerError",
    "ValidationError",
    "WriteResult",
    "__version__",
    "flush",
    "init",
    "monitor_inference",
    "shutdown",
    "track",
]
