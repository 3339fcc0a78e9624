"""One-click unsubscribe from notification mail (RFC 8058): a confirm page and the POST.

``List-Unsubscribe`` points here. There is no login: the signed token in the path is the
authority (:mod:`gateway.delivery.unsubscribe`). ``GET`` shows a page with one button
and changes nothing, because mail security scanners open every link; ``POST`` — the
mail client's one-click request (body ``List-Unsubscribe=One-Click``, though any body is
accepted) or the page's button — turns the email preference off and answers 200 with a
short page (HTML for browsers, plain text otherwise). A forged or mangled token is 404,
an expired one 410.

Requests carry no credentials, so the guards' per-caller limits never see them; each
request here counts against ``BUDSTIKKE_RATE_LIMIT_PER_MINUTE`` (and a POST also
``…_WRITES_PER_MINUTE``) by client address, like failed logins.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.enums import MediaType
from litestar.handlers import BaseRouteHandler
from litestar.openapi import ResponseSpec
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.api.auth import AuthState
from gateway.api.problems import Problem
from gateway.api.resources import Resources
from gateway.auth.links import LinkSigner, secret_key
from gateway.delivery import unsubscribe
from gateway.delivery.render import N_
from gateway.i18n import render, translations

QUESTIONS = {
    "message": N_("Do you want to stop getting emails about messages?"),
    "announcement": N_("Do you want to stop getting emails about announcements?"),
    "consent": N_("Do you want to stop getting emails about consent requests?"),
    "reminder": N_("Do you want to stop getting emails about reminders?"),
    unsubscribe.DIGEST: N_("Do you want to stop getting the daily overview email?"),
}
DONE = {
    "message": N_("You will no longer get emails about messages."),
    "announcement": N_("You will no longer get emails about announcements."),
    "consent": N_("You will no longer get emails about consent requests."),
    "reminder": N_("You will no longer get emails about reminders."),
    unsubscribe.DIGEST: N_("You will no longer get the daily overview email."),
}
# The page holds a token worth one preference: keep it out of caches, referrers, indexes.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}
ERRORS = {
    404: ResponseSpec(Problem, description="The link is not valid"),
    410: ResponseSpec(Problem, description="The link has expired"),
    422: ResponseSpec(Problem, description="The link names urgent notifications"),
    429: ResponseSpec(Problem, description="Too many requests from this address"),
}
_SIGNER_STATE = "link_signer"


async def by_address(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A guard: count the request against the rate limits of the client's address."""
    auth: AuthState = connection.app.state.auth
    client = connection.client.host if connection.client else "unknown"
    await auth.limiter.hit(f"ip:{client}", method=str(connection.scope.get("method", "GET")))


def provide_signer(request: Request[Any, Any, Any]) -> LinkSigner:
    """The link signer of this process (its key is read once, on first use)."""
    state = request.app.state
    signer: LinkSigner | None = state.get(_SIGNER_STATE)
    if signer is None:
        resources: Resources = state.resources
        signer = LinkSigner(secret_key(resources.settings))
        state[_SIGNER_STATE] = signer
    return signer


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _page(locale: str, scope: str, *, done: bool) -> str:
    t = translations(locale)
    if done:
        return render(
            "pages/unsubscribe.html",
            locale,
            title=t.gettext("Unsubscribed"),
            done=t.gettext(DONE[scope]),
        )
    return render(
        "pages/unsubscribe.html",
        locale,
        title=t.gettext("Stop emails"),
        done=None,
        question=t.gettext(QUESTIONS[scope]),
    )


class UnsubscribeController(Controller):
    path = "/v1/unsubscribe/{token:str}"
    tags = ["notifications"]  # noqa: RUF012 - Litestar reads a class attribute
    guards = [by_address]  # noqa: RUF012
    dependencies = {"signer": Provide(provide_signer, sync_to_thread=False)}  # noqa: RUF012

    @get(
        summary="Confirm page of a one-click unsubscribe link",
        description="Shows what the link turns off and a button that POSTs to it. "
        "Changes nothing (mail scanners follow links).",
        media_type=MediaType.HTML,
        responses=ERRORS,
    )
    async def page(
        self,
        token: FromPath[str],
        session: NamedDependency[AsyncSession],
        signer: NamedDependency[LinkSigner],
    ) -> Response[str]:
        found = await unsubscribe.look_up(session, signer, token, _today())
        return Response(
            _page(found.locale, found.scope, done=False),
            media_type=MediaType.HTML,
            headers=PAGE_HEADERS,
        )

    @post(
        summary="One-click unsubscribe (RFC 8058)",
        description="Sets the person's email preference for the link's category to "
        "`off` (the digest link: every category in digest mode). Any body is accepted; "
        "mail clients send `List-Unsubscribe=One-Click`. Urgent mail cannot be turned off.",
        status_code=200,
        media_type=MediaType.HTML,
        responses=ERRORS,
    )
    async def confirm(
        self,
        request: Request[Any, Any, Any],
        token: FromPath[str],
        session: NamedDependency[AsyncSession],
        signer: NamedDependency[LinkSigner],
    ) -> Response[str]:
        done = await unsubscribe.unsubscribe(session, signer, token, _today())
        # Plain text unless HTML is asked for by name: a browser's form post, not ``*/*``.
        if request.accept.best_match(["text/plain", "text/html"], "text/plain") == "text/html":
            body, media = _page(done.locale, done.scope, done=True), MediaType.HTML
        else:
            body, media = translations(done.locale).gettext(DONE[done.scope]), MediaType.TEXT
        return Response(body, media_type=media, headers=PAGE_HEADERS)
