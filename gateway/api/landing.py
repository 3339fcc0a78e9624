"""Where the links in notifications land: the portal's thread page, or a gateway page."""

from __future__ import annotations

import html
import uuid

from litestar import Controller, MediaType, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect

from gateway.auth.devtokens import dev_tokens_enabled
from gateway.config import Settings

PAGE = """<!doctype html>
<html lang="da"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Budstikke</title>
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;
line-height:1.5;color:#1f2933}}code{{background:#f0f4f8;padding:.1rem .3rem}}</style>
</head><body>
<h1>Læs beskeden i din portal</h1>
<p>Log ind i skolens eller institutionens portal for at læse og svare.</p>
<p lang="en">Sign in to your school's portal to read and answer this message.</p>
<p>Tråd / thread: <code>{thread}</code></p>
</body></html>
"""


class LandingController(Controller):
    include_in_schema = False

    @get("/threads/{thread_id:uuid}", media_type=MediaType.HTML)
    async def thread(
        self, thread_id: FromPath[uuid.UUID], settings: NamedDependency[Settings]
    ) -> Response[str] | Redirect:
        """Redirect to the portal (``BUDSTIKKE_PORTAL_THREAD_URL``, or the demo portal in the
        demo), else say where to read."""
        if settings.portal_thread_url:
            return Redirect(settings.portal_thread_url.replace("{thread_id}", str(thread_id)))
        if dev_tokens_enabled(settings):  # the demo portal is the portal
            return Redirect(f"/demo?thread={thread_id}")
        return Response(
            PAGE.format(thread=html.escape(str(thread_id))),
            media_type=MediaType.HTML,
            headers={"Cache-Control": "no-store"},
        )
