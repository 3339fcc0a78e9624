"""Replies by email over real SMTP to the inbound listener, on both storage engines."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

from sqlalchemy import select

from gateway.auth.links import LinkSigner, Purpose, secret_key
from gateway.db import session_factory
from gateway.delivery.models import InboundMail
from tests.integration import inbound_mail
from tests.integration.inbound_mail import MAIL_DOMAIN, MAX_BYTES, Inbound, mail

world = inbound_mail.world  # the fixtures
inbound = inbound_mail.inbound

QUOTED = (
    "Vi kommer gerne, og Ida tager regntøj med.\n"
    "\n"
    "-- \n"
    "Anna Jensen\n"
    "Tlf. 12 34 56 78\n"
    "\n"
    "Den tir. 3. dec. 2026 kl. 10.00 skrev Budstikke <no-reply@skole.example.dk>:\n"
    "> Husk madpakke og regntøj.\n"
    "> Læs beskeden i portalen.\n"
)


async def test_a_guardians_reply_lands_in_the_thread_as_that_guardian(inbound: Inbound) -> None:
    w = inbound.world
    sent = await w.send_to_class()
    guardian = await inbound.recipient(sent["thread_id"])
    delivery_id = await inbound.delivery(sent, guardian)
    to = inbound.reply_address(delivery_id)

    answer = await inbound.send(
        guardian.address, [to], mail(sender=f"Anna <{guardian.address}>", to=to, text=QUOTED)
    )

    assert (answer.code, answer.stage) == (250, "data"), answer
    detail = await w.get(f"/v1/inbox/threads/{sent['thread_id']}", guardian.source_id)
    assert detail.status_code == 200, detail.text
    mine = [m for m in detail.json()["messages"] if m["author"]["id"] == str(guardian.person_id)]
    # Quoted notification and signature are gone; the guardian's own words are all there.
    assert [m["body"] for m in mine] == ["Vi kommer gerne, og Ida tager regntøj med."]
    # The teacher sees it in their inbox too, as unread.
    unread = (await w.get("/v1/inbox/unread", w.summary.teacher)).json()
    assert unread["total"] == 1
    async with session_factory(w.engine)() as session:
        records = (await session.scalars(select(InboundMail))).all()
    assert [(r.kind, r.outcome) for r in records] == [("reply", "posted")]


async def test_the_same_mail_twice_is_posted_once(inbound: Inbound) -> None:
    w = inbound.world
    sent = await w.send_to_class()
    guardian = await inbound.recipient(sent["thread_id"])
    to = inbound.reply_address(await inbound.delivery(sent, guardian))
    data = mail(sender=guardian.address, to=to, text="Tak, vi kommer.")
    before = await inbound.messages()

    first = await inbound.send(guardian.address, [to], data)
    second = await inbound.send(guardian.address, [to], data)

    assert (first.code, second.code) == (250, 250)
    assert "already received" in second.message
    assert await inbound.messages() == before + 1
    # A new mail (another Message-ID) with the same text is a new answer.
    third = await inbound.send(
        guardian.address, [to], mail(sender=guardian.address, to=to, text="Tak, vi kommer.")
    )
    assert third.code == 250
    assert await inbound.messages() == before + 2


async def test_the_same_mail_delivered_twice_at_once_is_posted_once(inbound: Inbound) -> None:
    w = inbound.world
    sent = await w.send_to_class()
    guardian = await inbound.recipient(sent["thread_id"])
    to = inbound.reply_address(await inbound.delivery(sent, guardian))
    data = mail(sender=guardian.address, to=to, text="Vi kommer.")
    before = await inbound.messages()

    answers = await asyncio.gather(*(inbound.send(guardian.address, [to], data) for _ in range(3)))

    assert [a.code for a in answers] == [250, 250, 250]
    assert sum("already received" in a.message for a in answers) == 2
    assert await inbound.messages() == before + 1


async def test_an_html_only_reply_is_turned_into_text_without_the_quote(inbound: Inbound) -> None:
    w = inbound.world
    sent = await w.send_to_class()
    guardian = await inbound.recipient(sent["thread_id"])
    to = inbound.reply_address(await inbound.delivery(sent, guardian))
    html = (
        '<div dir="ltr">Vi er <b>syge</b> i dag.<br>Mvh Anna</div><br>'
        '<div class="gmail_quote"><div class="gmail_attr">Den tir. skrev Budstikke:</div>'
        "<blockquote>Husk madpakke</blockquote></div>"
    )

    answer = await inbound.send(
        guardian.address, [to], mail(sender=guardian.address, to=to, text=None, html=html)
    )

    assert answer.code == 250, answer
    detail = (await w.get(f"/v1/inbox/threads/{sent['thread_id']}", guardian.source_id)).json()
    assert detail["messages"][-1]["body"] == "Vi er syge i dag.\nMvh Anna"


async def test_an_unknown_or_forged_address_is_refused_at_rcpt(inbound: Inbound) -> None:
    w = inbound.world
    sent = await w.send_to_class()
    guardian = await inbound.recipient(sent["thread_id"])
    real = inbound.reply_address(await inbound.delivery(sent, guardian))
    forged = real[:4] + ("a" if real[4] != "a" else "b") + real[5:]
    other_key = LinkSigner(b"k" * 32).issue_ids(
        Purpose.REPLY, (uuid.uuid4(),), dt.date.today() + dt.timedelta(days=5)
    )
    # Well signed, but for a delivery that does not exist.
    signer = LinkSigner(secret_key(w.settings))
    no_row = signer.issue_ids(
        Purpose.REPLY, (uuid.uuid4(),), dt.date.today() + dt.timedelta(days=5)
    )

    for address in (forged, f"r-{other_key}@{MAIL_DOMAIN}", f"r-{no_row}@{MAIL_DOMAIN}"):
        answer = await inbound.send(guardian.address, [address], None)
        assert (answer.code, answer.stage) == (550, "rcpt"), address
        assert answer.message.startswith("5.1.1 no such reply address")
    # No open relay: an address outside the mail domain is refused too.
    relay = await inbound.send(guardian.address, ["someone@example.org"], None)
    assert (relay.code, relay.stage) == (550, "rcpt")
    assert "relays no mail" in relay.message


async def test_an_expired_reply_address_is_refused_with_a_human_text(inbound: Inbound) -> None:
    w = inbound.world
    sent = await w.send_to_class()
    guardian = await inbound.recipient(sent["thread_id"])
    to = inbound.reply_address(await inbound.delivery(sent, guardian), days=-1)

    answer = await inbound.send(guardian.address, [to], None)

    assert (answer.code, answer.stage) == (550, "rcpt")
    assert answer.message == "5.7.1 this reply address has expired; answer in the portal"


async def test_an_oversized_mail_is_refused_with_552(inbound: Inbound) -> None:
    w = inbound.world
    sent = await w.send_to_class()
    guardian = await inbound.recipient(sent["thread_id"])
    to = inbound.reply_address(await inbound.delivery(sent, guardian))
    before = await inbound.messages()

    answer = await inbound.send(
        guardian.address, [to], mail(sender=guardian.address, to=to, text="x" * (MAX_BYTES + 10))
    )

    assert (answer.code, answer.stage) == (552, "data")
    assert await inbound.messages() == before


async def test_a_sensitive_thread_takes_no_reply_by_email(inbound: Inbound) -> None:
    w = inbound.world
    sent = await w.send_to_class(sensitive=True)
    guardian = await inbound.recipient(sent["thread_id"])
    to = inbound.reply_address(await inbound.delivery(sent, guardian))
    before = await inbound.messages()

    answer = await inbound.send(
        guardian.address, [to], mail(sender=guardian.address, to=to, text="Ok")
    )

    assert (answer.code, answer.stage) == (550, "rcpt")
    assert answer.message.startswith("5.7.1 this thread is sensitive")
    assert "sign in to the portal" in answer.message
    assert await inbound.messages() == before


async def test_reply_policy_none_refuses_an_emailed_reply(inbound: Inbound) -> None:
    w = inbound.world
    sent = await w.send_to_class(reply_policy="none")
    guardian = await inbound.recipient(sent["thread_id"])
    to = inbound.reply_address(await inbound.delivery(sent, guardian))
    before = await inbound.messages()

    answer = await inbound.send(
        guardian.address, [to], mail(sender=guardian.address, to=to, text="Ok")
    )

    assert (answer.code, answer.stage) == (550, "rcpt")
    assert answer.message.startswith("5.7.1 this thread does not take replies from you")
    assert await inbound.messages() == before


async def test_an_auto_reply_is_accepted_and_dropped(inbound: Inbound) -> None:
    w = inbound.world
    sent = await w.send_to_class()
    guardian = await inbound.recipient(sent["thread_id"])
    to = inbound.reply_address(await inbound.delivery(sent, guardian))
    before = await inbound.messages()

    for headers in (
        {"Auto-Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"X-Autoreply": "yes"},
    ):
        data = mail(sender=guardian.address, to=to, text="Jeg er på ferie.", headers=headers)
        answer = await inbound.send(guardian.address, [to], data)
        assert (answer.code, answer.stage) == (250, "data"), headers
        assert "automatic" in answer.message
    assert await inbound.messages() == before
    # ``Auto-Submitted: no`` is a person's mail.
    human = mail(sender=guardian.address, to=to, text="Ok", headers={"Auto-Submitted": "no"})
    assert (await inbound.send(guardian.address, [to], human)).code == 250
    assert await inbound.messages() == before + 1


async def test_a_reply_from_another_address_or_without_text_is_refused(inbound: Inbound) -> None:
    w = inbound.world
    sent = await w.send_to_class()
    guardian = await inbound.recipient(sent["thread_id"])
    to = inbound.reply_address(await inbound.delivery(sent, guardian))
    before = await inbound.messages()

    forwarded = await inbound.send(
        "nabo@example.org", [to], mail(sender="nabo@example.org", to=to, text="Hej fra naboen")
    )
    only_quote = await inbound.send(
        guardian.address,
        [to],
        mail(sender=guardian.address, to=to, text="On Tue, X wrote:\n> Husk madpakke\n"),
    )

    assert (forwarded.code, forwarded.stage) == (550, "data")
    assert "belongs to another recipient" in forwarded.message
    assert (only_quote.code, only_quote.stage) == (550, "data")
    assert "no text was found" in only_quote.message
    assert await inbound.messages() == before


async def test_limits_on_recipients_and_on_mails_per_minute(inbound: Inbound) -> None:
    w = inbound.world
    sent = await w.send_to_class()
    guardian = await inbound.recipient(sent["thread_id"])
    to = inbound.reply_address(await inbound.delivery(sent, guardian))

    many = await inbound.send(guardian.address, [to] * 11, None)
    assert (many.code, many.stage) == (452, "rcpt")
    assert "at most 10" in many.message

    # 60 mails a minute per address; the transaction above was the first.
    codes = [(await inbound.send(guardian.address, [], None)).code for _ in range(60)]
    assert codes == [250] * 59 + [450]
    refused = await inbound.send(guardian.address, [], None)
    assert refused.code == 450
    assert refused.message.startswith("4.7.1")
