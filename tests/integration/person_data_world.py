"""A scene for export and erasure tests: a thread with a reply, a protected co-recipient,
a consent answer, preferences and a push subscription, plus an admin key.

The demo's ``guardian_two_children`` (G) gets the teacher's message to ``teacher_class``
and replies; another guardian of the class is made protected (P) and replies too, so G's
export must show P by alias only.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update

from gateway.auth.apikeys import create_api_key
from gateway.db import session_factory
from gateway.delivery.models import PushSubscription
from gateway.roster.models import ContactPoint, Guardianship, Membership, Person
from tests.integration.messaging_world import World

ALIAS = "Forælder med beskyttelse"
P256DH = "BPk3yAa8example-p256dh-key-material-that-must-not-leak-0123456789abcdef"
AUTH = "authsecret-must-not-leak"
ENDPOINT = "https://push.example.net/wpush/v2/secret-path-of-this-browser"


@dataclass
class Scene:
    guardian: str  # source id of G
    guardian_id: str
    guardian_name: str
    guardian_emails: list[str]
    protected: str  # source id of P
    protected_name: str
    protected_emails: list[str]
    children: list[str]  # G's children's gateway ids
    thread_id: str
    consent_id: str
    admin_key: str
    other_emails: set[str]


async def _person(w: World, source_id: str) -> tuple[Person, list[str]]:
    async with session_factory(w.engine)() as session:
        person = await session.scalar(select(Person).where(Person.source_id == source_id))
        assert person is not None
        emails = list(
            (
                await session.scalars(
                    select(ContactPoint.address).where(ContactPoint.person_id == person.id)
                )
            ).all()
        )
    return person, emails


async def _other_guardian_of_class(w: World, not_this: uuid.UUID) -> str:
    class_id = uuid.UUID(await w.id_of(w.summary.teacher_class))
    async with session_factory(w.engine)() as session:
        found = await session.scalar(
            select(Person.source_id)
            .join(Guardianship, Guardianship.guardian_id == Person.id)
            .join(Membership, Membership.person_id == Guardianship.child_id)
            .where(
                Membership.group_id == class_id,
                Membership.role == "child",
                Guardianship.custody.is_(True),
                Person.id != not_this,
                Person.protected.is_(False),
            )
            .order_by(Person.source_id)
            .limit(1)
        )
    assert found is not None
    return found


async def build_scene(w: World) -> Scene:
    guardian, guardian_emails = await _person(w, w.summary.guardian_two_children)
    assert guardian_emails, "the demo guardian should have an address"
    protected_source = await _other_guardian_of_class(w, guardian.id)
    async with session_factory(w.engine)() as session, session.begin():
        await session.execute(
            update(Person)
            .where(Person.source_id == protected_source)
            .values(protected=True, alias=ALIAS)
        )
    protected, protected_emails = await _person(w, protected_source)

    sent = await w.send_to_class(body="Husk madpakke til turen.")
    thread = sent["thread_id"]
    answer = await w.post(
        f"/v1/threads/{thread}/messages", protected_source, {"body": "Vi glæder os"}
    )
    assert answer.status_code == 202, answer.text
    reply = await w.post(
        f"/v1/threads/{thread}/messages", guardian.source_id, {"body": "Tak, vi kommer begge to"}
    )
    assert reply.status_code == 202, reply.text

    consent = await w.post(
        "/v1/consents",
        w.summary.teacher,
        {
            "title": "Fotos på skolens hjemmeside",
            "question": "Må vi vise billeder af dit barn?",
            "kind": "consent",
            "audience": {
                "targets": [
                    {
                        "type": "group",
                        "group": await w.id_of(w.summary.teacher_class),
                        "roles": ["children"],
                    }
                ]
            },
            "deadline": (dt.datetime.now(dt.UTC) + dt.timedelta(days=7)).isoformat(),
        },
    )
    assert consent.status_code == 202, consent.text
    consent_id = consent.json()["consent_id"]
    mine = await w.get("/v1/me", guardian.source_id)
    children = [c["id"] for c in mine.json()["children"]]
    class_id = await w.id_of(w.summary.teacher_class)
    in_class = [
        c["id"] for c in mine.json()["children"] if any(g["id"] == class_id for g in c["groups"])
    ]
    assert in_class
    answered = await w.post(
        f"/v1/consents/{consent_id}/answers",
        guardian.source_id,
        {"answers": [{"child_id": in_class[0], "option": "yes"}]},
    )
    assert answered.status_code in (200, 201), answered.text

    prefs = await w.client.put(
        "/v1/me/preferences",
        json={"categories": {"message": {"email": "digest"}}, "digest_time": "18:15"},
        headers=w.headers(guardian.source_id),
    )
    assert prefs.status_code == 200, prefs.text
    async with session_factory(w.engine)() as session, session.begin():
        session.add(
            PushSubscription(
                municipality_id=guardian.municipality_id,
                person_id=guardian.id,
                endpoint=ENDPOINT,
                p256dh=P256DH,
                auth=AUTH,
                user_agent="Firefox",
            )
        )
        key = await create_api_key(
            session, municipality_code=w.code, name="Forvaltningen", permissions=["admin"]
        )
    everyone = await w.emails()
    return Scene(
        guardian=guardian.source_id,
        guardian_id=str(guardian.id),
        guardian_name=f"{guardian.given_name} {guardian.family_name}",
        guardian_emails=guardian_emails,
        protected=protected_source,
        protected_name=f"{protected.given_name} {protected.family_name}",
        protected_emails=protected_emails,
        children=children,
        thread_id=thread,
        consent_id=consent_id,
        admin_key=key.key,
        other_emails=everyone - set(guardian_emails),
    )


def admin(scene: Scene) -> dict[str, str]:
    return {"Authorization": f"Bearer {scene.admin_key}"}
