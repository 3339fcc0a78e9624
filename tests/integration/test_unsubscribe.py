"""One-click unsubscribe over the real app on both engines: GET asks, POST turns email off."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.auth.links import LinkSigner, Purpose, secret_key
from gateway.db import session_factory
from gateway.delivery.unsubscribe import DIGEST, unsubscribe_token
from gateway.orm import new_id, utcnow
from gateway.preferences.models import Preference
from gateway.roster.models import Institution, Person
from tests.integration import messaging_world
from tests.integration.messaging_world import World, make_world

world = messaging_world.world  # the fixture
ONE_CLICK = {"content-type": "application/x-www-form-urlencoded"}
TODAY = dt.datetime.now(dt.UTC).date()


def signer(w: World) -> LinkSigner:
    """The app's own signer: same settings, same key file."""
    return LinkSigner(secret_key(w.settings))


async def guardian(w: World) -> Person:
    return await w.person(w.summary.guardian_two_children)


def link(w: World, person: Person, scope: str, *, expires: dt.date | None = None) -> str:
    token = unsubscribe_token(signer(w), person.id, scope, expires or TODAY + dt.timedelta(days=60))
    return f"/v1/unsubscribe/{token}"


async def preferences(w: World, person: Person) -> dict[tuple[str, str], str]:
    async with session_factory(w.engine)() as session:
        rows = await session.execute(
            select(Preference.category, Preference.channel, Preference.mode).where(
                Preference.person_id == person.id
            )
        )
        return {(category, channel): mode for category, channel, mode in rows}


async def choose(w: World, person: Person, category: str, channel: str, mode: str) -> None:
    async with session_factory(w.engine)() as session, session.begin():
        session.add(
            Preference(
                id=new_id(),
                municipality_id=person.municipality_id,
                person_id=person.id,
                category=category,
                channel=channel,
                mode=mode,
                updated_at=utcnow(),
            )
        )


async def test_get_shows_a_form_and_changes_nothing(world: World) -> None:
    person = await guardian(world)
    url = link(world, person, "message")
    for _ in range(2):  # a mail scanner may follow a link more than once
        response = await world.client.get(url)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["referrer-policy"] == "no-referrer"
        page = response.text
        assert '<html lang="da" dir="ltr">' in page
        assert '<form method="post"' in page
        assert "Vil du holde op med at få e-mails om beskeder?" in page
        assert "Ja, stop disse e-mails" in page
    assert await preferences(world, person) == {}


async def test_post_turns_the_category_off_for_email_only(world: World) -> None:
    person = await guardian(world)
    await choose(world, person, "announcement", "webpush", "instant")
    response = await world.client.post(
        link(world, person, "announcement"), content="List-Unsubscribe=One-Click", headers=ONE_CLICK
    )
    assert response.status_code == 200, response.text
    assert response.text == "Du får ikke længere e-mails om opslag."
    assert await preferences(world, person) == {
        ("announcement", "email"): "off",
        ("announcement", "webpush"): "instant",
    }


async def test_post_overwrites_an_earlier_choice_and_repeating_it_changes_nothing(
    world: World,
) -> None:
    person = await guardian(world)
    await choose(world, person, "message", "email", "digest")
    url = link(world, person, "message")
    for _ in range(2):
        response = await world.client.post(url, content=b"anything at all")
        assert response.status_code == 200, response.text
    assert await preferences(world, person) == {("message", "email"): "off"}


