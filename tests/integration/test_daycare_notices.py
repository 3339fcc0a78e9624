"""Daycare notices over the real app on both engines: who may send what, who sees it.

Each test acts in the demo municipality: a guardian of a child in ``pedagogue_room``
sends, the room's pedagogues read their inbox and the day list, and guardians of
other children, school staff and a parent without custody try what they may not.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from sqlalchemy import func, select, update

from gateway.db import session_factory
from gateway.messaging.events import channel
from gateway.messaging.models import Message, OutboxItem, Participant, Thread
from gateway.notices.models import DaycareNotice, NoticeKind
from gateway.notices.rules import Draft
from gateway.notices.wording import subject
from gateway.orm import new_id
from gateway.roster.models import Affiliation, Group, Guardianship, Membership, Person
from tests.integration import messaging_world
from tests.integration.messaging_world import World

world = messaging_world.world  # the fixture

ZONE = ZoneInfo("Europe/Copenhagen")


def today() -> dt.date:
    return dt.datetime.now(ZONE).date()


def days(n: int) -> str:
    return (today() + dt.timedelta(days=n)).isoformat()


@dataclass(frozen=True)
class Room:
    """A child of ``pedagogue_room``, its custodial guardians and the room's place."""

    child: str  # source id
    child_id: str
    child_name: str
    guardians: tuple[str, ...]  # custodial, source ids
    institution_id: str
    group_id: str
    group_name: str
    staff: tuple[str, ...]  # the room's pedagogues, source ids


async def room(w: World) -> Room:
    """The first child of the pedagogue's room that has a custodial guardian."""
    async with session_factory(w.engine)() as session:
        group = await session.scalar(
            select(Group).where(Group.source_id == w.summary.pedagogue_room)
        )
        assert group is not None
        members = (
            await session.execute(
                select(Person, Membership.role)
                .join(Membership, Membership.person_id == Person.id)
                .where(Membership.group_id == group.id)
                .order_by(Person.source_id)
            )
        ).all()
    staff = tuple(p.source_id for p, role in members if role != "child")
    for person, role in members:
        if role != "child":
            continue
        guardians = await w.guardians_of(person.source_id, custody=True)
        if guardians:
            return Room(
                child=person.source_id,
                child_id=str(person.id),
                child_name=f"{person.given_name} {person.family_name}",
                guardians=tuple(sorted(g.source_id for g in guardians)),
                institution_id=str(group.institution_id),
                group_id=str(group.id),
                group_name=group.name,
                staff=staff,
            )
    raise AssertionError("no child with a custodial guardian in the room")


async def notice(w: World, who: str, child_id: str, **fields: Any) -> Any:
    body = {"child_id": child_id, "kind": "sick", "from_date": days(0), **fields}
    return await w.post("/v1/notices", who, body)


async def rows(w: World, model: Any, *where: Any) -> list[Any]:
    async with session_factory(w.engine)() as session:
        return list((await session.scalars(select(model).where(*where))).all())


async def link(w: World, guardian: str, child_id: str, *, custody: bool) -> None:
    """Make ``guardian`` a guardian of the child (the demo's parent without custody has a
    school child only, so the test gives them this daycare child too)."""
    person = await w.person(guardian)
    async with session_factory(w.engine)() as session, session.begin():
        session.add(
            Guardianship(
                id=new_id(),
                municipality_id=person.municipality_id,
                child_id=uuid.UUID(child_id),
                guardian_id=person.id,
                custody=custody,
                relation="parent",
                active=True,
            )
        )


