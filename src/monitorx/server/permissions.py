"""The permission each route needs (`core.access`): the one table authorization
reads, checked by a test against every route of the OpenAPI schema.

Keyed by the route's name (its handler's, unique among the routes that need
credentials). `PUBLIC` routes need none: health probes, the dashboard's pages and
assets, and the API docs, which hold no data.
"""

from __future__ import annotations

__all__ = ["CREDENTIAL_ROUTES", "PUBLIC", "ROUTE_PERMISSIONS", "USER_ROUTES", "permission_of"]

from monitorx.core.access import Permission

READ, INGEST, EDIT, ADMIN = Permission.READ, Permission.INGEST, Permission.EDIT, Permission.ADMIN

ROUTE_PERMISSIONS: dict[str, Permission] = {
    # Models and their summaries
    "create_model": EDIT,
    "put_model": EDIT,
    "list_models": READ,
    "get_model": READ,
    "delete_model": EDIT,
    "summary": READ,
    "model_summary": READ,
    "model_thresholds": READ,
    # Inference and custom metrics, and the standard ways in
    "ingest_metric": INGEST,
    "ingest_batch": INGEST,
    "list_metrics": READ,
    "aggregate": READ,
    "aggregates": READ,
    "ingest_samples": INGEST,
    "metric_names": READ,
    "query": READ,
    "export_metrics": INGEST,
    "export_traces": INGEST,
    "list_traces": READ,
    "get_trace": READ,
    "write_v1": INGEST,
    "write_v2": INGEST,
    "remote_write": INGEST,
    "metrics": READ,
    "live_updates": READ,
    # Drift: client metrics, records and labels, references, analyses, schedules
    "ingest_drift": INGEST,
    "list_drift": READ,
    "post_records": INGEST,
    "post_labels": INGEST,
    "put_reference": EDIT,
    "get_reference": READ,
    "analyze_drift": EDIT,
    "drift_report_html": READ,
    "put_concept_drift": EDIT,
    "get_concept_drift": READ,
    "delete_concept_drift": EDIT,
    "put_drift_schedule": EDIT,
    "get_drift_schedule": READ,
    "delete_drift_schedule": EDIT,
    # Quality
    "model_quality": READ,
    "put_quality_config": EDIT,
    "get_quality_config": READ,
    "delete_quality_config": EDIT,
    "put_data_quality_rules": EDIT,
    "get_data_quality_rules": READ,
    "delete_data_quality_rules": EDIT,
    "analyze_data_quality": EDIT,
    # Alerts, rules, SLOs, threshold profiles
    "list_alerts": READ,
    "get_alert": READ,
    "resolve_alert": EDIT,
    "acknowledge_alert": EDIT,
    "alert_notifications": READ,
    "create_rule": EDIT,
    "list_rules": READ,
    "get_rule": READ,
    "put_rule": EDIT,
    "delete_rule": EDIT,
    "create_slo": EDIT,
    "list_slos": READ,
    "get_slo": READ,
    "put_slo": EDIT,
    "delete_slo": EDIT,
    "slo_status": READ,
    "list_profiles": READ,
    "get_profile": READ,
    "put_profile": EDIT,
    "delete_profile": EDIT,
    # Notifications
    "create_channel": EDIT,
    "list_channels": READ,
    "get_channel": READ,
    "put_channel": EDIT,
    "delete_channel": EDIT,
    "send_test_notification": EDIT,
    "create_route": EDIT,
    "list_routes": READ,
    "get_route": READ,
    "put_route": EDIT,
    "delete_route": EDIT,
    "create_silence": EDIT,
    "list_silences": READ,
    "get_silence": READ,
    "expire_silence": EDIT,
    # Custom dashboards
    "create_dashboard": EDIT,
    "list_dashboards": READ,
    "get_dashboard": READ,
    "put_dashboard": EDIT,
    "delete_dashboard": EDIT,
    # Administration
    "list_audit": ADMIN,
    "create_key": ADMIN,
    "list_keys": ADMIN,
    "revoke_key": ADMIN,
    "create_user": ADMIN,
    "list_users": ADMIN,
    "delete_user": ADMIN,
    # The caller itself (the dashboard's header), and a user's own second factor.
    "whoami": READ,
    "enroll_totp": READ,
    "confirm_totp": READ,
    "erase_records": ADMIN,
    # Events, logs and what happened around an alert
    "post_events": INGEST,
    "list_events": READ,
    "post_logs": INGEST,
    "list_logs": READ,
    "export_logs": INGEST,
    "alert_context": READ,
}

PUBLIC = frozenset(
    {
        "health",
        "live",
        "ready",
        "openapi",
        "swagger_ui",
        "asset",
        "overview",
        "model_page",
        "alerts_page",
        "compare_page",
        "explore_page",
        "audit_page",
        "dashboards_page",
        "dashboard_page",
        "login_page",
        "admin_page",
        "plotly_js",
        "favicon",
        # Single sign-on: the browser's trip to the OpenID provider and back.
        "oidc_config",
        "oidc_login",
        "oidc_callback",
        # Logging in and out: the body is the credential (`CREDENTIAL_ROUTES`).
        "issue_token",
        "revoke_token",
    }
)

CREDENTIAL_ROUTES = frozenset({"issue_token", "revoke_token"})
"""The public routes of the API: their body is the credential (a password, a
refresh token); a header credential changes nothing."""

USER_ROUTES = frozenset({"enroll_totp", "confirm_totp"})
"""Routes about the calling user itself: a key, whatever its role, is refused (403)."""


def permission_of(route_name: str) -> Permission | None:
    """The permission a route needs; None for a public one. A route in neither
    table needs ``admin``: a route added without a line here fails closed."""
    if route_name in PUBLIC:
        return None
    return ROUTE_PERMISSIONS.get(route_name, Permission.ADMIN)
