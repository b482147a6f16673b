"""Email over SMTP: one multipart/alternative message per notification.

The subject is Alertmanager's (``[FIRING:2] latency fraud-v3 (critical)``); the
plain-text part lists each alert's facts, the HTML part shows them as a small table
under a header coloured by the worst alert. Transport: implicit TLS (``ssl``, port
465) or STARTTLS (the default, port 587; refused if the server cannot), optional
AUTH; ``ca_file`` trusts a private CA. The password is a Secret.
"""

from __future__ import annotations

__all__ = ["EmailChannel", "EmailConfig", "email_message"]

import html
import os
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid
from typing import Final

import aiosmtplib
import httpx

from monitorx.alerting.notify.channels.base import ChannelError, DeliveryResult, logger
from monitorx.alerting.notify.channels.config import ConfigReader
from monitorx.alerting.notify.channels.redaction import REDACTED, Secret, scrub
from monitorx.alerting.notify.channels.rendering import (
    Tone,
    alert_facts,
    alert_title,
    alert_tone,
    notification_tone,
    subject,
)
from monitorx.alerting.notify.notification import Notification, NotifiedAlert
from monitorx.core import Clock, SystemClock

_HEADER_COLOR = {Tone.DANGER: "#d63232", Tone.WARNING: "#e0a000", Tone.GOOD: "#2e7d32"}
# SMTP has no per-request client timeout of its own; this bounds connect and each reply.
DEFAULT_SMTP_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class EmailConfig:
    host: str
    from_address: str
    to: tuple[str, ...]
    port: int = 587
    username: str | None = None
    password: Secret | None = None
    starttls: bool = True
    ssl: bool = False
    hello: str = "localhost"
    ca_file: str | None = None

    @classmethod
    def parse(cls, raw: object) -> EmailConfig:
        reader = ConfigReader(raw)
        host = reader.string("host", required=True)
        use_ssl = reader.boolean("ssl", False)
        starttls = reader.boolean("starttls", not use_ssl)
        if use_ssl and starttls:
            reader.error("starttls", "cannot be combined with ssl (implicit TLS)")
        default_port = 465 if use_ssl else 587 if starttls else 25
        port = reader.integer("port", default_port, 1, 65535) or default_port
        username = reader.optional_string("username")
        password = reader.secret("password")
        if reader.has("username") != reader.has("password"):
            missing = "password" if reader.has("username") else "username"
            reader.error(missing, "username and password go together")
        ca_file = reader.optional_string("ca_file", max_length=4096)
        if ca_file is not None and not os.path.isfile(ca_file):
            reader.error("ca_file", "is not a readable file")
        config = cls(
            host=host,
            from_address=reader.address("from", required=True),
            to=reader.addresses("to", required=True),
            port=port,
            username=username,
            password=password,
            starttls=starttls,
            ssl=use_ssl,
            hello=reader.string("hello", "localhost"),
            ca_file=ca_file,
        )
        reader.finish()
        return config

    def public(self) -> dict[str, object]:
        view: dict[str, object] = {
            "host": self.host,
            "port": self.port,
            "from": self.from_address,
            "to": list(self.to),
            "starttls": self.starttls,
            "ssl": self.ssl,
            "hello": self.hello,
        }
        if self.username is not None:
            view["username"] = self.username
        if self.password is not None:
            view["password"] = REDACTED
        if self.ca_file is not None:
            view["ca_file"] = self.ca_file
        return view

    def secret_values(self) -> tuple[str, ...]:
        return (self.password.reveal(),) if self.password is not None else ()


def _plain_text(notification: Notification) -> str:
    lines = [subject(notification), ""]
    for alert in notification.alerts:
        lines.append(alert_title(alert))
        rows = [("Summary", alert.summary)] if alert.summary else []
        rows += alert_facts(alert)
        if alert.generator_url:
            rows.append(("Link", alert.generator_url))
        width = max(len(name) for name, _ in rows) + 1
        lines += [f"  {name + ':':<{width}} {value}" for name, value in rows]
        lines.append("")
    if notification.truncated_alerts:
        lines.append(f"{notification.truncated_alerts} more alerts not included.")
    lines.append(
        "Sent by MonitorX"
        + (f" ({notification.external_url})" if notification.external_url else "")
        + "."
    )
    return "\n".join(lines) + "\n"


def _html_rows(alert: NotifiedAlert) -> list[str]:
    color = _HEADER_COLOR[alert_tone(alert)]
    rows = [
        f'<tr><td colspan="2" style="border-top:1px solid #ddd;font-weight:bold;color:{color}">'
        f"{html.escape(alert_title(alert))}</td></tr>"
    ]
    facts = [("Summary", alert.summary)] if alert.summary else []
    facts += alert_facts(alert)
    rows += [
        f'<tr><td style="color:#555">{html.escape(name)}</td><td>{html.escape(value)}</td></tr>'
        for name, value in facts
    ]
    if alert.generator_url:
        url = html.escape(alert.generator_url, quote=True)
        rows.append(f'<tr><td style="color:#555">Link</td><td><a href="{url}">{url}</a></td></tr>')
    return rows