async def test_sick_reaches_the_rooms_inbox_and_the_day_list(world: World) -> None:
    w = world
    r = await room(w)
    sent = await notice(w, r.guardians[0], r.child_id, note="Feber i nat. *Ingen* panik <b>")
    assert sent.status_code == 201, sent.text
    body = sent.json()
    assert body["kind"] == "sick" and body["from_date"] == body["to_date"] == days(0)
    assert body["child"] == {"id": r.child_id, "name": r.child_name}
    assert body["sent_by"]["id"] == await w.id_of(r.guardians[0])
    assert body["acknowledged"] is None and body["withdrawn_at"] is None
    assert body["thread_id"] and body["note"] == "Feber i nat. *Ingen* panik <b>"

    # One thread from the guardian to the room's staff, in their inboxes now, with its
    # outbox row for the notifications.
    threads = await rows(w, Thread, Thread.id == uuid.UUID(body["thread_id"]))
    assert [(t.category, t.subject) for t in threads] == [
        ("daycare_notice", f"{r.child_name} er syg i dag")
    ]
    people = await rows(w, Participant, Participant.thread_id == threads[0].id)
    by_role = {p.role: set() for p in people}
    for p in people:
        by_role[p.role].add(p.person_id)
    assert by_role["sender"] == {uuid.UUID(await w.id_of(r.guardians[0]))}
    assert by_role["recipient"] == {uuid.UUID(await w.id_of(s)) for s in r.staff}
    assert all(p.regarding == [r.child_id] for p in people)
    (message,) = await rows(w, Message, Message.thread_id == threads[0].id)
    # The note is plain text: escaped, not read as Markdown.
    assert "<em>" not in message.body_html and "*Ingen* panik &lt;b&gt;" in message.body_html
    assert await rows(w, OutboxItem, OutboxItem.item_id == message.id)
    inbox = (await w.get("/v1/inbox/threads", w.summary.pedagogue)).json()
    assert [t["id"] for t in inbox["items"]] == [body["thread_id"]]
    assert inbox["items"][0]["unread_count"] == 1

    day = await w.get(f"/v1/institutions/{r.institution_id}/notices", w.summary.pedagogue)
    assert day.status_code == 200, day.text
    listed = day.json()
    assert listed["date"] == days(0) and listed["counts"] == {"sick": 1}
    (item,) = listed["items"]
    assert item["id"] == body["id"] and item["group"] == {"id": r.group_id, "name": r.group_name}
    assert item["child"]["name"] == r.child_name and item["note"] == body["note"]
    guardian = await w.person(r.guardians[0])
    assert item["sent_by"]["name"] == f"{guardian.given_name} {guardian.family_name}"
    # The same list for the room; another day is empty.
    only_room = await w.get(
        f"/v1/institutions/{r.institution_id}/notices",
        w.summary.pedagogue,
        params={"group_id": r.group_id, "date": days(0)},
    )
    assert [i["id"] for i in only_room.json()["items"]] == [body["id"]]
    tomorrow = await w.get(
        f"/v1/institutions/{r.institution_id}/notices",
        w.summary.pedagogue,
        params={"date": days(1)},
    )
    assert tomorrow.json()["items"] == []


async def test_acknowledgement_reaches_the_guardians_and_the_first_one_stays(
    world: World,
) -> None:
    w = world
    r = await room(w)
    assert len(r.staff) >= 2
    sent = (await notice(w, r.guardians[0], r.child_id)).json()
    guardian_id = uuid.UUID(await w.id_of(r.guardians[0]))
    redis = Redis.from_url(w.settings.redis_url)
    pubsub = redis.pubsub()
    await pubsub.subscribe(channel(guardian_id))
    try:
        first = await w.post(f"/v1/notices/{sent['id']}/acknowledge", r.staff[0])
        assert first.status_code == 200, first.text
        event = await _next_message(pubsub)
        assert event == {
            "type": "daycare_notice",
            "notice_id": sent["id"],
            "change": "acknowledged",
        }
        second = await w.post(f"/v1/notices/{sent['id']}/acknowledge", r.staff[1])
        assert second.status_code == 200, second.text
        assert await _next_message(pubsub, wait=0.3) is None  # nothing changed, no event
    finally:
        await pubsub.aclose()
        await redis.aclose()
    staff = await w.person(r.staff[0])
    acknowledged = second.json()["acknowledged"]
    assert acknowledged["by"] == {
        "id": str(staff.id),
        "name": f"{staff.given_name} {staff.family_name}",
        "kind": "staff",
    }
    assert acknowledged["at"] == first.json()["acknowledged"]["at"]
    for guardian in r.guardians:  # every guardian of the child sees it
        mine = (await w.get("/v1/notices", guardian, params={"child_id": r.child_id})).json()
        assert [(n["id"], n["acknowledged"]["by"]["id"]) for n in mine["items"]] == [
            (sent["id"], str(staff.id))
        ]
    day = await w.get(f"/v1/institutions/{r.institution_id}/notices", r.staff[1])
    assert day.json()["items"][0]["acknowledged"]["by"]["id"] == str(staff.id)


async def _next_message(pubsub: Any, wait: float = 5.0) -> dict[str, Any] | None:
    loop = asyncio.get_running_loop()
    until = loop.time() + wait
    while loop.time() < until:
        found = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
        if found is not None:
            return dict(json.loads(found["data"]))
    return None


