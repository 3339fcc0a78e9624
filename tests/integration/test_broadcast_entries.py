"""A broadcast's inbox entries, written by the database, equal the row-by-row ones.

On PostgreSQL a broadcaster's announcement is written with one ``INSERT … SELECT``
(:mod:`gateway.messaging.entries`); everyone else's, and SQLite's, from the resolved
recipients in Python. Both must give every recipient the same entry: the same people,
the same ``regarding`` children, one unread message, nothing for the sender.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from gateway.audience.resolver import resolve
from gateway.audience.schemas import Audience
from gateway.db import session_factory
from gateway.messaging.models import Participant, ParticipantRole
from gateway.messaging.threads import today
from gateway.orm import utcnow
from gateway.roster.models import Group
from tests.integration import messaging_world
from tests.integration.messaging_world import World

world = messaging_world.world  # the fixture


async def _entries(w: World, thread_id: str) -> dict[uuid.UUID, tuple[str, list[str], int]]:
    async with session_factory(w.engine)() as session:
        rows = await session.execute(
            select(
                Participant.person_id,
                Participant.role,
                Participant.regarding,
                Participant.unread_count,
            ).where(Participant.thread_id == uuid.UUID(thread_id))
        )
        return {person: (role, regarding, unread) for person, role, regarding, unread in rows}


async def _expected(w: World, audience: dict[str, Any], sender: uuid.UUID) -> dict[uuid.UUID, Any]:
    async with session_factory(w.engine)() as session:
        found = await resolve(
            session,
            municipality_id=(await w.person(w.summary.leader)).municipality_id,
            audience=Audience(**_decoded(audience)),
            today=today(w.settings, utcnow()),
        )
    return {
        r.person_id: (ParticipantRole.RECIPIENT.value, sorted(str(c) for c in r.regarding), 1)
        for r in found
        if r.person_id != sender
    }


def _decoded(audience: dict[str, Any]) -> dict[str, Any]:
    import msgspec  # noqa: PLC0415

    return msgspec.structs.asdict(msgspec.convert(audience, Audience))


async def test_a_broadcast_writes_the_same_entries_as_resolving_does(world: World) -> None:
    w = world
    leader = await w.person(w.summary.leader)
    group = await w.id_of(w.summary.teacher_class)
    async with session_factory(w.engine)() as session:
        school = await session.scalar(
            select(Group.institution_id).where(Group.id == uuid.UUID(group))
        )
    audience = {
        "targets": [
            # The whole school's children, guardians and staff, a class's guardians twice.
            {
                "type": "institution",
                "institution": str(school),
                "roles": ["children", "guardians", "staff"],
            },
            {"type": "group", "group": group, "roles": ["guardians"]},
        ]
    }
    response = await w.post(
        "/v1/announcements",
        w.summary.leader,
        {"subject": "Skolefest", "body": "Fredag kl. 17.", "audience": audience},
    )
    assert response.status_code == 202, response.text
    written = await _entries(w, response.json()["thread_id"])
    sender = written.pop(leader.id)
    assert sender == (ParticipantRole.SENDER.value, [], 0)
    expected = await _expected(w, audience, leader.id)
    assert len(expected) == response.json()["recipients"] > 20
    assert written == expected
    kinds = {tuple(v[1]) != () for v in written.values()}
    assert kinds == {True, False}  # staff regard no one; children and guardians someone
