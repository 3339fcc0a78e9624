"""Changing a consent's wording on both engines: in place before answers, a version after.

After answers, the old answers stay on record but stop counting, and exactly the people
who had answered get new deliveries (planned with ``only=``); nobody else is notified.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select

from gateway.consents.models import ConsentVersion
from gateway.db import session_factory
from gateway.delivery import fanout
from gateway.delivery.models import Delivery
from gateway.delivery.queue import Queue
from gateway.messaging.models import Message, OutboxItem
from gateway.orm import utcnow
from tests.integration import consent_world
from tests.integration.consent_world import (
    answer,
    ask,
    participants,
    record_rows,
    results,
    set_deadline,
    source_of,
    status_of,
)
from tests.integration.messaging_world import World

world = consent_world.world  # the fixture

G1 = "guardian-000001"


async def deliveries_of(w: World, message_id: str | uuid.UUID) -> set[uuid.UUID]:
    async with session_factory(w.engine)() as session:
        return set(
            (
                await session.scalars(
                    select(Delivery.person_id).where(
                        Delivery.message_id == uuid.UUID(str(message_id))
                    )
                )
            ).all()
        )


async def messages_in(w: World, thread_id: str) -> list[Message]:
    async with session_factory(w.engine)() as session:
        return list(
            (
                await session.scalars(
                    select(Message)
                    .where(Message.thread_id == uuid.UUID(thread_id))
                    .order_by(Message.created_at)
                )
            ).all()
        )


async def test_a_change_before_any_answer_is_made_in_place(world: World) -> None:
    w = world
    sent = await ask(w)
    edited = await w.client.put(
        f"/v1/consents/{sent['consent_id']}",
        json={"question": "Må vi vise *billeder* på hjemmesiden og i årsskriftet?"},
        headers=w.headers(w.summary.teacher),
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["mode"] == "in_place"
    assert edited.json()["version"] == 1 and edited.json()["asked_again"] == 0
    [message] = await messages_in(w, sent["thread_id"])
    assert (
        message.body_html == "<p>Må vi vise <em>billeder</em> på hjemmesiden og i årsskriftet?</p>"
    )
    view = (await w.get(f"/v1/consents/{sent['consent_id']}", G1)).json()
    assert view["version"] == 1 and "årsskriftet" in view["question"]
    assert view["title"] == "Fotos på skolens hjemmeside"
    same = await w.client.put(
        f"/v1/consents/{sent['consent_id']}",
        json={"title": "Fotos på skolens hjemmeside"},
        headers=w.headers(w.summary.teacher),
    )
    assert same.json()["mode"] == "unchanged"


async def test_a_change_after_answers_asks_exactly_those_who_answered_again(
    world: World,
) -> None:
    w = world
    sent = await ask(w)
    consent = sent["consent_id"]
    # The first version is fanned out to everyone asked (the worker's job, run here).
    async with session_factory(w.engine)() as session:
        outbox_id = await session.scalar(select(OutboxItem.id))
    assert outbox_id is not None
    queue = Queue(None, w.settings.queue_name)
    await fanout.fan_out(session_factory(w.engine), w.settings, queue, outbox_id)
    first = await deliveries_of(w, sent["message_id"])
    everyone = set(await participants(w, sent["thread_id"])) - {
        uuid.UUID(await w.id_of(w.summary.teacher))
    }
    assert first <= everyone and len(first) >= 4
    # Two guardians with an address, of two different children, answer.
    found = await participants(w, sent["thread_id"])
    chosen: dict[str, uuid.UUID] = {}
    for person in sorted(first):
        child = found[person].regarding[0]
        if child not in chosen and len(chosen) < 2:
            chosen[child] = person
    assert len(chosen) == 2
    asked_again = set(chosen.values())
    pairs = [(await source_of(w, p), await source_of(w, c)) for c, p in chosen.items()]
    (g_yes, child_yes), (g_no, child_no) = pairs
    assert (await answer(w, consent, g_yes, (child_yes, "yes"))).status_code == 200
    assert (await answer(w, consent, g_no, (child_no, "no"))).status_code == 200
    assert await status_of(w, consent, child_yes) == "yes"

    edited = await w.client.put(
        f"/v1/consents/{consent}",
        json={"title": "Fotos på hjemmesiden og Facebook", "question": "Må vi også på Facebook?"},
        headers=w.headers(w.summary.teacher),
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (body["mode"], body["version"], body["asked_again"]) == ("new_version", 2, 2)

    # Exactly the two who answered get the new version's notifications.
    assert await deliveries_of(w, body["message_id"]) == asked_again
    async with session_factory(w.engine)() as session:
        rounds = (
            await session.scalars(
                select(Delivery.kind).where(Delivery.message_id == uuid.UUID(body["message_id"]))
            )
        ).all()
        assert set(rounds) == {"instant"}
        versions = (
            await session.scalars(
                select(ConsentVersion.version).where(
                    ConsentVersion.request_id == uuid.UUID(consent)
                )
            )
        ).all()
        assert sorted(versions) == [1, 2]

    # The old answers stay on record but no longer count.
    assert [(r.version, r.option) for r in await record_rows(w, consent)] == [
        (1, "yes"),
        (1, "no"),
    ]
    assert await status_of(w, consent, child_yes) == "pending"
    assert await status_of(w, consent, child_no) == "pending"
    view = (await w.get(f"/v1/consents/{consent}", g_yes)).json()
    assert view["version"] == 2 and view["title"] == "Fotos på hjemmesiden og Facebook"
    [mine] = view["children"]
    assert mine["my_answer"] is None and mine["asked_again"] is True and mine["can_answer"]

    # The new message is in the thread, unread for everyone in it (nobody read yet).
    assert len(await messages_in(w, sent["thread_id"])) == 2
    unread = {p.unread_count for p in (await participants(w, sent["thread_id"])).values()}
    assert unread == {0, 2}  # the teacher, and everyone asked

    again = await answer(w, consent, g_yes, (child_yes, "no"))
    assert again.status_code == 200
    assert [r.version for r in await record_rows(w, consent)] == [1, 1, 2]
    assert await status_of(w, consent, child_yes) == "no"
    summary = await results(w, consent)
    assert summary["version"] == 2 and summary["counts"]["no"] == 1
    assert summary["counts"]["pending"] == 3


async def test_only_the_one_who_asked_may_change_it_and_not_after_the_deadline(
    world: World,
) -> None:
    w = world
    sent = await ask(w)
    consent = sent["consent_id"]
    by_guardian = await w.client.put(
        f"/v1/consents/{consent}", json={"title": "Noget andet"}, headers=w.headers(G1)
    )
    assert by_guardian.status_code == 403
    colleague = await w.client.put(
        f"/v1/consents/{consent}", json={"title": "Noget andet"}, headers=w.headers("staff-00029")
    )
    assert colleague.status_code == 404  # not in the thread: not theirs to see
    empty = await w.client.put(
        f"/v1/consents/{consent}", json={}, headers=w.headers(w.summary.teacher)
    )
    assert empty.status_code == 422
    await set_deadline(w, consent, utcnow() - dt.timedelta(seconds=5))
    closed = await w.client.put(
        f"/v1/consents/{consent}",
        json={"title": "Noget andet"},
        headers=w.headers(w.summary.teacher),
    )
    assert closed.status_code == 409
    async with session_factory(w.engine)() as session:
        assert await session.scalar(select(func.count()).select_from(ConsentVersion)) == 1
