"""``/dev/mail``: the mail the development catcher took, as pages and as JSON.

Registered only when ``BUDSTIKKE_DEV_MAIL`` is true (``budstikke run`` sets it when it
starts the catcher); otherwise these routes do not exist. The pages load nothing from
elsewhere; a mail's HTML is shown in a sandboxed ``<iframe srcdoc>`` (no scripts, no
same-origin access), and the reply form only takes posts from this origin.
"""

from __future__ import annotations

import asyncio
import html
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import MediaType, RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect

from gateway.config import Settings
from gateway.devmail import MAX_REPLY_CHARS, MailStore, MailSummary, MailView, send_reply
from gateway.errors import Forbidden

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data: https:; "
    "frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2329;background:#f5f6f7}
main{max-width:62rem;margin:0 auto;padding:1.5rem}
h1{font-size:1.3rem;margin:0 0 1rem}h2{font-size:1rem;margin:1.5rem 0 .5rem}
table{width:100%;border-collapse:collapse;background:#fff}
th,td{text-align:start;padding:.45rem .6rem;border-bottom:1px solid #e2e5e8;vertical-align:top}
th{font-weight:600;background:#eef0f2}a{color:#0b5cad}
.note{background:#fff7d6;border:1px solid #e8d58a;padding:.6rem .8rem;margin-bottom:1rem}
pre{white-space:pre-wrap;background:#fff;border:1px solid #e2e5e8;padding:.8rem;margin:0}
iframe{width:100%;height:32rem;border:1px solid #e2e5e8;background:#fff}
textarea{width:100%;min-height:8rem;font:inherit;box-sizing:border-box}
button{font:inherit;padding:.4rem 1rem;margin-top:.5rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;background:#fff;
padding:.8rem;border:1px solid #e2e5e8;margin:0}dt{font-weight:600}dd{margin:0;word-break:break-all}
"""


class MailList(msgspec.Struct, kw_only=True):
    items: list[MailSummary]


class ReplyForm(msgspec.Struct, kw_only=True):
    body: Annotated[str, msgspec.Meta(max_length=MAX_REPLY_CHARS)] = ""


def _page(title: str, body: str) -> Response[str]:
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f'<body><main dir="auto">{body}</main></body></html>'
    )
    return Response(
        document,
        media_type=MediaType.HTML,
        headers={"Content-Security-Policy": CSP, "Cache-Control": "no-store"},
    )


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _list_page(items: list[MailSummary]) -> Response[str]:
    rows = "".join(
        f'<tr><td><a href="/dev/mail/{_e(m.id)}">{_e(m.subject or "(no subject)")}</a></td>'
        f"<td>{_e(m.to)}</td><td>{_e(m.sender)}</td>"
        f"<td>{_e(m.date.isoformat(sep=' ', timespec='minutes') if m.date else '')}</td></tr>"
        for m in items
    )
    table = (
        "<table><thead><tr><th>Subject</th><th>To</th><th>From</th><th>Date</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        if items
        else "<p>No mail yet. Mail the gateway sends appears here.</p>"
    )
    intro = (
        f"<h1>Dev mail · {len(items)}</h1><p>Mail caught by the development SMTP catcher, "
        'newest first (the newest 500 are kept). <a href="/dev/mail.json">JSON</a></p>'
    )
    return _page("Dev mail", intro + table)


def _mail_page(view: MailView, note: str | None) -> Response[str]:
    parts = [
        f'<p><a href="/dev/mail">← all mail</a></p><h1>{_e(view.subject or "(no subject)")}</h1>'
    ]
    if note:
        parts.append(f'<p class="note" role="status">{_e(note)}</p>')
    headers = "".join(f"<dt>{_e(name)}</dt><dd>{_e(value)}</dd>" for name, value in view.headers)
    parts.append(f"<h2>Headers</h2><dl>{headers}</dl>")
    if view.text is not None:
        parts.append(f"<h2>Text part</h2><pre>{_e(view.text)}</pre>")
    if view.html is not None:
        parts.append(
            '<h2>HTML part</h2><iframe sandbox title="HTML part" referrerpolicy="no-referrer" '
            f'srcdoc="{_e(view.html)}"></iframe>'
        )
    if view.reply_to:
        parts.append(
            f"<h2>Reply</h2><p>Sends a real mail from {_e(view.to)} to {_e(view.reply_to)} "
            "through the inbound listener, quoting this mail below your text.</p>"
            f'<form method="post" action="/dev/mail/{_e(view.id)}/reply">'
            f'<textarea name="body" maxlength="{MAX_REPLY_CHARS}" required '
            'aria-label="Your reply"></textarea><button type="submit">Send reply</button></form>'
        )
    return _page(view.subject or "Dev mail", "".join(parts))


def _same_origin(request: Request[Any, Any, Any]) -> None:
    """Forbidden for a post another site's page made (the form is only for this one)."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    if urlsplit(origin).netloc != request.headers.get("host", ""):
        raise Forbidden("the dev mail reply form takes posts from its own page only")


class DevMailController(Controller):
    path = "/dev"
    include_in_schema = False

    @get("/mail", media_type=MediaType.HTML)
    async def index(self, settings: NamedDependency[Settings]) -> Response[str]:
        items = await asyncio.to_thread(MailStore.of(settings).summaries)
        return _list_page(items)

    @get("/mail.json")
    async def index_json(self, settings: NamedDependency[Settings]) -> MailList:
        return MailList(items=await asyncio.to_thread(MailStore.of(settings).summaries))

    @get("/mail/{mail_id:str}", media_type=MediaType.HTML)
    async def show(
        self,
        mail_id: FromPath[str],
        settings: NamedDependency[Settings],
        note: FromQuery[str | None] = None,
    ) -> Response[str]:
        view = await asyncio.to_thread(MailStore.of(settings).read, mail_id)
        return _mail_page(view, note[:500] if note else None)

    @post("/mail/{mail_id:str}/reply", status_code=303)
    async def reply(
        self,
        request: Request[Any, Any, Any],
        mail_id: FromPath[str],
        data: Annotated[ReplyForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
        settings: NamedDependency[Settings],
    ) -> Redirect:
        _same_origin(request)
        view = await asyncio.to_thread(MailStore.of(settings).read, mail_id)
        if not data.body.strip():
            note = "Write something first: the reply was empty."
        else:
            code, text = await send_reply(settings, view, data.body)
            note = f"Reply sent; the inbound listener answered {code} {text}"
        return Redirect(path=f"/dev/mail/{quote(mail_id)}?note={quote(note)}", status_code=303)
