"""The email channel against a real SMTP server (aiosmtpd on 127.0.0.1).

Plain SMTP, STARTTLS with AUTH required, and implicit TLS, each with a certificate
from a throwaway CA made by the test; the test reads what the server received.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import socket
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from monitorx.alerting.notify.channels import ChannelError, EmailChannel
from monitorx.alerting.notify.channels.email import EmailConfig
from monitorx.core import AlertStatus, AlertType, FakeClock, Severity
from tests.alerting.notify.channels.samples import STARTED, make_alert, make_notification

USER = "alerts"
PASSWORD = "smtp-pa55word!"
REFUSED = "nobody@example.com"
_TLS_SHUTDOWN_GRACE_S = 0.1


class Inbox:
    """An aiosmtpd handler that keeps every message and refuses one address."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address == REFUSED:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 2.0.0 queued as 4711"

    def message(self) -> EmailMessage:
        (envelope,) = self.envelopes
        assert isinstance(envelope.content, bytes)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Smtp:
    def __init__(self, inbox: Inbox, port: int) -> None:
        self.inbox = inbox
        self.port = port


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@asynccontextmanager
async def _serving(**kwargs: Any) -> AsyncIterator[Smtp]:
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield Smtp(inbox, port)
    finally:
        # aiosmtplib closes a TLS connection without awaiting the TLS shutdown; let
        # that finish on this test's loop before the server goes, or the client's
        # socket is reported unclosed when the loop closes.
        await asyncio.sleep(_TLS_SHUTDOWN_GRACE_S)
        controller.stop()


@pytest.fixture
async def plain_smtp() -> AsyncIterator[Smtp]:
    async with _serving() as smtp:
        yield smtp


@pytest.fixture
async def starttls_smtp(server_tls: ssl.SSLContext) -> AsyncIterator[Smtp]:
    async with _serving(
        tls_context=server_tls,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=_authenticate,
    ) as smtp:
        yield smtp


@pytest.fixture
async def implicit_tls_smtp(server_tls: ssl.SSLContext) -> AsyncIterator[Smtp]:
    # aiosmtpd only counts STARTTLS as TLS for AUTH; the whole session is TLS here.
    async with _serving(
        ssl_context=server_tls, authenticator=_authenticate, auth_require_tls=False
    ) as smtp:
        yield smtp


def _channel(port: int, **config: Any) -> EmailChannel:
    raw = {
        "host": "127.0.0.1",
        "port": port,
        "from": "MonitorX <alerts@monitorx.example.com>",
        "to": ["oncall@example.com", "ml-team@example.com"],
        **config,
    }
    return EmailChannel(EmailConfig.parse(raw), clock=FakeClock(STARTED), timeout_s=5)


def _parts(message: EmailMessage) -> dict[str, str]:
    """Each part's text, with the wire's CRLF line ends read back as newlines."""
    return {
        part.get_content_type(): part.get_content().replace("\r\n", "\n")
        for part in message.iter_parts()
    }


def _drift_pair() -> Any:
    alerts = [
        make_alert(
            alert_id=f"d{i}",
            alert_type=AlertType.DRIFT,
            value=0.97,
            threshold=0.8,
            message=f"drift confidence 0.97 on {feature}",
            labels={"feature": feature},
        )
        for i, feature in enumerate(["amount", "country"])
    ]
    return make_notification(*alerts, group_labels={"alertname": "drift", "model_id": "fraud-v3"})


async def test_message_reaches_every_recipient_with_subject_and_both_parts(
    plain_smtp: Smtp,
) -> None:
    channel = _channel(plain_smtp.port, starttls=False)
    result = await channel.send(_drift_pair())
    (envelope,) = plain_smtp.inbox.envelopes
    assert envelope.mail_from == "alerts@monitorx.example.com"
    assert envelope.rcpt_tos == ["oncall@example.com", "ml-team@example.com"]
    message = plain_smtp.inbox.message()
    assert message["Subject"] == "[FIRING:2] drift fraud-v3 (critical)"
    assert message["From"] == "MonitorX <alerts@monitorx.example.com>"
    assert message["To"] == "oncall@example.com, ml-team@example.com"
    assert message["Date"] == "Sat, 01 Aug 2026 10:00:00 +0000"
    assert message["Message-ID"].endswith("@monitorx.example.com>")
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    parts = _parts(message)
    assert list(parts) == ["text/plain", "text/html"]
    text = parts["text/plain"]
    assert text.startswith("[FIRING:2] drift fraud-v3 (critical)\n\n[FIRING] drift on fraud-v3\n")
    assert "  Summary:   drift confidence 0.97 on amount\n" in text
    assert "  Summary:   drift confidence 0.97 on country\n" in text
    assert "  Threshold: 0.8\n" in text
    assert "  Link:      https://monitorx.example.com/api/v1/alerts/d1\n" in text
    page = parts["text/html"]
    assert '<th colspan="2" style="background:#d63232;' in page
    assert "<td>drift confidence 0.97 on country</td>" in page
    assert '<a href="https://monitorx.example.com/api/v1/alerts/d0">' in page
    assert (result.channel_type, result.status_code) == ("email", 250)
    assert "queued as 4711" in result.detail