async def test_a_parent_without_custody_reports_sick_but_cannot_authorise_a_pickup(
    world: World,
) -> None:
    w = world
    r = await room(w)
    parent = w.summary.non_custodial_parent
    await link(w, parent, r.child_id, custody=False)
    sick = await notice(w, parent, r.child_id, note="Hun hostede hos mig i weekenden")
    assert sick.status_code == 201, sick.text
    pickup = await notice(
        w, parent, r.child_id, kind="picked_up_by", picked_up_by="Farmor", pickup_time="15:00"
    )
    assert pickup.status_code == 403, pickup.text
    assert "custody" in pickup.json()["detail"]
    # A guardian with custody may; the subject names who and when.
    allowed = await notice(
        w,
        r.guardians[0],
        r.child_id,
        kind="picked_up_by",
        picked_up_by="Morfar",
        pickup_time="15:00",
        note="Han har autostol med",
    )
    assert allowed.status_code == 201, allowed.text
    (thread,) = await rows(w, Thread, Thread.id == uuid.UUID(allowed.json()["thread_id"]))
    assert thread.subject == f"{r.child_name} hentes af Morfar kl. 15:00"
    # The parent without custody sees both notices, but not the household's words or who
    # collects the child; nor the thread they are not in.
    seen = (await w.get("/v1/notices", parent)).json()["items"]
    assert {n["kind"] for n in seen} == {"sick", "picked_up_by"}
    other = next(n for n in seen if n["kind"] == "picked_up_by")
    assert other["picked_up_by"] is None and other["note"] is None and other["thread_id"] is None
    assert other["pickup_time"] == "15:00"
    own = next(n for n in seen if n["kind"] == "sick")
    assert own["note"] == "Hun hostede hos mig i weekenden" and own["thread_id"]
    # The custodial guardian sees everything, the other parent's note included.
    full = (await w.get("/v1/notices", r.guardians[0])).json()["items"]
    assert {n["note"] for n in full} == {"Han har autostol med", "Hun hostede hos mig i weekenden"}


async def test_a_protected_child_is_named_for_staff_and_by_alias_without_custody(
    world: World,
) -> None:
    w = world
    r = await room(w)
    async with session_factory(w.engine)() as session, session.begin():
        await session.execute(
            update(Person)
            .where(Person.id == uuid.UUID(r.child_id))
            .values(protected=True, alias="Barn A")
        )
    parent = w.summary.non_custodial_parent
    await link(w, parent, r.child_id, custody=False)
    sent = await notice(w, parent, r.child_id)
    assert sent.status_code == 201, sent.text
    assert sent.json()["child"]["name"] == "Barn A"
    # The thread the parent is in says the alias, never the name.
    (thread,) = await rows(w, Thread, Thread.id == uuid.UUID(sent.json()["thread_id"]))
    assert thread.subject == "Barn A er syg i dag"
    (message,) = await rows(w, Message, Message.thread_id == thread.id)
    assert r.child_name not in message.body
    # Staff are entitled to the name; a custodial guardian too.
    day = (await w.get(f"/v1/institutions/{r.institution_id}/notices", r.staff[0])).json()
    assert day["items"][0]["child"]["name"] == r.child_name
    custodial = (await w.get("/v1/notices", r.guardians[0])).json()["items"]
    assert custodial[0]["child"]["name"] == r.child_name


async def test_a_guardian_of_another_child_learns_nothing(world: World) -> None:
    w = world
    r = await room(w)
    stranger = w.summary.guardian_two_children
    assert stranger not in r.guardians
    refused = await notice(w, stranger, r.child_id)
    unknown = await notice(w, stranger, str(uuid.uuid4()))
    assert refused.status_code == unknown.status_code == 404
    assert refused.json()["detail"] == unknown.json()["detail"]
    assert r.child_name not in refused.text
    listed = await w.get("/v1/notices", stranger, params={"child_id": r.child_id})
    assert listed.status_code == 404
    sent = (await notice(w, r.guardians[0], r.child_id, from_date=days(2))).json()
    assert (await w.get("/v1/notices", stranger)).json()["items"] == []
    withdrawn = await w.client.delete(f"/v1/notices/{sent['id']}", headers=w.headers(stranger))
    assert withdrawn.status_code == 404
    acknowledged = await w.post(f"/v1/notices/{sent['id']}/acknowledge", stranger)
    assert acknowledged.status_code == 403  # guardians never acknowledge; says nothing more
    day = await w.get(f"/v1/institutions/{r.institution_id}/notices", stranger)
    assert day.status_code == 404
    assert await rows(w, DaycareNotice, DaycareNotice.withdrawn_at.is_not(None)) == []


