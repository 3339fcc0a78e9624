"""Consent reminders over the real worker, SMTP server and both engines.

Who is reminded (only who is still asked), that a round runs once (also with two
workers), that missed rounds send one reminder, and that a reminder decides late: an
answer after planning stops it, reading the thread does not, a closed request does.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

from sqlalchemy import select, update

from gateway.consents import reminders
from gateway.consents.models import ConsentRequest
from gateway.db import session_factory
from gateway.delivery import dispatch
from gateway.delivery.models import Delivery
from gateway.orm import utcnow
from gateway.roster.models import ContactPoint, Person
from tests.channels import conftest as channel_fixtures
from tests.delivery import conftest as delivery_fixtures
from tests.delivery.conftest import DeliveryWorld, around_now
from tests.integration.consent_rows import (
    Posted,
    answer,
    custodial_guardians,
    new_version,
    post_consent,
    queue_of,
    runs,
)
from workers.consents import send_consent_reminders
from workers.settings import WorkerSettings

DAY = 86_400
# The fixtures of the delivery tests.
delivery_world = delivery_fixtures.delivery_world
push = delivery_fixtures.push
smtp_server = channel_fixtures.smtp_server


async def _two_guardian_request(
    dw: DeliveryWorld, *, offsets: list[int], days_ago: int = 3, left: dt.timedelta
) -> tuple[Posted, uuid.UUID, uuid.UUID]:
    """A rule-``all`` request about a child with two custodial guardians; (posted, a, b)."""
    child = dw.world.summary.split_household_child
    first, second = await custodial_guardians(dw.world, child)
    now = utcnow()
    posted = await post_consent(
        dw.world,
        [child],
        rule="all",
        created_at=now - dt.timedelta(days=days_ago),
        deadline=now + left,
        offsets=offsets,
    )
    return posted, first.id, second.id


async def _send_due(dw: DeliveryWorld) -> reminders.Reminded:
    async with queue_of(dw.world) as queue:
        return await reminders.send_due(
            session_factory(dw.world.engine), dw.settings, queue, utcnow()
        )


async def _reminders(dw: DeliveryWorld, posted: Posted) -> list[Delivery]:
    rows = await dw.deliveries(thread_id=posted.thread_id, kind="reminder")
    return sorted(rows, key=lambda r: (str(r.person_id), r.channel))


async def _quiet_now(dw: DeliveryWorld, person_id: uuid.UUID) -> None:
    """Quiet hours that hold right now for this person (their reminder must wait)."""
    source = await _source_of(dw, person_id)
    start, end = around_now().split("-")
    put = await dw.world.client.put(
        "/v1/me/preferences",
        json={"quiet_hours": {"start": start, "end": end}},
        headers=dw.world.headers(source),
    )
    assert put.status_code == 200, put.text


async def _source_of(dw: DeliveryWorld, person_id: uuid.UUID) -> str:
    async with session_factory(dw.world.engine)() as session:
        person = await session.get(Person, person_id)
    assert person is not None
    return person.source_id


async def _release(dw: DeliveryWorld, posted: Posted) -> None:
    """The quiet hours are over (as the dispatcher would find them): hand the rows out."""
    async with session_factory(dw.world.engine)() as session, session.begin():
        await session.execute(
            update(Delivery)
            .where(Delivery.thread_id == posted.thread_id, Delivery.state == "deferred")
            .values(not_before=utcnow() - dt.timedelta(seconds=1))
        )
    async with queue_of(dw.world) as queue:
        await dispatch.dispatch(session_factory(dw.world.engine), dw.settings, queue, utcnow())
    await dw.run_worker()


async def _address_of(dw: DeliveryWorld, person_id: uuid.UUID) -> str:
    async with session_factory(dw.world.engine)() as session:
        found = await session.scalar(
            select(ContactPoint.address).where(
                ContactPoint.person_id == person_id, ContactPoint.kind == "email"
            )
        )
    assert found is not None
    return found


async def test_a_reminder_goes_only_to_the_guardian_who_has_not_answered(
    delivery_world: DeliveryWorld,
) -> None:
    dw = delivery_world
    posted, answered, waiting = await _two_guardian_request(
        dw, offsets=[2 * DAY, DAY], left=dt.timedelta(days=1, hours=1)
    )
    await answer(dw.world, posted, answered, posted.children[0], "yes")
    done = await _send_due(dw)
    assert (done.requests, done.rounds, done.passed_over) == (1, 1, 0)
    rows = await _reminders(dw, posted)
    assert rows, "the guardian who has not answered gets a reminder"
    assert {r.person_id for r in rows} == {waiting}
    assert {(r.round, r.category, r.urgent) for r in rows} == {(1, "reminder", False)}
    assert await runs(dw.world, posted) == [(1, 1)]  # round 2 is an hour away

    again = await _send_due(dw)  # the next minute: nothing more is due
    assert (again.requests, again.planned) == (0, 0)
    assert len(await _reminders(dw, posted)) == len(rows)
    assert await runs(dw.world, posted) == [(1, 1)]

    await dw.run_worker()
    sent = await _reminders(dw, posted)
    assert {r.state for r in sent} == {"sent"}
    address = await _address_of(dw, waiting)
    mails = [m for m in dw.smtp.received if address in m.recipients]
    assert len(mails) == 1
    parsed = mails[0].parsed()
    assert str(parsed["Subject"]).startswith("Påmindelse: Fotos på skolens hjemmeside")
    text = parsed.get_body(preferencelist=("plain",))
    assert text is not None
    content = text.get_content()
    assert "Dette er en påmindelse: Vi mangler stadig dit svar." in content
    assert f"{dw.settings.base_url}/v1/consents/answer/" in content
    other = await _address_of(dw, answered)
    assert all(other not in m.recipients for m in dw.smtp.received)


async def test_rounds_missed_while_no_worker_ran_send_one_reminder(
    delivery_world: DeliveryWorld,
) -> None:
    dw = delivery_world
    posted, first, second = await _two_guardian_request(
        dw, offsets=[3 * DAY, 2 * DAY, DAY], days_ago=5, left=dt.timedelta(hours=1)
    )
    done = await _send_due(dw)
    assert (done.rounds, done.passed_over) == (1, 2)
    rows = await _reminders(dw, posted)
    assert {r.round for r in rows} == {3}
    assert {r.person_id for r in rows} == {first, second}
    assert len({(r.person_id, r.channel) for r in rows}) == len(rows)  # one each
    assert await runs(dw.world, posted) == [(1, 0), (2, 0), (3, 2)]


async def test_a_round_that_came_before_the_question_changed_is_not_sent(
    delivery_world: DeliveryWorld,
) -> None:
    dw = delivery_world
    posted, _, _ = await _two_guardian_request(
        dw, offsets=[2 * DAY, DAY], left=dt.timedelta(days=1, hours=1)
    )
    # Round 1 fell due 23 hours ago; the question changed an hour ago, which asked
    # everybody again, so a reminder now would only repeat that.
    await new_version(
        dw.world,
        posted,
        question="Må vi vise billeder i skolebladet?",
        at=utcnow() - dt.timedelta(hours=1),
    )
    done = await _send_due(dw)
    assert (done.rounds, done.passed_over, done.planned) == (0, 1, 0)
    assert await _reminders(dw, posted) == []
    assert await runs(dw.world, posted) == [(1, 0)]


async def test_two_workers_run_a_round_once(delivery_world: DeliveryWorld) -> None:
    dw = delivery_world
    posted, first, second = await _two_guardian_request(
        dw, offsets=[2 * DAY], left=dt.timedelta(days=1)
    )
    one, two = await asyncio.gather(_send_due(dw), _send_due(dw))
    assert one.rounds + two.rounds == 1
    rows = await _reminders(dw, posted)
    assert {r.person_id for r in rows} == {first, second}
    assert one.planned + two.planned == len(rows)
    assert await runs(dw.world, posted) == [(1, 2)]


async def test_an_answer_after_planning_stops_the_reminder_and_reading_does_not(
    delivery_world: DeliveryWorld,
) -> None:
    dw = delivery_world
    posted, reader, answerer = await _two_guardian_request(
        dw, offsets=[2 * DAY], left=dt.timedelta(days=1)
    )
    await _quiet_now(dw, reader)
    await _quiet_now(dw, answerer)
    await _send_due(dw)
    rows = await _reminders(dw, posted)
    assert {r.person_id for r in rows} == {reader, answerer}
    assert {(r.state, r.reason) for r in rows} == {("deferred", "quiet_hours")}
    # Both open the thread; only one answers before the quiet hours end.
    for person in (reader, answerer):
        read = await dw.world.post(
            f"/v1/inbox/threads/{posted.thread_id}/read", await _source_of(dw, person), {}
        )
        assert read.status_code == 200, read.text
    still = await _reminders(dw, posted)
    assert {(r.state, r.reason) for r in still} == {("deferred", "quiet_hours")}
    await answer(dw.world, posted, answerer, posted.children[0], "no")
    await _release(dw, posted)
    after = {r.person_id: (r.state, r.reason) for r in await _reminders(dw, posted)}
    assert after[answerer] == ("superseded", "answered")
    assert after[reader][0] == "sent"
    answerer_address = await _address_of(dw, answerer)
    reader_address = await _address_of(dw, reader)
    assert all(answerer_address not in m.recipients for m in dw.smtp.received)
    assert any(reader_address in m.recipients for m in dw.smtp.received)


async def test_a_reminder_that_waits_past_the_deadline_is_not_sent(
    delivery_world: DeliveryWorld,
) -> None:
    dw = delivery_world
    posted, first, _ = await _two_guardian_request(
        dw, offsets=[2 * DAY], left=dt.timedelta(hours=2)
    )
    await _quiet_now(dw, first)
    await _send_due(dw)
    async with session_factory(dw.world.engine)() as session, session.begin():
        await session.execute(
            update(ConsentRequest)
            .where(ConsentRequest.id == posted.request_id)
            .values(deadline=utcnow() - dt.timedelta(minutes=1))
        )
    await _release(dw, posted)
    mine = [r for r in await _reminders(dw, posted) if r.person_id == first]
    assert mine and {(r.state, r.reason) for r in mine} == {("superseded", "closed")}


async def test_a_reminder_of_a_question_that_changed_since_is_not_sent(
    delivery_world: DeliveryWorld,
) -> None:
    dw = delivery_world
    posted, first, _ = await _two_guardian_request(dw, offsets=[2 * DAY], left=dt.timedelta(days=1))
    await _quiet_now(dw, first)
    await _send_due(dw)
    # The new version's own notice asks again; the old reminder would show the old text.
    await new_version(dw.world, posted, question="Må vi vise billeder i skolebladet?")
    await _release(dw, posted)
    mine = [r for r in await _reminders(dw, posted) if r.person_id == first]
    assert mine and {(r.state, r.reason) for r in mine} == {("superseded", "changed")}


async def test_the_cron_job_plans_the_due_rounds(delivery_world: DeliveryWorld) -> None:
    dw = delivery_world
    assert any(job.coroutine is send_consent_reminders for job in WorkerSettings.cron_jobs), (
        "the job runs every minute"
    )
    posted, _, _ = await _two_guardian_request(dw, offsets=[2 * DAY], left=dt.timedelta(days=1))
    async with queue_of(dw.world) as queue:
        ctx = {
            "sessions": session_factory(dw.world.engine),
            "settings": dw.settings,
            "queue": queue,
        }
        planned = await send_consent_reminders(ctx)
        assert planned == len(await _reminders(dw, posted)) > 0
        assert await send_consent_reminders(ctx) == 0


async def test_a_reminder_in_a_digest_drops_out_once_answered_but_not_once_read(
    delivery_world: DeliveryWorld,
) -> None:
    from gateway.delivery.digest import send_due  # noqa: PLC0415
    from tests.delivery.test_calm import _runtime  # noqa: PLC0415

    dw = delivery_world
    posted, reader, answerer = await _two_guardian_request(
        dw, offsets=[2 * DAY], left=dt.timedelta(days=1)
    )
    for person in (reader, answerer):
        put = await dw.world.client.put(
            "/v1/me/preferences",
            json={"categories": {"reminder": {"email": "digest", "push": "off"}}},
            headers=dw.world.headers(await _source_of(dw, person)),
        )
        assert put.status_code == 200, put.text
    await _send_due(dw)
    rows = await dw.deliveries(thread_id=posted.thread_id, round=1)
    assert {r.person_id for r in rows} == {reader, answerer}
    assert {(r.kind, r.state) for r in rows} == {("digest", "deferred")}
    for person in (reader, answerer):
        read = await dw.world.post(
            f"/v1/inbox/threads/{posted.thread_id}/read", await _source_of(dw, person), {}
        )
        assert read.status_code == 200, read.text
    await answer(dw.world, posted, answerer, posted.children[0], "yes")
    later = max(r.not_before for r in rows) + dt.timedelta(seconds=1)
    async with _runtime(dw) as runtime:
        assert await send_due(runtime, later) == 1  # only the reader's digest
    after = {
        r.person_id: (r.state, r.reason)
        for r in await dw.deliveries(thread_id=posted.thread_id, round=1)
    }
    assert after[answerer] == ("superseded", "answered")
    assert after[reader][0] == "sent"
    answerer_address = await _address_of(dw, answerer)
    assert all(answerer_address not in m.recipients for m in dw.smtp.received)
