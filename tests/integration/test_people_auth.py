"""People's tokens, ``GET /v1/me``, dev tokens, on-behalf-of and CORS, over the real app.

The roster is the demo municipality (0999) plus the OneRoster fixture's (101), imported
into a fresh database per test on both engines.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import jwt
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import ec
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.api.app import create_app
from gateway.auth.apikeys import create_api_key
from gateway.auth.devtokens import issue_dev_token
from gateway.cli import main
from gateway.config import Settings
from gateway.db import session_factory
from gateway.roster.demo import DemoSummary, write_demo_data
from gateway.roster.importer import import_oneroster
from gateway.roster.models import (
    Affiliation,
    Group,
    Guardianship,
    Institution,
    Municipality,
    Person,
)
from tests.jwks_server import JwksServer, jwk

Client = AsyncTestClient[Litestar]
DEMO = "0999"
OTHER = "101"  # the OneRoster fixture's municipality
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "oneroster" / "v1p2-dk"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoSummary]:
    folder = tmp_path_factory.mktemp("people-demo")
    return folder, write_demo_data(folder, children=30, seed=3)


async def load(engine: AsyncEngine, *folders: Path) -> None:
    for folder in folders:
        report = await import_oneroster(
            engine,
            folder,
            municipality_code=None,
            dry_run=False,
            max_file_bytes=1 << 30,
            default_time_zone="Europe/Copenhagen",
        )
        assert not report.rejected, report.rejected[:3]


@pytest.fixture
async def summary(engine: AsyncEngine, demo: tuple[Path, DemoSummary]) -> DemoSummary:
    """Both municipalities imported; the demo's handy ids."""
    await load(engine, demo[0], FIXTURE)
    return demo[1]


@pytest.fixture
def settings(database_url: str, redis_url: str, make_settings: Any) -> Settings:
    built: Settings = make_settings(database_url=database_url, redis_url=redis_url, demo="true")
    return built


