"""The delivery pipeline end to end: API → outbox → fan_out → deliver → SMTP / push service.

Every test drives the real app, a real arq worker (burst mode) on the real Redis, a
real aiosmtpd server and the local RFC 8030 push service, on both storage engines.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from sqlalchemy import select, update

from gateway.db import session_factory
from gateway.delivery import dispatch, fanout
from gateway.delivery.models import Delivery
from gateway.delivery.queue import Queue
from gateway.messaging.models import OutboxItem
from gateway.orm import utcnow
from gateway.roster.models import ContactPoint
from tests.delivery.conftest import DeliveryWorld


async def _guardian_emails(dw: DeliveryWorld, thread_id: str) -> dict[str, str]:
    """person_id → email of every recipient of the thread who has an address."""
    async with session_factory(dw.world.engine)() as session:
        from gateway.messaging.models import Participant  # noqa: PLC0415

        rows = await session.execute(
            select(Participant.person_id, ContactPoint.address)
            .join(ContactPoint, ContactPoint.person_id == Participant.person_id)
            .where(
                Participant.thread_id == uuid.UUID(thread_id),
                Participant.role == "recipient",
                ContactPoint.active.is_(True),
            )
        )
        return {str(p): a for p, a in rows}


async def _forget_jobs(redis: Any, queue_name: str) -> None:
    """What a flushed Redis leaves of this test's jobs: nothing (queue and job keys)."""
    job_ids = await redis.zrange(queue_name, 0, -1)
    await redis.delete(queue_name, *(b"arq:job:" + job_id for job_id in job_ids))


async def test_a_class_message_reaches_every_guardian_by_email(
    delivery_world: DeliveryWorld,
) -> None:
    dw = delivery_world
    sent = await dw.world.send_to_class(subject="Tur i skoven", body="Husk **madpakke**.")
    jobs = await dw.run_worker()
    assert jobs >= 2  # the fan-out and at least one chunk
    emails = await _guardian_emails(dw, sent["thread_id"])
    assert emails, "the demo class has guardians with email addresses"
    arrived = {rcpt for mail in dw.smtp.received for rcpt in mail.recipients}
    assert arrived == set(emails.values())
    # One mail per recipient, each alone in its envelope (no one sees another's address).
    assert all(len(mail.recipients) == 1 for mail in dw.smtp.received)
    assert len(dw.smtp.received) == len(set(emails.values()))
    mail = dw.smtp.received[0].parsed()
    assert mail["Subject"] == "Tur i skoven"
    assert f"thread.{sent['thread_id']}@" in mail["References"]
    rows = await dw.deliveries(message_id=uuid.UUID(sent["message_id"]))
    assert {r.state for r in rows} == {"sent"}
    assert {r.channel for r in rows} == {"email"}


async def test_a_redelivered_fan_out_plans_nothing_twice(delivery_world: DeliveryWorld) -> None:
    dw = delivery_world
    sent = await dw.world.send_to_class()
    sessions = session_factory(dw.world.engine)
    queue = Queue(None, dw.settings.queue_name)
    async with sessions() as session:
        outbox_id = await session.scalar(
            select(OutboxItem.id).where(OutboxItem.item_id == uuid.UUID(sent["message_id"]))
        )
    assert outbox_id is not None
    first = await fanout.fan_out(sessions, dw.settings, queue, outbox_id)
    assert first.planned > 0
    again = await fanout.fan_out(sessions, dw.settings, queue, outbox_id)
    assert again.already_done and again.planned == 0
    # Even with the done mark lost (a crash between commit and ack), the unique key holds.
    async with sessions() as session, session.begin():
        await session.execute(
            update(OutboxItem).where(OutboxItem.id == outbox_id).values(done_at=None)
        )
    raced = await fanout.fan_out(sessions, dw.settings, queue, outbox_id)
    assert raced.already_done
    rows = await dw.deliveries(message_id=uuid.UUID(sent["message_id"]))
    assert len(rows) == first.planned
    keys = {(r.person_id, r.channel, r.kind) for r in rows}
    assert len(keys) == len(rows)


