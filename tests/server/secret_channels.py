"""Channels full of secrets, and an SMTP server that checks the password: what the
channel-secret tests (tests/server/test_channel_secrets_api.py,
tests/system/test_channel_secrets.py) create, deliver to, and look for."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.conftest import free_port
from tests.http_receiver import HttpReceiver

HMAC_SECRET = "hmacSECRET-4f9c2a71"
BEARER_TOKEN = "bearerSECRET-77d1e0aa"
HOOK_TOKEN = "hookTOKENsecret0123456789"
SLACK_TOKEN = "slackTOKENsecret9876543210"
TEAMS_SIG = "teamsSIGsecret5551234567"
ROUTING_KEY = "Rk0123456789SECRETabcdefghijklmn"
SMTP_USER, SMTP_PASSWORD = "alerts", "smtpPASSWORDsecret-654"
SECRETS = (
    HMAC_SECRET,
    BEARER_TOKEN,
    HOOK_TOKEN,
    SLACK_TOKEN,
    TEAMS_SIG,
    ROUTING_KEY,
    SMTP_PASSWORD,
)


class Inbox:
    """An aiosmtpd handler and authenticator: keeps each message and each login."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login, data.password))
        ok = (data.login, data.password) == (SMTP_USER.encode(), SMTP_PASSWORD.encode())
        return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """An SMTP server on 127.0.0.1 that offers AUTH over plain SMTP (a test peer)."""
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=inbox.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    yield inbox, port
    controller.stop()


def channel_bodies(receiver: HttpReceiver, smtp_port: int) -> list[dict[str, Any]]:
    """One channel of every type, each holding secrets (SECRETS)."""
    return [
        {
            "id": "hook",
            "type": "webhook",
            "config": {
                "url": receiver.url(f"/hooks/{HOOK_TOKEN}"),
                "secret": HMAC_SECRET,
                "headers": {"Authorization": f"Bearer {BEARER_TOKEN}", "X-Team": "ml"},
            },
        },
        {
            "id": "slack",
            "type": "slack",
            "config": {"url": receiver.url(f"/services/T1/B2/{SLACK_TOKEN}")},
        },
        {
            "id": "teams",
            "type": "teams",
            "config": {"url": receiver.url(f"/workflows/w1/invoke?api-version=1&sig={TEAMS_SIG}")},
        },
        {
            "id": "pager",
            "type": "pagerduty",
            "config": {"routing_key": ROUTING_KEY, "url": receiver.url("/v2/enqueue")},
        },
        {
            "id": "mail",
            "type": "email",
            "config": {
                "host": "127.0.0.1",
                "port": smtp_port,
                "starttls": False,
                "from": "alerts@monitorx.example.com",
                "to": ["oncall@example.com"],
                "username": SMTP_USER,
                "password": SMTP_PASSWORD,
            },
        },
    ]


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text
