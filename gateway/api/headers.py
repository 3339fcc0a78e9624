"""Security headers on every response, and a Content Security Policy on every page.

Pages load script only from the gateway itself (no inline script anywhere); inline
style stays allowed because mail-like pages (consent answers, unsubscribe, the dev
mail view of an HTML mail) carry the inline styles mail clients need. Which origins
may frame a page is ``BUDSTIKKE_FRAME_ANCESTORS``.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import BeforeMessageSendHookHandler, Message, Scope

from gateway.config import Settings

BASE = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def content_security_policy(settings: Settings) -> str:
    """The policy of the gateway's HTML pages."""
    ancestors = " ".join(("'self'", *settings.frame_ancestors))
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "worker-src 'self'",
            "manifest-src 'self'",
            "frame-src 'self'",
            f"frame-ancestors {ancestors}",
            "form-action 'self'",
            "base-uri 'none'",
            "object-src 'none'",
        )
    )


def security_headers(settings: Settings) -> BeforeMessageSendHookHandler:
    """A ``before_send`` hook adding the headers to each response as it starts."""
    policy = content_security_policy(settings)
    frame = "SAMEORIGIN" if not settings.frame_ancestors else None

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        for name, value in BASE.items():
            if name not in headers:
                headers[name] = value
        if (headers.get("content-type") or "").startswith("text/html"):
            headers["Content-Security-Policy"] = policy
            if frame:
                headers["X-Frame-Options"] = frame

    return add_headers
