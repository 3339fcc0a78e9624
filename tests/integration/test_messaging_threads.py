"""Sending, replying, reading and receipts over the real app on both engines."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select

from gateway.db import session_factory
from gateway.messaging.models import Message, OutboxItem, Participant, Thread
from tests.integration import messaging_world
from tests.integration.messaging_world import World

world = messaging_world.world  # the fixture

GUARDIAN = "guardian_two_children"


async def count(w: World, model: Any) -> int:
    async with session_factory(w.engine)() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_teacher_sends_guardian_reads_and_teacher_sees_the_receipt(world: World) -> None:
    w = world
    guardian = w.summary.guardian_two_children
    sent = await w.send_to_class()
    assert sent["recipients"] > 1
    # Thread, message, sender + recipients' entries and one outbox row, all committed.
    assert await count(w, Thread) == 1
    assert await count(w, Message) == 1
    assert await count(w, Participant) == sent["recipients"] + 1
    assert await count(w, OutboxItem) == 1

    unread = (await w.get("/v1/inbox/unread", guardian)).json()
    assert unread["total"] == 1
    assert len(unread["institutions"]) == 1
    # The guardian of two children in the class gets one copy regarding both... or at least one.
    assert unread["children"] and all(c["unread"] == 1 for c in unread["children"])

    page = (await w.get("/v1/inbox/threads", guardian)).json()
    assert [t["id"] for t in page["items"]] == [sent["thread_id"]]
    assert page["items"][0]["subject"] == "Tur i skoven"
    assert page["items"][0]["unread_count"] == 1

    detail = await w.get(f"/v1/inbox/threads/{sent['thread_id']}", guardian)
    assert detail.status_code == 200, detail.text
    message = detail.json()["messages"][0]
    assert message["body_html"] == "<p>Husk <strong>madpakke</strong> og regntøj.</p>"

    receipts = (await w.get(f"/v1/threads/{sent['thread_id']}/receipts", w.summary.teacher)).json()
    assert receipts["read"] == 0 and receipts["unread"] == receipts["total"] == sent["recipients"]

    read = await w.post(f"/v1/inbox/threads/{sent['thread_id']}/read", guardian, {})
    assert read.status_code == 200, read.text
    assert read.json()["unread_count"] == 0
    assert (await w.get("/v1/inbox/unread", guardian)).json()["total"] == 0

    receipts = (await w.get(f"/v1/threads/{sent['thread_id']}/receipts", w.summary.teacher)).json()
    guardian_id = await w.id_of(guardian)
    mine = [r for r in receipts["recipients"] if r["person"]["id"] == guardian_id]
    assert mine and mine[0]["read"] is True and mine[0]["read_at"]
    assert receipts["read"] == 1

    # A guardian does not see receipts by default (institution setting off).
    refused = await w.get(f"/v1/threads/{sent['thread_id']}/receipts", guardian)
    assert refused.status_code == 403


async def test_an_urgent_message_says_so_in_the_list_and_the_thread(world: World) -> None:
    w = world
    guardian = w.summary.guardian_two_children
    calm = await w.send_to_class(subject="Madpakke")
    urgent = await w.send_to_class(subject="Skolen lukker kl. 12", urgent=True)
    page = (await w.get("/v1/inbox/threads", guardian)).json()
    assert {t["id"]: t["urgent"] for t in page["items"]} == {
        calm["thread_id"]: False,
        urgent["thread_id"]: True,
    }
    detail = (await w.get(f"/v1/inbox/threads/{urgent['thread_id']}", guardian)).json()
    assert detail["urgent"] is True


async def test_reply_all_reaches_everyone_and_counts_unread(world: World) -> None:
    w = world
    guardian = w.summary.guardian_two_children
    sent = await w.send_to_class()
    await w.post(f"/v1/inbox/threads/{sent['thread_id']}/read", w.summary.teacher, {})
    reply = await w.post(f"/v1/threads/{sent['thread_id']}/messages", guardian, {"body": "Tak!"})
    assert reply.status_code == 202, reply.text
    assert reply.json()["recipients"] == sent["recipients"]  # the teacher and the others
    teacher_unread = (await w.get("/v1/inbox/unread", w.summary.teacher)).json()
    assert teacher_unread["total"] == 1
    # The author's own unread count does not grow with their reply.
    assert (await w.get("/v1/inbox/unread", guardian)).json()["total"] == 1


async def test_reply_policy_none_refuses_recipients(world: World) -> None:
    w = world
    sent = await w.send_to_class(reply_policy="none")
    reply = await w.post(
        f"/v1/threads/{sent['thread_id']}/messages",
        w.summary.guardian_two_children,
        {"body": "Hej"},
    )
    assert reply.status_code == 403
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert await count(w, Message) == 1
    # The sender may still write.
    again = await w.post(
        f"/v1/threads/{sent['thread_id']}/messages", w.summary.teacher, {"body": "Tilføjelse"}
    )
    assert again.status_code == 202


async def _other_recipient(w: World, thread_id: str, not_this: str) -> str:
    async with session_factory(w.engine)() as session:
        from gateway.roster.models import Person  # noqa: PLC0415

        rows = await session.scalars(
            select(Person.source_id)
            .join(Participant, Participant.person_id == Person.id)
            .where(Participant.thread_id == uuid.UUID(thread_id), Participant.role == "recipient")
        )
        others = [s for s in rows if s != not_this]
    assert others
    return others[0]


async def test_reply_policy_sender_keeps_the_answer_between_two(world: World) -> None:
    w = world
    guardian = w.summary.guardian_two_children
    sent = await w.send_to_class(reply_policy="sender")
    other = await _other_recipient(w, sent["thread_id"], guardian)
    reply = await w.post(
        f"/v1/threads/{sent['thread_id']}/messages", guardian, {"body": "Kun til læreren"}
    )
    assert reply.status_code == 202
    assert reply.json()["recipients"] == 1
    teacher_view = (await w.get(f"/v1/inbox/threads/{sent['thread_id']}", w.summary.teacher)).json()
    assert [m["body"] for m in teacher_view["messages"]][-1] == "Kun til læreren"
    other_view = await w.get(f"/v1/inbox/threads/{sent['thread_id']}", other)
    assert other_view.status_code == 200
    assert "Kun til læreren" not in other_view.text
    assert len(other_view.json()["messages"]) == 1
    assert (await w.get("/v1/inbox/unread", other)).json()["total"] == 1


async def test_idempotency_key_returns_the_first_answer(world: World) -> None:
    w = world
    group = await w.id_of(w.summary.teacher_class)
    body = {
        "subject": "Forældremøde",
        "body": "Torsdag kl. 17.",
        "audience": {"targets": [{"type": "group", "group": group, "roles": ["guardians"]}]},
    }
    key = {"Idempotency-Key": "retry-1"}
    first = await w.post("/v1/messages", w.summary.teacher, body, headers=key)
    second = await w.post("/v1/messages", w.summary.teacher, body, headers=key)
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    assert await count(w, Thread) == 1
    changed = await w.post(
        "/v1/messages", w.summary.teacher, body | {"subject": "Andet"}, headers=key
    )
    assert changed.status_code == 422
    assert "Idempotency-Key" in changed.json()["detail"]
    assert await count(w, Thread) == 1
    # Another caller's same key is another key.
    other = await w.post("/v1/messages", w.summary.leader, body, headers=key)
    assert other.status_code == 202, other.text
    assert other.json()["thread_id"] != first.json()["thread_id"]
    assert await count(w, Thread) == 2


async def test_recall_within_the_window_hides_the_body(world: World) -> None:
    w = world
    guardian = w.summary.guardian_two_children
    sent = await w.send_to_class(body="Forkert dato")
    recalled = await w.post(f"/v1/messages/{sent['message_id']}/recall", w.summary.teacher)
    assert recalled.status_code == 200, recalled.text
    view = (await w.get(f"/v1/inbox/threads/{sent['thread_id']}", guardian)).json()
    assert view["messages"][0]["recalled"] is True
    assert view["messages"][0]["body"] is None and view["messages"][0]["body_html"] is None
    # Someone else cannot recall it: it is not theirs (404, not 403).
    other = await w.post(f"/v1/messages/{sent['message_id']}/recall", guardian)
    assert other.status_code == 404


async def test_recall_after_the_window_is_refused(
    tmp_path: Any, database_url: str, redis_url: str, make_settings: Any, engine: Any
) -> None:
    from tests.integration.messaging_world import make_world  # noqa: PLC0415

    async for w in make_world(
        tmp_path, database_url, redis_url, make_settings, engine, recall_window_seconds="0"
    ):
        sent = await w.send_to_class()
        refused = await w.post(f"/v1/messages/{sent['message_id']}/recall", w.summary.teacher)
        assert refused.status_code == 403
        assert "recalled within 0 seconds" in refused.json()["detail"]


async def test_cursor_pagination_and_etag(world: World) -> None:
    w = world
    guardian = w.summary.guardian_two_children
    sent = [(await w.send_to_class(subject=f"Besked {n}"))["thread_id"] for n in range(3)]
    first = await w.get("/v1/inbox/threads", guardian, params={"limit": 2})
    page = first.json()
    assert [t["id"] for t in page["items"]] == sent[::-1][:2]
    assert page["next_cursor"]
    rest = (
        await w.get(
            "/v1/inbox/threads", guardian, params={"limit": 2, "cursor": page["next_cursor"]}
        )
    ).json()
    assert [t["id"] for t in rest["items"]] == [sent[0]]
    assert rest["next_cursor"] is None

    etag = first.headers["etag"]
    again = await w.get(
        "/v1/inbox/threads", guardian, params={"limit": 2}, headers={"If-None-Match": etag}
    )
    assert again.status_code == 304
    assert again.content == b""
    await w.post(f"/v1/inbox/threads/{sent[2]}/read", guardian, {})
    changed = await w.get(
        "/v1/inbox/threads", guardian, params={"limit": 2}, headers={"If-None-Match": etag}
    )
    assert changed.status_code == 200

    bad = await w.get("/v1/inbox/threads", guardian, params={"cursor": "not-ours"})
    assert bad.status_code == 422


async def test_filters_unread_archived_and_flags(world: World) -> None:
    w = world
    guardian = w.summary.guardian_two_children
    a = (await w.send_to_class(subject="A", category="trips"))["thread_id"]
    b = (await w.send_to_class(subject="B"))["thread_id"]
    await w.post(f"/v1/inbox/threads/{a}/read", guardian, {})
    unread = (await w.get("/v1/inbox/threads", guardian, params={"unread": "true"})).json()
    assert [t["id"] for t in unread["items"]] == [b]
    trips = (await w.get("/v1/inbox/threads", guardian, params={"category": "trips"})).json()
    assert [t["id"] for t in trips["items"]] == [a]
    child = w.summary.guardian_two_children_children[0]
    by_child = (
        await w.get("/v1/inbox/threads", guardian, params={"child": await w.id_of(child)})
    ).json()
    assert {t["id"] for t in by_child["items"]} <= {a, b}
    flags = await w.post(f"/v1/inbox/threads/{b}/archive", guardian)
    assert flags.json()["archived"] is True
    inbox = (await w.get("/v1/inbox/threads", guardian)).json()
    assert [t["id"] for t in inbox["items"]] == [a]
    archive = (await w.get("/v1/inbox/threads", guardian, params={"archived": "true"})).json()
    assert [t["id"] for t in archive["items"]] == [b]
    assert (await w.post(f"/v1/inbox/threads/{b}/mark", guardian)).json()["marked"] is True


async def test_oversize_and_bad_bodies_store_nothing(world: World) -> None:
    w = world
    group = await w.id_of(w.summary.teacher_class)
    audience = {"targets": [{"type": "group", "group": group, "roles": ["guardians"]}]}
    big = await w.post(
        "/v1/messages",
        w.summary.teacher,
        {"subject": "x", "body": "a" * 20_001, "audience": audience},
    )
    assert big.status_code == 413
    assert big.json()["limit"] == "body_max_chars"
    unknown = await w.post(
        "/v1/messages",
        w.summary.teacher,
        {"subject": "x", "body": "y", "audience": audience, "bcc": True},
    )
    assert unknown.status_code == 422
    empty = await w.post(
        "/v1/messages", w.summary.teacher, {"subject": "x", "body": "\x00 ", "audience": audience}
    )
    assert empty.status_code == 422
    too_many = await w.post(
        "/v1/messages",
        w.summary.teacher,
        {"subject": "x", "body": "y", "audience": audience, "attachments": [group] * 11},
    )
    assert too_many.status_code == 413
    assert too_many.json()["limit"] == "message_max_attachments"
    assert await count(w, Thread) == 0
    assert await count(w, Participant) == 0


async def test_added_people_see_the_whole_thread(world: World) -> None:
    w = world
    sent = await w.send_to_class(body="Første besked")
    outsider = w.summary.leader  # staff of the same school
    assert (await w.get(f"/v1/inbox/threads/{sent['thread_id']}", outsider)).status_code == 404
    added = await w.post(
        f"/v1/threads/{sent['thread_id']}/participants",
        w.summary.teacher,
        {"people": [await w.id_of(outsider)]},
    )
    assert added.status_code == 200, added.text
    assert added.json()["added"] == 1
    view = await w.get(f"/v1/inbox/threads/{sent['thread_id']}", outsider)
    assert view.status_code == 200
    assert view.json()["messages"][0]["body"] == "Første besked"
    assert view.json()["unread_count"] == 1
    # A guardian may not add people.
    refused = await w.post(
        f"/v1/threads/{sent['thread_id']}/participants",
        w.summary.guardian_two_children,
        {"people": [await w.id_of(w.summary.pedagogue)]},
    )
    assert refused.status_code == 403


async def test_guardian_senders_see_receipts_only_where_the_institution_allows(
    world: World,
) -> None:
    w = world
    guardian = w.summary.guardian_two_children
    body = {
        "subject": "Sygemelding",
        "body": "Ida er syg i dag.",
        "audience": {"targets": [{"type": "people", "people": [await w.id_of(w.summary.teacher)]}]},
    }
    sent = await w.post("/v1/messages", guardian, body)
    assert sent.status_code == 202, sent.text
    thread = sent.json()["thread_id"]
    assert (await w.get(f"/v1/threads/{thread}/receipts", guardian)).status_code == 403
    from gateway.messaging.models import Thread as ThreadRow  # noqa: PLC0415
    from gateway.roster.models import Institution  # noqa: PLC0415

    async with session_factory(w.engine)() as session, session.begin():
        row = await session.get_one(ThreadRow, uuid.UUID(thread))
        assert row.institution_id is not None
        institution = await session.get_one(Institution, row.institution_id)
        institution.settings = {**institution.settings, "guardians_see_receipts": True}
    await w.post(f"/v1/inbox/threads/{thread}/read", w.summary.teacher, {})
    receipts = await w.get(f"/v1/threads/{thread}/receipts", guardian)
    assert receipts.status_code == 200, receipts.text
    assert receipts.json()["read"] == receipts.json()["total"] == 1