async def test_plain_text_part_lists_each_fact(plain_smtp: Smtp) -> None:
    alert = make_alert(severity=Severity.MEDIUM, status=AlertStatus.RESOLVED)
    await _channel(plain_smtp.port, starttls=False).send(make_notification(alert))
    message = plain_smtp.inbox.message()
    assert message["Subject"] == "[RESOLVED] (latency fraud-v3 medium)"
    assert _parts(message)["text/plain"] == (
        "[RESOLVED] (latency fraud-v3 medium)\n"
        "\n"
        "[RESOLVED] latency on fraud-v3\n"
        "  Summary:   p95 latency 712 ms is above the 250 ms threshold\n"
        "  Model:     fraud-v3\n"
        "  Severity:  medium\n"
        "  Value:     712\n"
        "  Threshold: 250\n"
        "  Started:   2026-08-01T10:00:00Z\n"
        "  Resolved:  2026-08-01T10:05:00Z\n"
        "  Link:      https://monitorx.example.com/api/v1/alerts/a1\n"
        "\n"
        "Sent by MonitorX (https://monitorx.example.com).\n"
    )
    assert 'style="background:#2e7d32;' in _parts(message)["text/html"]


async def test_html_part_escapes_alert_text(plain_smtp: Smtp) -> None:
    alert = make_alert(message='<script>alert("x")</script> & more', severity=Severity.MEDIUM)
    await _channel(plain_smtp.port, starttls=False).send(make_notification(alert))
    page = _parts(plain_smtp.inbox.message())["text/html"]
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more" in page
    assert 'style="background:#e0a000;' in page


async def test_starttls_with_auth(starttls_smtp: Smtp, ca_file: str) -> None:
    channel = _channel(
        starttls_smtp.port, username=USER, password=PASSWORD, ca_file=ca_file, starttls=True
    )
    await channel.send(make_notification())
    assert starttls_smtp.inbox.message()["Subject"] == "[FIRING:1] (latency fraud-v3 critical)"


async def test_wrong_password_is_a_permanent_error(starttls_smtp: Smtp, ca_file: str) -> None:
    channel = _channel(starttls_smtp.port, username=USER, password="wrong-pass", ca_file=ca_file)
    with pytest.raises(ChannelError) as caught:
        await channel.send(make_notification())
    error = caught.value
    assert error.status_code == 535 and not error.retryable
    assert str(error).startswith("email receiver 'ml-oncall': SMTP server answered 535")
    assert starttls_smtp.inbox.envelopes == []


async def test_untrusted_certificate_is_refused(starttls_smtp: Smtp) -> None:
    channel = _channel(starttls_smtp.port, username=USER, password=PASSWORD)
    with pytest.raises(ChannelError) as caught:
        await channel.send(make_notification())
    assert "failed: SSLCertVerificationError" in str(caught.value)
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value) and not caught.value.retryable
    assert starttls_smtp.inbox.envelopes == []


async def test_starttls_required_but_not_offered_fails(plain_smtp: Smtp) -> None:
    with pytest.raises(ChannelError, match="STARTTLS") as caught:
        await _channel(plain_smtp.port).send(make_notification())  # starttls is the default
    assert not caught.value.retryable
    assert plain_smtp.inbox.envelopes == []


async def test_implicit_tls(implicit_tls_smtp: Smtp, ca_file: str) -> None:
    channel = _channel(
        implicit_tls_smtp.port, ssl=True, username=USER, password=PASSWORD, ca_file=ca_file
    )
    await channel.send(make_notification())
    assert len(implicit_tls_smtp.inbox.envelopes) == 1


async def test_one_refused_recipient_still_delivers_to_the_others(plain_smtp: Smtp) -> None:
    channel = _channel(plain_smtp.port, starttls=False, to=["oncall@example.com", REFUSED])
    result = await channel.send(make_notification())
    assert plain_smtp.inbox.envelopes[0].rcpt_tos == ["oncall@example.com"]
    assert result.detail.startswith(f"refused: {REFUSED}")


async def test_all_recipients_refused_is_an_error(plain_smtp: Smtp) -> None:
    channel = _channel(plain_smtp.port, starttls=False, to=[REFUSED])
    with pytest.raises(ChannelError) as caught:
        await channel.send(make_notification())
    assert caught.value.status_code == 550 and not caught.value.retryable
    assert "no such user" in caught.value.body


async def test_server_down_is_retryable() -> None:
    with pytest.raises(ChannelError) as caught:
        await _channel(_free_port(), starttls=False).send(make_notification())
    error = caught.value
    assert error.retryable and error.status_code is None
    assert str(error).startswith("email receiver 'ml-oncall': unreachable:")


async def test_password_is_never_logged_nor_shown(
    starttls_smtp: Smtp, ca_file: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    good = _channel(starttls_smtp.port, username=USER, password=PASSWORD, ca_file=ca_file)
    await good.send(make_notification())
    bad_password = "wrong-PASSWORD-secret"
    bad = _channel(starttls_smtp.port, username=USER, password=bad_password, ca_file=ca_file)
    with pytest.raises(ChannelError) as caught:
        await bad.send(make_notification())
    logging.getLogger("monitorx.test").error("failed", exc_info=caught.value)
    ours = [r for r in caplog.records if not r.name.startswith("mail.log")]  # not the peer's
    text = "\n".join(r.getMessage() for r in ours) + str(caught.value) + repr(good) + repr(bad)
    assert PASSWORD not in text and bad_password not in text
    assert good.public_config()["password"] == "<secret>"
