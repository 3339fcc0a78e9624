"""Consent requests over the real app on both engines: who is asked, who may answer, and how.

Each test tries to break one rule: a parent without custody answers, a guardian answers
for another family's child, a late answer, a withdrawal of a permission after the
deadline, an audience that reaches adults, a pupil below the age.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select

from gateway.auth.apikeys import create_api_key
from gateway.consents.models import ConsentAnswer, ConsentChild, ConsentRequest
from gateway.db import session_factory
from gateway.messaging.models import Message, OutboxItem, Thread
from gateway.orm import new_id, utcnow
from gateway.roster.models import Guardianship
from tests.integration import consent_world
from tests.integration.consent_world import (
    CLASS,
    PUPILS_CLASS,
    answer,
    ask,
    children_of_group,
    custodians,
    group_target,
    in_days,
    participants,
    record_rows,
    set_deadline,
    set_pupils_from_age,
    status_of,
    withdraw,
)
from tests.integration.messaging_world import World

world = consent_world.world  # the fixture

G1, G2 = "guardian-000001", "guardian-000002"  # both with custody of child-000001 (3.A)
CHILD = "child-000001"
NON_CUSTODIAL, THEIR_CHILD = "guardian-000060", "child-000049"  # 3.A, no custody
OTHER_FAMILY_CHILD = "child-000015"  # 3.A, guardian-000018


async def count(w: World, model: object) -> int:
    async with session_factory(w.engine)() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)  # type: ignore[arg-type]


async def test_asks_the_guardians_with_custody_each_about_their_own_children(world: World) -> None:
    w = world
    sent = await ask(w)
    children = await children_of_group(w, CLASS)
    assert sent["children"] == len(children) == 4
    expected = await custodians(w, children)
    found = await participants(w, sent["thread_id"])
    teacher = uuid.UUID(await w.id_of(w.summary.teacher))
    assert set(found) == expected | {teacher}
    assert sent["recipients"] == len(expected)
    # The parent without custody is not asked at all: no inbox entry, no notification.
    assert uuid.UUID(await w.id_of(NON_CUSTODIAL)) not in found
    # Each guardian regards only their own child, and has the question unread.
    mine = found[uuid.UUID(await w.id_of(G1))]
    assert mine.regarding == [await w.id_of(CHILD)]
    assert mine.unread_count == 1
    async with session_factory(w.engine)() as session:
        thread = await session.get(Thread, uuid.UUID(sent["thread_id"]))
        assert thread is not None
        assert (thread.kind, thread.category, thread.reply_policy) == (
            "announcement",
            "consent",
            "none",
        )
        assert thread.hidden_recipients  # who has custody is nobody else's business
        outbox = await session.scalar(select(OutboxItem))
        assert outbox is not None and outbox.item_id == uuid.UUID(sent["message_id"])
    assert await count(w, ConsentChild) == 4

    feed = (await w.get("/v1/inbox/announcements", G1)).json()
    assert [item["id"] for item in feed["items"]] == [sent["thread_id"]]
    assert feed["items"][0]["category"] == "consent"
    assert feed["items"][0]["consent_id"] == sent["consent_id"]  # where to answer it
    # Nobody else is listed to a guardian in the thread.
    detail = (await w.get(f"/v1/inbox/threads/{sent['thread_id']}", G1)).json()
    assert {p["id"] for p in detail["participants"]} == {str(teacher), await w.id_of(G1)}


async def test_a_parent_without_custody_is_refused_with_the_reason(world: World) -> None:
    w = world
    sent = await ask(w)
    view = await w.get(f"/v1/consents/{sent['consent_id']}", NON_CUSTODIAL)
    assert view.status_code == 404  # not asked: the request is not theirs to see
    refused = await answer(w, sent["consent_id"], NON_CUSTODIAL, (THEIR_CHILD, "yes"))
    assert refused.status_code == 403, refused.text
    assert "you do not have custody of this child" in refused.json()["detail"]
    assert await record_rows(w, sent["consent_id"]) == []
    # A stranger to the request learns nothing, not even that it exists.
    stranger = await answer(w, sent["consent_id"], "guardian-000014", (CHILD, "yes"))
    assert stranger.status_code == 404


async def test_a_guardian_sees_only_their_children_and_why_they_cannot_answer(world: World) -> None:
    """A guardian with custody of a child in 8.A and without custody of one in 3.A."""
    w = world
    guardian = "guardian-000003"  # custody of child-000003 (8.A)
    async with session_factory(w.engine)() as session, session.begin():
        person = await w.person(guardian)
        session.add(
            Guardianship(
                id=new_id(),
                municipality_id=person.municipality_id,
                child_id=uuid.UUID(await w.id_of(CHILD)),
                guardian_id=person.id,
                custody=False,
                relation="parent",
            )
        )
    targets = [await group_target(w, CLASS), await group_target(w, PUPILS_CLASS)]
    sent = await ask(w, audience={"targets": targets})
    view = await w.get(f"/v1/consents/{sent['consent_id']}", guardian)
    assert view.status_code == 200, view.text
    body = view.json()
    by_child = {c["child"]["id"]: c for c in body["children"]}
    assert set(by_child) == {await w.id_of("child-000003"), await w.id_of(CHILD)}
    own, other = by_child[await w.id_of("child-000003")], by_child[await w.id_of(CHILD)]
    assert own["can_answer"] and own["why_not"] is None and own["status"] == "pending"
    assert not other["can_answer"] and other["why_not_code"] == "no_custody"
    assert other["status"] is None  # other guardians' answers are not theirs to see
    assert body["summary"] is None  # results are for staff
    assert body["options"] == [{"key": "yes", "label": "Ja"}, {"key": "no", "label": "Nej"}]

    # One bad item stores nothing, and every bad item is listed by its index.
    refused = await answer(
        w,
        sent["consent_id"],
        guardian,
        ("child-000003", "yes"),
        (CHILD, "yes"),
        (OTHER_FAMILY_CHILD, "yes"),
        ("child-000003", "maybe"),
    )
    assert refused.status_code == 422, refused.text
    errors = refused.json()["errors"]
    assert any(e.startswith("answers[1]: you do not have custody") for e in errors)
    assert any(e.startswith("answers[2]: this request does not ask you about") for e in errors)
    assert any(e.startswith("answers[3]: option 'maybe' is not one of yes, no") for e in errors)
    assert any(e.startswith("answers[3]:") and "named twice" in e for e in errors)
    assert not any(e.startswith("answers[0]") for e in errors)
    assert await record_rows(w, sent["consent_id"]) == []

    given = await answer(w, sent["consent_id"], guardian, ("child-000003", "yes"))
    assert given.status_code == 200, given.text
    assert given.json()["recorded"] == 1
    mine = {c["child"]["id"]: c for c in given.json()["children"]}
    assert mine[await w.id_of("child-000003")]["my_answer"]["option"] == "yes"
    assert mine[await w.id_of("child-000003")]["status"] == "yes"
    [row] = await record_rows(w, sent["consent_id"])
    assert (row.option, row.channel, row.version) == ("yes", "api", 1)


async def test_all_rule_one_yes_one_no_is_conflicting(world: World) -> None:
    w = world
    sent = await ask(w, answer_rule="all")
    consent = sent["consent_id"]
    assert (await answer(w, consent, G1, (CHILD, "yes"))).status_code == 200
    assert await status_of(w, consent, CHILD) == "pending"  # the other custodian is asked too
    assert (await answer(w, consent, G2, (CHILD, "no"))).status_code == 200
    assert await status_of(w, consent, CHILD) == "conflicting"
    assert (await answer(w, consent, G2, (CHILD, "yes"))).status_code == 200
    assert await status_of(w, consent, CHILD) == "yes"
    # Two guardians, three answers: the record keeps all of them.
    assert [r.option for r in await record_rows(w, consent)] == ["yes", "no", "yes"]


async def test_any_rule_the_newest_answer_wins(world: World) -> None:
    w = world
    sent = await ask(w)
    consent = sent["consent_id"]
    await answer(w, consent, G1, (CHILD, "yes"))
    assert await status_of(w, consent, CHILD) == "yes"
    await answer(w, consent, G2, (CHILD, "no"))
    assert await status_of(w, consent, CHILD) == "no"
    again = await answer(w, consent, G1, (CHILD, "yes"))
    assert again.json()["recorded"] == 1  # news after G2's answer
    assert await status_of(w, consent, CHILD) == "yes"
    twice = await answer(w, consent, G1, (CHILD, "yes"))
    assert twice.json()["recorded"] == 0  # a double click adds nothing
    assert len(await record_rows(w, consent)) == 3


async def test_a_withdrawn_consent_counts_as_no(world: World) -> None:
    w = world
    sent = await ask(w)
    consent = sent["consent_id"]
    await answer(w, consent, G1, (CHILD, "yes"))
    view = (await w.get(f"/v1/consents/{consent}", G1)).json()
    assert view["children"][0]["can_withdraw"] is True
    withdrawn = await withdraw(w, consent, G1, CHILD)
    assert withdrawn.status_code == 200, withdrawn.text
    child = withdrawn.json()["children"][0]
    assert child["status"] == "no"
    assert child["my_answer"]["option"] == "withdrawn" and child["can_withdraw"] is False
    assert await status_of(w, consent, CHILD) == "no"
    assert [r.option for r in await record_rows(w, consent)] == ["yes", "withdrawn"]
    refused = await answer(w, consent, G1, (CHILD, "withdrawn"))
    assert refused.status_code == 422
    assert "use POST /v1/consents/{id}/withdraw" in refused.json()["errors"][0]


async def test_a_late_answer_is_refused_and_pending_becomes_expired(world: World) -> None:
    w = world
    sent = await ask(w)
    consent = sent["consent_id"]
    await answer(w, consent, G1, (CHILD, "yes"))
    passed = utcnow() - dt.timedelta(minutes=1)
    await set_deadline(w, consent, passed)
    late = await answer(w, consent, "guardian-000018", (OTHER_FAMILY_CHILD, "yes"))
    assert late.status_code == 409, late.text
    assert late.json()["detail"].startswith("the deadline passed at ")
    assert late.json()["detail"].endswith("; answers are closed")
    assert await status_of(w, consent, OTHER_FAMILY_CHILD) == "expired"
    assert await status_of(w, consent, CHILD) == "yes"
    view = (await w.get(f"/v1/consents/{consent}", "guardian-000018")).json()
    assert view["closed"] is True
    assert view["children"][0]["can_answer"] is False
    assert view["children"][0]["why_not_code"] == "closed"


async def test_permission_closes_at_the_deadline_but_consent_can_always_be_withdrawn(
    world: World,
) -> None:
    w = world
    permission = (await ask(w, kind="permission", title="Svømning"))["consent_id"]
    consent = (await ask(w, kind="consent"))["consent_id"]
    for request in (permission, consent):
        assert (await answer(w, request, G1, (CHILD, "yes"))).status_code == 200
        # Changing the answer before the deadline is fine for both.
        assert (await answer(w, request, G1, (CHILD, "no"))).status_code == 200
        assert (await answer(w, request, G1, (CHILD, "yes"))).status_code == 200
        await set_deadline(w, request, utcnow() - dt.timedelta(hours=1))
    changed = await withdraw(w, permission, G1, CHILD)
    assert changed.status_code == 409, changed.text
    assert "a permission can be changed only until then" in changed.json()["detail"]
    assert await status_of(w, permission, CHILD) == "yes"

    view = (await w.get(f"/v1/consents/{consent}", G1)).json()
    assert view["children"][0]["can_answer"] is False
    assert view["children"][0]["can_withdraw"] is True
    withdrawn = await withdraw(w, consent, G1, CHILD)
    assert withdrawn.status_code == 200, withdrawn.text
    assert await status_of(w, consent, CHILD) == "no"


async def test_pupils_answer_only_where_allowed_and_only_from_the_age(world: World) -> None:
    w = world
    pupil, classmate = "child-000003", "child-000027"  # 8.A, both 14
    young = "child-000001"  # 3.A, 9 years old
    targets = [await group_target(w, CLASS), await group_target(w, PUPILS_CLASS)]
    before = await ask(w, audience={"targets": targets})
    assert (await w.get(f"/v1/consents/{before['consent_id']}", pupil)).status_code == 404

    await set_pupils_from_age(w, 13)
    sent = await ask(w, audience={"targets": targets})
    found = await participants(w, sent["thread_id"])
    assert uuid.UUID(await w.id_of(pupil)) in found
    assert uuid.UUID(await w.id_of(classmate)) in found
    assert uuid.UUID(await w.id_of(young)) not in found  # too young to be asked
    assert found[uuid.UUID(await w.id_of(pupil))].regarding == [await w.id_of(pupil)]

    view = (await w.get(f"/v1/consents/{sent['consent_id']}", pupil)).json()
    assert [c["child"]["id"] for c in view["children"]] == [await w.id_of(pupil)]
    assert view["children"][0]["can_answer"] is True
    given = await answer(w, sent["consent_id"], pupil, (pupil, "no"))
    assert given.status_code == 200, given.text
    assert await status_of(w, sent["consent_id"], pupil) == "no"
    other = await answer(w, sent["consent_id"], pupil, (classmate, "yes"))
    assert other.status_code == 422
    # The pupil's guardians with custody are asked as well.
    assert uuid.UUID(await w.id_of("guardian-000003")) in found
    # The request remembers its age: a later change of the setting does not move it.
    async with session_factory(w.engine)() as session:
        stored = await session.get(ConsentRequest, uuid.UUID(sent["consent_id"]))
        assert stored is not None and stored.pupils_from_age == 13


async def test_pupils_below_the_age_are_told_why(world: World) -> None:
    w = world
    pupil = "child-000003"  # 14
    await set_pupils_from_age(w, 14)
    sent = await ask(w, audience={"targets": [await group_target(w, PUPILS_CLASS)]})
    async with session_factory(w.engine)() as session, session.begin():
        stored = await session.get(ConsentRequest, uuid.UUID(sent["consent_id"]))
        assert stored is not None
        stored.pupils_from_age = 15  # as if the pupil were a year younger today
    view = (await w.get(f"/v1/consents/{sent['consent_id']}", pupil)).json()
    assert view["children"][0]["why_not_code"] == "too_young"
    assert "from age 15" in view["children"][0]["why_not"]
    refused = await answer(w, sent["consent_id"], pupil, (pupil, "yes"))
    assert refused.status_code == 422
    assert "pupils answer for themselves from age 15" in refused.json()["errors"][0]


async def test_the_audience_must_name_children(world: World) -> None:
    w = world
    group = await w.id_of(CLASS)
    guardians = await ask(
        w,
        expect=422,
        audience={"targets": [{"type": "group", "group": group, "roles": ["guardians"]}]},
    )
    assert guardians["errors"][0].startswith('audience.targets[0]: roles must be ["children"]')
    adult = await w.id_of(G1)
    people = await ask(
        w,
        expect=422,
        audience={"targets": [await group_target(w), {"type": "people", "people": [adult]}]},
    )
    assert people["errors"] == [
        f"audience.targets[1]: {adult} is not an active child of this municipality"
    ]
    custody = await ask(
        w,
        expect=422,
        audience={"targets": [await group_target(w)], "include_non_custodial": True},
    )
    assert custody["errors"][0].startswith("audience.include_non_custodial:")
    # Named children work, and so does guardians_of (the same children).
    named = await ask(
        w, audience={"targets": [{"type": "guardians_of", "children": [await w.id_of(CHILD)]}]}
    )
    assert named["children"] == 1 and named["recipients"] == 2
    # Only staff ask.
    await ask(w, who=G1, expect=403)
    assert await count(w, ConsentRequest) == 1


async def test_bad_options_deadlines_and_reminders_are_refused(world: World) -> None:
    w = world
    options = [{"key": "yes", "label": "Ja"}, {"key": "yes", "label": "Ja"}]
    twice = await ask(w, expect=422, options=options)
    assert "options[1].key: 'yes' is used twice" in twice["errors"][0]
    reserved = await ask(
        w, expect=422, options=[{"key": "withdrawn", "label": "x"}, {"key": "no", "label": "N"}]
    )
    assert "reserved" in reserved["errors"][0]
    await ask(w, expect=422, options=[{"key": "yes", "label": "Ja"}])  # too few
    await ask(w, expect=422, options=[{"key": "Yes!", "label": "Ja"}] * 2)
    past = await ask(w, expect=422, deadline=in_days(-1))
    assert past["errors"] == ["deadline: must be in the future"]
    far = await ask(w, expect=422, deadline=in_days(400))
    assert far["errors"] == ["deadline: at most 366 days from now"]
    naive = await ask(w, expect=422, deadline="2027-01-10T12:00:00")
    assert "time zone" in naive["detail"]
    blank = await ask(w, expect=422, title="   ")
    assert blank["errors"] == ["title: must contain text"]
    late = await ask(w, expect=422, deadline=in_days(2), reminder_offsets_hours=[24, 72])
    assert late["errors"][0].startswith("reminder_offsets_hours[1]: 72 hours")
    assert await count(w, ConsentRequest) == 0

    custom = [
        {"key": "all", "label": "Alle billeder"},
        {"key": "internal", "label": "Kun internt"},
        {"key": "none", "label": "Ingen"},
    ]
    sent = await ask(w, options=custom, reminder_offsets_hours=[24, 72])
    async with session_factory(w.engine)() as session:
        stored = await session.get(ConsentRequest, uuid.UUID(sent["consent_id"]))
        assert stored is not None
        assert stored.reminder_offsets == [72 * 3600, 24 * 3600]  # the earliest first
        assert [o["key"] for o in stored.options] == ["all", "internal", "none"]
    assert (await answer(w, sent["consent_id"], G1, (CHILD, "internal"))).status_code == 200
    assert (await answer(w, sent["consent_id"], G1, (CHILD, "yes"))).status_code == 422


async def test_a_retried_post_with_the_same_key_asks_once(world: World) -> None:
    w = world
    headers = {"Idempotency-Key": "photo-consent-3a"}
    first = await w.post(
        "/v1/consents",
        w.summary.teacher,
        {
            "title": "Fotos",
            "question": "Må vi?",
            "kind": "consent",
            "audience": {"targets": [await group_target(w)]},
            "deadline": "2027-06-01T12:00:00+02:00",
        },
        headers=headers,
    )
    assert first.status_code == 202, first.text
    second = await w.post(
        "/v1/consents",
        w.summary.teacher,
        {
            "title": "Fotos",
            "question": "Må vi?",
            "kind": "consent",
            "audience": {"targets": [await group_target(w)]},
            "deadline": "2027-06-01T12:00:00+02:00",
        },
        headers=headers,
    )
    assert second.status_code == 202
    assert second.json() == first.json()
    assert await count(w, ConsentRequest) == 1
    assert await count(w, Message) == 1
    assert await count(w, ConsentAnswer) == 0


async def test_a_system_asks_on_behalf_of_a_teacher(world: World) -> None:
    w = world
    async with session_factory(w.engine)() as session, session.begin():
        created = await create_api_key(
            session, municipality_code=w.code, name="Skoleportal", permissions=["send"]
        )
    body = {
        "title": "Tur til Zoo",
        "question": "Må dit barn komme med?",
        "kind": "permission",
        "audience": {"targets": [await group_target(w)]},
        "deadline": in_days(3),
    }
    key = {"Authorization": f"Bearer {created.key}"}
    alone = await w.client.post("/v1/consents", json=body, headers=key)
    assert alone.status_code == 403  # a system asks for someone, never as itself
    acting = await w.client.post(
        "/v1/consents",
        json=body,
        headers=key | {"Budstikke-On-Behalf-Of": w.summary.teacher},
    )
    assert acting.status_code == 202, acting.text
    async with session_factory(w.engine)() as session:
        stored = await session.get(ConsentRequest, uuid.UUID(acting.json()["consent_id"]))
        assert stored is not None
        assert stored.created_by == uuid.UUID(await w.id_of(w.summary.teacher))
    # The guardians answer it as usual.
    given = await answer(w, acting.json()["consent_id"], G1, (CHILD, "yes"))
    assert given.status_code == 200


async def test_a_recalled_question_is_gone_and_takes_no_answers(world: World) -> None:
    w = world
    sent = await ask(w)
    recalled = await w.post(f"/v1/messages/{sent['message_id']}/recall", w.summary.teacher, {})
    assert recalled.status_code == 200, recalled.text
    view = (await w.get(f"/v1/consents/{sent['consent_id']}", G1)).json()
    assert view["recalled"] is True and view["closed"] is True
    assert view["question"] == "" and view["question_html"] == ""
    assert view["children"][0]["can_answer"] is False
    assert view["children"][0]["why_not_code"] == "recalled"
    refused = await answer(w, sent["consent_id"], G1, (CHILD, "yes"))
    assert refused.status_code == 409
    assert "recalled" in refused.json()["detail"]
    assert await record_rows(w, sent["consent_id"]) == []