def _html(notification: Notification) -> str:
    color = _HEADER_COLOR[notification_tone(notification)]
    title = html.escape(subject(notification))
    rows = [
        f'<tr><th colspan="2" style="background:{color};color:#ffffff;text-align:left;'
        f'padding:8px">{title}</th></tr>'
    ]
    for alert in notification.alerts:
        rows += _html_rows(alert)
    footer = "Sent by MonitorX"
    if notification.external_url:
        url = html.escape(notification.external_url, quote=True)
        footer += f' (<a href="{url}">{url}</a>)'
    if notification.truncated_alerts:
        footer = f"{notification.truncated_alerts} more alerts not included. " + footer
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>'
        f"{title}</title></head>\n"
        '<body style="font-family:Helvetica,Arial,sans-serif;font-size:14px">\n'
        '<table cellpadding="4" cellspacing="0" style="border-collapse:collapse">\n'
        + "\n".join(rows)
        + f'\n</table>\n<p style="color:#777">{footer}.</p>\n</body></html>\n'
    )


def email_message(notification: Notification, config: EmailConfig, clock: Clock) -> EmailMessage:
    """The message for one notification: headers, a text part and an HTML part."""
    message = EmailMessage()
    message["Subject"] = subject(notification)
    message["From"] = config.from_address
    message["To"] = ", ".join(config.to)
    message["Date"] = format_datetime(clock.now())
    domain = getaddresses([config.from_address])[0][1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    message.set_content(_plain_text(notification))
    message.add_alternative(_html(notification), subtype="html")
    return message


class EmailChannel:
    """Sends one message per notification through one SMTP server."""

    type: Final = "email"

    def __init__(
        self,
        config: EmailConfig,
        clock: Clock | None = None,
        timeout_s: float = DEFAULT_SMTP_TIMEOUT_S,
    ) -> None:
        self.config = config
        self._clock = clock or SystemClock()
        self._timeout_s = timeout_s

    @classmethod
    def from_config(cls, raw: object, http: httpx.AsyncClient) -> EmailChannel:
        return cls(EmailConfig.parse(raw))  # SMTP, not HTTP: the shared client is unused

    def public_config(self) -> dict[str, object]:
        return self.config.public()

    def __repr__(self) -> str:
        return f"EmailChannel({self.public_config()!r})"

    def _tls_context(self) -> ssl.SSLContext | None:
        if self.config.ca_file is None:
            return None  # aiosmtplib verifies against the system's trust store
        return ssl.create_default_context(cafile=self.config.ca_file)

    async def send(self, notification: Notification) -> DeliveryResult:
        config = self.config
        message = email_message(notification, config, self._clock)
        sender = getaddresses([config.from_address])[0][1]
        try:
            refused, answer = await aiosmtplib.send(
                message,
                sender=sender,
                recipients=list(config.to),
                hostname=config.host,
                port=config.port,
                username=config.username,
                password=config.password.reveal() if config.password else None,
                use_tls=config.ssl,
                start_tls=config.starttls,
                tls_context=self._tls_context(),
                local_hostname=config.hello,
                timeout=self._timeout_s,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise self._error(notification.receiver, exc) from None
        detail = scrub(answer, config.secret_values())
        if refused:
            detail = f"refused: {', '.join(sorted(refused))}; {detail}"
            logger.warning(
                "email receiver %r: %d of %d recipients refused: %s",
                notification.receiver,
                len(refused),
                len(config.to),
                ", ".join(sorted(refused)),
            )
        logger.debug("email receiver %r: message accepted", notification.receiver)
        return DeliveryResult(self.type, notification.receiver, 250, detail=detail)

    def _error(self, receiver: str, exc: Exception) -> ChannelError:
        secrets = self.config.secret_values()
        if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
            exc = exc.recipients[0]
        if isinstance(exc, aiosmtplib.SMTPResponseException):
            return ChannelError(
                self.type,
                receiver,
                f"SMTP server answered {exc.code} ({type(exc).__name__})",
                status_code=exc.code,
                body=scrub(" ".join(exc.message.split()), secrets),
                # 4xx replies are transient by definition (RFC 5321 §4.2.1); 5xx are not.
                retryable=400 <= exc.code < 500,
            )
        # No answer at all: refused connection, timeout, lost connection (transient);
        # or no SMTP exchange possible: TLS failure, STARTTLS or AUTH missing (not).
        transient = isinstance(exc, OSError | aiosmtplib.SMTPTimeoutError) and not isinstance(
            exc, ssl.SSLError
        )
        what = "unreachable" if transient else "failed"
        reason = f"{what}: {type(exc).__name__}: {scrub(str(exc), secrets) or 'no detail'}"
        return ChannelError(self.type, receiver, reason, retryable=transient)