async def test_a_guardians_list_covers_the_days_asked_for(world: World) -> None:
    w = world
    r = await room(w)
    g = r.guardians[0]
    near = (await notice(w, g, r.child_id, kind="off", from_date=days(1), to_date=days(3))).json()
    far = (await notice(w, g, r.child_id, from_date=days(40))).json()

    async def listed(**params: str) -> Any:
        return await w.get("/v1/notices", g, params=params)

    everything = (await listed()).json()
    assert [n["id"] for n in everything["items"]] == [near["id"], far["id"]]
    assert everything["truncated"] is False
    # A notice counts when it covers a day of the range.
    assert [
        n["id"] for n in (await listed(**{"from": days(3), "to": days(10)})).json()["items"]
    ] == [near["id"]]
    assert [n["id"] for n in (await listed(**{"from": days(4)})).json()["items"]] == [far["id"]]
    assert (await listed(**{"from": days(5), "to": days(4)})).status_code == 422
    too_long = await listed(**{"from": days(0), "to": days(366)})
    assert too_long.status_code == 422 and "366" in too_long.json()["detail"]
    bad = await listed(**{"from": "tomorrow"})
    assert bad.status_code == 422 and bad.json()["errors"] == ["from: not a date: 'tomorrow'"]


async def test_only_guardians_send_notices(world: World) -> None:
    w = world
    r = await room(w)
    for who in (w.summary.pedagogue, r.child):
        refused = await notice(w, who, r.child_id)
        assert refused.status_code == 403, (who, refused.text)
        assert refused.json()["detail"] == "daycare notices are sent by a child's guardians"
    assert await rows(w, DaycareNotice) == []


async def test_a_room_without_staff_today_reaches_the_daycares_management(world: World) -> None:
    w = world
    r = await room(w)
    yesterday = today() - dt.timedelta(days=1)
    staff_ids = [uuid.UUID(await w.id_of(s)) for s in r.staff]
    async with session_factory(w.engine)() as session, session.begin():
        # The room's pedagogues left yesterday.
        await session.execute(
            update(Membership)
            .where(
                Membership.group_id == uuid.UUID(r.group_id), Membership.person_id.in_(staff_ids)
            )
            .values(end_date=yesterday)
        )
        managers = set(
            (
                await session.scalars(
                    select(Affiliation.person_id).where(
                        Affiliation.institution_id == uuid.UUID(r.institution_id),
                        Affiliation.role.in_(["principal", "siteAdministrator"]),
                    )
                )
            ).all()
        )
    assert managers
    sent = await notice(w, r.guardians[0], r.child_id)
    assert sent.status_code == 201, sent.text
    people = await rows(
        w,
        Participant,
        Participant.thread_id == uuid.UUID(sent.json()["thread_id"]),
        Participant.role == "recipient",
    )
    assert {p.person_id for p in people} == managers
    # Still affiliated with the daycare, they still see its day list.
    listed = await w.get(f"/v1/institutions/{r.institution_id}/notices", r.staff[0])
    assert [i["id"] for i in listed.json()["items"]] == [sent.json()["id"]]


async def test_a_school_child_is_refused(world: World) -> None:
    w = world
    guardian = w.summary.guardian_two_children
    child = await w.id_of(w.summary.guardian_two_children_children[0])
    refused = await notice(w, guardian, child)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"] == ["child_id: not in a group of a daycare institution"]
    assert "school" in refused.json()["detail"]
    assert await rows(w, DaycareNotice) == []


