"""The server's settings: one object, environment prefix ``MONITORX_``, passed down."""

from __future__ import annotations

__all__ = ["Settings"]

import json
import os
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from monitorx.core import ValidationError
from monitorx.core.access import Role, parse_role
from monitorx.core.identifiers import IDENTIFIER_PATTERN
from monitorx.core.pii import CustomPattern, MaskMode, PiiKind
from monitorx.store import RetentionPolicy

DEFAULT_PII_DETECTORS = (PiiKind.EMAIL, PiiKind.CARD, PiiKind.PHONE)


class ProjectMasking(BaseModel):
    """One project's masking, where it differs from the server's (``pii_projects``):
    each field given replaces the server's setting of that name for the project."""

    model_config = ConfigDict(extra="forbid")

    detectors: list[PiiKind] | None = None
    custom_patterns: dict[str, str] | None = None
    mode: MaskMode | None = None
    exempt_keys: list[str] | None = None


class Settings(BaseSettings):
    """Everything the server can be told, from the environment or ``monitorx serve`` flags.

    >>> Settings(data_dir=Path("/tmp/mx"), auth_enabled=False).resolved_storage_url()
    'duckdb:////tmp/mx/monitorx.duckdb'
    """

    # Errors name the setting and what is wrong, never the value: several settings
    # are secrets (keys, a storage URL's password).
    model_config = SettingsConfigDict(
        env_prefix="MONITORX_", extra="ignore", hide_input_in_errors=True
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    data_dir: Path = Path("./data")
    storage_url: str | None = Field(
        default=None,
        description="Where data lives; default duckdb:///<data_dir>/monitorx.duckdb.",
    )
    project_id: str = Field(
        default="default",
        pattern=IDENTIFIER_PATTERN,
        description=(
            "The server's own project: of the settings' keys, of tokens without a project "
            "claim, and of requests without X-MonitorX-Project when auth is off. Other "
            "projects are served beside it (docs/security.md#projects)."
        ),
    )
    hot_retention_s: float = Field(
        default=24 * 3600,
        ge=0,
        description="Recent raw points kept in memory for fast summaries and aggregates "
        "(off in a cluster, `distributed`: a replica's memory holds only what it "
        "ingested, so every query reads the shared store).",
    )
    flush_rows: int = Field(
        default=122_880,
        gt=0,
        description="Logged metrics move into the database in transactions of this many rows…",
    )
    flush_interval_s: float = Field(default=2.0, gt=0, description="…or at least this often.")
    hot_max_points: int = Field(
        default=5_000_000, ge=0, description="Memory budget of the hot tier (~80 bytes a point)."
    )

    retention_raw_s: float = Field(
        default=7 * 86_400, gt=0, description="Raw points are kept this long (default 7 days)."
    )
    retention_minute_s: float = Field(
        default=30 * 86_400, gt=0, description="Per-minute rollups are kept this long (30 days)."
    )
    retention_hour_s: float = Field(
        default=365 * 86_400, gt=0, description="Per-hour rollups are kept this long (1 year)."
    )
    rollup_grace_s: float = Field(
        default=120.0,
        ge=0,
        description="A minute is rolled up once it is this old; later points stay raw only.",
    )
    cold_tier_url: str | None = Field(
        default=None,
        description="Directory or fsspec URL that raw points past their retention are "
        "exported to as Parquet before they are deleted (none: not exported).",
    )
    lifecycle_interval_s: float = Field(
        default=60.0, gt=0, description="How often rollups, export and retention run."
    )
    audit_retention_s: float = Field(
        default=400 * 86_400,
        gt=0,
        description="Audit log entries are kept this long (default 400 days).",
    )

    auth_enabled: bool = True
    api_keys: list[SecretStr] = Field(
        default_factory=list,
        description="Accepted API keys, each `KEY` (admin) or `KEY:ROLE` with ROLE one of "
        "ingest, viewer, editor, admin (the earlier read and write are read as viewer and "
        "ingest). A JSON list in the environment.",
    )
    jwt_secret: SecretStr | None = Field(
        default=None,
        description="HS256 key of `Authorization: Bearer` tokens: users' access tokens "
        "and JWTs your own systems sign. Unset: users' tokens are signed with a key made "
        "at first start in `<data_dir>/token-key` (mode 0600), or derived from "
        "MONITORX_SECRET_KEYS on PostgreSQL.",
    )
    access_token_ttl_s: int = Field(
        default=900, gt=0, le=86_400, description="How long a user's access token lasts."
    )
    refresh_token_ttl_s: int = Field(
        default=30 * 86_400,
        gt=0,
        description="How long a refresh token lasts unused (each use gives a new one).",
    )
    # Single sign-on through OpenID Connect (server/sso.py, docs/security.md).
    oidc_issuer: str | None = Field(
        default=None,
        description="The OpenID provider's issuer URL; its discovery document is "
        "<issuer>/.well-known/openid-configuration. Unset: no SSO.",
    )
    oidc_client_id: str | None = Field(default=None, description="MonitorX's client id there.")
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="Its client secret (unset: a public client, PKCE alone)."
    )
    oidc_scopes: str = Field(
        default="openid email profile", description="The scopes asked for, space-separated."
    )
    oidc_default_project: str | None = Field(
        default=None, description="The project of SSO users (unset: project_id)."
    )
    oidc_default_role: Role | Literal["none"] = Field(
        default=Role.VIEWER,
        description="The role of an SSO user whom oidc_role_map gives none ('none': "
        "such a user is refused).",
    )
    oidc_roles_claim: str = Field(
        default="groups", description="The ID token claim (a list or a string) mapped to roles."
    )
    oidc_role_map: dict[str, str] = Field(
        default_factory=dict,
        description="Values of oidc_roles_claim → `ROLE` or `PROJECT:ROLE`, as a JSON "
        'object (`{"ml-admins": "admin"}`); the highest role matched wins.',
    )
    secret_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Keys that encrypt channel secrets at rest (Fernet keys, from "
        "`monitorx secrets generate-key`), newest first: the first encrypts, all "
        "decrypt. Comma-separated or a JSON list. Unset: a key generated into "
        "<data_dir>/secret-key; required with PostgreSQL storage.",
    )

    pii_detectors: list[PiiKind] = Field(
        default_factory=lambda: list(DEFAULT_PII_DETECTORS),
        description="Personal data masked before anything is stored, in tag and label "
        "values and in the string columns of records, labels and reference sets: any of "
        "email, card, phone, ip (docs/security.md). [] with no custom patterns: off.",
    )
    pii_custom_patterns: dict[str, str] = Field(
        default_factory=dict,
        description="More patterns to mask, name → regular expression, as a JSON object "
        '(`{"employee_id": "EMP-[0-9]{6}"}`); a match becomes `<name>` or `<name:hash>`.',
    )
    pii_mode: MaskMode = Field(
        default=MaskMode.HASH,
        description="`hash`: `<email:5f1c0e2a9b7d4c31>`, a keyed hash, the same for the "
        "same value (categories, series and drift survive); `redact`: `<email>`.",
    )
    pii_hash_key: SecretStr | None = Field(
        default=None,
        description="The key of mode hash, at least 16 characters. Unset: one is made at "
        "first start in `<data_dir>/pii-hash-key` (mode 0600); replicas must share one.",
    )
    pii_exempt_keys: list[str] = Field(
        default_factory=list,
        description="Tag, label and feature names whose values are stored as sent "
        "(an id that looks like a card number), as a JSON list.",
    )
    pii_projects: dict[str, ProjectMasking] = Field(
        default_factory=dict,
        description="Masking per project where it differs, as a JSON object: project → "
        '{"detectors", "custom_patterns", "mode", "exempt_keys"} (each optional, '
        'replacing the pii_ setting of that name): `{"research": {"detectors": []}}`.',
    )
    trace_content_projects: list[str] = Field(
        default_factory=list,
        description="Projects whose spans keep prompt and completion content "
        "(`gen_ai.prompt`, `gen_ai.input.messages`, message events, …), as a JSON list; "
        '`["*"]`: every project. Elsewhere content is dropped and counted (docs/traces.md).',
    )

    rate_limit_per_s: float = Field(
        default=0.0,
        ge=0,
        description="Requests a second per client: an authenticated request counts "
        "against its key, any other against its address (0: no limit).",
    )
    rate_limit_burst: int = Field(default=200, gt=0, description="Requests a client may burst.")
    redis_url: SecretStr | None = Field(
        default=None,
        description="Redis that replicas share rate-limit buckets through, e.g. "
        "redis://127.0.0.1:6379/0 (none: each process keeps its own).",
    )
    redis_prefix: str = Field(
        default="monitorx:",
        min_length=1,
        description="Prefix of every Redis key MonitorX writes (servers that share "
        "buckets share the prefix).",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Origins whose pages may call the API from a browser, e.g. "
        '["https://grafana.example.com"] ("*": any; none: same origin only).',
    )
    ssl_certfile: Path | None = Field(
        default=None, description="Serve HTTPS with this PEM certificate (chain)…"
    )
    ssl_keyfile: Path | None = Field(
        default=None, description="…and this PEM private key (or the key in the certfile)."
    )
    ssl_keyfile_password: SecretStr | None = Field(
        default=None, description="The password of an encrypted private key."
    )
    hsts_max_age_s: int = Field(
        default=365 * 86_400,
        ge=0,
        description="Strict-Transport-Security max-age on answers over HTTPS (0: none).",
    )

    max_body_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    max_bulk_body_bytes: int = Field(
        default=256 * 1024 * 1024,
        gt=0,
        description="Limit for /reference, /records and /drift/analyze bodies.",
    )
    max_batch_items: int = Field(default=10_000, gt=0)
    max_series_per_metric: int = Field(
        default=10_000,
        gt=0,
        description="Label sets a custom metric may have; a sample that would open "
        "another is rejected (existing series keep working).",
    )
    otlp_grpc_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Serve OTLP/gRPC metrics (MetricsService/Export) on this port of "
        "`host`, usually 4317 (none: off). Needs grpcio: the otlp-grpc extra.",
    )
    ingest_workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=0,
        description="Processes that decode large batches beside the server process "
        "(0: decode in-process). Default: one per core.",
    )

    alert_clear_period_s: float = Field(
        default=300.0,
        gt=0,
        description="An alert resolves after its condition stays clear so long.",
    )
    alert_tick_s: float = Field(default=1.0, gt=0, description="How often alerts are re-evaluated.")
    config_reload_s: float = Field(
        default=30.0,
        gt=0,
        description="On PostgreSQL, how often every replica reads all configuration "
        "again, whatever it heard of changes (those arrive within a second through "
        "LISTEN/NOTIFY; this is the safety net for a notification lost while the "
        "listener reconnected).",
    )
    slo_eval_interval_s: float = Field(
        default=30.0, gt=0, description="How often SLO burn rates are evaluated."
    )
    error_rate_window_s: float = Field(default=60.0, gt=0)
    error_rate_min_count: int = Field(default=10, gt=0)
    drift_bucket_max_rows: int = Field(
        default=100_000,
        gt=0,
        description="Logged records kept per model and hour: a uniform sample of this "
        "many once more arrive (the hour's count stays exact).",
    )
    drift_window_max_rows: int = Field(
        default=200_000,
        gt=0,
        description="At most this many logged records feed one drift analysis, drawn "
        "from every hour of the window in proportion to its records.",
    )
    drift_schedule_tick_s: float = Field(
        default=30.0,
        gt=0,
        description="How often the scheduler looks for drift schedules that are due.",
    )
    quality_check_interval_s: float = Field(
        default=60.0,
        gt=0,
        description="How often quality thresholds and data-quality rules are checked.",
    )

    notify_enabled: bool = Field(
        default=True,
        description="Send notifications from this process. With several replicas on one "
        "PostgreSQL store, enable it on exactly one of them.",
    )
    external_url: str = Field(
        default="",
        description="The URL people reach this server at; notifications link alerts to it.",
    )
    notify_timeout_s: float = Field(
        default=10.0, gt=0, description="How long one request to a receiver may take."
    )
    notify_retry_budget_s: float = Field(
        default=600.0,
        gt=0,
        description="How long a notification is retried (exponential backoff, jitter).",
    )
    notify_rate_limit: int | None = Field(
        default=None,
        gt=0,
        description="Notifications any channel may send per rate window. Unset: each "
        "channel type's own default (the provider's documented limit; webhooks and email "
        "unlimited); a channel's rate_limit wins either way.",
    )
    notify_rate_window_s: float = Field(default=60.0, gt=0)
    notify_channel_concurrency: int = Field(
        default=16, gt=0, description="Notifications in flight at once to one channel."
    )
    alert_handlers: list[str] = Field(
        default_factory=list,
        description="In-process alert handlers, 'module:function', called with every "
        "alert transition (besides those of the monitorx.alert_handlers entry points).",
    )

    rules_file: Path | None = Field(
        default=None,
        description="A YAML file of window rules (`rules: [...]`), loaded at startup; "
        "a broken file stops the server.",
    )
    rule_eval_interval_s: float = Field(
        default=15.0, gt=0, description="How often window rules are evaluated."
    )
    threshold_learn_min_points: int = Field(
        default=100,
        gt=0,
        description="Points a model needs in the window before a threshold is learned.",
    )
    threshold_learn_interval_s: float = Field(
        default=3600.0, gt=0, description="How often learned thresholds are recomputed."
    )

    anomaly_detectors: list[str] = Field(
        default_factory=lambda: ["robust_z", "ewma", "seasonal"],
        description="Anomaly detectors run on every series (docs/anomaly.md); [] turns "
        "anomaly detection off.",
    )
    anomaly_sensitivity: Literal["low", "medium", "high"] = Field(
        default="medium",
        description="How unusual a point must be: |z| ≥ 10 (low), 8 (medium), 6 (high).",
    )
    anomaly_z_threshold: float | None = Field(
        default=None, gt=0, description="An explicit |z| threshold; overrides the sensitivity."
    )
    anomaly_scan_interval_s: float = Field(
        default=60.0, gt=0, description="How often the anomaly scan runs."
    )
    anomaly_history_s: float = Field(
        default=15 * 86_400,
        gt=0,
        description="History the anomaly baselines read (weekly seasonality needs 2 weeks).",
    )
    forecast_enabled: bool = Field(
        default=True, description="Warn before a series crosses its threshold (forecast alerts)."
    )
    forecast_window_s: float = Field(
        default=6 * 3600.0, gt=0, description="Recent history the trend forecast is fitted to."
    )
    forecast_horizon_s: float = Field(
        default=6 * 3600.0, gt=0, description="How far ahead a crossing is warned of."
    )
    forecast_scan_interval_s: float = Field(
        default=120.0, gt=0, description="How often the forecasts are refitted."
    )

    prometheus_model_series: bool = Field(
        default=False,
        description="Serve per-model request, error and latency series (label model_id) "
        "on /metrics: one series per model and family, so off by default.",
    )

    @field_validator("secret_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        """``new,old`` or ``["new", "old"]`` from the environment."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [k.strip() for k in text.split(",") if k.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            parts = urlsplit(origin)
            bare = parts.scheme in ("http", "https") and parts.netloc and not parts.path
            if origin != "*" and not (bare and not parts.query and not parts.fragment):
                raise ValueError(
                    f"{origin!r} is not an origin: scheme://host[:port], no path, or '*'"
                )
        return origins

    @model_validator(mode="after")
    def _tls_files(self) -> Settings:
        if self.ssl_keyfile is not None and self.ssl_certfile is None:
            raise ValueError("ssl_keyfile needs ssl_certfile (the certificate it belongs to)")
        return self

    def keeps_trace_content(self, project: str) -> bool:
        """Whether spans of ``project`` keep their prompt and completion content."""
        return project in self.trace_content_projects or "*" in self.trace_content_projects

    @field_validator("pii_projects")
    @classmethod
    def _project_masking(cls, projects: dict[str, ProjectMasking]) -> dict[str, ProjectMasking]:
        """Every project's patterns compile now: a project first used later must not
        find its masking broken."""
        for project, masking in projects.items():
            for name, regex in (masking.custom_patterns or {}).items():
                try:
                    CustomPattern(name, regex)
                except ValidationError as exc:
                    raise ValueError(f"{project}: {exc}") from None
        return projects

    @field_validator("oidc_role_map")
    @classmethod
    def _role_map(cls, mapping: dict[str, str]) -> dict[str, str]:
        for claim, value in mapping.items():
            try:
                parse_role(value.rpartition(":")[2], "oidc_role_map")
            except ValidationError as exc:
                raise ValueError(f"{claim!r}: {exc}") from None
        return mapping

    @model_validator(mode="after")
    def _oidc_needs(self) -> Settings:
        if self.oidc_issuer is None:
            return self
        if not self.oidc_client_id:
            raise ValueError("oidc_issuer needs oidc_client_id (MONITORX_OIDC_CLIENT_ID)")
        if "openid" not in self.oidc_scopes.split():
            raise ValueError("oidc_scopes must include openid")
        return self

    def retention_policy(self) -> RetentionPolicy:
        return RetentionPolicy(
            raw_s=self.retention_raw_s,
            minute_s=self.retention_minute_s,
            hour_s=self.retention_hour_s,
            rollup_grace_s=self.rollup_grace_s,
            cold_tier_url=self.cold_tier_url,
        )

    @property
    def distributed(self) -> bool:
        """Replicas share the store and Redis (docs/deployment.md): a PostgreSQL store
        and ``redis_url``. Then alerts, notifications and scheduled jobs are kept
        once per cluster, configuration propagates, and the live feed crosses
        replicas."""
        url = self.resolved_storage_url()
        return self.redis_url is not None and url.startswith(("postgresql://", "postgres://"))

    @property
    def effective_hot_retention_s(self) -> float:
        """``hot_retention_s``, or 0 in a cluster: a replica's hot tier would hold only
        the points posted to it, and a query through it would miss the others'."""
        return 0.0 if self.distributed else self.hot_retention_s

    def resolved_storage_url(self) -> str:
        if self.storage_url:
            return self.storage_url
        return f"duckdb:///{(self.data_dir / 'monitorx.duckdb').as_posix()}"
