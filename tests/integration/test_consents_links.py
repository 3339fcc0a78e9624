"""Answer links from consent mails over the real app on both engines.

A GET (what a link scanner does) records nothing; the POST records one answer with
channel ``email_link``, once however often it is sent; a link is refused when its
person no longer may answer, when the question changed, after the deadline, and when
it is expired, forged or not an answer link at all.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.auth.links import LinkSigner, secret_key
from gateway.consents.links import AnswerClaim, answer_token
from gateway.db import session_factory
from gateway.delivery.unsubscribe import unsubscribe_token
from gateway.orm import utcnow
from gateway.roster.models import Guardianship, Person
from tests.integration import messaging_world
from tests.integration.consent_rows import (
    Posted,
    answers,
    custodial_guardians,
    new_version,
    post_consent,
)
from tests.integration.messaging_world import World, make_world

world = messaging_world.world  # the fixture
TODAY = dt.datetime.now(dt.UTC).date()


def link(
    w: World,
    posted: Posted,
    person: uuid.UUID,
    child: uuid.UUID,
    option: int = 0,
    *,
    version: int = 1,
    expires: dt.date | None = None,
) -> str:
    """The path of an answer link, signed with the app's own key."""
    claim = AnswerClaim(posted.request_id, child, person, version, option)
    token = answer_token(
        LinkSigner(secret_key(w.settings)), claim, expires or TODAY + dt.timedelta(days=7)
    )
    return f"/v1/consents/answer/{token}"


async def _asked(w: World) -> tuple[Posted, Person, Person]:
    """A request about a child with two custodial guardians; (posted, guardian, child)."""
    child_source = w.summary.split_household_child
    guardian = (await custodial_guardians(w, child_source))[0]
    posted = await post_consent(w, [child_source])
    return posted, guardian, await w.person(child_source)


async def _set_locale(w: World, person: Person, locale: str) -> None:
    async with session_factory(w.engine)() as session, session.begin():
        await session.execute(update(Person).where(Person.id == person.id).values(locale=locale))


async def test_a_get_shows_the_answer_and_records_nothing(world: World) -> None:
    posted, guardian, child = await _asked(world)
    url = link(world, posted, guardian.id, child.id)
    for _ in range(2):  # scanners may follow a link more than once
        response = await world.client.get(url)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in response.headers["content-security-policy"]
        page = response.text
        assert '<html lang="da" dir="ltr">' in page
        assert f"Du svarer «Ja» for {child.given_name} {child.family_name}:" in page
        assert "Må vi vise billeder af dit barn på skolens hjemmeside?" in page
        assert '<form method="post"' in page and "Bekræft" in page
    assert await answers(world, posted) == []


async def test_a_post_records_one_answer_however_often_it_is_sent(world: World) -> None:
    posted, guardian, child = await _asked(world)
    yes = link(world, posted, guardian.id, child.id, 0)
    first = await world.client.post(yes)
    assert first.status_code == 200, first.text
    assert "Tak for dit svar" in first.text
    assert f"Vi har registreret «Ja» for {child.given_name}" in first.text
    again = await world.client.post(yes, content=b"anything")
    assert again.status_code == 200, again.text
    assert "var allerede registreret" in again.text
    recorded = await answers(world, posted)
    assert [(a.answered_by, a.child_id, a.option, a.version, a.channel) for a in recorded] == [
        (guardian.id, child.id, "yes", 1, "email_link")
    ]
    # Changing one's mind is a new row; coming back to yes is one more.
    assert (await world.client.post(link(world, posted, guardian.id, child.id, 1))).is_success
    assert (await world.client.post(yes)).is_success
    assert [a.option for a in await answers(world, posted)] == ["yes", "no", "yes"]


async def test_a_guardian_who_lost_custody_is_refused(world: World) -> None:
    posted, guardian, child = await _asked(world)
    url = link(world, posted, guardian.id, child.id)
    async with session_factory(world.engine)() as session, session.begin():
        await session.execute(
            update(Guardianship)
            .where(Guardianship.guardian_id == guardian.id, Guardianship.child_id == child.id)
            .values(custody=False)
        )
    page = await world.client.get(url)
    assert page.status_code == 403
    assert f"Du kan ikke svare for {child.given_name}" in page.text
    assert "<form" not in page.text
    refused = await world.client.post(url)
    assert refused.status_code == 403
    assert await answers(world, posted) == []


async def test_a_non_custodial_parent_cannot_answer_even_with_a_signed_link(world: World) -> None:
    child_source = world.summary.non_custodial_child
    posted = await post_consent(world, [child_source])
    parent = await world.person(world.summary.non_custodial_parent)
    assert parent.id not in posted.guardians  # nobody asked them
    child = await world.person(child_source)
    refused = await world.client.post(link(world, posted, parent.id, child.id))
    assert refused.status_code == 403
    assert await answers(world, posted) == []


async def test_a_link_for_an_old_version_says_the_question_changed(world: World) -> None:
    posted, guardian, child = await _asked(world)
    old = link(world, posted, guardian.id, child.id, version=1)
    await new_version(world, posted, question="Må vi vise billeder i skolebladet?")
    page = await world.client.get(old)
    assert page.status_code == 409
    assert "Spørgsmålet er ændret" in page.text
    assert f"/threads/{posted.thread_id}" in page.text  # to the portal
    assert (await world.client.post(old)).status_code == 409
    assert await answers(world, posted) == []
    current = await world.client.post(link(world, posted, guardian.id, child.id, version=2))
    assert current.status_code == 200, current.text
    assert [(a.version, a.option) for a in await answers(world, posted)] == [(2, "yes")]


