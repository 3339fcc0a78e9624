"""Answer links from consent mails: a confirmation page (GET) and the answer (POST).

There is no login: the signed token in the path is the authority
(:mod:`gateway.consents.links`). ``GET`` shows the answer the link stands for and one
button, and records nothing, because mail security scanners open every link; the
button POSTs to the same URL, which records the answer (channel ``email_link``) and
shows a thank-you page. Posting again records nothing more. A link that can no longer
be used says why on the page, with the status to match: the question changed (409),
the deadline passed (410), the person may not answer for the child (any more: 403).
A forged or mangled token is 404 and an expired one 410: problem details, or a short
page in the browser's language when the client asks for HTML (a click in a mail).

Requests carry no credentials, so each counts against the rate limits of the client's
address, as one-click unsubscribe does.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.enums import MediaType
from litestar.openapi import ResponseSpec
from litestar.params import FromPath
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.api.problems import Problem, gateway_error
from gateway.api.unsubscribe import PAGE_HEADERS, by_address, provide_signer
from gateway.auth.links import LinkSigner
from gateway.config import Settings
from gateway.consents import links
from gateway.consents.links import AnswerPage, PageState
from gateway.errors import LinkExpired, NotFound
from gateway.i18n import format_when, render, supported
from gateway.orm import utcnow

STATUS = {
    PageState.ASK: 200,
    PageState.RECORDED: 200,
    PageState.UNCHANGED: 200,
    PageState.CHANGED: 409,
    PageState.CLOSED: 410,
    PageState.NOT_ALLOWED: 403,
}
ERRORS = {
    403: ResponseSpec(str, description="The person may not answer for the child (any more)"),
    404: ResponseSpec(Problem, description="The link is not valid"),
    409: ResponseSpec(str, description="The question changed since the mail: answer in the portal"),
    410: ResponseSpec(Problem, description="The link has expired or the deadline has passed"),
    429: ResponseSpec(Problem, description="Too many requests from this address"),
}


async def _answering(
    request: Request[Any, Any, Any], outcome: Awaitable[AnswerPage]
) -> Response[str]:
    """The outcome's page; a link that does not work gets a page too when a browser asks."""
    try:
        return _response(await outcome)
    except (NotFound, LinkExpired) as error:
        # Someone clicked a link in a mail: a problem document would mean nothing to them.
        if request.accept.best_match(["application/problem+json", "text/html"]) != "text/html":
            raise
        status = gateway_error(request, error).status_code  # the one mapping
        language = request.headers.get("accept-language", "").split(",", 1)[0].split(";")[0]
        state = "expired" if isinstance(error, LinkExpired) else "invalid"
        body = render("pages/consent_answer.html", supported(language), state=state, portal_url="")
        return Response(body, status_code=status, media_type=MediaType.HTML, headers=PAGE_HEADERS)


def _response(page: AnswerPage) -> Response[str]:
    """The page of an outcome, in the person's language, with its status."""
    body = render(
        "pages/consent_answer.html",
        page.locale,
        state=page.state.value,
        child_name=page.child_name,
        option_label=page.option_label,
        question_title=page.title,
        # Sanitised when the question was stored (gateway.messaging.sanitise).
        question_html=Markup(page.question_html),  # noqa: S704
        answer_by=format_when(page.answer_by, page.locale, page.time_zone),
        portal_url=page.portal_url,
    )
    return Response(
        body, status_code=STATUS[page.state], media_type=MediaType.HTML, headers=PAGE_HEADERS
    )


class ConsentLinksController(Controller):
    path = "/v1/consents/answer/{token:str}"
    tags = ["consents"]  # noqa: RUF012 - Litestar reads a class attribute
    guards = [by_address]  # noqa: RUF012
    dependencies = {"signer": Provide(provide_signer, sync_to_thread=False)}  # noqa: RUF012

    @get(
        summary="Confirmation page of an answer link",
        description="Shows the answer the link stands for (option, child, question) and a "
        "button that POSTs to the same URL. Records nothing (mail scanners follow links).",
        media_type=MediaType.HTML,
        responses=ERRORS,
    )
    async def page(
        self,
        request: Request[Any, Any, Any],
        token: FromPath[str],
        session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        signer: NamedDependency[LinkSigner],
    ) -> Response[str]:
        return await _answering(request, links.look_up(session, settings, signer, token, utcnow()))

    @post(
        summary="Answer a consent request from its email link",
        description="Records the link's answer (channel `email_link`) after the API's "
        "checks: still open, current version, the person may answer for the child today. "
        "Any body is accepted; repeating it records nothing more.",
        status_code=200,
        media_type=MediaType.HTML,
        responses=ERRORS,
    )
    async def confirm(
        self,
        request: Request[Any, Any, Any],
        token: FromPath[str],
        session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        signer: NamedDependency[LinkSigner],
    ) -> Response[str]:
        return await _answering(request, links.answer(session, settings, signer, token, utcnow()))
