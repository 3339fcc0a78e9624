"""Audience previews on both engines: counts, left-out children, names, never contact details."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.api.app import create_app
from gateway.audience.preview import Viewer, preview_audience, unreachable_children, viewer_of
from gateway.audience.resolver import AudienceStatement
from gateway.audience.schemas import (
    Audience,
    AudienceCounts,
    AudiencePreview,
    GroupAudience,
    GuardiansOf,
    Roles,
    Target,
)
from gateway.auth.apikeys import create_api_key
from gateway.auth.devtokens import issue_dev_token
from gateway.auth.principals import Permission, PersonPrincipal, SystemPrincipal
from gateway.config import Settings
from gateway.db import session_factory
from gateway.errors import Forbidden
from gateway.roster.models import ContactPoint
from tests.integration.audience_roster import TODAY, Roster, load_small

Client = AsyncTestClient[Litestar]
PREVIEW = "/v1/audiences/preview"


@pytest.fixture
async def small(engine: AsyncEngine) -> Roster:
    return await load_small(engine)


async def preview(
    engine: AsyncEngine, viewer: Viewer, *targets: Target, **options: Any
) -> AudiencePreview:
    async with session_factory(engine)() as session:
        return await preview_audience(
            session, viewer=viewer, audience=Audience(targets=list(targets), **options), today=TODAY
        )


def staff(roster: Roster, name: str) -> Viewer:
    return Viewer(municipality_id=roster.municipality_id, person_id=roster[name], staff=True)


def left_out(roster: Roster, result: AudiencePreview) -> dict[str, str]:
    assert result.unreachable_total == len(result.unreachable_children)
    return {roster.source_ids([c.id]).pop(): c.reason.value for c in result.unreachable_children}


async def test_counts_and_the_children_left_out(engine: AsyncEngine, small: Roster) -> None:
    class_3a = GroupAudience(group=small.groups["k3a"], roles=list(Roles))
    result = await preview(engine, staff(small, "t1"), class_3a)
    # t1 is in the class but not their own recipient.
    assert result.counts == AudienceCounts(children=5, guardians=3, staff=0, total=8)
    assert left_out(small, result) == {"c3": "no_email", "c8": "no_guardian", "c9": "no_email"}
    # Staff are entitled to a protected child's name.
    names = {c.name for c in result.unreachable_children}
    assert names == {"C3 Toft", "C8 Toft", "C9 Toft"}
    # Counting for the whole municipality (a key) includes t1.
    key = Viewer(municipality_id=small.municipality_id)
    assert (await preview(engine, key, class_3a)).counts.total == 9


async def test_guardians_only_audiences_still_point_out_children(
    engine: AsyncEngine, small: Roster
) -> None:
    target = GroupAudience(group=small.groups["k3a"], roles=[Roles.GUARDIANS])
    result = await preview(engine, staff(small, "t1"), target)
    assert result.counts == AudienceCounts(children=0, guardians=3, staff=0, total=3)
    assert left_out(small, result) == {"c3": "no_email", "c8": "no_guardian", "c9": "no_email"}


async def test_a_disabled_address_and_guardians_without_custody(
    engine: AsyncEngine, small: Roster
) -> None:
    async with session_factory(engine)() as session, session.begin():
        await session.execute(
            update(ContactPoint)
            .where(ContactPoint.person_id == small["g1"])
            .values(disabled_at=dt.datetime(2026, 8, 1, tzinfo=dt.UTC), disabled_reason="bounced")
        )
    target = GuardiansOf(children=[small["c1"], small["c2"]])
    result = await preview(engine, staff(small, "t1"), target)
    assert left_out(small, result) == {"c1": "no_email", "c2": "no_email"}
    # c1's other parent has an address but no custody: they count only when included.
    included = await preview(engine, staff(small, "t1"), target, include_non_custodial=True)
    assert left_out(small, included) == {"c2": "no_email"}


async def test_non_staff_would_see_aliases(engine: AsyncEngine, small: Roster) -> None:
    audience = Audience(targets=[GroupAudience(group=small.groups["k3a"], roles=[Roles.CHILDREN])])
    statement = AudienceStatement(
        municipality_id=small.municipality_id, audience=audience, today=TODAY
    )
    async with session_factory(engine)() as session:
        shown, _ = await unreachable_children(session, statement, real_names=False)
        entitled, _ = await unreachable_children(session, statement, real_names=True)
    assert "Elev A" in {c.name for c in shown}
    assert not any("C3" in c.name for c in shown)
    assert "C3 Toft" in {c.name for c in entitled}
    assert (
        Viewer(municipality_id=small.municipality_id, person_id=small["g1"]).sees_real_names
        is False
    )


async def test_a_preview_only_shows_what_the_caller_could_address(
    engine: AsyncEngine, small: Roster
) -> None:
    class_3a = GroupAudience(group=small.groups["k3a"], roles=list(Roles))
    with pytest.raises(Forbidden):
        await preview(engine, staff(small, "p1"), class_3a)  # the daycare's pedagogue
    daycare_key = Viewer(
        municipality_id=small.municipality_id,
        institution_ids=frozenset({small.institutions["dc1"]}),
    )
    with pytest.raises(Forbidden):
        await preview(engine, daycare_key, class_3a)
    school_key = Viewer(
        municipality_id=small.municipality_id,
        institution_ids=frozenset({small.institutions["s1"]}),
    )
    assert (await preview(engine, school_key, class_3a)).counts.total == 9
    # Another municipality's class reaches no one here and names no child.
    theirs = GroupAudience(group=small.groups["x-k3a"], roles=list(Roles))
    nothing = await preview(engine, Viewer(municipality_id=small.municipality_id), theirs)
    assert nothing.counts.total == 0 and nothing.unreachable_children == []


def test_previews_are_for_staff_and_keys_that_send() -> None:
    place = uuid.uuid4()

    def person(kind: str) -> PersonPrincipal:
        return PersonPrincipal(
            person_id=uuid.uuid4(),
            municipality_id=place,
            municipality_code="0777",
            kind=kind,
            subject="x",
            acr=None,
        )

    def key(*permissions: Permission) -> SystemPrincipal:
        return SystemPrincipal(
            key_id=uuid.uuid4(),
            prefix="abcdefgh",
            name="k",
            municipality_id=place,
            municipality_code="0777",
            permissions=frozenset(permissions),
            institution_ids=frozenset(),
        )

    assert viewer_of(person("staff")).staff
    for kind in ("guardian", "child"):
        with pytest.raises(Forbidden):
            viewer_of(person(kind))
    assert viewer_of(key(Permission.SEND)).person_id is None
    with pytest.raises(Forbidden):
        viewer_of(key(Permission.ROSTER))


# -- over HTTP ----------------------------------------------------------------------------


@pytest.fixture
def settings(database_url: str, redis_url: str, make_settings: Any) -> Settings:
    built: Settings = make_settings(database_url=database_url, redis_url=redis_url, demo="true")
    return built


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Client]:
    app = create_app(settings)
    assert any(PREVIEW in route.path for route in app.routes)
    async with AsyncTestClient(app) as client:
        yield client


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


async def addresses(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return list(await conn.scalars(select(ContactPoint.address)))


async def test_the_endpoint_counts_and_never_returns_contact_details(
    api: Client, engine: AsyncEngine, settings: Settings, small: Roster
) -> None:
    body = {
        "targets": [
            {"type": "people", "people": [str(small[p]) for p in ("c3", "c8", "c9", "g1")]},
            {"type": "guardians_of", "children": [str(small["c1"])]},
        ]
    }
    token = issue_dev_token(settings, subject="t1", municipality_code="0777")
    response = await api.post(PREVIEW, json=body, headers=bearer(token))
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["counts"] == {"children": 3, "guardians": 1, "staff": 0, "total": 4}
    assert {c["id"]: c["reason"] for c in result["unreachable_children"]} == {
        str(small["c3"]): "no_email",
        str(small["c8"]): "no_guardian",
        str(small["c9"]): "no_email",
    }
    assert result["unreachable_total"] == 3
    # No address anywhere in the answer: not as a value, not inside one.
    assert "@" not in response.text
    for address in await addresses(engine):
        assert address not in response.text


async def test_the_endpoint_refuses_non_staff_and_keys_without_send(
    api: Client, engine: AsyncEngine, settings: Settings, small: Roster
) -> None:
    body = {"targets": [{"type": "people", "people": [str(small["t1"])]}]}
    for subject in ("g1", "c1"):
        token = issue_dev_token(settings, subject=subject, municipality_code="0777")
        response = await api.post(PREVIEW, json=body, headers=bearer(token))
        assert response.status_code == 403, response.text
    async with session_factory(engine)() as session, session.begin():
        roster_key = await create_api_key(
            session, municipality_code="0777", name="roster", permissions=["roster"]
        )
        send_key = await create_api_key(
            session, municipality_code="0777", name="send", permissions=["send"]
        )
    response = await api.post(PREVIEW, json=body, headers=bearer(roster_key.key))
    assert response.status_code == 403, response.text
    response = await api.post(PREVIEW, json=body, headers=bearer(send_key.key))
    assert response.status_code == 200, response.text
    assert response.json()["counts"]["staff"] == 1
    # A list of grades is no grade: 422 naming the field, before anything runs.
    bad = {
        "targets": [
            {
                "type": "year",
                "institution": str(small.institutions["s1"]),
                "grade": "03,04",
                "roles": ["children"],
            }
        ]
    }
    response = await api.post(PREVIEW, json=bad, headers=bearer(send_key.key))
    assert response.status_code == 422, response.text
    assert "grade" in response.text
    response = await api.post(PREVIEW, json=body)
    assert response.status_code == 401