async def test_after_the_deadline_a_link_is_refused(world: World) -> None:
    child_source = world.summary.split_household_child
    guardian = (await custodial_guardians(world, child_source))[0]
    posted = await post_consent(
        world,
        [child_source],
        created_at=utcnow() - dt.timedelta(days=3),
        deadline=utcnow() - dt.timedelta(minutes=1),
    )
    child = await world.person(child_source)
    # The link's own day has not ended; the request has.
    url = link(world, posted, guardian.id, child.id, expires=TODAY + dt.timedelta(days=1))
    page = await world.client.get(url)
    assert page.status_code == 410
    assert "Svarfristen er overskredet" in page.text
    assert (await world.client.post(url)).status_code == 410
    assert await answers(world, posted) == []


async def test_expired_forged_and_foreign_tokens(world: World) -> None:
    posted, guardian, child = await _asked(world)
    expired = link(world, posted, guardian.id, child.id, expires=TODAY - dt.timedelta(days=1))
    gone = await world.client.post(expired)
    assert gone.status_code == 410
    assert gone.headers["content-type"].startswith("application/problem+json")
    good = link(world, posted, guardian.id, child.id)
    token = good.rsplit("/", 1)[1]
    forged = token[:-3] + ("aaa" if token[-3:] != "aaa" else "bbb")
    unsubscribe = unsubscribe_token(
        LinkSigner(secret_key(world.settings)), guardian.id, "consent", TODAY
    )
    other_key = answer_token(
        LinkSigner(b"x" * 32),
        AnswerClaim(posted.request_id, child.id, guardian.id, 1, 0),
        TODAY + dt.timedelta(days=7),
    )
    for bad in (forged, unsubscribe, other_key, "not-a-token", "a" * 400):
        for method in (world.client.get, world.client.post):
            response = await method(f"/v1/consents/answer/{bad}")
            assert response.status_code == 404, (bad, response.text)
    option_out_of_range = link(world, posted, guardian.id, child.id, 7)
    assert (await world.client.post(option_out_of_range)).status_code == 404
    assert await answers(world, posted) == []


async def test_a_browser_gets_a_page_for_a_link_that_does_not_work(world: World) -> None:
    posted, guardian, child = await _asked(world)
    expired = link(world, posted, guardian.id, child.id, expires=TODAY - dt.timedelta(days=1))
    browser = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    gone = await world.client.get(expired, headers=browser)
    assert gone.status_code == 410
    assert gone.headers["content-type"].startswith("text/html")
    assert gone.headers["cache-control"] == "no-store"
    assert "Linket er udløbet" in gone.text
    english = {**browser, "accept-language": "en-GB,en;q=0.9,da;q=0.5"}
    invalid = await world.client.post("/v1/consents/answer/not-a-token", headers=english)
    assert invalid.status_code == 404
    assert '<html lang="en"' in invalid.text and "This link does not work" in invalid.text
    assert await answers(world, posted) == []


async def test_the_page_speaks_the_persons_language(world: World) -> None:
    posted, guardian, child = await _asked(world)
    await _set_locale(world, guardian, "en")
    page = await world.client.get(link(world, posted, guardian.id, child.id, 1))
    assert '<html lang="en" dir="ltr">' in page.text
    assert f"You are answering «Nej» for {child.given_name}" in page.text
    await _set_locale(world, guardian, "ar")
    page = await world.client.get(link(world, posted, guardian.id, child.id, 1))
    assert '<html lang="ar" dir="rtl">' in page.text


async def test_a_protected_child_shows_as_their_alias(world: World) -> None:
    child_source = world.summary.protected_child
    child = await world.person(child_source)
    assert child.protected and child.alias
    guardian = (await custodial_guardians(world, child_source))[0]
    posted = await post_consent(world, [child_source])
    page = await world.client.get(link(world, posted, guardian.id, child.id))
    assert page.status_code == 200, page.text
    assert f"for {child.alias}:" in page.text
    assert child.family_name not in page.text


async def test_a_sensitive_request_takes_no_link_answers(world: World) -> None:
    child_source = world.summary.split_household_child
    guardian = (await custodial_guardians(world, child_source))[0]
    posted = await post_consent(world, [child_source], sensitive=True)
    child = await world.person(child_source)
    assert (await world.client.post(link(world, posted, guardian.id, child.id))).status_code == 404
    assert await answers(world, posted) == []


LIMIT = 11  # its own bucket: other tests use other limits


@pytest.fixture
async def limited_world(
    tmp_path: Path, database_url: str, redis_url: str, make_settings: Any, engine: AsyncEngine
) -> AsyncIterator[World]:
    redis = Redis.from_url(redis_url)
    try:  # the test client always calls from one address: start its bucket empty
        async for name in redis.scan_iter(f"budstikke:rate:*:{LIMIT}:ip:*"):
            await redis.delete(name)
    finally:
        await redis.aclose()
    async for built in make_world(
        tmp_path, database_url, redis_url, make_settings, engine, rate_limit_per_minute=str(LIMIT)
    ):
        yield built


async def test_answer_links_are_rate_limited_by_address(limited_world: World) -> None:
    w = limited_world
    posted, guardian, child = await _asked(w)
    url = link(w, posted, guardian.id, child.id)
    for _ in range(LIMIT):
        assert (await w.client.get(url)).status_code == 200
    response = await w.client.post(url)
    assert response.status_code == 429, response.text
    assert response.json()["limit"] == "BUDSTIKKE_RATE_LIMIT_PER_MINUTE"
    assert await answers(w, posted) == []
