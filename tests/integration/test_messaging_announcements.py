"""Announcements: the feed, scheduling, expiry, importance, and read stats by household."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.integration import messaging_world
from tests.integration.messaging_world import World

world = messaging_world.world  # the fixture


async def announce(w: World, **extra: Any) -> Any:
    body = {
        "subject": extra.pop("subject", "Juleafslutning"),
        "body": extra.pop("body", "Vi ses i salen kl. 10."),
        "audience": {
            "targets": [
                {
                    "type": "group",
                    "group": await w.id_of(w.summary.teacher_class),
                    "roles": ["guardians"],
                }
            ]
        },
        **extra,
    }
    return await w.post("/v1/announcements", w.summary.teacher, body)


def iso(delta: dt.timedelta) -> str:
    return (dt.datetime.now(dt.UTC) + delta).isoformat()


async def test_feed_order_schedule_expiry_and_stats(world: World) -> None:
    w = world
    guardian = w.summary.guardian_two_children
    plain = await announce(w, subject="Almindelig")
    assert plain.status_code == 202, plain.text
    important = await announce(
        w, subject="Vigtig", important=True, important_until=iso(dt.timedelta(days=1))
    )
    later = await announce(w, subject="Senere", publish_at=iso(dt.timedelta(hours=2)))
    gone = await announce(w, subject="Udløbet", expire_at=iso(dt.timedelta(seconds=1)))
    assert later.status_code == gone.status_code == important.status_code == 202
    feed = await w.get("/v1/inbox/announcements", guardian)
    assert feed.status_code == 200
    subjects = [item["subject"] for item in feed.json()["items"]]
    assert subjects[0] == "Vigtig"
    assert "Almindelig" in subjects
    assert "Senere" not in subjects  # scheduled: invisible until publish_at
    assert "Senere" not in feed.text
    scheduled = later.json()["thread_id"]
    assert (await w.get(f"/v1/inbox/threads/{scheduled}", guardian)).status_code == 404
    # Announcements are a feed, not inbox threads.
    assert (await w.get("/v1/inbox/threads", guardian)).json()["items"] == []
    # No reply-all: comments are off.
    refused = await w.post(
        f"/v1/threads/{plain.json()['thread_id']}/messages", guardian, {"body": "ok"}
    )
    assert refused.status_code == 403

    read = await w.post(f"/v1/inbox/announcements/{plain.json()['thread_id']}/read", guardian)
    assert read.status_code == 200
    feed = (await w.get("/v1/inbox/announcements", guardian)).json()
    assert [i["read"] for i in feed["items"] if i["subject"] == "Almindelig"] == [True]

    stats = await w.get(f"/v1/announcements/{plain.json()['thread_id']}/stats", w.summary.teacher)
    assert stats.status_code == 200, stats.text
    numbers = stats.json()
    assert numbers["recipients_read"] == 1
    # The guardian's children in the class count as read households.
    assert numbers["households_read"] >= 1
    assert numbers["households"] == numbers["households_read"] + numbers["households_not_read"]
    assert numbers["households_not_read"] >= 1
    assert (
        await w.get(f"/v1/announcements/{plain.json()['thread_id']}/stats", guardian)
    ).status_code == 403


async def test_guardians_cannot_announce_and_times_must_fit(world: World) -> None:
    w = world
    body = {
        "subject": "x",
        "body": "y",
        "audience": {"targets": [{"type": "people", "people": [await w.id_of(w.summary.teacher)]}]},
    }
    assert (
        await w.post("/v1/announcements", w.summary.guardian_two_children, body)
    ).status_code == 403
    wrong = await announce(
        w, publish_at=iso(dt.timedelta(days=2)), expire_at=iso(dt.timedelta(days=1))
    )
    assert wrong.status_code == 422
    assert any("expire_at" in e for e in wrong.json()["errors"])
