"""The browser side over HTTP: the component's files, catalogs, service worker, the demo
portal's token endpoint, and the security headers of pages."""

from __future__ import annotations

from typing import Any

import jwt
import msgspec
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.api.app import create_app
from gateway.roster.demo import SUMMARY_FILE
from tests.integration import messaging_world
from tests.integration.messaging_world import World

world = messaging_world.world  # the fixture


async def test_component_files_are_served_with_an_etag_and_revalidated(
    client: AsyncTestClient[Litestar],
) -> None:
    first = await client.get("/web/budstikke-inbox.js")
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/javascript")
    assert first.headers["cache-control"] == "no-cache"
    again = await client.get(
        "/web/budstikke-inbox.js", headers={"If-None-Match": first.headers["etag"]}
    )
    assert (again.status_code, again.content) == (304, b"")


async def test_only_known_files_under_the_web_folder_are_served(
    client: AsyncTestClient[Litestar],
) -> None:
    for path in (
        "/web/../config.py",
        "/web/%2e%2e/config.py",
        "/web/inbox/../../api/web.py",
        "/web/.hidden.js",
        "/web/missing.js",
        "/web/demo/index.py",
        "/web/BUDSTIKKE-INBOX.JS",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert "def " not in response.text


async def test_the_service_worker_is_served_at_the_root_for_the_whole_origin(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await client.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["service-worker-allowed"] == "/"
    assert response.headers["content-type"].startswith("text/javascript")


async def test_catalogs_per_locale_and_a_clear_404_for_others(
    client: AsyncTestClient[Litestar],
) -> None:
    arabic = (await client.get("/web/i18n/ar.json")).json()
    assert (arabic["locale"], arabic["dir"]) == ("ar", "rtl")
    assert arabic["messages"]
    missing = await client.get("/web/i18n/xx.json")
    assert missing.status_code == 404
    assert "da, en, ar" in missing.json()["detail"]


async def test_json_answers_are_not_sniffed_and_carry_no_page_policy(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await client.get("/healthz")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "content-security-policy" not in response.headers


async def test_demo_portal_and_token_endpoint_exist_only_in_the_demo(
    client: AsyncTestClient[Litestar],
) -> None:
    for method, path in (
        ("GET", "/demo"),
        ("GET", "/demo-api/people"),
        ("POST", "/demo-api/token"),
    ):
        response = await client.request(method, path, json={"person": "guardian-000001"})
        assert response.status_code in (404, 405), path


async def test_pages_forbid_inline_script_and_foreign_frames(world: World) -> None:
    page = await world.client.get("/demo")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert "frame-ancestors 'self';" in policy
    assert page.headers["x-frame-options"] == "SAMEORIGIN"


async def test_a_portal_origin_may_frame_the_pages_when_configured(
    world: World, make_settings: Any
) -> None:
    settings = make_settings(
        demo="true",
        database_url=world.settings.database_url,
        redis_url=world.settings.redis_url or "",
        frame_ancestors="https://portal.kommune.dk",
    )
    async with AsyncTestClient(create_app(settings)) as other:
        page = await other.get("/demo")
    assert (
        "frame-ancestors 'self' https://portal.kommune.dk;"
        in page.headers["content-security-policy"]
    )
    assert "x-frame-options" not in page.headers


def _keep_summary(world: World) -> None:
    folder = world.settings.data_dir / "demo-roster"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SUMMARY_FILE).write_bytes(msgspec.json.encode(world.summary))


async def test_demo_people_stand_for_the_kinds_of_user(world: World) -> None:
    _keep_summary(world)
    body = (await world.client.get("/demo-api/people")).json()
    people = {p["key"]: p for p in body["people"]}
    assert list(people) == [
        "teacher",
        "pedagogue",
        "leader",
        "guardian",
        "non_custodial_parent",
        "pupil",
    ]
    assert people["guardian"]["person"] == world.summary.guardian_two_children
    assert people["teacher"]["kind"] == "staff"
    assert people["pupil"]["kind"] == "child"
    assert all(p["name"].strip() for p in people.values())


async def test_a_demo_token_logs_in_as_that_person_at_the_chosen_level(world: World) -> None:
    _keep_summary(world)
    person = world.summary.guardian_two_children
    made = await world.client.post("/demo-api/token", json={"person": person, "acr": "low"})
    assert made.status_code == 200
    token = made.json()["token"]
    assert jwt.decode(token, options={"verify_signature": False})["acr"] == "low"
    me = await world.client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert (me.json()["source_id"], me.json()["assurance_level"]) == (person, "low")


async def test_demo_token_refuses_unknown_people_and_levels(world: World) -> None:
    _keep_summary(world)
    nobody = await world.client.post("/demo-api/token", json={"person": "guardian-999999"})
    assert nobody.status_code == 404
    assert "guardian-999999" in nobody.json()["detail"]
    level = await world.client.post(
        "/demo-api/token", json={"person": world.summary.teacher, "acr": "ultra"}
    )
    assert level.status_code == 422
    extra = await world.client.post("/demo-api/token", json={"person": "x", "admin": True})
    assert extra.status_code == 400 or extra.status_code == 422


async def test_notification_links_open_the_demo_portal_in_the_demo(world: World) -> None:
    thread = "8d3c1c55-6a7d-4ba4-9b46-1e2b0f2c5b11"
    response = await world.client.get(f"/threads/{thread}", follow_redirects=False)
    assert response.status_code in (302, 307)
    assert response.headers["location"] == f"/demo?thread={thread}"


async def test_a_portal_origin_may_load_the_component_modules(
    world: World, make_settings: Any
) -> None:
    """Browsers fetch cross-origin module scripts with CORS."""
    settings = make_settings(
        demo="true",
        database_url=world.settings.database_url,
        redis_url=world.settings.redis_url or "",
        cors_origins="https://portal.kommune.dk",
    )
    async with AsyncTestClient(create_app(settings)) as other:
        allowed = await other.get(
            "/web/inbox/api.js", headers={"Origin": "https://portal.kommune.dk"}
        )
        foreign = await other.get("/web/inbox/api.js", headers={"Origin": "https://evil.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://portal.kommune.dk"
    assert "access-control-allow-origin" not in foreign.headers