@pytest.fixture
async def demo_client(settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(create_app(settings)) as client:
        yield client


def token(settings: Settings, subject: str, municipality: str = DEMO, **extra: Any) -> str:
    return issue_dev_token(settings, subject=subject, municipality_code=municipality, **extra)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


async def me(client: Client, value: str, **headers: str) -> Any:
    return await client.get("/v1/me", headers=bearer(value) | headers)


async def people(engine: AsyncEngine, code: str = DEMO) -> dict[str, Person]:
    async with session_factory(engine)() as session:
        rows = await session.scalars(
            select(Person).join(Municipality).where(Municipality.code == code)
        )
        return {person.source_id: person for person in rows}


async def everyone(engine: AsyncEngine) -> list[Person]:
    async with session_factory(engine)() as session:
        return list((await session.scalars(select(Person))).all())


async def new_key(
    engine: AsyncEngine, permissions: Sequence[str], institutions: Sequence[str] = ()
) -> str:
    async with session_factory(engine)() as session, session.begin():
        created = await create_api_key(
            session,
            municipality_code=DEMO,
            name="school system",
            permissions=permissions,
            institutions=institutions,
        )
    return created.key


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


# -- GET /v1/me -------------------------------------------------------------------------


async def test_a_guardian_sees_their_own_children_and_nothing_of_other_families(
    demo_client: Client, engine: AsyncEngine, settings: Settings, summary: DemoSummary
) -> None:
    roster = await people(engine)
    guardian = roster[summary.guardian_two_children]
    response = await me(demo_client, token(settings, guardian.source_id, acr="substantial"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["id"], body["kind"]) == (str(guardian.id), "guardian")
    assert body["display_name"] == f"{guardian.given_name} {guardian.family_name}"
    assert body["municipality"]["code"] == DEMO
    assert body["assurance_level"] == "substantial"
    own = {str(roster[source_id].id) for source_id in summary.guardian_two_children_children}
    assert {child["id"] for child in body["children"]} == own
    assert all(child["custody"] for child in body["children"])
    groups = {group["name"] for child in body["children"] for group in child["groups"]}
    assert groups  # their children's classes and rooms, to read the inbox by
    # No one else's id appears anywhere: not other children, guardians or staff.
    allowed = own | {str(guardian.id)}
    for person in await everyone(engine):
        if str(person.id) not in allowed:
            assert str(person.id) not in response.text, person.source_id
    # Their children's institutions are theirs too.
    places = {child_place for child in body["children"] for child_place in child["institution_ids"]}
    assert places <= {place["id"] for place in body["institutions"]}


async def test_staff_see_the_groups_they_can_address(
    demo_client: Client, engine: AsyncEngine, settings: Settings, summary: DemoSummary
) -> None:
    body = (await me(demo_client, token(settings, summary.teacher))).json()
    assert body["kind"] == "staff"
    assert body["children"] == []
    async with session_factory(engine)() as session:
        klass = await session.scalar(select(Group).where(Group.source_id == summary.teacher_class))
    assert klass is not None
    mine = [group for group in body["groups"] if group["id"] == str(klass.id)]
    assert mine and mine[0]["role"] == "teacher"
    assert mine[0]["institution_id"] == str(klass.institution_id)
    assert mine[0]["kind"] == "class"
    assert str(klass.institution_id) in {place["id"] for place in body["institutions"]}


async def test_a_pupil_sees_their_own_groups(
    demo_client: Client, settings: Settings, summary: DemoSummary
) -> None:
    body = (await me(demo_client, token(settings, summary.pupil))).json()
    assert body["kind"] == "child"
    assert body["groups"] and {group["role"] for group in body["groups"]} == {"child"}
    assert body["children"] == []


async def test_a_protected_child_by_alias_to_a_guardian_without_custody(
    demo_client: Client, engine: AsyncEngine, settings: Settings, summary: DemoSummary
) -> None:
    roster = await people(engine)
    child = roster[summary.protected_child]
    assert child.protected and child.alias
    real_name = f"{child.given_name} {child.family_name}"
    async with session_factory(engine)() as session:
        links = (
            await session.scalars(select(Guardianship).where(Guardianship.child_id == child.id))
        ).all()
    custodial = next(link for link in links if link.custody)
    by_id = {person.id: person for person in roster.values()}

    # The child sees their own real name; others (non-staff) would see the alias.
    own = (await me(demo_client, token(settings, child.source_id))).json()
    assert (own["display_name"], own["protected"], own["alias"]) == (real_name, True, child.alias)

    # A custodial guardian sees their child's real name.
    parent = by_id[custodial.guardian_id]
    body = (await me(demo_client, token(settings, parent.source_id))).json()
    [entry] = [c for c in body["children"] if c["id"] == str(child.id)]
    assert entry["display_name"] == real_name

    # The same guardian without custody sees the alias only.
    async with session_factory(engine)() as session, session.begin():
        await session.execute(
            update(Guardianship).where(Guardianship.id == custodial.id).values(custody=False)
        )
    response = await me(demo_client, token(settings, parent.source_id))
    [entry] = [c for c in response.json()["children"] if c["id"] == str(child.id)]
    assert (entry["display_name"], entry["custody"]) == (child.alias, False)
    assert child.given_name not in response.text


async def test_inactive_and_unknown_people_get_the_same_401(
    demo_client: Client, engine: AsyncEngine, settings: Settings, summary: DemoSummary
) -> None:
    teacher = token(settings, summary.teacher)
    assert (await me(demo_client, teacher)).status_code == 200
    async with session_factory(engine)() as session, session.begin():
        await session.execute(
            update(Person).where(Person.source_id == summary.teacher).values(active=False)
        )
    inactive = problem(await me(demo_client, teacher), 401)
    unknown = problem(await me(demo_client, token(settings, "nobody-at-all")), 401)
    assert inactive["detail"] == unknown["detail"]
    assert summary.teacher not in inactive["detail"]


async def test_a_remembered_token_with_another_payload_is_checked_again_and_refused(
    demo_client: Client, settings: Settings, summary: DemoSummary
) -> None:
    # The API remembers tokens it verified (gateway/auth/tokencache.py): the same
    # signature over another payload must not ride on that memory.
    teacher = token(settings, summary.teacher)
    assert (await me(demo_client, teacher)).status_code == 200
    assert (await me(demo_client, teacher)).status_code == 200  # from the cache
    header, _, signature = teacher.split(".")
    other = jwt.decode(teacher, options={"verify_signature": False}) | {
        "sub": summary.guardian_two_children
    }
    payload = jwt.utils.base64url_encode(jwt.utils.force_bytes(json.dumps(other))).decode()
    refused = problem(await me(demo_client, f"{header}.{payload}.{signature}"), 401)
    assert "signature" in refused["detail"]


async def test_a_token_for_another_municipality_is_401(
    demo_client: Client, engine: AsyncEngine, settings: Settings, summary: DemoSummary
) -> None:
    other = await people(engine, OTHER)
    assert other  # the fixture's municipality has people of its own
    # A demo person's id, claimed in the other municipality: not a person there.
    wrong = problem(await me(demo_client, token(settings, summary.teacher, OTHER)), 401)
    nowhere = problem(await me(demo_client, token(settings, summary.teacher, "9999")), 401)
    assert wrong["detail"] == nowhere["detail"]
    # A fixture person answers in their own municipality only.
    fixture_person = next(iter(other.values()))
    assert (await me(demo_client, token(settings, fixture_person.source_id, OTHER))).json()[
        "municipality"
    ]["code"] == OTHER
    problem(await me(demo_client, token(settings, fixture_person.source_id, DEMO)), 401)
    # Without the claim, two municipalities make the token ambiguous.
    ambiguous = token(settings, summary.teacher, municipality="")
    assert "'municipality'" in problem(await me(demo_client, ambiguous), 401)["detail"]


async def test_the_municipality_claim_may_be_left_out_when_there_is_one(
    demo_client: Client,
    engine: AsyncEngine,
    settings: Settings,
    demo: tuple[Path, DemoSummary],
) -> None:
    await load(engine, demo[0])
    response = await me(demo_client, token(settings, demo[1].teacher, municipality=""))
    assert response.json()["municipality"]["code"] == DEMO


async def test_subjects_can_be_matched_by_uni_login(
    engine: AsyncEngine, make_settings: Any, database_url: str, summary: DemoSummary
) -> None:
    settings = make_settings(database_url=database_url, demo="true", auth_subject_match="uni_login")
    teacher = (await people(engine))[summary.teacher]
    assert teacher.uni_login
    async with AsyncTestClient(create_app(settings)) as client:
        body = (await me(client, token(settings, teacher.uni_login))).json()
        assert body["id"] == str(teacher.id)
        problem(await me(client, token(settings, teacher.source_id)), 401)


async def test_a_system_key_is_not_a_person(
    demo_client: Client, engine: AsyncEngine, summary: DemoSummary
) -> None:
    key = await new_key(engine, ["roster", "report"])
    assert "for people" in problem(await me(demo_client, key), 403)["detail"]


# -- dev tokens -------------------------------------------------------------------------


async def test_dev_tokens_only_in_demo_mode_without_a_jwks(
    engine: AsyncEngine, make_settings: Any, database_url: str, summary: DemoSummary
) -> None:
    demo_on = make_settings(database_url=database_url, demo="true")
    dev = token(demo_on, summary.teacher)
    async with AsyncTestClient(create_app(demo_on)) as client:
        assert (await me(client, dev)).status_code == 200

    demo_off = make_settings(database_url=database_url, demo="false")
    async with AsyncTestClient(create_app(demo_off)) as client:
        assert "no identity provider" in problem(await me(client, dev), 401)["detail"]

    # A real identity provider: its tokens work, and the dev token does not, even though
    # the dev key is still in the data folder.
    provider = ec.generate_private_key(ec.SECP256R1())
    with JwksServer([jwk(provider.public_key(), "idp-1")]) as jwks:
        with_jwks = make_settings(
            database_url=database_url,
            demo="true",
            auth_jwks_url=jwks.url,
            auth_issuer="https://idp.example.dk",
            auth_audience="budstikke",
        )
        now = dt.datetime.now(dt.UTC)
        real = jwt.encode(
            {
                "iss": "https://idp.example.dk",
                "aud": "budstikke",
                "sub": summary.teacher,
                "municipality": DEMO,
                "acr": "high",
                "exp": now + dt.timedelta(minutes=5),
            },
            provider,
            algorithm="ES256",
            headers={"kid": "idp-1"},
        )
        async with AsyncTestClient(create_app(with_jwks)) as client:
            accepted = await me(client, real)
            assert accepted.status_code == 200, accepted.text
            assert accepted.json()["assurance_level"] == "high"
            problem(await me(client, dev), 401)


def run_cli(args: list[str], env: dict[str, str | None]) -> Any:
    return CliRunner().invoke(main, args, env=env)


async def test_budstikke_token_prints_a_token_the_api_accepts(
    demo_client: Client,
    engine: AsyncEngine,
    settings: Settings,
    database_url: str,
    summary: DemoSummary,
) -> None:
    roster = await people(engine)
    env: dict[str, str | None] = {
        "BUDSTIKKE_DATA_DIR": str(settings.data_dir),
        "BUDSTIKKE_DATABASE_URL": database_url,
        "BUDSTIKKE_DEMO": None,  # `budstikke token` assumes the demo, as `run` does
    }
    teacher = roster[summary.teacher]
    for reference in (teacher.source_id, teacher.uni_login, str(teacher.id)):
        assert reference
        result = await asyncio.to_thread(run_cli, ["token", reference, "--acr", "low"], env)
        assert result.exit_code == 0, result.output
        printed = result.stdout.strip()
        body = (await me(demo_client, printed)).json()
        assert (body["id"], body["assurance_level"]) == (str(teacher.id), "low")

    ambiguous = await asyncio.to_thread(run_cli, ["token", "nobody"], env)
    assert ambiguous.exit_code != 0
    assert "no person 'nobody'" in ambiguous.output


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"BUDSTIKKE_DEMO": "false"}, "demo mode is off"),
        (
            {
                "BUDSTIKKE_AUTH_JWKS_URL": "https://idp.example.dk/jwks",
                "BUDSTIKKE_AUTH_ISSUER": "https://idp.example.dk",
                "BUDSTIKKE_AUTH_AUDIENCE": "budstikke",
            },
            "BUDSTIKKE_AUTH_JWKS_URL is set",
        ),
    ],
)
async def test_budstikke_token_refuses_outside_the_demo(
    settings: Settings, database_url: str, extra: dict[str, str], reason: str
) -> None:
    env: dict[str, str | None] = {
        "BUDSTIKKE_DATA_DIR": str(settings.data_dir),
        "BUDSTIKKE_DATABASE_URL": database_url,
        "BUDSTIKKE_DEMO": None,
        **extra,
    }
    result = await asyncio.to_thread(run_cli, ["token", "staff-00006"], env)
    assert result.exit_code == 1
    assert reason in result.output
    assert result.stdout == ""