async def test_flushing_redis_loses_no_item(delivery_world: DeliveryWorld) -> None:
    dw = delivery_world
    sent = await dw.world.send_to_class()
    from redis.asyncio import Redis  # noqa: PLC0415

    redis = Redis.from_url(dw.settings.redis_url)
    try:
        assert await redis.zcard(dw.settings.queue_name) >= 1  # enqueued after commit
        await _forget_jobs(redis, dw.settings.queue_name)
        queue = Queue(redis, dw.settings.queue_name)
        later = utcnow() + dt.timedelta(seconds=dw.settings.outbox_sweep_after_seconds + 1)
        swept = await dispatch.sweep_outbox(
            session_factory(dw.world.engine), dw.settings, queue, later
        )
        assert swept == 1
    finally:
        await redis.aclose()
    await dw.run_worker()
    rows = await dw.deliveries(message_id=uuid.UUID(sent["message_id"]))
    assert rows and {r.state for r in rows} == {"sent"}
    assert len(dw.smtp.received) == len(rows)


async def test_lost_deliver_jobs_are_dispatched_again_after_their_lease(
    delivery_world: DeliveryWorld,
) -> None:
    dw = delivery_world
    sent = await dw.world.send_to_class()
    sessions = session_factory(dw.world.engine)
    async with sessions() as session:
        outbox_id = await session.scalar(select(OutboxItem.id))
    assert outbox_id is not None
    # Fan out without a queue: the chunks are reserved but no job ever runs them.
    await fanout.fan_out(sessions, dw.settings, Queue(None, dw.settings.queue_name), outbox_id)
    from redis.asyncio import Redis  # noqa: PLC0415

    redis = Redis.from_url(dw.settings.redis_url)
    try:
        await _forget_jobs(redis, dw.settings.queue_name)
        queue = Queue(redis, dw.settings.queue_name)
        soon = await dispatch.dispatch(sessions, dw.settings, queue, utcnow())
        assert soon.queued == 0  # still reserved for their (lost) jobs
        after = utcnow() + dt.timedelta(seconds=dw.settings.delivery_lease_seconds + 1)
        found = await dispatch.dispatch(sessions, dw.settings, queue, after)
        assert found.queued > 0
    finally:
        await redis.aclose()
    async with sessions() as session, session.begin():
        # The dispatcher reserved them until after + lease; let the worker's clock catch up.
        await session.execute(update(Delivery).values(claimed_until=None, claimed_by=None))
    # A worker that finds no reservation takes the rows.
    await dw.run_worker()
    rows = await dw.deliveries(message_id=uuid.UUID(sent["message_id"]))
    assert rows and {r.state for r in rows} == {"sent"}


async def test_quiet_hours_hold_mail_until_they_end(
    tmp_path: Any,
    database_url: str,
    redis_url: str,
    make_settings: Any,
    engine: Any,
    smtp_server: Any,
    push: Any,
) -> None:
    from tests.delivery.conftest import around_now, build_delivery_world  # noqa: PLC0415

    async for dw in build_delivery_world(
        tmp_path,
        database_url,
        redis_url,
        make_settings,
        engine,
        smtp_server,
        push,
        quiet_hours=around_now(),
    ):
        sent = await dw.world.send_to_class()
        await dw.run_worker()
        rows = await dw.deliveries(message_id=uuid.UUID(sent["message_id"]))
        assert rows and {r.state for r in rows} == {"deferred"}
        assert {r.reason for r in rows} == {"quiet_hours"}
        assert dw.smtp.received == []
        # Urgent passes quiet hours.
        urgent = await dw.world.send_to_class(subject="Skolen lukker", urgent=True)
        await dw.run_worker()
        urgent_rows = await dw.deliveries(message_id=uuid.UUID(urgent["message_id"]))
        assert urgent_rows and {r.state for r in urgent_rows} == {"sent"}
        assert len(dw.smtp.received) == len(urgent_rows)
        # When the quiet hours end, the dispatcher lets the first message go.
        end = max(r.not_before for r in rows)
        released = await dispatch.dispatch(
            session_factory(dw.world.engine),
            dw.settings,
            Queue(None, dw.settings.queue_name),
            end + dt.timedelta(seconds=1),
        )
        assert released.released == len(rows)