async def test_dates_and_fields_are_checked(world: World) -> None:
    w = world
    r = await room(w)
    g = r.guardians[0]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"from_date": days(-1)}, "from_date: must be today"),
        ({"from_date": days(366)}, "from_date: at most 365 days ahead"),
        ({"to_date": days(1)}, "to_date: a sick notice is for one day"),
        ({"kind": "off", "to_date": days(60)}, "to_date: an off notice covers at most 60 days"),
        ({"kind": "off", "from_date": days(3), "to_date": days(2)}, "to_date: must not be before"),
        ({"kind": "picked_up_by", "pickup_time": "15:00"}, "picked_up_by: give the name"),
        ({"kind": "picked_up_by", "picked_up_by": " \t "}, "picked_up_by: give the name"),
        ({"kind": "picked_up_by", "picked_up_by": "Morfar"}, "pickup_time: give the time"),
        ({"picked_up_by": "Morfar"}, "picked_up_by: only for kind picked_up_by"),
    ]
    for fields, expected in cases:
        refused = await notice(w, g, r.child_id, **fields)
        assert refused.status_code == 422, (fields, refused.text)
        assert any(e.startswith(expected) for e in refused.json()["errors"]), (
            fields,
            refused.json(),
        )
    for fields in (
        {"kind": "picked_up_by", "picked_up_by": "Morfar", "pickup_time": "25:00"},
        {"note": "x" * 1001},
        {"kind": "ill"},
        {"colour": "red"},
        {"kind": "picked_up_by", "picked_up_by": "M" * 201, "pickup_time": "15:00"},
    ):
        refused = await notice(w, g, r.child_id, **fields)
        assert refused.status_code == 422, (fields, refused.text)
    assert await rows(w, DaycareNotice) == []
    # The edges are accepted: an off notice of exactly 60 days, a year ahead.
    off = await notice(w, g, r.child_id, kind="off", from_date=days(1), to_date=days(60))
    assert off.status_code == 201, off.text
    ahead = await notice(w, g, r.child_id, from_date=days(365))
    assert ahead.status_code == 201, ahead.text


async def test_staff_of_another_institution_get_404(world: World) -> None:
    w = world
    r = await room(w)
    sent = (await notice(w, r.guardians[0], r.child_id)).json()
    teacher = w.summary.teacher  # works at a school
    listed = await w.get(f"/v1/institutions/{r.institution_id}/notices", teacher)
    unknown = await w.get(f"/v1/institutions/{uuid.uuid4()}/notices", teacher)
    assert listed.status_code == unknown.status_code == 404
    assert listed.json()["detail"] == unknown.json()["detail"]
    acknowledged = await w.post(f"/v1/notices/{sent['id']}/acknowledge", teacher)
    assert acknowledged.status_code == 404
    # The teacher's own school has no notices, and no group of the daycare fits it.
    async with session_factory(w.engine)() as session:
        school = await session.scalar(
            select(Group.institution_id).where(Group.source_id == w.summary.teacher_class)
        )
    own = await w.get(f"/v1/institutions/{school}/notices", teacher)
    assert own.status_code == 200 and own.json()["items"] == []
    wrong_group = await w.get(
        f"/v1/institutions/{school}/notices", teacher, params={"group_id": r.group_id}
    )
    assert wrong_group.status_code == 404
    # Guardians list their children's notices, staff the day list.
    assert (await w.get("/v1/notices", w.summary.pedagogue)).status_code == 403


async def test_the_sender_withdraws_before_the_day_and_staff_see_it(world: World) -> None:
    w = world
    r = await room(w)
    sender = r.guardians[0]
    sent = (
        await notice(w, sender, r.child_id, kind="off", from_date=days(1), to_date=days(3))
    ).json()
    if len(r.guardians) > 1:
        other = await w.client.delete(
            f"/v1/notices/{sent['id']}", headers=w.headers(r.guardians[1])
        )
        assert other.status_code == 403
    withdrawn = await w.client.delete(f"/v1/notices/{sent['id']}", headers=w.headers(sender))
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["withdrawn_at"]
    again = await w.client.delete(f"/v1/notices/{sent['id']}", headers=w.headers(sender))
    assert (
        again.status_code == 200
        and again.json()["withdrawn_at"] == withdrawn.json()["withdrawn_at"]
    )
    # Staff see it withdrawn (listed, not counted) and got a message in the thread.
    day = (
        await w.get(
            f"/v1/institutions/{r.institution_id}/notices",
            w.summary.pedagogue,
            params={"date": days(2)},
        )
    ).json()
    assert [i["id"] for i in day["items"]] == [sent["id"]]
    assert day["items"][0]["withdrawn_at"] and day["counts"] == {}
    messages = await rows(w, Message, Message.thread_id == uuid.UUID(sent["thread_id"]))
    assert len(messages) == 2
    assert any("trukket tilbage" in m.body for m in messages)
    # Withdrawn, the days are free for a new notice.
    again_off = await notice(w, sender, r.child_id, kind="off", from_date=days(2))
    assert again_off.status_code == 201, again_off.text
    # A notice whose day has begun stays: the thread is the place for changes.
    today_sick = (await notice(w, sender, r.child_id)).json()
    late = await w.client.delete(f"/v1/notices/{today_sick['id']}", headers=w.headers(sender))
    assert late.status_code == 409, late.text