# -- a system acting for staff ----------------------------------------------------------


async def test_a_system_acts_for_staff_in_its_scope(
    demo_client: Client, engine: AsyncEngine, settings: Settings, summary: DemoSummary
) -> None:
    roster = await people(engine)
    teacher = roster[summary.teacher]
    async with session_factory(engine)() as session:
        school = await session.scalar(
            select(Institution)
            .join(Affiliation, Affiliation.institution_id == Institution.id)
            .where(Affiliation.person_id == teacher.id)
        )
        assert school is not None
        elsewhere = await session.scalar(
            select(Person)
            .where(Person.kind == "staff", Person.municipality_id == teacher.municipality_id)
            .where(
                ~select(Affiliation.id)
                .where(Affiliation.person_id == Person.id, Affiliation.institution_id == school.id)
                .exists()
            )
        )
    assert elsewhere is not None
    wide = await new_key(engine, ["send"])
    scoped = await new_key(engine, ["send"], institutions=[school.source_id])
    header = "Budstikke-On-Behalf-Of"

    for reference in (teacher.source_id, str(teacher.id)):
        for key in (wide, scoped):
            response = await me(demo_client, key, **{header: reference})
            assert response.status_code == 200, response.text
            assert (response.json()["id"], response.json()["assurance_level"]) == (
                str(teacher.id),
                None,
            )

    # Municipality-wide keys reach all staff; a scoped key only its institutions'.
    assert (await me(demo_client, wide, **{header: elsewhere.source_id})).status_code == 200
    outside = problem(await me(demo_client, scoped, **{header: elsewhere.source_id}), 403)
    guardian = problem(await me(demo_client, wide, **{header: summary.guardian_two_children}), 403)
    unknown = problem(await me(demo_client, wide, **{header: "staff-does-not-exist"}), 403)
    assert "not an active staff member" in guardian["detail"]
    # The same words whether the person is a guardian or does not exist at all.
    assert guardian["detail"].replace(summary.guardian_two_children, "?") == unknown[
        "detail"
    ].replace("staff-does-not-exist", "?")
    assert "this key's institutions" in outside["detail"]

    no_send = await new_key(engine, ["roster"])
    assert (
        "'send'"
        in problem(await me(demo_client, no_send, **{header: teacher.source_id}), 403)["detail"]
    )
    assert "Budstikke-On-Behalf-Of" in problem(await me(demo_client, wide), 403)["detail"]
    person = token(settings, summary.guardian_two_children)
    problem(await me(demo_client, person, **{header: teacher.source_id}), 403)


