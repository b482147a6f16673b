"""What the chat channels (Slack, Teams) share: one JSON message per notification,
posted to a webhook URL that is itself the secret."""

from __future__ import annotations

__all__ = ["ChatWebhookChannel", "ChatWebhookConfig"]

from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

import httpx

from monitorx.alerting.notify.channels.base import DeliveryResult, post_json
from monitorx.alerting.notify.channels.redaction import Secret
from monitorx.alerting.notify.notification import Notification


class ChatWebhookConfig(Protocol):
    @property
    def url(self) -> Secret: ...

    def public(self) -> dict[str, object]: ...

    def secret_values(self) -> tuple[str, ...]: ...


C = TypeVar("C", bound=ChatWebhookConfig)


class ChatWebhookChannel(Generic[C]):
    """Posts `message` of each notification as JSON to the configured webhook URL.
    A subclass names its ``type``, parses its config (`parse_config`) and renders
    its message."""

    type: ClassVar[str]

    def __init__(self, config: C, http: httpx.AsyncClient) -> None:
        self.config = config
        self._http = http

    @classmethod
    def parse_config(cls, raw: object) -> C:
        raise NotImplementedError

    @classmethod
    def from_config(cls, raw: object, http: httpx.AsyncClient) -> Self:
        return cls(cls.parse_config(raw), http)

    def message(self, notification: Notification) -> dict[str, Any]:
        raise NotImplementedError

    def public_config(self) -> dict[str, object]:
        return self.config.public()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.public_config()!r})"

    async def send(self, notification: Notification) -> DeliveryResult:
        return await post_json(
            self._http,
            channel_type=self.type,
            receiver=notification.receiver,
            url=self.config.url.reveal(),
            payload=self.message(notification),
            secrets=self.config.secret_values(),
        )
