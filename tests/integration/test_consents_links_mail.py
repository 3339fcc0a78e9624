"""Answer links in the consent mail as the real worker sends it through a real SMTP server.

The mail lists one link per child × option; following one (GET, then the page's POST,
through the app) records the answer. Push carries no links, a protected child shows
as their alias, and a sensitive request's mail carries neither links nor the question.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from email.message import EmailMessage

from sqlalchemy import select

from gateway.consents.models import ConsentAnswer
from gateway.db import session_factory
from gateway.orm import utcnow
from gateway.roster.models import ContactPoint, Person
from tests.channels import conftest as channel_fixtures
from tests.delivery import conftest as delivery_fixtures
from tests.delivery.conftest import DeliveryWorld
from tests.integration.consent_rows import (
    answers,
    custodial_guardians,
    notify,
    post_consent,
    queue_of,
)

# The fixtures of the delivery tests.
delivery_world = delivery_fixtures.delivery_world
push = delivery_fixtures.push
smtp_server = channel_fixtures.smtp_server
LINK = re.compile(r"- (?P<label>[^:\n]+): (?P<url>\S+/v1/consents/answer/[a-z2-7]+)")


async def _address(dw: DeliveryWorld, person_id: uuid.UUID) -> str:
    async with session_factory(dw.world.engine)() as session:
        found = await session.scalar(
            select(ContactPoint.address).where(
                ContactPoint.person_id == person_id, ContactPoint.kind == "email"
            )
        )
    assert found is not None
    return found


def _mail_to(dw: DeliveryWorld, address: str) -> EmailMessage:
    mails = [m.parsed() for m in dw.smtp.received if address in m.recipients]
    assert len(mails) == 1, f"{len(mails)} mails to {address}"
    return mails[0]


def _parts(mail: EmailMessage) -> tuple[str, str]:
    text = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def _links_per_child(text: str) -> dict[str, dict[str, str]]:
    """'For <name>:' -> {option label: url}, from the plain-text part."""
    found: dict[str, dict[str, str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("For ") and line.endswith(":"):
            current = line[4:-1]
            found[current] = {}
        elif (match := LINK.match(line)) and current is not None:
            found[current][match["label"]] = match["url"]
    return found


async def test_the_mail_carries_answer_links_that_record_the_answer(
    delivery_world: DeliveryWorld,
) -> None:
    dw = delivery_world
    guardian = await dw.world.person(dw.world.summary.guardian_two_children)
    kids = [await dw.world.person(s) for s in dw.world.summary.guardian_two_children_children]
    posted = await post_consent(
        dw.world, list(dw.world.summary.guardian_two_children_children), rule="any"
    )
    assert set(posted.guardians[guardian.id]) == {k.id for k in kids}
    # Another guardian reads on a phone: their notice goes by push first.
    others = [g for g in posted.guardians if g != guardian.id]
    assert others
    other = await _person(dw, others[0])
    await dw.subscribe(other.source_id)
    async with queue_of(dw.world) as queue:
        await notify(dw.world, posted, queue)
    await dw.run_worker()

    mail = _mail_to(dw, await _address(dw, guardian.id))
    assert str(mail["Subject"]) == "Fotos på skolens hjemmeside"
    text, html = _parts(mail)
    assert "beder om dit svar" in text and "Svar venligst senest" in text
    per_child = _links_per_child(text)
    names = {f"{k.given_name} {k.family_name}" for k in kids}
    assert set(per_child) == names
    assert all(set(options) == {"Ja", "Nej"} for options in per_child.values())
    urls = [url for options in per_child.values() for url in options.values()]
    assert len(set(urls)) == len(urls) == 2 * len(kids)
    assert all(url.startswith(f"{dw.settings.base_url}/v1/consents/answer/") for url in urls)
    assert all(f'href="{url}"' in html for url in urls)

    pushed = [json.loads(r.plaintext) for r in dw.push.received]
    assert pushed, "the other guardian got a push"
    assert all("/v1/consents/answer/" not in json.dumps(p) for p in pushed)

    first = kids[0]
    path = per_child[f"{first.given_name} {first.family_name}"]["Ja"].removeprefix(
        dw.settings.base_url
    )
    page = await dw.world.client.get(path)
    assert page.status_code == 200, page.text
    assert "Bekræft" in page.text
    assert await answers(dw.world, posted) == []
    done = await dw.world.client.post(path)
    assert done.status_code == 200, done.text
    assert "Tak for dit svar" in done.text
    recorded = await answers(dw.world, posted)
    assert [(a.answered_by, a.child_id, a.option, a.channel) for a in recorded] == [
        (guardian.id, first.id, "yes", "email_link")
    ]


async def test_a_request_posted_through_the_api_is_answered_from_its_mail(
    delivery_world: DeliveryWorld,
) -> None:
    dw = delivery_world
    deadline = (utcnow() + dt.timedelta(days=7)).isoformat()
    posted = await dw.world.post(
        "/v1/consents",
        dw.world.summary.teacher,
        {
            "title": "Tur til Zoologisk Have",
            "question": "Må dit barn komme med på turen?",
            "kind": "permission",
            "audience": {
                "targets": [
                    {
                        "type": "group",
                        "group": await dw.world.id_of(dw.world.summary.teacher_class),
                        "roles": ["children"],
                    }
                ]
            },
            "deadline": deadline,
        },
    )
    assert posted.status_code == 202, posted.text
    consent_id = uuid.UUID(posted.json()["consent_id"])
    await dw.run_worker()  # the API enqueued the fan-out after its commit
    guardian = await dw.world.person(dw.world.summary.guardian_two_children)
    text, _ = _parts(_mail_to(dw, await _address(dw, guardian.id)))
    per_child = _links_per_child(text)
    assert per_child, text
    name, options = next(iter(per_child.items()))
    assert set(options) == {"Ja", "Nej"}
    path = options["Nej"].removeprefix(dw.settings.base_url)
    assert (await dw.world.client.get(path)).status_code == 200
    done = await dw.world.client.post(path)
    assert done.status_code == 200, done.text
    assert f"Vi har registreret «Nej» for {name}." in done.text
    async with session_factory(dw.world.engine)() as session:
        rows = (
            await session.scalars(
                select(ConsentAnswer).where(ConsentAnswer.request_id == consent_id)
            )
        ).all()
    assert [(r.answered_by, r.option, r.channel) for r in rows] == [
        (guardian.id, "no", "email_link")
    ]


async def test_a_protected_child_is_named_by_their_alias_in_the_mail(
    delivery_world: DeliveryWorld,
) -> None:
    dw = delivery_world
    child = await dw.world.person(dw.world.summary.protected_child)
    assert child.protected and child.alias
    posted = await post_consent(dw.world, [dw.world.summary.protected_child])
    async with queue_of(dw.world) as queue:
        await notify(dw.world, posted, queue)
    await dw.run_worker()
    guardians = await custodial_guardians(dw.world, dw.world.summary.protected_child)
    assert guardians
    for guardian in guardians:
        text, html = _parts(_mail_to(dw, await _address(dw, guardian.id)))
        assert set(_links_per_child(text)) == {child.alias}
        assert child.family_name not in text and child.family_name not in html


async def test_a_sensitive_request_mails_no_links_and_no_question(
    delivery_world: DeliveryWorld,
) -> None:
    dw = delivery_world
    child_source = dw.world.summary.split_household_child
    posted = await post_consent(dw.world, [child_source], sensitive=True)
    async with queue_of(dw.world) as queue:
        await notify(dw.world, posted, queue)
    await dw.run_worker()
    guardian = (await custodial_guardians(dw.world, child_source))[0]
    mail = _mail_to(dw, await _address(dw, guardian.id))
    text, html = _parts(mail)
    for part in (text, html, str(mail["Subject"])):
        assert "/v1/consents/answer/" not in part
        assert "billeder" not in part and "Fotos" not in part


async def _person(dw: DeliveryWorld, person_id: uuid.UUID) -> Person:
    async with session_factory(dw.world.engine)() as session:
        found = await session.get(Person, person_id)
    assert found is not None
    return found
