"""The privacy invariants of DESIGN.md for messaging, written to break them."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update

from gateway.db import session_factory
from gateway.roster.models import Group, Institution, Membership, Person
from tests.integration import messaging_world
from tests.integration.messaging_world import EMAIL, World

world = messaging_world.world  # the fixture


async def _group_audience(w: World, group: str, roles: list[str], **options: Any) -> dict[str, Any]:
    return {
        "targets": [{"type": "group", "group": await w.id_of(group), "roles": roles}],
        **options,
    }


async def _teacher_of(w: World, group_source_id: str) -> str:
    async with session_factory(w.engine)() as session:
        found = await session.scalar(
            select(Person.source_id)
            .join(Membership, Membership.person_id == Person.id)
            .join(Group, Group.id == Membership.group_id)
            .where(Group.source_id == group_source_id, Membership.role == "teacher")
            .limit(1)
        )
    assert found is not None
    return found


async def _group_of(w: World, child_source_id: str) -> str:
    async with session_factory(w.engine)() as session:
        found = await session.scalar(
            select(Group.source_id)
            .join(Membership, Membership.group_id == Group.id)
            .join(Person, Person.id == Membership.person_id)
            .where(Person.source_id == child_source_id, Membership.role == "child")
            .limit(1)
        )
    assert found is not None
    return found


async def test_a_guardian_cannot_reach_another_familys_thread(world: World) -> None:
    w = world
    sent = await w.send_to_class()
    thread, message = sent["thread_id"], sent["message_id"]
    outsider = w.summary.non_custodial_parent  # a guardian with no child in the class
    assert (
        await w.get(f"/v1/inbox/threads/{thread}", w.summary.guardian_two_children)
    ).status_code == 200
    for method, path, body in (
        ("get", f"/v1/inbox/threads/{thread}", None),
        ("post", f"/v1/inbox/threads/{thread}/read", {}),
        ("post", f"/v1/inbox/threads/{thread}/archive", None),
        ("post", f"/v1/threads/{thread}/messages", {"body": "hej"}),
        ("get", f"/v1/threads/{thread}/receipts", None),
        ("post", f"/v1/messages/{message}/recall", None),
        ("get", f"/v1/inbox/threads/{uuid.uuid4()}", None),
    ):
        if method == "get":
            response = await w.get(path, outsider)
        else:
            response = await w.post(path, outsider, body)
        assert response.status_code == 404, (path, response.text)
        assert "Tur i skoven" not in response.text
    listing = (await w.get("/v1/inbox/threads", outsider)).json()
    assert listing["items"] == []
    assert (await w.get("/v1/inbox/unread", outsider)).json()["total"] == 0


async def test_protected_people_show_only_by_alias_to_non_staff(world: World) -> None:
    w = world
    s = w.summary
    group = await _group_of(w, s.protected_child)
    teacher = await _teacher_of(w, group)
    body = {
        "subject": "Klassens time",
        "body": "Vi ses i morgen.",
        "audience": await _group_audience(w, group, ["guardians"]),
    }
    sent = await w.post("/v1/messages", teacher, body)
    assert sent.status_code == 202, sent.text
    thread = sent.json()["thread_id"]
    # The protected guardian answers everyone: their name must not follow the answer.
    answer = await w.post(f"/v1/threads/{thread}/messages", s.protected_guardian, {"body": "Tak"})
    assert answer.status_code == 202, answer.text

    protected = [await w.person(s.protected_child), await w.person(s.protected_guardian)]
    async with session_factory(w.engine)() as session:
        visible = set(
            (
                await session.scalars(select(Person.given_name).where(Person.protected.is_(False)))
            ).all()
        ) | set(
            (
                await session.scalars(select(Person.family_name).where(Person.protected.is_(False)))
            ).all()
        )
    secrets = set()
    for person in protected:
        secrets.add(f"{person.given_name} {person.family_name}")
        secrets |= {part for part in (person.given_name, person.family_name) if part not in visible}
    emails = await w.emails()
    assert emails, "the demo data has email addresses to leak"

    co_guardians = [g for g in await w.guardians_of(s.protected_child) if not g.protected]
    classmates_guardian = co_guardians[0].source_id if co_guardians else None
    readers = [r for r in (classmates_guardian,) if r]
    async with session_factory(w.engine)() as session:
        others = (
            await session.scalars(
                select(Person.source_id)
                .join(Membership, Membership.person_id == Person.id)
                .join(Group, Group.id == Membership.group_id)
                .where(
                    Group.source_id == group,
                    Membership.role == "child",
                    Person.protected.is_(False),
                )
                .limit(1)
            )
        ).all()
    # A classmate (a pupil) is added and reads too.
    added = await w.post(
        f"/v1/threads/{thread}/participants",
        teacher,
        {"people": [await w.id_of(source_id) for source_id in others]},
    )
    assert added.status_code == 200, added.text
    readers += list(others)
    assert readers
    for reader in readers:
        texts = [
            (await w.get("/v1/inbox/threads", reader)).text,
            (await w.get(f"/v1/inbox/threads/{thread}", reader)).text,
            (await w.get("/v1/inbox/unread", reader)).text,
            (await w.get(f"/v1/threads/{thread}/receipts", reader)).text,
            (await w.post(f"/v1/inbox/threads/{thread}/read", reader, {})).text,
        ]
        detail = (await w.get(f"/v1/inbox/threads/{thread}", reader)).json()
        names = {p["name"] for p in detail["participants"]}
        assert "Forælder (beskyttet)" in names or any("beskyttet" in n for n in names)
        for text in texts:
            for secret in secrets:
                assert secret not in text, (reader, secret)
            assert not set(EMAIL.findall(text)) & emails
            assert "@" not in text
    # Staff see the real name (the alias is a rule for non-staff, not a loss of data).
    staff_view = (await w.get(f"/v1/inbox/threads/{thread}", teacher)).text
    assert f"{protected[1].given_name} {protected[1].family_name}" in staff_view


async def test_a_non_custodial_parent_does_not_receive_by_default(world: World) -> None:
    w = world
    s = w.summary
    group = await _group_of(w, s.non_custodial_child)
    teacher = await _teacher_of(w, group)
    body = {
        "subject": "Skolefoto",
        "body": "Fotografen kommer.",
        "audience": await _group_audience(w, group, ["guardians"]),
    }
    sent = await w.post("/v1/messages", teacher, body)
    assert sent.status_code == 202
    thread = sent.json()["thread_id"]
    assert (await w.get(f"/v1/inbox/threads/{thread}", s.non_custodial_parent)).status_code == 404
    assert (await w.get("/v1/inbox/threads", s.non_custodial_parent)).json()["items"] == []
    custodial = [g.source_id for g in await w.guardians_of(s.non_custodial_child, custody=True)]
    assert custodial
    assert (await w.get(f"/v1/inbox/threads/{thread}", custodial[0])).status_code == 200

    body["audience"] = await _group_audience(w, group, ["guardians"], include_non_custodial=True)
    asked = await w.post("/v1/messages", teacher, body)
    assert asked.status_code == 202
    view = await w.get(f"/v1/inbox/threads/{asked.json()['thread_id']}", s.non_custodial_parent)
    assert view.status_code == 200


async def test_a_sensitive_thread_needs_the_assurance_level(world: World) -> None:
    w = world
    guardian = w.summary.guardian_two_children
    sent = await w.send_to_class(subject="Trivsel", body="Om jeres barns trivsel", sensitive=True)
    path = f"/v1/inbox/threads/{sent['thread_id']}"
    for acr in ("low", None, "http://eidas.europa.eu/LoA/low"):
        refused = await w.get(path, guardian, token={"acr": acr})
        assert refused.status_code == 403, acr
        problem = refused.json()
        assert problem["type"].endswith("/problems/assurance-level-too-low")
        assert "stronger login" in problem["detail"]
        assert "trivsel" not in refused.text.lower()
    ok = await w.get(
        path, guardian, token={"acr": "https://data.gov.dk/concept/core/nsis/loa/Substantial"}
    )
    assert ok.status_code == 200
    assert ok.json()["messages"][0]["body"] == "Om jeres barns trivsel"
    # Lists and counts carry no subject, body or sender, whatever the login.
    listing = await w.get("/v1/inbox/threads", guardian, token={"acr": "high"})
    item = listing.json()["items"][0]
    assert item["sensitive"] is True
    assert item["subject"] == "Følsom besked"
    assert item["sender"] is None
    teacher = await w.person(w.summary.teacher)
    for text in (listing.text, (await w.get("/v1/inbox/unread", guardian)).text):
        assert "Trivsel" not in text and "trivsel" not in text
        assert teacher.family_name not in text
    # Replying is reading too.
    reply = await w.post(
        f"/v1/threads/{sent['thread_id']}/messages", guardian, {"body": "ok"}, token={"acr": "low"}
    )
    assert reply.status_code == 403

    # The institution may ask for more.
    async with session_factory(w.engine)() as session, session.begin():
        await session.execute(update(Institution).values(settings={"sensitive_min_acr": "high"}))
    assert (await w.get(path, guardian, token={"acr": "substantial"})).status_code == 403
    assert (await w.get(path, guardian, token={"acr": "high"})).status_code == 200


async def test_hidden_recipients_see_only_the_sender(world: World) -> None:
    w = world
    guardian = w.summary.guardian_two_children
    sent = await w.send_to_class(audience_options={"hidden_recipients": True})
    thread = sent["thread_id"]
    async with session_factory(w.engine)() as session:
        from gateway.messaging.models import Participant  # noqa: PLC0415

        rows = (
            await session.execute(
                select(Person.id, Person.source_id, Person.given_name, Person.family_name)
                .join(Participant, Participant.person_id == Person.id)
                .where(Participant.thread_id == uuid.UUID(thread), Participant.role == "recipient")
            )
        ).all()
    me = await w.id_of(guardian)
    others = [r for r in rows if str(r.id) != me]
    assert len(others) >= 2
    detail = await w.get(f"/v1/inbox/threads/{thread}", guardian)
    assert detail.status_code == 200
    assert {p["id"] for p in detail.json()["participants"]} == {
        me,
        await w.id_of(w.summary.teacher),
    }
    texts = [
        detail.text,
        (await w.get("/v1/inbox/threads", guardian)).text,
        (await w.get("/v1/inbox/unread", guardian)).text,
    ]
    for text in texts:
        for other in others:
            assert str(other.id) not in text
            assert f"{other.given_name} {other.family_name}" not in text
    # A recipient's answer goes to the sender only.
    answer = await w.post(f"/v1/threads/{thread}/messages", guardian, {"body": "Svar til læreren"})
    assert answer.status_code == 202
    assert answer.json()["recipients"] == 1
    other_view = await w.get(f"/v1/inbox/threads/{thread}", others[0].source_id)
    assert "Svar til læreren" not in other_view.text
    assert me not in other_view.text
    teacher_view = await w.get(f"/v1/inbox/threads/{thread}", w.summary.teacher)
    assert "Svar til læreren" in teacher_view.text
    assert len(teacher_view.json()["participants"]) == len(rows) + 1  # the sender sees all


async def test_a_pupil_cannot_start_a_thread_with_another_familys_guardian(world: World) -> None:
    w = world
    s = w.summary
    own = {g.id for g in await w.guardians_of(s.pupil)}
    async with session_factory(w.engine)() as session:
        stranger = await session.scalar(
            select(Person.id).where(Person.kind == "guardian", Person.id.not_in(own)).limit(1)
        )
    assert stranger is not None
    body = {
        "subject": "Hej",
        "body": "Må jeg komme og lege?",
        "audience": {"targets": [{"type": "people", "people": [str(stranger)]}]},
    }
    refused = await w.post("/v1/messages", s.pupil, body)
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (await w.get("/v1/inbox/threads", s.pupil)).json()["items"] == []
