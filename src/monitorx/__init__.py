"""MonitorX: observability for ML and AI models in production.

``pip install monitorx`` gives the SDK that lives inside inference services; the
server comes with the ``server`` extra. The names below are the SDK's public face
(SDK.md).
"""

__version__ = "0.1.0"
