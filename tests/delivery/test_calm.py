"""Calm delivery: preferences decide late, digests bundle, staff hours and mutes hold.

Real app, real worker (burst), real SMTP server and push service, both engines.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator

from sqlalchemy import update

from gateway.db import session_factory
from gateway.delivery.deliver import Runtime
from gateway.delivery.digest import send_due
from gateway.delivery.models import Delivery
from gateway.orm import utcnow
from tests.delivery.conftest import DeliveryWorld


async def test_a_preference_turned_off_after_planning_stops_the_send(
    delivery_world: DeliveryWorld,
) -> None:
    dw = delivery_world
    guardian = dw.world.summary.guardian_two_children
    # Quiet hours that hold now keep the mail waiting, so the change lands in between.
    put = await dw.world.client.put(
        "/v1/me/preferences",
        json={"quiet_hours": _around_now()},
        headers=dw.world.headers(guardian),
    )
    assert put.status_code == 200, put.text
    sent = await dw.world.send_to_class()
    await dw.run_worker()
    person = await dw.world.person(guardian)
    waiting = await dw.deliveries(person_id=person.id)
    assert [(r.channel, r.state, r.reason) for r in waiting] == [
        ("email", "deferred", "quiet_hours")
    ]
    off = await dw.world.client.put(
        "/v1/me/preferences",
        json={"categories": {"message": {"email": "off"}}},
        headers=dw.world.headers(guardian),
    )
    assert off.status_code == 200, off.text
    async with session_factory(dw.world.engine)() as session, session.begin():
        # The quiet hours are over (as the dispatcher would find them).
        await session.execute(
            update(Delivery)
            .where(Delivery.person_id == person.id)
            .values(state="queued", not_before=utcnow() - dt.timedelta(seconds=1))
        )
    from redis.asyncio import Redis  # noqa: PLC0415

    from gateway.delivery import dispatch  # noqa: PLC0415
    from gateway.delivery.queue import Queue  # noqa: PLC0415

    redis = Redis.from_url(dw.settings.redis_url)
    try:
        queue = Queue(redis, dw.settings.queue_name)
        await dispatch.dispatch(session_factory(dw.world.engine), dw.settings, queue, utcnow())
    finally:
        await redis.aclose()
    await dw.run_worker()
    after = await dw.deliveries(person_id=person.id)
    assert [(r.state, r.reason) for r in after] == [("skipped", "preference off")]
    assert sent["message_id"] == str(after[0].message_id)
    assert person_email_not_in(dw, after[0].address)


def person_email_not_in(dw: DeliveryWorld, address: str | None) -> bool:
    return address is None or all(address not in m.recipients for m in dw.smtp.received)


def _around_now() -> dict[str, str]:
    from tests.delivery.conftest import around_now  # noqa: PLC0415

    start, end = around_now().split("-")
    return {"start": start, "end": end}


async def test_a_digest_lists_what_is_still_unread_and_nothing_else(
    delivery_world: DeliveryWorld,
) -> None:
    dw = delivery_world
    guardian = dw.world.summary.guardian_two_children
    put = await dw.world.client.put(
        "/v1/me/preferences",
        json={"categories": {"message": {"email": "digest"}}},
        headers=dw.world.headers(guardian),
    )
    assert put.status_code == 200, put.text
    first = await dw.world.send_to_class(subject="Første besked")
    second = await dw.world.send_to_class(subject="Anden besked")
    third = await dw.world.send_to_class(subject="Tredje besked")
    await dw.run_worker()
    person = await dw.world.person(guardian)
    mine = await dw.deliveries(person_id=person.id)
    assert {(r.kind, r.state) for r in mine} == {("digest", "deferred")}
    assert len(mine) == 3
    address = {r for m in dw.smtp.received for r in m.recipients}
    # The guardian reads the second one before the digest goes.
    read = await dw.world.post(f"/v1/inbox/threads/{second['thread_id']}/read", guardian, {})
    assert read.status_code == 200, read.text
    async with _runtime(dw) as runtime:
        nothing_yet = await send_due(runtime, utcnow())
        assert nothing_yet == 0  # the digest time has not come
        later = max(r.not_before for r in mine) + dt.timedelta(seconds=1)
        assert await send_due(runtime, later) == 1
        assert await send_due(runtime, later) == 0  # sent once
    digests = [m for m in dw.smtp.received if m.recipients[0] not in address]
    assert len(digests) == 1
    text = digests[0].parsed().get_body(preferencelist=("plain",))
    assert text is not None
    content = text.get_content()
    assert "Første besked" in content and "Tredje besked" in content
    assert "Anden besked" not in content
    states = {r.message_id: r.state for r in await dw.deliveries(person_id=person.id)}
    assert states[uuid.UUID(first["message_id"])] == "sent"
    assert states[uuid.UUID(second["message_id"])] == "superseded"
    assert states[uuid.UUID(third["message_id"])] == "sent"


async def test_nothing_unread_means_no_digest(delivery_world: DeliveryWorld) -> None:
    dw = delivery_world
    guardian = dw.world.summary.guardian_two_children
    await dw.world.client.put(
        "/v1/me/preferences",
        json={"categories": {"message": {"email": "digest"}}},
        headers=dw.world.headers(guardian),
    )
    sent = await dw.world.send_to_class()
    await dw.run_worker()
    before = len(dw.smtp.received)
    read = await dw.world.post(f"/v1/inbox/threads/{sent['thread_id']}/read", guardian, {})
    assert read.status_code == 200
    person = await dw.world.person(guardian)
    mine = await dw.deliveries(person_id=person.id)
    assert [(r.state, r.reason) for r in mine] == [("superseded", "read")]
    async with _runtime(dw) as runtime:
        assert await send_due(runtime, utcnow() + dt.timedelta(days=2)) == 0
    assert len(dw.smtp.received) == before


async def test_staff_get_no_mail_outside_working_hours_but_the_inbox_at_once(
    tmp_path: object,
    database_url: str,
    redis_url: str,
    make_settings: object,
    engine: object,
    smtp_server: object,
    push: object,
) -> None:
    from tests.delivery.conftest import build_delivery_world  # noqa: PLC0415

    weekday = dt.datetime.now().weekday()
    other = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][(weekday + 3) % 7]
    async for dw in build_delivery_world(
        tmp_path,  # type: ignore[arg-type]
        database_url,
        redis_url,
        make_settings,
        engine,  # type: ignore[arg-type]
        smtp_server,  # type: ignore[arg-type]
        push,  # type: ignore[arg-type]
        working_hours=f"{other} 08:00-09:00",
    ):
        guardian = dw.world.summary.guardian_two_children
        teacher = dw.world.summary.teacher
        sent = await dw.world.send_to_class()
        reply = await dw.world.post(
            f"/v1/threads/{sent['thread_id']}/messages", guardian, {"body": "Tak!"}
        )
        assert reply.status_code == 202, reply.text
        await dw.run_worker()
        staff = await dw.world.person(teacher)
        rows = await dw.deliveries(person_id=staff.id)
        assert rows and {(r.state, r.reason) for r in rows} == {("deferred", "working_hours")}
        inbox = await dw.world.get("/v1/inbox/unread", teacher)
        assert inbox.status_code == 200
        assert inbox.json()["total"] >= 1


@contextlib.asynccontextmanager
async def _runtime(dw: DeliveryWorld) -> AsyncIterator[Runtime]:
    """The worker's delivery runtime, as its startup builds it."""
    from workers.delivery import delivery_shutdown, delivery_startup  # noqa: PLC0415

    ctx: dict[str, object] = {
        "settings": dw.settings,
        "sessions": session_factory(dw.world.engine),
        "redis": None,
    }
    await delivery_startup(ctx)
    try:
        runtime = ctx["delivery"]
        assert isinstance(runtime, Runtime)
        yield runtime
    finally:
        await delivery_shutdown(ctx)