async def test_the_same_sickness_twice_is_a_conflict(world: World) -> None:
    w = world
    r = await room(w)
    first = await notice(
        w, r.guardians[0], r.child_id, kind="off", from_date=days(1), to_date=days(5)
    )
    assert first.status_code == 201
    overlapping = await notice(
        w, r.guardians[-1], r.child_id, kind="off", from_date=days(4), to_date=days(8)
    )
    assert overlapping.status_code == 409, overlapping.text
    assert first.json()["id"] in overlapping.json()["detail"]
    # Another kind on the same day is news, not a duplicate.
    sick = await notice(w, r.guardians[-1], r.child_id, from_date=days(1))
    assert sick.status_code == 201, sick.text


async def test_twenty_notices_a_day_then_429(world: World) -> None:
    w = world
    r = await room(w)
    for n in range(20):
        sent = await notice(
            w,
            r.guardians[0],
            r.child_id,
            kind="picked_up_by",
            picked_up_by=f"Person {n}",
            pickup_time="15:00",
            from_date=days(n % 5),
        )
        assert sent.status_code == 201, sent.text
    refused = await notice(w, r.guardians[0], r.child_id, from_date=days(9))
    assert refused.status_code == 429, refused.text
    assert refused.json()["limit"] == "notices_per_day"
    assert int(refused.headers["retry-after"]) > 0
    async with session_factory(w.engine)() as session:
        stored = await session.scalar(select(func.count()).select_from(DaycareNotice))
    assert stored == 20
    # The limit is per guardian: another guardian of the child still may.
    if len(r.guardians) > 1:
        other = await notice(w, r.guardians[1], r.child_id, from_date=days(9))
        assert other.status_code == 201, other.text


async def test_a_retry_with_the_same_idempotency_key_sends_once(world: World) -> None:
    w = world
    r = await room(w)
    body = {"child_id": r.child_id, "kind": "sick", "from_date": days(0)}
    key = {"Idempotency-Key": "notice-1"}
    first = await w.post("/v1/notices", r.guardians[0], body, headers=key)
    second = await w.post("/v1/notices", r.guardians[0], body, headers=key)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert len(await rows(w, DaycareNotice)) == 1
    assert len(await rows(w, Thread)) == 1


def test_subjects_read_as_danish() -> None:
    day = dt.date(2026, 3, 6)  # a Friday

    def draft(kind: NoticeKind, start: dt.date, end: dt.date | None = None, **kw: Any) -> Draft:
        return Draft(
            kind=kind,
            from_date=start,
            to_date=end or start,
            picked_up_by=kw.get("who"),
            pickup_time=kw.get("at"),
            note=None,
        )

    assert subject("Ida Holm", draft(NoticeKind.SICK, day), day) == "Ida Holm er syg i dag"
    tomorrow = day + dt.timedelta(days=1)
    assert subject("Ida Holm", draft(NoticeKind.SICK, tomorrow), day) == "Ida Holm er syg i morgen"
    assert (
        subject("Ida Holm", draft(NoticeKind.SICK, dt.date(2026, 3, 10)), day)
        == "Ida Holm er syg tirsdag 10. marts"
    )
    march = draft(NoticeKind.OFF, dt.date(2026, 3, 3), dt.date(2026, 3, 7))
    assert subject("Ida Holm", march, dt.date(2026, 3, 1)) == "Ida Holm holder fri 3.–7. marts"
    across = draft(NoticeKind.OFF, dt.date(2026, 2, 27), dt.date(2026, 3, 2))
    assert subject("Ida Holm", across, day.replace(month=2, day=1)) == (
        "Ida Holm holder fri 27. februar–2. marts"
    )
    new_year = draft(NoticeKind.OFF, dt.date(2026, 12, 30), dt.date(2027, 1, 2))
    assert subject("Ida Holm", new_year, day) == (
        "Ida Holm holder fri 30. december 2026–2. januar 2027"
    )
    pickup = draft(NoticeKind.PICKED_UP_BY, day, who="Morfar", at="15:00")
    assert subject("Ida Holm", pickup, day) == "Ida Holm hentes af Morfar kl. 15:00"
    later = draft(NoticeKind.PICKED_UP_BY, tomorrow, who="Morfar", at="15:00")
    assert subject("Ida Holm", later, day) == "Ida Holm hentes af Morfar i morgen kl. 15:00"
    long = subject("Ida Holm", draft(NoticeKind.PICKED_UP_BY, day, who="M" * 200, at="15:00"), day)
    assert len(long) == 200 and long.endswith("…")
