"""A daycare notice's notifications: planned by the normal fan-out, within staff hours.

Real app, real worker (burst), real SMTP server and push service, both engines.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.db import session_factory
from gateway.messaging.models import Message
from tests.channels.conftest import SmtpServer, smtp_server  # noqa: F401 - a fixture
from tests.channels.push_service import PushService
from tests.delivery.conftest import (
    DeliveryWorld,
    build_delivery_world,
    delivery_world,  # noqa: F401 - a fixture
    push,  # noqa: F401 - a fixture
)
from tests.integration.test_daycare_notices import days, room


async def _sick(dw: DeliveryWorld) -> tuple[Any, dict[str, Any]]:
    r = await room(dw.world)
    sent = await dw.world.post(
        "/v1/notices",
        r.guardians[0],
        {"child_id": r.child_id, "kind": "sick", "from_date": days(0), "note": "Feber"},
    )
    assert sent.status_code == 201, sent.text
    return r, sent.json()


async def test_the_rooms_staff_are_notified_at_once_within_working_hours(
    delivery_world: DeliveryWorld,  # noqa: F811 - the fixture imported above
) -> None:
    dw = delivery_world
    r, sent = await _sick(dw)
    await dw.run_worker()
    staff_ids = {(await dw.world.person(s)).id for s in r.staff}
    planned = [d for d in await dw.deliveries() if d.person_id in staff_ids]
    assert {d.person_id for d in planned} == staff_ids
    assert {d.category for d in planned} == {"message"}
    # No push subscription: each gets the email, sent now.
    assert {(d.channel, d.state) for d in planned} == {("email", "sent")}
    sender = (await dw.world.person(r.guardians[0])).id
    assert all(d.person_id != sender for d in await dw.deliveries())
    # One mail per member of staff, the notice's subject in it.
    assert len(dw.smtp.received) == len(staff_ids)
    subjects = {str(m.parsed()["Subject"]) for m in dw.smtp.received}
    assert all(f"{r.child_name} er syg i dag" in s for s in subjects), subjects
    assert {d.message_id for d in planned} == {await _message_of(dw, sent["thread_id"])}


async def test_outside_working_hours_the_inbox_gets_it_and_the_mail_waits(
    tmp_path: Path,
    database_url: str,
    redis_url: str,
    make_settings: Any,
    engine: AsyncEngine,
    smtp_server: SmtpServer,  # noqa: F811 - the fixture imported above
    push: PushService,  # noqa: F811 - the fixture imported above
) -> None:
    weekday = dt.datetime.now().weekday()
    other = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][(weekday + 3) % 7]
    async for dw in build_delivery_world(
        tmp_path,
        database_url,
        redis_url,
        make_settings,
        engine,
        smtp_server,
        push,
        working_hours=f"{other} 08:00-09:00",
    ):
        r, sent = await _sick(dw)
        inbox = (await dw.world.get("/v1/inbox/threads", r.staff[0])).json()
        assert [t["id"] for t in inbox["items"]] == [sent["thread_id"]]
        await dw.run_worker()
        staff = await dw.world.person(r.staff[0])
        rows = await dw.deliveries(person_id=staff.id)
        assert rows and {(d.state, d.reason) for d in rows} == {("deferred", "working_hours")}
        assert {d.message_id for d in rows} == {await _message_of(dw, sent["thread_id"])}
        assert dw.smtp.received == []


async def _message_of(dw: DeliveryWorld, thread_id: str) -> uuid.UUID:
    async with session_factory(dw.world.engine)() as session:
        found = await session.scalar(
            select(Message.id).where(Message.thread_id == uuid.UUID(thread_id))
        )
    assert found is not None
    return found
