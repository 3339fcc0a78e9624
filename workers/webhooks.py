"""Webhook jobs: send the due events every few seconds over one shared HTTP client."""

from __future__ import annotations

from typing import Any

import aiohttp

from gateway.config import Settings
from gateway.orm import utcnow
from gateway.webhooks.sender import open_http, send_due

_HTTP = "webhook_http"


async def webhook_startup(ctx: dict[str, Any]) -> None:
    """Open the webhook HTTP client (checked DNS, no cookies) once per worker."""
    settings: Settings = ctx["settings"]
    ctx[_HTTP] = open_http(settings)


async def webhook_shutdown(ctx: dict[str, Any]) -> None:
    """Close the client :func:`webhook_startup` (or the first job) opened."""
    http: aiohttp.ClientSession | None = ctx.pop(_HTTP, None)
    if http is not None:
        await http.close()


async def send_webhooks(ctx: dict[str, Any]) -> int:
    """Send the webhook events that are due; how many the receivers took."""
    http: aiohttp.ClientSession | None = ctx.get(_HTTP)
    if http is None or http.closed:
        # Startup did not open one (or it was closed): make it here, closed at shutdown.
        http = ctx[_HTTP] = open_http(ctx["settings"])
    return await send_due(ctx["sessions"], ctx["settings"], http, utcnow())