async def test_the_page_button_gets_an_html_answer_in_the_persons_language(world: World) -> None:
    person = await guardian(world)
    async with session_factory(world.engine)() as session, session.begin():
        await session.execute(update(Person).where(Person.id == person.id).values(locale="en"))
    url = link(world, person, "consent")
    page = (await world.client.get(url)).text
    assert "Do you want to stop getting emails about consent requests?" in page
    response = await world.client.post(
        url,
        content="List-Unsubscribe=One-Click",
        headers={**ONE_CLICK, "accept": "text/html,application/xhtml+xml"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "You will no longer get emails about consent requests." in response.text
    assert "<form" not in response.text
    assert await preferences(world, person) == {("consent", "email"): "off"}


async def test_the_digest_link_turns_every_digest_mode_off(world: World) -> None:
    person = await guardian(world)
    await choose(world, person, "announcement", "email", "digest")
    await choose(world, person, "message", "email", "instant")
    await choose(world, person, "reminder", "webpush", "digest")  # push: not this link's
    async with session_factory(world.engine)() as session, session.begin():
        for institution in await session.scalars(select(Institution)):
            institution.settings = {
                **(institution.settings or {}),
                "notifications": {"consent": {"email": "digest"}},
            }
    response = await world.client.post(link(world, person, DIGEST), content="")
    assert response.status_code == 200, response.text
    assert response.text == "Du får ikke længere den daglige overbliksmail."
    assert await preferences(world, person) == {
        ("announcement", "email"): "off",  # own choice was digest
        ("consent", "email"): "off",  # the institution's default was digest
        ("message", "email"): "instant",  # instant mail was not the digest
        ("reminder", "webpush"): "digest",
    }


async def test_a_forged_or_mangled_token_is_404(world: World) -> None:
    person = await guardian(world)
    good = link(world, person, "message")
    forged = LinkSigner(b"x" * 32).issue(
        Purpose.UNSUBSCRIBE, person.id.bytes + b"message", TODAY + dt.timedelta(days=5)
    )
    for url in (
        good[:-3] + ("aaa" if not good.endswith("aaa") else "bbb"),
        f"/v1/unsubscribe/{forged}",
        "/v1/unsubscribe/not-a-token",
        "/v1/unsubscribe/" + "a" * 500,
    ):
        for method in ("GET", "POST"):
            response = await world.client.request(method, url)
            assert response.status_code == 404, (method, url, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
    assert await preferences(world, person) == {}


async def test_an_expired_token_is_410(world: World) -> None:
    person = await guardian(world)
    url = link(world, person, "message", expires=TODAY - dt.timedelta(days=1))
    assert (await world.client.get(url)).status_code == 410
    response = await world.client.post(url)
    assert response.status_code == 410
    assert response.json()["detail"] == "this link has expired"
    assert await preferences(world, person) == {}


async def test_a_token_for_someone_unknown_is_404(world: World) -> None:
    ghost = Person(id=uuid.uuid4())
    url = link(world, ghost, "message")
    assert (await world.client.post(url)).status_code == 404


async def test_urgent_can_never_be_turned_off(world: World) -> None:
    person = await guardian(world)
    with pytest.raises(ValueError, match="urgent"):
        unsubscribe_token(signer(world), person.id, "urgent", TODAY)
    # Even a correctly signed token naming urgent is refused.
    token = signer(world).issue(
        Purpose.UNSUBSCRIBE, person.id.bytes + b"urgent", TODAY + dt.timedelta(days=5)
    )
    response = await world.client.post(f"/v1/unsubscribe/{token}")
    assert response.status_code == 422
    assert "urgent" in response.json()["detail"]
    assert await preferences(world, person) == {}


@pytest.fixture
async def limited_world(
    tmp_path: Path, database_url: str, redis_url: str, make_settings: Any, engine: AsyncEngine
) -> AsyncIterator[World]:
    redis = Redis.from_url(redis_url)
    try:  # the test client always calls from one address: start its bucket empty
        async for name in redis.scan_iter("budstikke:rate:*:7:ip:*"):
            await redis.delete(name)
    finally:
        await redis.aclose()
    async for built in make_world(
        tmp_path, database_url, redis_url, make_settings, engine, rate_limit_per_minute="7"
    ):
        yield built


async def test_the_login_free_endpoint_is_rate_limited_by_address(limited_world: World) -> None:
    w = limited_world
    url = link(w, await guardian(w), "message")
    for _ in range(7):
        assert (await w.client.get(url)).status_code == 200
    response = await w.client.get(url)
    assert response.status_code == 429, response.text
    assert response.json()["limit"] == "BUDSTIKKE_RATE_LIMIT_PER_MINUTE"
    assert int(response.headers["retry-after"]) >= 1
