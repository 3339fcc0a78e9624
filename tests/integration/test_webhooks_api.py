"""The webhooks API over the real app on both engines: keys, scope, limits, URL policy."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from gateway.api.app import create_app
from gateway.auth.apikeys import create_api_key
from gateway.db import session_factory
from gateway.orm import utcnow
from gateway.webhooks.models import WebhookEndpoint
from gateway.webhooks.sender import open_http, send_due
from gateway.webhooks.service import emit
from tests.integration import webhook_world
from tests.integration.webhook_world import Receiver, Tenants, seed

receiver = webhook_world.receiver  # the fixture

PUBLIC = "https://1.1.1.1/hooks/budstikke"  # a literal: no DNS lookup, never connected to


@dataclass
class Api:
    client: AsyncTestClient[Litestar]
    tenants: Tenants
    keys: dict[str, str]  # name → "Bearer bsk_…"
    engine: AsyncEngine
    settings: Any

    async def call(self, method: str, path: str, key: str = "wide", **kw: Any) -> Any:
        headers = {"Authorization": self.keys[key]} if key else {}
        return await self.client.request(method, path, headers=headers, **kw)

    async def create(self, key: str = "wide", **body: Any) -> Any:
        return await self.call("POST", "/v1/webhooks", key, json=body)


async def _keys(engine: AsyncEngine) -> dict[str, str]:
    made = {}
    specs = {
        "wide": ("0101", ["report"], ()),
        "school_a": ("0101", ["report"], ("school-a",)),
        "sender": ("0101", ["send", "roster"], ()),
        "other": ("0202", ["report"], ()),
    }
    async with session_factory(engine)() as session, session.begin():
        for name, (code, permissions, institutions) in specs.items():
            created = await create_api_key(
                session,
                municipality_code=code,
                name=name,
                permissions=permissions,
                institutions=institutions,
            )
            made[name] = f"Bearer {created.key}"
    return made


async def _api(
    engine: AsyncEngine, make_settings: Any, database_url: str, redis_url: str, **env: str
) -> AsyncIterator[Api]:
    tenants = await seed(engine)
    keys = await _keys(engine)
    settings = make_settings(database_url=database_url, redis_url=redis_url, **env)
    async with AsyncTestClient(create_app(settings)) as client:
        yield Api(client, tenants, keys, engine, settings)


@pytest.fixture
async def api(
    engine: AsyncEngine, make_settings: Any, database_url: str, redis_url: str
) -> AsyncIterator[Api]:
    """The app with the default URL policy (public https only)."""
    async for built in _api(engine, make_settings, database_url, redis_url):
        yield built


@pytest.fixture
async def local_api(
    engine: AsyncEngine, make_settings: Any, database_url: str, redis_url: str
) -> AsyncIterator[Api]:
    """The app allowing private addresses, to reach the receiver on loopback."""
    env = {"webhook_allow_private": "true"}
    async for built in _api(engine, make_settings, database_url, redis_url, **env):
        yield built


async def test_create_list_read_delete(api: Api) -> None:
    created = await api.create(
        url=PUBLIC, events=["message.created", "delivery.failed", "message.created"]
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_")
    Webhook(body["secret"])  # a secret the Standard Webhooks libraries take
    assert body["events"] == ["message.created", "delivery.failed"]  # each once
    assert body["enabled"] is True and body["failures"] == 0
    assert body["created_by"].startswith("api:")

    listed = await api.call("GET", "/v1/webhooks")
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["items"]] == [body["id"]]
    assert "secret" not in listed.text and body["secret"] not in listed.text

    detail = await api.call("GET", f"/v1/webhooks/{body['id']}")
    assert detail.status_code == 200
    shown = detail.json()
    assert body["secret"] not in detail.text
    assert (shown["enabled"], shown["failures"], shown["disabled_reason"]) == (True, 0, None)
    assert shown["queued"] == 0 and shown["recent_events"] == []

    removed = await api.call("DELETE", f"/v1/webhooks/{body['id']}")
    assert removed.status_code == 204
    assert (await api.call("GET", f"/v1/webhooks/{body['id']}")).status_code == 404
    assert (await api.call("GET", "/v1/webhooks")).json()["items"] == []


async def test_an_unknown_event_type_is_refused_naming_the_known_ones(api: Api) -> None:
    answer = await api.create(url=PUBLIC, events=["message.created", "message.deleted"])
    assert answer.status_code == 422
    problem = answer.json()
    assert "message.deleted" in problem["detail"]
    for known in ("message.created", "message.read", "consent.answered", "delivery.failed"):
        assert known in problem["detail"]
    # Shape errors of `events` are the client's too (422 naming the field), not a 500.
    for wrong in ([], "message.created", None, ["message.read"] * 17):
        answer = await api.create(url=PUBLIC, events=wrong)
        assert answer.status_code == 422, answer.text
        assert "$.events" in answer.json()["errors"][0]
    assert (await api.call("GET", "/v1/webhooks")).json()["items"] == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://1.1.1.1/hook", "must start with https://"),
        ("https://127.0.0.1/hook", "127.0.0.1 is loopback"),
        ("https://10.0.0.1/hook", "10.0.0.1 is private"),
        ("https://169.254.169.254/latest", "is link-local"),
        ("https://100.64.0.1/hook", "not globally routable"),
        ("https://0.0.0.0/hook", "unspecified"),
        ("https://224.0.0.1/hook", "multicast"),
        ("https://[::1]/hook", "::1 is loopback"),
        ("https://[::ffff:127.0.0.1]/hook", "is loopback"),
        ("https://[::ffff:10.1.2.3]/hook", "is private"),
        ("https://[64:ff9b::a00:1]/hook", "is private"),  # NAT64 of 10.0.0.1
        ("https://[fd00::1]/hook", "is private"),
        ("https://[fe80::1]/hook", "is link-local"),
        ("https://localhost/hook", "localhost resolves to"),
        ("https://127.1/hook", "resolves to 127.0.0.1"),
        ("https://user:secret@1.1.1.1/hook", "user name or password"),
        ("https:///hook", "names no host"),
        ("https://nonexistent.invalid/hook", "does not resolve"),
    ],
)
async def test_urls_to_private_or_odd_places_are_refused(api: Api, url: str, reason: str) -> None:
    answer = await api.create(url=url, events=["message.created"])
    assert answer.status_code == 422, answer.text
    assert reason in answer.json()["detail"]


async def test_allowing_private_addresses_still_refuses_unspecified_and_multicast(
    local_api: Api,
) -> None:
    for url in ("http://127.0.0.1:9/hook", "https://10.0.0.1/hook", "http://localhost/hook"):
        assert (await local_api.create(url=url, events=["message.read"])).status_code == 201
    for url, reason in (
        ("http://0.0.0.0/hook", "unspecified"),
        ("https://[ff02::1]/", "multicast"),
    ):
        answer = await local_api.create(url=url, events=["message.read"])
        assert answer.status_code == 422
        assert reason in answer.json()["detail"]
    assert (
        await local_api.create(url="ftp://1.1.1.1/", events=["message.read"])
    ).status_code == 422


async def test_the_limits(api: Api) -> None:
    long = "https://1.1.1.1/" + "a" * 2040
    answer = await api.create(url=long, events=["message.created"])
    assert answer.status_code == 422
    assert "2048" in answer.text
    for number in range(20):
        made = await api.create(url=f"{PUBLIC}/{number}", events=["message.read"])
        assert made.status_code == 201, made.text
    over = await api.create(url=f"{PUBLIC}/20", events=["message.read"])
    assert over.status_code == 413
    assert over.json()["limit"] == "webhook endpoints per municipality (20)"
    # Another municipality has its own 20.
    assert (await api.create("other", url=PUBLIC, events=["message.read"])).status_code == 201


async def test_keys_see_their_own_scope(api: Api) -> None:
    t = api.tenants
    wide = (await api.create(url=PUBLIC, events=["message.read"])).json()
    of_b = await api.create(url=PUBLIC, events=["message.read"], institution_id=str(t.school_b))
    assert of_b.status_code == 201
    # A key scoped to school a must name it, and may not name school b.
    assert (await api.create("school_a", url=PUBLIC, events=["message.read"])).status_code == 422
    refused = await api.create(
        "school_a", url=PUBLIC, events=["message.read"], institution_id=str(t.school_b)
    )
    assert refused.status_code == 404
    mine = await api.create(
        "school_a", url=PUBLIC, events=["message.read"], institution_id=str(t.school_a)
    )
    assert mine.status_code == 201
    assert mine.json()["institution_id"] == str(t.school_a)

    listed = (await api.call("GET", "/v1/webhooks", "school_a")).json()["items"]
    assert [item["id"] for item in listed] == [mine.json()["id"]]
    assert len((await api.call("GET", "/v1/webhooks")).json()["items"]) == 3
    for endpoint in (wide["id"], of_b.json()["id"]):
        assert (await api.call("GET", f"/v1/webhooks/{endpoint}", "school_a")).status_code == 404
        gone = await api.call("DELETE", f"/v1/webhooks/{endpoint}", "school_a")
        assert gone.status_code == 404
    # Another municipality's key learns nothing; a key without `report` may not.
    assert (await api.call("GET", f"/v1/webhooks/{wide['id']}", "other")).status_code == 404
    assert (await api.call("GET", "/v1/webhooks", "other")).json()["items"] == []
    assert (await api.call("GET", "/v1/webhooks", "sender")).status_code == 403
    assert (await api.call("GET", "/v1/webhooks", "")).status_code == 401
    unknown = await api.create(
        url=PUBLIC, events=["message.read"], institution_id=str(uuid.uuid4())
    )
    assert unknown.status_code == 404


async def test_enable_after_auto_disable_and_rotate_the_secret(
    local_api: Api, receiver: Receiver
) -> None:
    api = local_api
    made = (await api.create(url=receiver.url("/ok"), events=["message.read"])).json()
    endpoint_id = uuid.UUID(made["id"])
    async with session_factory(api.engine)() as session, session.begin():
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id)
            .values(enabled=False, failures=50, disabled_reason="50 failed deliveries in a row")
        )
    shown = (await api.call("GET", f"/v1/webhooks/{endpoint_id}")).json()
    assert (shown["enabled"], shown["failures"]) == (False, 50)
    assert shown["disabled_reason"] == "50 failed deliveries in a row"

    enabled = await api.call("POST", f"/v1/webhooks/{endpoint_id}/enable")
    assert enabled.status_code == 200, enabled.text
    assert (enabled.json()["enabled"], enabled.json()["failures"]) == (True, 0)
    assert enabled.json()["disabled_reason"] is None

    rotated = await api.call("POST", f"/v1/webhooks/{endpoint_id}/rotate-secret")
    assert rotated.status_code == 200
    secret = rotated.json()["secret"]
    assert secret.startswith("whsec_") and secret != made["secret"]

    async with session_factory(api.engine)() as session, session.begin():
        ids = {"thread_id": uuid.uuid4(), "message_id": uuid.uuid4(), "person_id": uuid.uuid4()}
        count = await emit(session, api.tenants.municipality.id, "message.read", ids, now=utcnow())
    assert count == 1
    async with open_http(api.settings) as http:
        sent = await send_due(session_factory(api.engine), api.settings, http, utcnow())
    assert sent == 1
    request = receiver.received[0]
    assert Webhook(secret).verify(request.body, request.headers)["type"] == "message.read"
    with pytest.raises(WebhookVerificationError):
        Webhook(made["secret"]).verify(request.body, request.headers)

    detail = (await api.call("GET", f"/v1/webhooks/{endpoint_id}")).json()
    (event,) = detail["recent_events"]
    assert (event["type"], event["state"], event["attempts"]) == ("message.read", "delivered", 1)
    assert event["last_status"] == "HTTP 200" and event["next_attempt_at"] is None


async def test_enable_checks_the_url_again(api: Api) -> None:
    made = (await api.create(url=PUBLIC, events=["message.read"])).json()
    async with session_factory(api.engine)() as session, session.begin():
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == uuid.UUID(made["id"]))
            .values(enabled=False, url="https://10.0.0.7/hook")
        )
    answer = await api.call("POST", f"/v1/webhooks/{made['id']}/enable")
    assert answer.status_code == 422
    assert "10.0.0.7 is private" in answer.json()["detail"]
    assert (await api.call("GET", f"/v1/webhooks/{made['id']}")).json()["enabled"] is False
