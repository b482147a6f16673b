# MonitorX server image: `monitorx serve` with the `server` extra, as a non-root user.
#
#   docker build -t monitorx .
#   docker run -p 8000:8000 -v monitorx-data:/data monitorx
#
# One container on the embedded store keeps its data in the /data volume. Replicas
# of a cluster (deploy/compose.yaml, deploy/kubernetes/) share PostgreSQL and Redis
# instead: see docs/deployment.md.

FROM python:3.11-slim AS build
WORKDIR /src
# Only what the wheel is built from: a change to tests or docs keeps this layer.
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[server]"

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MONITORX_DATA_DIR=/data \
    MONITORX_HOST=0.0.0.0 \
    MONITORX_PORT=8000
RUN groupadd --system --gid 10001 monitorx \
 && useradd --system --uid 10001 --gid monitorx --home-dir /data --shell /usr/sbin/nologin monitorx \
 && mkdir -p /data && chown monitorx:monitorx /data
COPY --from=build /wheels /wheels
# The wheels built above, nothing from an index: pinned by the build stage.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir --no-index --find-links /wheels "monitorx[server]" \
 && rm -rf /wheels
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
# /api/v1/health/ready answers 503 only when the store does not answer; a degraded
# part (a failing webhook, Redis away) keeps the container healthy.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('MONITORX_PORT', '8000')}/api/v1/health/ready\", timeout=4)"]
ENTRYPOINT ["monitorx", "serve", "--host", "0.0.0.0"]
