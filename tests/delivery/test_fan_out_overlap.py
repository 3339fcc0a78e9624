"""Two ``fan_out`` runs of one outbox row at once plan it once, and both end cleanly.

The sweeper enqueues a fresh job id each round, so a swept run can overlap a slow first
run of the same row. Here the overlap is forced: a third connection holds a write on the
outbox row (on SQLite, the database's one write lock) while both runs start, so the
first is stuck mid-transaction when the second begins.
"""

from __future__ import annotations

import asyncio
import collections
import time
import uuid
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from sqlalchemy import select, text, update

from gateway.db import session_factory
from gateway.delivery import fanout
from gateway.delivery.models import Delivery
from gateway.delivery.queue import Queue
from gateway.messaging.models import OutboxItem
from tests.delivery.conftest import DeliveryWorld


async def _eventually(condition: Callable[[], Awaitable[bool]], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await condition():
            return True
        await asyncio.sleep(0.02)
    return await condition()


async def test_two_fan_outs_of_one_item_at_once_plan_it_once(
    delivery_world: DeliveryWorld,
) -> None:
    dw = delivery_world
    engine = dw.world.engine
    postgres = engine.dialect.name == "postgresql"
    sent = await dw.world.send_to_class()
    sessions = session_factory(engine)
    async with sessions() as session:
        outbox_id = await session.scalar(select(OutboxItem.id))
    assert outbox_id is not None
    redis = Redis.from_url(dw.settings.redis_url)
    try:
        await redis.delete(dw.settings.queue_name)  # the API's own enqueue: not this test's
        queue = Queue(redis, dw.settings.queue_name)
        blocker = await engine.connect()
        transaction = await blocker.begin()
        await blocker.execute(
            update(OutboxItem).where(OutboxItem.id == outbox_id).values(done_at=None)
        )
        first = asyncio.create_task(fanout.fan_out(sessions, dw.settings, queue, outbox_id))
        if postgres:

            async def first_waits_to_mark_done() -> bool:
                async with sessions() as session:
                    waiting = await session.scalar(
                        text(
                            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type ="
                            " 'Lock' AND datname = current_database()"
                            " AND query ILIKE 'UPDATE outbox%'"
                        )
                    )
                return bool(waiting)

            assert await _eventually(first_waits_to_mark_done, 10)
            # The first run has planned and holds the row: the second skips at once.
            second_result = await asyncio.wait_for(
                fanout.fan_out(sessions, dw.settings, queue, outbox_id), 5
            )
            assert second_result.busy and second_result.planned == 0
            assert not first.done()
            await transaction.rollback()
            first_result = await first
        else:
            second = asyncio.create_task(fanout.fan_out(sessions, dw.settings, queue, outbox_id))
            await asyncio.sleep(0.5)
            assert not first.done() and not second.done()  # both wait for the write lock
            await transaction.rollback()
            first_result, second_result = await asyncio.gather(first, second)
        await blocker.close()
    finally:
        await redis.aclose()
    results = [first_result, second_result]
    winners = [r for r in results if r.planned]
    assert len(winners) == 1, results
    loser = next(r for r in results if not r.planned)
    assert loser.already_done or loser.busy
    rows = await dw.deliveries(message_id=uuid.UUID(sent["message_id"]))
    assert len(rows) == winners[0].planned > 0
    per_key = collections.Counter((r.person_id, r.channel, r.kind) for r in rows)
    assert set(per_key.values()) == {1}
    async with sessions() as session:
        done_at = await session.scalar(select(OutboxItem.done_at).where(OutboxItem.id == outbox_id))
    assert done_at is not None
    # Only the winner's chunks were queued: the worker sends each mail once.
    await dw.run_worker()
    rows = await dw.deliveries(message_id=uuid.UUID(sent["message_id"]), channel="email")
    assert rows and {r.state for r in rows} == {"sent"}
    recipients = collections.Counter(rcpt for mail in dw.smtp.received for rcpt in mail.recipients)
    assert len(recipients) == len(rows) and set(recipients.values()) == {1}
    assert await dw.count(Delivery) == winners[0].planned