async def test_push_goes_first_and_email_only_if_still_unread(
    delivery_world: DeliveryWorld,
) -> None:
    dw = delivery_world
    guardian = dw.world.summary.guardian_two_children
    browser = await dw.subscribe(guardian)
    sent = await dw.world.send_to_class(subject="Forældremøde")
    await dw.run_worker()
    person = await dw.world.person(guardian)
    mine = await dw.deliveries(message_id=uuid.UUID(sent["message_id"]), person_id=person.id)
    by_channel = {r.channel: r for r in mine}
    assert by_channel["webpush"].state == "delivered"
    assert by_channel["email"].state == "deferred"
    assert by_channel["email"].kind == "escalation"
    pushed = [r for r in dw.push.received if r.path == browser.path]
    assert len(pushed) == 1
    payload = json.loads(pushed[0].plaintext)
    assert payload["thread_id"] == sent["thread_id"]
    assert pushed[0].topic  # newer pushes of the thread replace older ones
    # Reading the thread settles the waiting email and marks the push read.
    response = await dw.world.post(f"/v1/inbox/threads/{sent['thread_id']}/read", guardian, {})
    assert response.status_code == 200, response.text
    after = {r.channel: r for r in await dw.deliveries(person_id=person.id)}
    assert after["webpush"].state == "read"
    assert (after["email"].state, after["email"].reason) == ("superseded", "read")


async def test_a_recall_stops_what_has_not_gone_out(delivery_world: DeliveryWorld) -> None:
    dw = delivery_world
    guardian = dw.world.summary.guardian_two_children
    await dw.subscribe(guardian)
    sent = await dw.world.send_to_class()
    await dw.run_worker()
    response = await dw.world.post(
        f"/v1/messages/{sent['message_id']}/recall", dw.world.summary.teacher
    )
    assert response.status_code == 200, response.text
    await dw.run_worker()
    person = await dw.world.person(guardian)
    email = next(r for r in await dw.deliveries(person_id=person.id) if r.channel == "email")
    assert (email.state, email.reason) == ("superseded", "recalled")


async def test_a_hard_bounce_disables_the_address_and_a_soft_one_retries(
    delivery_world: DeliveryWorld,
) -> None:
    dw = delivery_world
    sent = await dw.world.send_to_class()
    emails = sorted(set((await _guardian_emails(dw, sent["thread_id"])).values()))
    assert len(emails) >= 2
    dead, busy = emails[0], emails[1]
    dw.smtp.answer_rcpt(dead, "550 5.1.1 no such mailbox")
    dw.smtp.answer_rcpt(busy, "451 4.3.0 try again later")
    await dw.run_worker()
    rows = {r.address or "": r for r in await dw.deliveries()}
    async with session_factory(dw.world.engine)() as session:
        contact = await session.scalar(select(ContactPoint).where(ContactPoint.address == dead))
        retried = await session.scalar(
            select(Delivery).where(Delivery.state == "queued", Delivery.attempts == 1)
        )
    assert rows[dead].state == "bounced"
    assert contact is not None and contact.disabled_at is not None
    assert retried is not None and retried.not_before > utcnow()
    assert retried.reason and "451" in retried.reason


async def test_the_report_counts_states_and_lists_who_no_channel_reaches(
    delivery_world: DeliveryWorld,
) -> None:
    dw = delivery_world
    sent = await dw.world.send_to_class()
    # One guardian loses their address before the fan-out: no channel reaches them.
    emails = await _guardian_emails(dw, sent["thread_id"])
    lost_person, lost_address = next(iter(emails.items()))
    async with session_factory(dw.world.engine)() as session, session.begin():
        await session.execute(
            update(ContactPoint)
            .where(ContactPoint.address == lost_address)
            .values(disabled_at=utcnow(), disabled_reason="test")
        )
    await dw.run_worker()
    response = await dw.world.get(
        f"/v1/messages/{sent['message_id']}/report", dw.world.summary.teacher
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["recipients"] == sent["recipients"]
    assert report["channels"]["email"]["sent"] == len(set(emails.values())) - 1
    unreached = {u["person_id"] for u in report["unreached"]}
    assert lost_person in unreached
    assert report["unreached_count"] == len(report["unreached"])
    # A guardian may not read the report.
    guardian = dw.world.summary.guardian_two_children
    denied = await dw.world.get(f"/v1/messages/{sent['message_id']}/report", guardian)
    assert denied.status_code in {403, 404}
