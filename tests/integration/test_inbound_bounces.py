"""Bounces (RFC 3464 reports) to the envelope sender, over real SMTP, on both engines."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import select

from gateway.db import session_factory
from gateway.delivery.models import InboundMail
from gateway.orm import utcnow
from gateway.roster.models import ContactPoint
from tests import dsn_samples
from tests.integration import inbound_mail
from tests.integration.inbound_mail import MAIL_DOMAIN, Inbound, Recipient, mail

world = inbound_mail.world  # the fixtures
inbound = inbound_mail.inbound

BOUNCES = f"no-reply@{MAIL_DOMAIN}"


def _id(delivery_id: uuid.UUID) -> str:
    return f"<{delivery_id}@{MAIL_DOMAIN}>"


async def _sent(inbound: Inbound, **kw: dt.datetime) -> tuple[Recipient, uuid.UUID]:
    sent = await inbound.world.send_to_class()
    guardian = await inbound.recipient(sent["thread_id"])
    return guardian, await inbound.delivery(sent, guardian, **kw)


async def _contact(inbound: Inbound, who: Recipient) -> ContactPoint:
    async with session_factory(inbound.world.engine)() as session:
        found = await session.scalar(
            select(ContactPoint).where(
                ContactPoint.person_id == who.person_id, ContactPoint.address == who.address
            )
        )
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("sample", "status"),
    [
        (dsn_samples.postfix, "5.1.1"),
        (dsn_samples.exchange, "5.1.10"),
        (dsn_samples.gmail, "5.1.1"),
    ],
    ids=["postfix", "exchange", "gmail"],
)
async def test_a_hard_bounce_disables_the_address_and_marks_the_delivery(
    inbound: Inbound, sample: Callable[[str, str], bytes], status: str
) -> None:
    guardian, delivery_id = await _sent(inbound)
    report = sample(_id(delivery_id), guardian.address)

    answer = await inbound.send("", [BOUNCES], report)

    assert (answer.code, answer.stage) == (250, "data"), answer
    delivery = await inbound.load(delivery_id)
    assert delivery.state == "bounced"
    assert delivery.reason is not None and delivery.reason.startswith(f"dsn {status}")
    contact = await _contact(inbound, guardian)
    assert contact.disabled_at is not None
    assert contact.disabled_reason == delivery.reason
    # The same report again changes nothing and is recorded once.
    again = await inbound.send("", [BOUNCES], report)
    assert again.code == 250 and "already" in again.message
    async with session_factory(inbound.world.engine)() as session:
        records = (await session.scalars(select(InboundMail))).all()
    assert [(r.kind, r.outcome) for r in records] == [("bounce", f"bounced {status}")]


async def test_a_soft_bounce_puts_the_delivery_back_in_the_queue(inbound: Inbound) -> None:
    guardian, delivery_id = await _sent(inbound)
    before = utcnow()
    report = dsn_samples.postfix(
        _id(delivery_id),
        guardian.address,
        status="4.4.7",
        diagnostic="X-Postfix; delivery temporarily suspended: connect timed out",
    )

    answer = await inbound.send("", [BOUNCES], report)

    assert answer.code == 250, answer
    delivery = await inbound.load(delivery_id)
    assert delivery.state == "queued"
    assert delivery.reason is not None and delivery.reason.startswith("dsn 4.4.7")
    assert delivery.not_before >= before + dt.timedelta(minutes=10)
    assert delivery.claimed_until is None
    assert (await _contact(inbound, guardian)).disabled_at is None


async def test_a_soft_bounce_past_the_give_up_time_fails(inbound: Inbound) -> None:
    give_up = inbound.world.settings.delivery_give_up_seconds
    old = utcnow() - dt.timedelta(seconds=give_up + 60)
    guardian, delivery_id = await _sent(inbound, created_at=old)

    report = dsn_samples.postfix(_id(delivery_id), guardian.address, status="4.2.2")
    answer = await inbound.send("", [BOUNCES], report)

    assert answer.code == 250
    delivery = await inbound.load(delivery_id)
    assert (delivery.state, (delivery.reason or "")[:9]) == ("failed", "dsn 4.2.2")
    assert (await _contact(inbound, guardian)).disabled_at is None


async def test_a_delayed_report_or_one_about_no_mail_of_ours_changes_nothing(
    inbound: Inbound,
) -> None:
    guardian, delivery_id = await _sent(inbound)
    delayed = dsn_samples.postfix(
        _id(delivery_id), guardian.address, action="delayed", status="4.4.1"
    )
    stranger = dsn_samples.postfix(f"<{uuid.uuid4()}@{MAIL_DOMAIN}>", guardian.address)

    assert (await inbound.send("", [BOUNCES], delayed)).code == 250
    assert (await inbound.send("", [BOUNCES], stranger)).code == 250

    delivery = await inbound.load(delivery_id)
    assert (delivery.state, delivery.reason) == ("sent", None)
    assert (await _contact(inbound, guardian)).disabled_at is None


async def test_a_person_writing_to_the_sender_address_is_told_to_use_the_portal(
    inbound: Inbound,
) -> None:
    guardian, _ = await _sent(inbound)
    data = mail(sender=guardian.address, to=BOUNCES, text="Hvornår er der forældremøde?")

    answer = await inbound.send(guardian.address, [BOUNCES], data)

    assert (answer.code, answer.stage) == (550, "data")
    assert "takes no mail" in answer.message and "portal" in answer.message