# -- CORS -------------------------------------------------------------------------------

PORTAL = "https://portal.example.dk"


async def test_cors_only_for_the_configured_portal_origins(
    engine: AsyncEngine, make_settings: Any, database_url: str, summary: DemoSummary
) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, idempotency-key, content-type",
    }
    settings = make_settings(
        database_url=database_url, demo="true", cors_origins=f"{PORTAL},http://localhost:5173"
    )
    async with AsyncTestClient(create_app(settings)) as client:
        allowed = await client.options("/v1/me", headers={"Origin": PORTAL} | preflight)
        assert allowed.status_code in {200, 204}, allowed.text
        assert allowed.headers["access-control-allow-origin"] == PORTAL
        granted = allowed.headers["access-control-allow-headers"].lower()
        for name in ("authorization", "idempotency-key", "last-event-id", "if-none-match"):
            assert name in granted

        other = await client.options(
            "/v1/me", headers={"Origin": "https://evil.example"} | preflight
        )
        assert "access-control-allow-origin" not in other.headers

        answer = await me(client, token(settings, summary.teacher), Origin=PORTAL)
        assert answer.headers["access-control-allow-origin"] == PORTAL
        exposed = answer.headers["access-control-expose-headers"].lower()
        assert "etag" in exposed and "retry-after" in exposed
        # Errors carry the headers too, so the portal can read the problem.
        denied = await client.get("/v1/me", headers={"Origin": PORTAL})
        assert denied.status_code == 401
        assert denied.headers["access-control-allow-origin"] == PORTAL

    without = make_settings(database_url=database_url, demo="true")
    async with AsyncTestClient(create_app(without)) as client:
        response = await me(client, token(without, summary.teacher), Origin=PORTAL)
        assert response.status_code == 200
        assert not any(name.startswith("access-control-") for name in response.headers)


async def test_the_openapi_document_describes_me(demo_client: Client) -> None:
    document = (await demo_client.get("/schema/openapi.json")).json()
    operation = document["paths"]["/v1/me"]["get"]
    assert {"personToken": []} in operation["security"]
    assert "MeRead" in str(operation["responses"]["200"])
    for status in ("401", "403", "429"):
        assert "Problem" in str(operation["responses"][status])
    assert document["components"]["securitySchemes"]["personToken"]["bearerFormat"] == "JWT"
