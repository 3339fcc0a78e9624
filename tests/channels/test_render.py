"""Rendered notification mail, sent through the real email channel to a real SMTP server."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import msgspec
import pytest

from channels.base import Delivered, Envelope
from channels.email import EmailChannel
from channels.headers import HeaderError, validate_headers
from gateway.auth.links import Purpose
from gateway.config import Settings
from gateway.delivery.branding import DEFAULT_COLOUR, brand_of
from gateway.delivery.notice import Branding
from gateway.delivery.render import Renderer, mail_domain, one_line
from gateway.delivery.unsubscribe import read_token
from gateway.errors import LinkExpired
from tests.channels.conftest import SmtpServer
from tests.channels.notices import (
    TODAY,
    digest,
    digest_item,
    notice,
    plain_settings,
    renderer,
    signer,
)

DOMAIN = "skole.example.dk"
HREF = re.compile(r'href="([^"]+)"')


@pytest.fixture
def settings(smtp_server: SmtpServer, tmp_path: Path) -> Settings:
    return smtp_server.settings(tmp_path, public_url="https://besked.kommune.dk")


@pytest.fixture
async def channel(settings: Settings) -> AsyncIterator[EmailChannel]:
    adapter = EmailChannel(settings)
    yield adapter
    await adapter.close()


async def sent(
    channel: EmailChannel, smtp_server: SmtpServer, *envelopes: Envelope
) -> list[EmailMessage]:
    """Send the envelopes; the messages as the SMTP server received them."""
    outcomes = await channel.send(envelopes)
    assert all(isinstance(outcome, Delivered) for outcome in outcomes), outcomes
    return [received.parsed() for received in smtp_server.received[-len(envelopes) :]]


def parts(message: EmailMessage) -> tuple[str, str]:
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    # Text parts travel with CRLF line ends (MIME canonical form); compare with "\n".
    return plain.get_content().replace("\r\n", "\n"), html.get_content().replace("\r\n", "\n")


def everything(message: EmailMessage) -> str:
    """Every header and decoded part: what a reader or a mail filter could see."""
    headers = "\n".join(f"{name}: {value}" for name, value in message.items())
    return headers + "\n" + "\n".join(parts(message))


async def test_danish_mail_has_both_parts_with_subject_sender_body_and_portal_link(
    settings: Settings, channel: EmailChannel, smtp_server: SmtpServer
) -> None:
    item = notice(attachments=2)
    [message] = await sent(channel, smtp_server, renderer(settings).email(item, "mor@example.dk"))
    plain, html = parts(message)
    assert message["Subject"] == "Tur i skoven på fredag"
    assert message["To"] == "mor@example.dk"
    assert message.get_content_type() == "multipart/alternative"
    # The plain part: who, when (institution time: 13:05 UTC is 14.05 in Copenhagen), what.
    assert "Ny besked fra Anna Andersen - Sendt fre. 14. marts 2025 14.05" in plain
    assert "Husk **madpakke** og regntøj." in plain
    assert f"Læs og svar i portalen:\n{item.thread_url}" in plain
    assert "Beskeden har 2 vedhæftede filer." in plain
    assert "Du kan også svare ved at besvare denne e-mail." in plain
    # The HTML part: language, direction, branding bar, the safe body, one clear link.
    assert '<html lang="da" dir="ltr">' in html
    assert "background-color:#1b5e20;color:#ffffff" in html
    assert '<img src="https://cdn.example.dk/logo.png" alt=""' in html
    assert "<p>Husk <strong>madpakke</strong> og regntøj.</p>" in html
    assert f'<a href="{item.thread_url}"' in html
    assert ">Læs og svar i portalen</a>" in html
    assert "e-mail-notifikationer om beskeder fra Skovbakke Skole er slået til" in html


async def test_english_mail_is_in_english(
    settings: Settings, channel: EmailChannel, smtp_server: SmtpServer
) -> None:
    [message] = await sent(
        channel, smtp_server, renderer(settings).email(notice(locale="en-GB"), "dad@example.dk")
    )
    plain, html = parts(message)
    assert '<html lang="en" dir="ltr">' in html
    assert ">Read and reply in the portal</a>" in html
    assert "New message from Anna Andersen - Sent Fri, March 14, 2025, 2:05\u202fPM" in plain
    assert "Ny besked" not in plain


async def test_unknown_locale_falls_back_to_danish(settings: Settings) -> None:
    envelope = renderer(settings).email(notice(locale="de"), "x@example.dk")
    assert envelope.html is not None and '<html lang="da"' in envelope.html
    assert "Læs og svar i portalen" in envelope.text


async def test_arabic_mail_is_right_to_left(
    settings: Settings, channel: EmailChannel, smtp_server: SmtpServer
) -> None:
    [message] = await sent(
        channel, smtp_server, renderer(settings).email(notice(locale="ar"), "x@example.dk")
    )
    plain, html = parts(message)
    assert '<html lang="ar" dir="rtl">' in html
    assert "text-align:right;" in html
    assert "اقرأ وردّ في البوابة" in html
    # The Danish text of the message keeps its own direction inside the RTL frame.
    assert '<h1 dir="auto"' in html and '<div dir="auto"' in html
    assert "رسالة جديدة من Anna Andersen" in plain


async def test_two_notices_of_one_thread_share_the_references_root(
    settings: Settings, channel: EmailChannel, smtp_server: SmtpServer
) -> None:
    rendering = renderer(settings)
    first = rendering.email(notice(), "mor@example.dk")
    later = notice(parents=(first.headers["Message-ID"],))
    arrived = await sent(channel, smtp_server, first, rendering.email(later, "mor@example.dk"))
    # Both go out at once over the pool, so they may arrive in either order.
    by_id = {mail["Message-ID"]: mail for mail in arrived}
    one = by_id[f"<{first.delivery_id}@{DOMAIN}>"]
    two = by_id[f"<{later.delivery_id}@{DOMAIN}>"]
    root = f"<thread.{later.thread_id}@{DOMAIN}>"
    assert one["Message-ID"] == f"<{first.delivery_id}@{DOMAIN}>"
    assert two["Message-ID"] == f"<{later.delivery_id}@{DOMAIN}>"
    assert one["References"].split()[0] == two["References"].split()[0] == root
    assert two["In-Reply-To"] == one["Message-ID"]
    assert two["References"].split() == [root, one["Message-ID"]]


async def test_reply_to_carries_a_token_for_the_delivery(
    settings: Settings, channel: EmailChannel, smtp_server: SmtpServer
) -> None:
    item = notice()
    [message] = await sent(channel, smtp_server, renderer(settings).email(item, "mor@example.dk"))
    local, _, domain = message["Reply-To"].rpartition("@")
    assert domain == DOMAIN and local.startswith("r-")
    token = local.removeprefix("r-")
    assert signer().read_ids(Purpose.REPLY, token, TODAY) == (item.delivery_id,)
    last_day = TODAY + dt.timedelta(days=settings.reply_token_days)
    assert signer().read_ids(Purpose.REPLY, token, last_day) == (item.delivery_id,)
    with pytest.raises(LinkExpired):
        signer().read_ids(Purpose.REPLY, token, last_day + dt.timedelta(days=1))


async def test_announcements_get_no_reply_to(
    settings: Settings, channel: EmailChannel, smtp_server: SmtpServer
) -> None:
    item = notice(thread_kind="announcement", category="announcement")
    [message] = await sent(channel, smtp_server, renderer(settings).email(item, "mor@example.dk"))
    plain, html = parts(message)
    assert "Reply-To" not in message
    assert "Nyt opslag fra Anna Andersen" in plain
    assert ">Læs i portalen</a>" in html
    assert "Svar på denne e-mail bliver ikke læst." in plain


async def test_list_unsubscribe_names_the_person_and_category(
    settings: Settings, channel: EmailChannel, smtp_server: SmtpServer
) -> None:
    item = notice(category="announcement", thread_kind="announcement")
    [message] = await sent(channel, smtp_server, renderer(settings).email(item, "mor@example.dk"))
    value = message["List-Unsubscribe"]
    assert value.startswith("<https://besked.kommune.dk/v1/unsubscribe/") and value.endswith(">")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = value[1:-1].rsplit("/", 1)[1]
    assert read_token(signer(), token, TODAY) == (item.person_id, "announcement")
    # The same link is in both parts, for clients without an unsubscribe button.
    plain, html = parts(message)
    assert value[1:-1] in plain and f'href="{value[1:-1]}"' in html


@pytest.mark.parametrize("urgent", [{"urgent": True}, {"category": "urgent"}])
async def test_urgent_mail_has_no_unsubscribe_and_a_marked_subject(
    settings: Settings, channel: EmailChannel, smtp_server: SmtpServer, urgent: dict[str, object]
) -> None:
    [message] = await sent(
        channel, smtp_server, renderer(settings).email(notice(**urgent), "mor@example.dk")
    )
    plain, html = parts(message)
    assert message["Subject"] == "[Vigtigt] Tur i skoven på fredag"
    assert "List-Unsubscribe" not in message and "List-Unsubscribe-Post" not in message
    assert "/v1/unsubscribe/" not in plain + html
    assert "*** Vigtig besked ***" in plain
    assert "vigtige beskeder fra Skovbakke Skole altid sendes med e-mail" in plain
    # Urgent mail cannot be turned off, so no line says it can.
    assert "Du kan ændre, hvilke notifikationer du får" not in plain


async def test_urgent_marker_is_translated(settings: Settings) -> None:
    envelope = renderer(settings).email(notice(urgent=True, locale="en"), "x@example.dk")
    assert envelope.subject == "[Urgent] Tur i skoven på fredag"


async def test_a_subject_cannot_inject_headers(
    settings: Settings, channel: EmailChannel, smtp_server: SmtpServer
) -> None:
    item = notice(
        subject="Tur\r\nBcc: alle@evil.example\r\n\r\nfalsk krop", sender_name="Anna\nX-Evil: 1"
    )
    [message] = await sent(channel, smtp_server, renderer(settings).email(item, "mor@example.dk"))
    assert smtp_server.received[-1].recipients == ["mor@example.dk"]
    assert "Bcc" not in message and "X-Evil" not in message
    assert message["Subject"] == "Tur Bcc: alle@evil.example falsk krop"
    plain, _ = parts(message)
    assert "Ny besked fra Anna X-Evil: 1" in plain


async def test_html_in_a_subject_or_name_is_escaped(settings: Settings) -> None:
    item = notice(subject="<script>alert(1)</script>", sender_name='<img src=x onerror="y">')
    envelope = renderer(settings).email(item, "x@example.dk")
    assert envelope.html is not None
    assert "<script>" not in envelope.html and "<img src=x" not in envelope.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in envelope.html


async def test_sensitive_mail_says_only_that_a_message_waits(
    settings: Settings, channel: EmailChannel, smtp_server: SmtpServer
) -> None:
    item = notice(
        sensitive=True,
        subject="HEMMELIGT-EMNE om trivsel",
        body_text="HEMMELIG-TEKST",
        body_html="<p>HEMMELIG-TEKST</p>",
        sender_name="HEMMELIG-AFSENDER",
        attachments=1,
    )
    envelope = renderer(settings).email(item, "mor@example.dk")
    [message] = await sent(channel, smtp_server, envelope)
    seen = everything(message) + smtp_server.received[-1].raw.decode("ascii")
    for secret in ("HEMMELIG", "trivsel", "Anna", "vedhæft"):
        assert secret not in seen
    assert message["Subject"] == "Ny følsom besked fra Skovbakke Skole"
    plain, html = parts(message)
    assert "Du har fået en ny følsom besked fra Skovbakke Skole." in plain
    assert f"Læs beskeden i portalen:\n{item.thread_url}" in plain
    assert f'<a href="{item.thread_url}"' in html
    # No reply by email either: the answer would carry sensitive content through mail.
    assert "Reply-To" not in message
    assert "Svar på denne e-mail bliver ikke læst." in plain


async def test_sensitive_english_subject(settings: Settings) -> None:
    envelope = renderer(settings).email(notice(sensitive=True, locale="en"), "x@example.dk")
    assert envelope.subject == "New sensitive message from Skovbakke Skole"


async def test_the_protected_senders_alias_is_the_only_name_shown(
    settings: Settings, channel: EmailChannel, smtp_server: SmtpServer
) -> None:
    # Notices carry the alias already (gateway.delivery.notices.shown_name).
    item = notice(sender_name="Forælder til elev i 3.B", recipient_name="Mette Modtager")
    [message] = await sent(channel, smtp_server, renderer(settings).email(item, "mor@example.dk"))
    plain, html = parts(message)
    assert "Ny besked fra Forælder til elev i 3.B" in plain
    assert "Forælder til elev i 3.B" in html
    # No header names anyone: From is the gateway's own, To the bare address.
    assert message["From"] == "Budstikke <no-reply@skole.example.dk>"
    assert message["To"] == "mor@example.dk"
    headers = "\n".join(str(value) for _, value in message.items())
    assert "Forælder" not in headers and "Mette" not in headers
    # The renderer adds no other name: not even the recipient's own.
    assert "Mette" not in plain + html


def test_branding_colour_is_checked_and_text_stays_readable() -> None:
    assert brand_of(Branding(name="S", colour="#ffd700")).on_colour == "#1f2328"
    assert brand_of(Branding(name="S", colour="#1b5e20")).on_colour == "#ffffff"
    hostile = brand_of(
        Branding(name="S", colour="red;background:url(https://x)", logo_url="http://x/l.png")
    )
    assert hostile.colour == DEFAULT_COLOUR
    assert hostile.logo_url is None


async def test_a_hostile_logo_url_cannot_break_out_of_the_attribute(settings: Settings) -> None:
    item = notice(branding=Branding(name="S", logo_url='https://x.dk/l.png" onload="alert(1)'))
    envelope = renderer(settings).email(item, "x@example.dk")
    assert envelope.html is not None and 'onload="alert' not in envelope.html


def test_dates_are_in_the_institutions_time_zone(settings: Settings) -> None:
    # 13:05 UTC on 14 March 2025 is 09:05 in New York (daylight saving time from 9 March).
    envelope = renderer(settings).email(notice(time_zone="America/New_York"), "x@example.dk")
    assert "Sendt fre. 14. marts 2025 09.05" in envelope.text


def test_the_mail_domain_comes_from_settings_then_the_sender(tmp_path: Path) -> None:
    assert mail_domain(plain_settings(tmp_path, mail_domain="svar.kommune.dk")) == "svar.kommune.dk"
    assert mail_domain(plain_settings(tmp_path)) == "skole.example.dk"
    bare = plain_settings(tmp_path, smtp_from="")
    assert mail_domain(bare) == "budstikke.localhost"
    rendering = Renderer(plain_settings(tmp_path, mail_domain="svar.kommune.dk"), signer())
    assert rendering.domain == "svar.kommune.dk"
    envelope = rendering.email(notice(), "x@example.dk")
    assert envelope.headers["Reply-To"].endswith("@svar.kommune.dk")
    assert envelope.headers["Message-ID"].endswith("@svar.kommune.dk>")


def test_the_embedded_http_default_keeps_one_click_on_loopback(tmp_path: Path) -> None:
    local = renderer(plain_settings(tmp_path, public_url="")).email(notice(), "x@example.dk")
    assert local.headers["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/v1/unsubscribe/")
    # On another host plain http is no one-click URI: the header goes, the link stays.
    exposed = renderer(plain_settings(tmp_path, public_url="", host="0.0.0.0")).email(
        notice(), "x@example.dk"
    )
    assert "List-Unsubscribe" not in exposed.headers
    assert "http://0.0.0.0:8000/v1/unsubscribe/" in exposed.text
    # The channel's own check agrees: loopback only, by host name, not by prefix.
    assert (
        validate_headers(dict(local.headers))["List-Unsubscribe"]
        == local.headers["List-Unsubscribe"]
    )
    for url in (
        "http://localhost.evil.example/u",
        "http://[::1]@evil.example/u",
        "ftp://127.0.0.1/u",
    ):
        with pytest.raises(HeaderError, match="https"):
            validate_headers({"List-Unsubscribe": f"<{url}>"})


def test_one_line_strips_controls_and_bidi_overrides_and_bounds_length() -> None:
    assert one_line("a\r\nb\tc\u2028d \u202eevil\x00") == "a b c d evil"
    bounded = one_line("x" * 500)
    assert len(bounded) == 200 and bounded.endswith("…")


async def test_the_notice_is_not_changed_by_rendering(settings: Settings) -> None:
    item = notice()
    before = msgspec.json.encode(item)
    renderer(settings).email(item, "x@example.dk")
    assert msgspec.json.encode(item) == before


async def test_digest_lists_items_and_hides_sensitive_ones(
    settings: Settings, channel: EmailChannel, smtp_server: SmtpServer
) -> None:
    summary = digest(
        digest_item(subject="Forældremøde i 3.B", sender_name="Anna Andersen"),
        digest_item(sensitive=True, subject="HEMMELIGT-EMNE", sender_name="HEMMELIG-AFSENDER"),
    )
    envelope = renderer(settings).digest(summary, "mor@example.dk")
    [message] = await sent(channel, smtp_server, envelope)
    plain, html = parts(message)
    assert message["Subject"] == "2 ulæste fra Skovbakke Skole"
    assert message["Message-ID"] == f"<{summary.key}@{DOMAIN}>"
    assert "Reply-To" not in message
    assert "- Forældremøde i 3.B\n  Fra Anna Andersen, fre. 14. marts 2025 14.05" in plain
    assert "- En følsom besked\n  fre. 14. marts 2025 14.05" in plain
    assert "HEMMELIG" not in everything(message)
    token = message["List-Unsubscribe"][1:-1].rsplit("/", 1)[1]
    assert read_token(signer(), token, TODAY) == (summary.person_id, "digest")
    # One destination in the body: the inbox (plus the unsubscribe link).
    links = set(HREF.findall(html))
    assert links == {summary.inbox_url, message["List-Unsubscribe"][1:-1]}


def test_a_long_digest_lists_fifty_and_counts_the_rest(settings: Settings) -> None:
    summary = digest(*(digest_item(subject=f"Emne {i}") for i in range(60)), locale="en")
    envelope = renderer(settings).digest(summary, "x@example.dk")
    assert envelope.subject == "60 unread items from Skovbakke Skole"
    assert "You have 60 unread items in the portal:" in envelope.text
    assert "Emne 49" in envelope.text and "Emne 50" not in envelope.text
    assert "… and 10 more" in envelope.text


def test_a_digest_of_one_uses_the_singular(settings: Settings) -> None:
    envelope = renderer(settings).digest(digest(), "x@example.dk")
    assert envelope.subject == "1 ulæst fra Skovbakke Skole"
    assert "Du har 1 ulæst emne i portalen:" in envelope.text


def test_renderers_share_no_state_between_locales(settings: Settings) -> None:
    rendering = renderer(settings)
    danish = rendering.email(notice(locale="da"), "x@example.dk")
    english = rendering.email(notice(locale="en"), "x@example.dk")
    again = rendering.email(notice(locale="da", delivery_id=uuid.uuid4()), "x@example.dk")
    assert "Læs og svar i portalen" in danish.text and "Læs og svar i portalen" in again.text
    assert "Read and reply in the portal" in english.text
