"""``PUT /v1/roster/{municipality}/…`` over the real app on both engines."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import msgspec
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.api.app import create_app
from gateway.auth.apikeys import create_api_key, revoke_api_key, verify_api_key
from gateway.auth.models import ApiKey
from gateway.db import session_factory
from gateway.roster.models import (
    Affiliation,
    ContactPoint,
    Group,
    Guardianship,
    ImportRun,
    Institution,
    InstitutionKind,
    Membership,
    Municipality,
    Person,
    PersonKind,
)
from gateway.roster.records import (
    AffiliationRecord,
    InstitutionRecord,
    Mode,
    PersonRecord,
    RosterBatch,
)
from gateway.roster.schemas import PeoplePut
from gateway.roster.sync import sync_roster
from gateway.roster.upsert import upsert_roster

Client = AsyncTestClient[Litestar]
CODE = "0101"


async def seed(engine: AsyncEngine) -> None:
    """Municipality 0101 with schools A and B and one child at each; 0202 exists too."""
    async with session_factory(engine)() as session, session.begin():
        session.add(Municipality(code="0202", name="Sydby", settings={}))
        await sync_roster(
            session,
            RosterBatch(
                modes=dict.fromkeys(("institutions", "people", "affiliations"), Mode.DELTA),
                institutions=[
                    InstitutionRecord(
                        origin="seed", source_id=s, kind=InstitutionKind.SCHOOL, name=f"Skole {s}"
                    )
                    for s in ("A", "B")
                ],
                people=[
                    PersonRecord(
                        origin="seed",
                        source_id=f"child-{s}",
                        kind=PersonKind.CHILD,
                        given_name="Barn",
                        family_name=s,
                    )
                    for s in ("a", "b")
                ],
                affiliations=[
                    AffiliationRecord(
                        origin="seed", person=f"child-{s}", institution=s.upper(), role="student"
                    )
                    for s in ("a", "b")
                ],
            ),
            source="seed",
            default_time_zone="Europe/Copenhagen",
            municipality_code=CODE,
        )


async def new_key(
    engine: AsyncEngine,
    *,
    permissions: Sequence[str] = ("roster",),
    institutions: Sequence[str] = (),
    code: str = CODE,
) -> str:
    async with session_factory(engine)() as session, session.begin():
        created = await create_api_key(
            session,
            municipality_code=code,
            name="test system",
            permissions=permissions,
            institutions=institutions,
        )
    return created.key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def put(
    client: Client, key: str, kind: str, items: list[dict[str, Any]], code: str = CODE
) -> Any:
    return await client.put(f"/v1/roster/{code}/{kind}", json={"items": items}, headers=bearer(key))


def child(source_id: str, **extra: Any) -> dict[str, Any]:
    return {"source_id": source_id, "kind": "child", "given_name": "Ida", "family_name": "Holm"} | (
        extra
    )


async def rows(engine: AsyncEngine, model: Any) -> list[Any]:
    async with session_factory(engine)() as session:
        return list((await session.scalars(select(model))).all())


async def count(engine: AsyncEngine, model: Any) -> int:
    async with session_factory(engine)() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def is_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


# -- who may call ----------------------------------------------------------------------


async def test_without_a_valid_key_the_answer_is_401(client: Client, engine: AsyncEngine) -> None:
    await seed(engine)
    key = await new_key(engine)
    revoked = await new_key(engine)
    async with session_factory(engine)() as session, session.begin():
        await revoke_api_key(session, revoked.split("_")[1])
    wrong_secret = key[:-2] + ("xy" if not key.endswith("xy") else "yz")
    # A body that is itself invalid: credentials are checked before it is read.
    body = {"items": [{"nonsense": True}]}
    for headers in (
        {},
        {"Authorization": f"Basic {key}"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer eyJhbGciOi.e30.sig"},
        bearer("bsk_short_x"),
        bearer(wrong_secret),
        bearer(revoked),
    ):
        response = await client.put(f"/v1/roster/{CODE}/people", json=body, headers=headers)
        problem = is_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"
        assert key.split("_", 2)[2] not in response.text
        assert "errors" not in problem
    assert (
        "revoked"
        in is_problem(
            await client.put(f"/v1/roster/{CODE}/people", json=body, headers=bearer(revoked)), 401
        )["detail"]
    )


async def test_another_municipality_is_not_found(client: Client, engine: AsyncEngine) -> None:
    await seed(engine)
    key = await new_key(engine, permissions=["roster"])
    no_roster = await new_key(engine, permissions=["send"])
    existing = await put(client, key, "people", [child("x")], code="0202")
    missing = await put(client, key, "people", [child("x")], code="9999")
    # The same answer whether or not the municipality exists, and before the permission.
    assert is_problem(existing, 404)["detail"].replace("0202", "?") == is_problem(missing, 404)[
        "detail"
    ].replace("9999", "?")
    is_problem(await put(client, no_roster, "people", [child("x")], code="0202"), 404)
    assert await count(engine, Person) == 2


async def test_a_key_without_the_roster_permission_is_forbidden(
    client: Client, engine: AsyncEngine
) -> None:
    await seed(engine)
    key = await new_key(engine, permissions=["send", "report"])
    problem = is_problem(await put(client, key, "people", [child("x")]), 403)
    assert "'roster'" in problem["detail"]
    assert await count(engine, Person) == 2


# -- what a PUT does -------------------------------------------------------------------


async def test_a_roster_built_by_put_is_in_the_database(
    client: Client, engine: AsyncEngine
) -> None:
    await seed(engine)
    key = await new_key(engine)
    steps: list[tuple[str, list[dict[str, Any]]]] = [
        ("institutions", [{"source_id": "C", "kind": "daycare", "name": "Børnehuset Solsikken"}]),
        ("groups", [{"source_id": "c-room", "institution": "C", "kind": "room", "name": "Bien"}]),
        (
            "people",
            [
                child("kid", birth_date="2021-05-01", emails=[]),
                {
                    "source_id": "mum",
                    "kind": "guardian",
                    "given_name": "Mette",
                    "family_name": "Holm",
                    "emails": ["mette@example.dk"],
                    "locale": "en",
                },
                {
                    "source_id": "ped",
                    "kind": "staff",
                    "given_name": "Per",
                    "family_name": "Dam",
                    "protected": True,
                    "alias": "Pædagog P",
                },
            ],
        ),
        (
            "affiliations",
            [
                {"person": "kid", "institution": "C", "role": "student"},
                {"person": "ped", "institution": "C", "role": "aide"},
            ],
        ),
        ("guardianships", [{"child": "kid", "guardian": "mum", "custody": True}]),
        (
            "memberships",
            [
                {"group": "c-room", "person": "kid", "role": "child"},
                {"group": "c-room", "person": "ped", "role": "pedagogue", "primary": True},
            ],
        ),
    ]
    for kind, items in steps:
        response = await put(client, key, kind, items)
        assert response.status_code == 200, response.text
        reply = response.json()
        assert reply["rejected"] == []
        assert reply["counts"][kind]["created"] == len(items)

    people = {p.source_id: p for p in await rows(engine, Person)}
    assert people["kid"].birth_date.isoformat() == "2021-05-01"
    assert (people["ped"].protected, people["ped"].alias) == (True, "Pædagog P")
    assert people["mum"].locale == "en"
    [address] = await rows(engine, ContactPoint)
    assert (address.person_id, address.address) == (people["mum"].id, "mette@example.dk")
    [guardianship] = await rows(engine, Guardianship)
    assert (guardianship.child_id, guardianship.guardian_id) == (people["kid"].id, people["mum"].id)
    assert guardianship.custody is True
    [room] = [g for g in await rows(engine, Group) if g.source_id == "c-room"]
    memberships = {(m.person_id, m.role, m.is_primary) for m in await rows(engine, Membership)}
    assert memberships == {
        (people["kid"].id, "child", False),
        (people["ped"].id, "pedagogue", True),
    }
    assert all(m.group_id == room.id for m in await rows(engine, Membership))
    daycare = next(i for i in await rows(engine, Institution) if i.source_id == "C")
    assert (daycare.kind, daycare.time_zone) == ("daycare", "Europe/Copenhagen")
    sources = {run.source for run in await rows(engine, ImportRun)}
    assert f"api:{key.split('_')[1]}" in sources
    [api_key] = await rows(engine, ApiKey)
    assert api_key.last_used_at is not None


async def test_the_same_put_twice_changes_nothing(client: Client, engine: AsyncEngine) -> None:
    await seed(engine)
    key = await new_key(engine)
    items = [
        child("p1", emails=["a@example.dk", "b@example.dk"], grades=["0"]),
        child("p2", protected=True, alias="Barn P"),
    ]
    first = await put(client, key, "people", items)
    assert first.json()["counts"]["people"]["created"] == 2
    before = {p.source_id: p.updated_at for p in await rows(engine, Person)}
    addresses_before = {c.address: c.updated_at for c in await rows(engine, ContactPoint)}

    second = await put(client, key, "people", items)
    assert second.status_code == 200
    assert second.json()["counts"]["people"] == {
        "created": 0,
        "updated": 0,
        "deactivated": 0,
        "unchanged": 2,
    }
    assert {p.source_id: p.updated_at for p in await rows(engine, Person)} == before
    assert {c.address: c.updated_at for c in await rows(engine, ContactPoint)} == addresses_before

    changed = await put(client, key, "people", [child("p1", emails=["a@example.dk"]), *items[1:]])
    assert changed.json()["counts"]["people"] == {
        "created": 0,
        "updated": 1,
        "deactivated": 0,
        "unchanged": 1,
    }
    active = {c.address for c in await rows(engine, ContactPoint) if c.active}
    assert active == {"a@example.dk"}  # the list is the person's whole set of addresses


async def test_active_false_deactivates_only_what_it_names(
    client: Client, engine: AsyncEngine
) -> None:
    await seed(engine)
    key = await new_key(engine)
    await put(
        client,
        key,
        "groups",
        [{"source_id": "a1", "institution": "A", "kind": "class", "name": "1.a"}],
    )
    await put(
        client,
        key,
        "memberships",
        [{"group": "a1", "person": "child-a", "role": "child"}],
    )
    response = await put(client, key, "people", [child("child-a", active=False)])
    assert response.status_code == 200
    counts = response.json()["counts"]
    assert counts["people"]["deactivated"] == 1
    # The person's links end with them.
    assert counts["memberships"]["deactivated"] == 1
    assert counts["affiliations"]["deactivated"] == 1
    people = {p.source_id: p for p in await rows(engine, Person)}
    assert people["child-a"].active is False
    assert people["child-a"].deactivated_at is not None
    assert people["child-b"].active is True  # not named, not touched
    assert [m.active for m in await rows(engine, Membership)] == [False]


async def test_unknown_references_are_rejected_and_the_rest_applied(
    client: Client, engine: AsyncEngine
) -> None:
    await seed(engine)
    key = await new_key(engine)
    await put(
        client,
        key,
        "groups",
        [{"source_id": "a1", "institution": "A", "kind": "class", "name": "1.a"}],
    )
    response = await put(
        client,
        key,
        "memberships",
        [
            {"group": "a1", "person": "child-a", "role": "child"},
            {"group": "a1", "person": "nobody", "role": "child"},
            {"group": "x", "person": "child-a", "role": "child"},
        ],
    )
    assert response.status_code == 200, response.text
    reply = response.json()
    assert reply["rejected"] == ["items[1]: unknown person 'nobody'", "items[2]: unknown group 'x'"]
    assert reply["counts"]["memberships"]["created"] == 1
    assert await count(engine, Membership) == 1


async def test_when_every_item_is_rejected_it_is_422_and_nothing_is_kept(
    client: Client, engine: AsyncEngine
) -> None:
    await seed(engine)
    key = await new_key(engine)
    runs = await count(engine, ImportRun)
    response = await put(
        client,
        key,
        "guardianships",
        [
            {"child": "child-a", "guardian": "nobody", "custody": True},
            {"child": "child-a", "guardian": "child-b", "custody": True},
        ],
    )
    problem = is_problem(response, 422)
    assert problem["errors"][0] == "items[0]: unknown person 'nobody'"
    assert problem["errors"][1].startswith("items[1]: 'child-b' cannot be a guardian of 'child-a'")
    assert "nothing was changed" in problem["detail"]
    assert await count(engine, ImportRun) == runs
    assert await count(engine, Guardianship) == 0


async def test_duplicates_and_roles_that_do_not_fit_are_rejected(
    client: Client, engine: AsyncEngine
) -> None:
    await seed(engine)
    key = await new_key(engine)
    people = await put(
        client, key, "people", [child("p1"), child("p2"), child("p1", given_name="Other")]
    )
    assert people.json()["rejected"] == ["items[2]: duplicate of items[0]"]
    assert {p.given_name for p in await rows(engine, Person) if p.source_id == "p1"} == {"Ida"}
    roles = await put(
        client,
        key,
        "affiliations",
        [
            {"person": "child-b", "institution": "A", "role": "teacher"},
            {"person": "child-b", "institution": "A", "role": "student"},
            {"person": "child-b", "institution": "nowhere", "role": "student"},
        ],
    )
    assert roles.json()["rejected"] == [
        "items[0]: a child cannot have the role 'teacher'",
        "items[2]: unknown institution 'nowhere'",
    ]
    assert roles.json()["counts"]["affiliations"]["created"] == 1


# -- what is refused before anything is looked up ---------------------------------------


async def test_an_unknown_field_is_422_naming_it(client: Client, engine: AsyncEngine) -> None:
    await seed(engine)
    key = await new_key(engine)
    response = await put(client, key, "people", [child("p1"), child("p2", nickname="Iddy")])
    problem = is_problem(response, 422)
    assert problem["errors"] == ["items[1]: Object contains unknown field `nickname`"]
    assert await count(engine, Person) == 2


async def test_a_protected_person_without_alias_is_422_naming_the_item(
    client: Client, engine: AsyncEngine
) -> None:
    await seed(engine)
    key = await new_key(engine)
    items = [child(f"p{n}") for n in range(3)] + [child("p3", protected=True)]
    problem = is_problem(await put(client, key, "people", items), 422)
    assert problem["errors"] == [
        "items[3]: a protected person needs an alias (the name others see)"
    ]
    assert await count(engine, Person) == 2  # nothing of the request was applied


async def test_too_many_items_is_413_naming_the_limit(
    database_url: str, engine: AsyncEngine, make_settings: Any
) -> None:
    await seed(engine)
    key = await new_key(engine)
    settings = make_settings(database_url=database_url, roster_put_max_items="2")
    async with AsyncTestClient(create_app(settings)) as client:
        problem = is_problem(
            await put(client, key, "people", [child(f"p{n}") for n in range(3)]), 413
        )
        assert problem["limit"] == "BUDSTIKKE_ROSTER_PUT_MAX_ITEMS"
        assert "at most 2" in problem["detail"]
        ok = await put(client, key, "people", [child(f"p{n}") for n in range(2)])
        assert ok.status_code == 200
    assert await count(engine, Person) == 4


async def test_a_body_over_the_size_limit_is_413(
    database_url: str, engine: AsyncEngine, make_settings: Any
) -> None:
    await seed(engine)
    key = await new_key(engine)
    settings = make_settings(database_url=database_url, max_body_bytes="1024")
    items = [child(f"person-{n:04d}") for n in range(40)]
    async with AsyncTestClient(create_app(settings)) as client:
        is_problem(await put(client, key, "people", items), 413)
        assert (await put(client, key, "people", items[:2])).status_code == 200
    assert await count(engine, Person) == 4


# -- institution-scoped keys ------------------------------------------------------------


async def test_a_scoped_key_writes_only_inside_its_institutions(
    client: Client, engine: AsyncEngine
) -> None:
    await seed(engine)
    wide = await new_key(engine)
    scoped = await new_key(engine, institutions=["A"])
    await put(
        client,
        wide,
        "groups",
        [{"source_id": "b1", "institution": "B", "kind": "class", "name": "1.b"}],
    )

    groups = await put(
        client,
        scoped,
        "groups",
        [
            {"source_id": "a1", "institution": "A", "kind": "class", "name": "1.a"},
            {"source_id": "b2", "institution": "B", "kind": "class", "name": "2.b"},
            {"source_id": "b1", "institution": "A", "kind": "class", "name": "stolen"},
        ],
    )
    assert groups.json()["rejected"] == [
        "items[1]: outside this key's institutions",
        "items[2]: outside this key's institutions",
    ]
    assert "Skole B" not in groups.text
    assert {g.source_id: g.name for g in await rows(engine, Group)} == {"a1": "1.a", "b1": "1.b"}

    people = await put(
        client,
        scoped,
        "people",
        [child("child-a", given_name="Ny"), child("child-b", given_name="Ny"), child("new")],
    )
    assert people.json()["rejected"] == ["items[1]: outside this key's institutions"]
    names = {p.source_id: p.given_name for p in await rows(engine, Person)}
    assert names == {"child-a": "Ny", "child-b": "Barn", "new": "Ida"}

    links = {
        "affiliations": [
            {"person": "new", "institution": "A", "role": "student"},
            {"person": "new", "institution": "B", "role": "student"},
        ],
        "memberships": [
            {"group": "a1", "person": "new", "role": "child"},
            {"group": "b1", "person": "new", "role": "child"},
        ],
    }
    for kind, items in links.items():
        reply = (await put(client, scoped, kind, items)).json()
        assert reply["rejected"] == ["items[1]: outside this key's institutions"], kind
        assert reply["counts"][kind]["created"] == 1
    people_ids = {p.source_id: p.id for p in await rows(engine, Person)}
    institution_ids = {i.source_id: i.id for i in await rows(engine, Institution)}
    placed = {
        a.institution_id
        for a in await rows(engine, Affiliation)
        if a.person_id == people_ids["new"]
    }
    assert placed == {institution_ids["A"]}

    await put(
        client,
        wide,
        "people",
        [{"source_id": "mum", "kind": "guardian", "given_name": "M", "family_name": "H"}],
    )
    guardianships = await put(
        client,
        scoped,
        "guardianships",
        [
            {"child": "child-a", "guardian": "mum", "custody": True},
            {"child": "child-b", "guardian": "mum", "custody": True},
        ],
    )
    assert guardianships.json()["rejected"] == ["items[1]: outside this key's institutions"]
    [link] = await rows(engine, Guardianship)
    assert link.child_id == next(
        p.id for p in await rows(engine, Person) if p.source_id == "child-a"
    )

    everything_outside = await put(client, scoped, "people", [child("child-b")])
    assert is_problem(everything_outside, 422)["errors"] == [
        "items[0]: outside this key's institutions"
    ]


async def test_a_scoped_key_cannot_write_institutions(client: Client, engine: AsyncEngine) -> None:
    await seed(engine)
    scoped = await new_key(engine, institutions=["A"])
    response = await put(
        client, scoped, "institutions", [{"source_id": "A", "kind": "school", "name": "Renamed"}]
    )
    assert "municipality-wide" in is_problem(response, 403)["detail"]
    assert {i.name for i in await rows(engine, Institution)} == {"Skole A", "Skole B"}


async def test_the_openapi_document_describes_every_endpoint(client: Client) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    for kind in (
        "institutions",
        "groups",
        "people",
        "affiliations",
        "guardianships",
        "memberships",
    ):
        operation = document["paths"][f"/v1/roster/{{municipality}}/{kind}"]["put"]
        assert operation["summary"]
        assert operation["description"]
        assert operation["security"] == [{"apiKey": []}]
        assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert "RosterSyncResult" in str(operation["responses"]["200"])
        for status in ("401", "403", "404", "413", "422"):
            content = operation["responses"][status]["content"]
            assert content["application/problem+json"]["schema"]["$ref"].endswith("/Problem")


async def test_concurrent_upserts_of_the_same_people_take_turns(engine: AsyncEngine) -> None:
    # The test client runs requests one at a time, so this drives the service directly.
    await seed(engine)
    key = await new_key(engine)
    async with session_factory(engine)() as session, session.begin():
        principal = await verify_api_key(session, key)
    items = msgspec.convert({"items": [child(f"p{n}") for n in range(20)]}, PeoplePut).items

    async def upsert() -> int:
        async with session_factory(engine)() as session:
            report = await upsert_roster(
                session,
                principal,
                "people",
                items,
                max_items=100,
                default_time_zone="Europe/Copenhagen",
            )
        return report.counts["people"].created

    created = await asyncio.gather(*(upsert() for _ in range(4)))
    assert sorted(created) == [0, 0, 0, 20]  # one created them; the others found them
    assert await count(engine, Person) == 22
