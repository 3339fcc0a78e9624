"""Planning page by page gives the same deliveries as planning in one go.

``fan_out`` reads recipients ``PLAN_PAGE`` at a time so that a worker's memory is
bounded by the page; pages must neither lose nor repeat anyone at their edges.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from gateway.db import session_factory
from gateway.delivery import fanout
from gateway.delivery.queue import Queue
from gateway.messaging.models import OutboxItem
from tests.delivery.conftest import DeliveryWorld


async def _plan(dw: DeliveryWorld) -> set[tuple[uuid.UUID, str, str, str]]:
    sent = await dw.world.send_to_class()
    sessions = session_factory(dw.world.engine)
    async with sessions() as session:
        outbox_id = await session.scalar(
            select(OutboxItem.id).where(OutboxItem.item_id == uuid.UUID(sent["message_id"]))
        )
    assert outbox_id is not None
    result = await fanout.fan_out(
        sessions, dw.settings, Queue(None, dw.settings.queue_name), outbox_id
    )
    rows = await dw.deliveries(message_id=uuid.UUID(sent["message_id"]))
    assert len(rows) == result.planned
    return {(r.person_id, r.channel, r.kind, r.state) for r in rows}


async def test_pages_of_two_plan_what_one_page_plans(
    delivery_world: DeliveryWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = await _plan(delivery_world)
    monkeypatch.setattr(fanout, "PLAN_PAGE", 2)
    paged = await _plan(delivery_world)
    people = {person for person, *_ in whole}
    # Several pages, the last one not full (the class's reachable recipients).
    assert len(people) > 2 * 2 and len(people) % 2 == 1
    assert paged == whole
