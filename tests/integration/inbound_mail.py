"""The inbound SMTP listener over a real database, and a real SMTP client to talk to it.

``inbound`` starts :func:`gateway.inbound_server.listening` on a free loopback port in the
test's own event loop, over the ``world`` database (both engines). Deliveries are inserted
directly for real messages sent through the API, so a reply address names a real row.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.db import session_factory
from gateway.delivery.addresses import reply_address
from gateway.delivery.models import Delivery
from gateway.inbound_server import listening
from gateway.messaging.models import Message, Participant
from gateway.orm import utcnow
from gateway.roster.models import ContactPoint, Person
from tests.integration.messaging_world import World, make_world

MAIL_DOMAIN = "skole.example.dk"
MAX_BYTES = 65_536
ENV = {
    "mail_domain": MAIL_DOMAIN,
    "smtp_from": f"Budstikke <no-reply@{MAIL_DOMAIN}>",
    "inbound_max_bytes": str(MAX_BYTES),
}


@dataclass(frozen=True)
class Answer:
    """The server's answer at the stage a transaction ended."""

    code: int
    message: str
    stage: str  # "mail" | "rcpt" | "data"


@dataclass(frozen=True)
class Recipient:
    """A person who received a thread, with the email address the notice went to."""

    source_id: str
    person_id: uuid.UUID
    address: str


async def transact(
    port: int, sender: str, recipients: list[str], data: bytes | None = None
) -> Answer:
    """One SMTP transaction; the answer where it stopped (DATA's when it got that far)."""
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=10) as c:
        try:
            await c.mail(sender)
        except aiosmtplib.SMTPResponseException as exc:
            return Answer(exc.code, exc.message, "mail")
        for recipient in recipients:
            try:
                await c.rcpt(recipient)
            except aiosmtplib.SMTPResponseException as exc:
                return Answer(exc.code, exc.message, "rcpt")
        if data is None:
            return Answer(250, "", "rcpt")
        try:
            response = await c.data(data)
        except aiosmtplib.SMTPResponseException as exc:
            return Answer(exc.code, exc.message, "data")
        return Answer(response.code, response.message, "data")


def mail(
    *,
    sender: str,
    to: str,
    text: str | None,
    html: str | None = None,
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """A reply as a mail client writes it."""
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = "Re: Tur i skoven"
    message["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    message["Message-ID"] = message_id or make_msgid(domain="example.net")
    for name, value in (headers or {}).items():
        message[name] = value
    if text is not None:
        message.set_content(text)
        if html is not None:
            message.add_alternative(html, subtype="html")
    elif html is not None:
        message.set_content(html, subtype="html")
    return message.as_bytes()


@dataclass
class Inbound:
    world: World
    port: int

    def reply_address(self, delivery_id: uuid.UUID, *, days: int = 60) -> str:
        expires = utcnow().date() + dt.timedelta(days=days)
        return reply_address(self.world.settings, delivery_id, expires)

    async def send(self, sender: str, recipients: list[str], data: bytes | None) -> Answer:
        return await transact(self.port, sender, recipients, data)

    async def recipient(self, thread_id: str) -> Recipient:
        """A guardian who received the thread and has an email address."""
        async with session_factory(self.world.engine)() as session:
            row = (
                await session.execute(
                    select(Person.source_id, Person.id, ContactPoint.address)
                    .join(Participant, Participant.person_id == Person.id)
                    .join(ContactPoint, ContactPoint.person_id == Person.id)
                    .where(
                        Participant.thread_id == uuid.UUID(thread_id),
                        Participant.role == "recipient",
                        Person.kind == "guardian",
                        ContactPoint.kind == "email",
                    )
                    .order_by(Person.source_id)
                    .limit(1)
                )
            ).one()
        return Recipient(row[0], row[1], row[2])

    async def delivery(
        self,
        sent: dict[str, Any],
        who: Recipient,
        *,
        created_at: dt.datetime | None = None,
        state: str = "sent",
    ) -> uuid.UUID:
        """An email delivery of the sent message to ``who`` (made, or taken over if planned)."""
        now = utcnow()
        message_id = uuid.UUID(sent["message_id"])
        async with session_factory(self.world.engine)() as session, session.begin():
            delivery = await session.scalar(
                select(Delivery).where(
                    Delivery.message_id == message_id,
                    Delivery.person_id == who.person_id,
                    Delivery.channel == "email",
                )
            )
            if delivery is None:
                person = await session.get_one(Person, who.person_id)
                delivery = Delivery(
                    municipality_id=person.municipality_id,
                    message_id=message_id,
                    thread_id=uuid.UUID(sent["thread_id"]),
                    person_id=who.person_id,
                    channel="email",
                    kind="instant",
                    category="general",
                )
                session.add(delivery)
            delivery.state = state
            delivery.address = who.address
            delivery.not_before = now
            delivery.created_at = created_at or now
            delivery.sent_at = now
            delivery.attempts = 1
            await session.flush()
            return delivery.id

    async def messages(self) -> int:
        async with session_factory(self.world.engine)() as session:
            return int(await session.scalar(select(func.count()).select_from(Message)) or 0)

    async def load(self, delivery_id: uuid.UUID) -> Delivery:
        async with session_factory(self.world.engine)() as session:
            return await session.get_one(Delivery, delivery_id)


@pytest.fixture
async def world(
    tmp_path: Path, database_url: str, redis_url: str, make_settings: Any, engine: AsyncEngine
) -> AsyncIterator[World]:
    """The demo world with a mail domain and a small inbound size limit."""
    async for built in make_world(tmp_path, database_url, redis_url, make_settings, engine, **ENV):
        yield built


@pytest.fixture
async def inbound(world: World) -> AsyncIterator[Inbound]:
    """The listener on a free port over the world's database."""
    sessions = session_factory(world.engine)
    async with listening(world.settings, sessions, host="127.0.0.1", port=0) as server:
        yield Inbound(world, server.sockets[0].getsockname()[1])
