"""`/api/v1/channels`: where notifications go. Secrets are never shown."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from monitorx.alerting.notify.channels.base import ChannelError
from monitorx.alerting.notify.definitions import ChannelRecord
from monitorx.alerting.notify.notification import sample_notification
from monitorx.core import Conflict
from monitorx.server.checked_json import read_checked_json
from monitorx.server.deps import (
    AlertingDep,
    ClockDep,
    SettingsDep,
)
from monitorx.server.errors import problem
from monitorx.server.openapi import ERROR_RESPONSES, PUT_RESPONSES
from monitorx.server.responses import JSONResponse

router = APIRouter(prefix="/channels", tags=["channels"])


@router.post("", status_code=201, responses=ERROR_RESPONSES)
async def create_channel(request: Request, alerting: AlertingDep) -> JSONResponse:
    """Add a channel: ``{"id", "type", "config", "send_resolved"?, "enabled"?,
    "rate_limit"?: {"max": 30, "window": "1m"}}``. 409 if the id exists."""
    record = ChannelRecord.from_body(await read_checked_json(request))
    if record.id in alerting.channels:
        raise Conflict(
            f"channel {record.id!r} already exists; use PUT /api/v1/channels/{record.id}"
        )
    await alerting.put_channel(record)
    return JSONResponse(record.public(), status_code=201)


@router.get("")
async def list_channels(alerting: AlertingDep) -> JSONResponse:
    channels = alerting.channels.values()
    return JSONResponse([c.public() for c in sorted(channels, key=lambda c: c.id)])


@router.get("/{channel_id}", responses=ERROR_RESPONSES)
async def get_channel(channel_id: str, alerting: AlertingDep) -> JSONResponse:
    return JSONResponse(alerting.channel(channel_id).public())


@router.put("/{channel_id}", responses=PUT_RESPONSES)
async def put_channel(channel_id: str, request: Request, alerting: AlertingDep) -> JSONResponse:
    """Create (201) or replace (200). A secret sent back as ``"<secret>"`` keeps its
    stored value, so a GET–edit–PUT round trip does not need the secrets."""
    previous = alerting.channels.get(channel_id)
    record = ChannelRecord.from_body(await read_checked_json(request), channel_id, previous)
    created = await alerting.put_channel(record)
    return JSONResponse(record.public(), status_code=201 if created else 200)


@router.delete("/{channel_id}", status_code=204, responses=ERROR_RESPONSES)
async def delete_channel(channel_id: str, alerting: AlertingDep) -> Response:
    """Delete a channel; 409 while a route names it."""
    await alerting.delete_channel(channel_id)
    return Response(status_code=204)


@router.post("/{channel_id}/test", responses=ERROR_RESPONSES)
async def send_test_notification(
    channel_id: str, alerting: AlertingDep, settings: SettingsDep, clock: ClockDep
) -> JSONResponse:
    """Send a test notification now (also to a disabled channel): 200 once the
    receiver took it, 502 with the receiver's answer otherwise."""
    sender = alerting.sender(channel_id)
    notification = sample_notification(channel_id, clock.now(), settings.external_url)
    try:
        result = await sender.send(notification)
    except ChannelError as exc:
        return problem(502, "delivery_failed", str(exc), status_code=exc.status_code)
    return JSONResponse(
        {
            "delivered": True,
            "channel": channel_id,
            "status_code": result.status_code,
            "requests": result.requests,
            "detail": result.detail,
        }
    )
