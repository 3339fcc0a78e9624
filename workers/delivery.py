"""Delivery jobs: fan-out, chunked sends, the dispatcher, the outbox sweeper, digests.

Each job takes ids, never payloads, and calls one service in ``gateway.delivery``.
"""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
import structlog

from channels.base import Channel
from channels.email import EmailChannel
from channels.webpush import WebPushChannel
from gateway.auth.links import LinkSigner, secret_key
from gateway.config import Settings
from gateway.delivery import digest, dispatch, fanout
from gateway.delivery.deliver import Runtime
from gateway.delivery.deliver import deliver as deliver_chunk
from gateway.delivery.queue import Queue
from gateway.delivery.render import Renderer
from gateway.orm import utcnow

log = structlog.get_logger(__name__)


async def delivery_startup(ctx: dict[str, Any]) -> None:
    """Open the channels once per worker and say which ones are off."""
    settings: Settings = ctx["settings"]
    candidates: list[Channel] = [EmailChannel(settings)]
    http = aiohttp.ClientSession()
    candidates.append(WebPushChannel(settings, session=http))
    channels: dict[str, Channel] = {}
    off: dict[str, str] = {}
    for channel in candidates:
        reason = channel.configured()
        if reason is None:
            channels[channel.name] = channel
        else:
            off[channel.name] = reason
            await channel.close()
            log.warning(
                "channel not configured; its deliveries are skipped",
                channel=channel.name,
                reason=reason,
            )
    ctx["push_http"] = http
    ctx["queue"] = Queue(ctx["redis"], settings.queue_name)
    ctx["delivery"] = Runtime(
        settings=settings,
        sessions=ctx["sessions"],
        channels=channels,
        renderer=Renderer(settings, LinkSigner(secret_key(settings))),
        off=off,
    )


async def delivery_shutdown(ctx: dict[str, Any]) -> None:
    runtime: Runtime | None = ctx.get("delivery")
    if runtime is not None:
        for channel in runtime.channels.values():
            await channel.close()
    http: aiohttp.ClientSession | None = ctx.get("push_http")
    if http is not None:
        await http.close()


async def fan_out(ctx: dict[str, Any], outbox_id: str) -> dict[str, int]:
    """Plan the notifications of one outbox row and enqueue the due ones."""
    result = await fanout.fan_out(
        ctx["sessions"], ctx["settings"], ctx["queue"], uuid.UUID(outbox_id)
    )
    return {"planned": result.planned, "queued": result.queued, "chunks": result.chunks}


async def deliver(ctx: dict[str, Any], channel: str, ids: list[str]) -> dict[str, int]:
    """Send one chunk of deliveries over one channel."""
    tally = await deliver_chunk(
        ctx["delivery"], channel, [uuid.UUID(i) for i in ids], str(ctx["job_id"])
    )
    return tally.as_dict()


async def dispatch_deliveries(ctx: dict[str, Any]) -> int:
    """Every few seconds: release what may go now, re-enqueue what a lost job held."""
    found = await dispatch.dispatch(ctx["sessions"], ctx["settings"], ctx["queue"], utcnow())
    return found.queued


async def sweep_outbox(ctx: dict[str, Any]) -> int:
    """Every half minute: enqueue again outbox rows no worker finished."""
    return await dispatch.sweep_outbox(ctx["sessions"], ctx["settings"], ctx["queue"], utcnow())


async def send_digests(ctx: dict[str, Any]) -> int:
    """Every minute: the digest mails that are due."""
    return await digest.send_due(ctx["delivery"], utcnow())
