"""schemathesis over the gateway's own OpenAPI document, against a running gateway.

The demo municipality (60 children) is imported into a fresh database on each engine and
the real app is served by uvicorn on loopback in a thread of its own (schemathesis calls
over HTTP with ``requests``, synchronously). Every documented operation is called with
generated requests as a teacher, as a guardian and with an API key holding every
permission; the operations nobody needs credentials for are called without any. Path
parameters are ids of real things the teacher and the key made first (a thread, an
announcement, a consent, an attachment, a webhook, the municipality, a school), so the
generated queries and bodies reach the code behind the lookup; a few more calls use
generated ids (things that are not there). Valid requests and requests that break the
schema (negative mode) both run.

Each response must not be a 5xx, must carry a documented status code, and must match the
schema documented for that status. The run is bounded and repeatable: a few examples
per operation, ``derandomize=True``, no example database, no shrinking (every failure is
collected and reported at the end, so one run shows all of them).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.api.app import create_app
from gateway.auth.apikeys import create_api_key
from gateway.auth.devtokens import issue_dev_token
from gateway.auth.principals import Permission
from gateway.config import Settings
from gateway.db import session_factory
from gateway.roster.demo import write_demo_data
from gateway.roster.importer import import_oneroster
from gateway.roster.models import Group, Person
from tests.integration import messaging_world
from tests.integration.messaging_world import World

world = messaging_world.world  # the fixture

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
# Examples per operation and caller: valid requests, and requests that break the schema
# (each must be refused with a documented 4xx, never a 5xx).
RUNS = ((POSITIVE, 10), (NEGATIVE, 5))

# Operations that cannot be exercised by a request/response fuzzer, and why.
EXCLUDED = {
    # Server-sent events: the response is a stream that stays open until the client
    # leaves, so a call never completes. tests/integration/test_messaging_live.py and
    # the authorization matrix cover it.
    ("GET", "/v1/events"),
}
# Run with generated ids only: given a real person, the fuzzer would erase the demo
# people the later runs act as. test_person_erasure.py covers erasing real people.
NOT_SEEDED = {("POST", "/v1/admin/people/{person_id}/erase")}


@dataclass(frozen=True)
class Caller:
    name: str
    scheme: str | None  # the OpenAPI security scheme its credential satisfies
    headers: dict[str, str]


@contextmanager
def serve(settings: Settings) -> Iterator[str]:
    """The real app under uvicorn on loopback, in its own thread and loop; its base URL."""
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="schemathesis-gateway", daemon=True)
    thread.start()
    for _ in range(1000):
        if server.started or not thread.is_alive():
            break
        time.sleep(0.01)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


async def _demo(engine: AsyncEngine, folder: Path) -> Any:
    summary = write_demo_data(folder, children=60, seed=5)
    report = await import_oneroster(
        engine,
        folder,
        municipality_code=None,
        dry_run=False,
        max_file_bytes=1 << 30,
        default_time_zone="Europe/Copenhagen",
    )
    assert not report.rejected, report.rejected[:3]
    return summary


async def _callers(engine: AsyncEngine, settings: Settings, summary: Any) -> list[Caller]:
    code = summary.municipality_code
    async with session_factory(engine)() as session, session.begin():
        key = await create_api_key(
            session,
            municipality_code=code,
            name="schemathesis",
            permissions=[permission.value for permission in Permission],
        )

    def person(source_id: str) -> dict[str, str]:
        token = issue_dev_token(
            settings, subject=source_id, municipality_code=code, acr="substantial"
        )
        return {"Authorization": f"Bearer {token}"}

    # People first, the key last (see _fuzz).
    return [
        Caller("teacher", "personToken", person(summary.teacher)),
        Caller("guardian", "personToken", person(summary.guardian_two_children)),
        Caller("anonymous", None, {}),
        Caller("api key", "apiKey", {"Authorization": f"Bearer {key.key}"}),
    ]


def _schemes(operation: Any) -> set[str | None]:
    security = operation.definition.raw.get("security")
    if not security:
        return {None}
    return {name for requirement in security for name in requirement}


def _made(response: requests.Response) -> Any:
    assert response.status_code in (200, 201, 202), response.text
    return response.json()


def _seed(base_url: str, http: requests.Session, callers: dict[str, Caller], ids: Any) -> Any:
    """Real things to point path parameters at, made through the API; ids by name."""
    teacher = callers["teacher"].headers
    target = {"type": "group", "group": ids.group, "roles": ["guardians"]}
    audience = {"targets": [target]}
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    attachment = _made(
        http.post(f"{base_url}/v1/attachments", files={"file": ("a.png", png)}, headers=teacher)
    )
    sent = _made(
        http.post(
            f"{base_url}/v1/messages",
            json={"subject": "Tur", "body": "Husk madpakke.", "audience": audience},
            headers=teacher,
        )
    )
    announcement = _made(
        http.post(
            f"{base_url}/v1/announcements",
            json={"subject": "Skolefest", "body": "Fredag kl. 17.", "audience": audience},
            headers=teacher,
        )
    )
    deadline = (dt.datetime.now(dt.UTC) + dt.timedelta(days=7)).isoformat()
    consent = _made(
        http.post(
            f"{base_url}/v1/consents",
            json={
                "title": "Fotos",
                "question": "Må vi vise billeder?",
                "kind": "consent",
                "audience": {"targets": [target | {"roles": ["children"]}]},
                "deadline": deadline,
            },
            headers=teacher,
        )
    )
    webhook = _made(
        http.post(
            f"{base_url}/v1/webhooks",
            json={"url": "https://1.1.1.1/hooks/fuzz", "events": ["message.created"]},
            headers=callers["api key"].headers,
        )
    )
    return {
        "thread_id": sent["thread_id"],
        "message_id": sent["message_id"],
        "attachment_id": attachment["id"],
        "consent_id": consent["consent_id"],
        "endpoint_id": webhook["id"],
        "municipality": ids.municipality,
        "institution_id": ids.institution,
        "person_id": ids.guardian,
        "announcement_id": announcement["thread_id"],
    }


def _path_ids(operation: Any, seeded: dict[str, str]) -> dict[str, str] | None:
    """The real ids for this operation's path parameters; None where it has none to fill."""
    names = [p.name for p in operation.path_parameters]
    if not names or (operation.method.upper(), operation.path) in NOT_SEEDED:
        return None
    announcement = "/announcements/" in operation.path
    found = {
        name: seeded["announcement_id" if announcement and name == "thread_id" else name]
        for name in names
        if name in seeded
    }
    return found or None


class Run:
    """What one fuzzing run saw: failures by (operation, caller, kind); 2xx reached."""

    def __init__(self) -> None:
        self.failures: dict[tuple[str, str, str], str] = {}
        self.reached: dict[str, set[str]] = {}

    def record(self, case: Any, caller: Caller, response: Any) -> None:
        if 200 <= response.status_code < 300:
            self.reached.setdefault(caller.name, set()).add(case.operation.label)
        try:
            case.validate_response(response, checks=CHECKS, headers=caller.headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                key = (case.operation.label, caller.name, failure.title)
                self.failures.setdefault(
                    key,
                    f"{case.operation.label} as {caller.name}: {failure.title} "
                    f"(status {response.status_code}): {failure.message[:300]}"
                    f"\n    {case.as_curl_command(headers=caller.headers)[:400]}",
                )


def _fuzz(base_url: str, callers: list[Caller], ids: Any) -> Run:
    schema = schemathesis.openapi.from_url(f"{base_url}/schema/openapi.json", timeout=10)
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operations.append(result.ok())
    assert len(operations) > 50, "the OpenAPI document lost its operations"
    run = Run()
    with requests.Session() as http:
        seeded = _seed(base_url, http, {caller.name: caller for caller in callers}, ids)
        # Callers outside, operations inside: the key's roster replacements run last, so
        # they cannot take the people the other runs act as out of the roster.
        for caller in callers:
            for operation in operations:
                if (operation.method.upper(), operation.path) in EXCLUDED:
                    continue
                if caller.scheme not in _schemes(operation):
                    continue
                path_ids = _path_ids(operation, seeded)
                for mode, examples in RUNS:
                    _fuzz_one(base_url, http, operation, caller, run, path_ids, mode, examples)
                if path_ids is not None:
                    # And ids that are not there: 404s (and their schema) for a few.
                    _fuzz_one(base_url, http, operation, caller, run, None, POSITIVE, 3)
    return run


def _fuzz_one(
    base_url: str,
    http: requests.Session,
    operation: Any,
    caller: Caller,
    run: Run,
    path_ids: dict[str, str] | None,
    mode: GenerationMode,
    examples: int,
) -> None:
    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=dt.timedelta(seconds=10),
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(mode, path_parameters=path_ids))
    def example(case: schemathesis.Case) -> None:
        response = case.call(base_url=base_url, session=http, headers=caller.headers, timeout=10)
        run.record(case, caller, response)

    try:
        example()
    except Unsatisfiable:
        # Negative mode on an operation with nothing to make invalid (no parameters and no
        # body left to generate, e.g. /healthz, or only the path ids we fixed).
        if mode is not NEGATIVE:
            raise


@dataclass(frozen=True)
class DemoIds:
    municipality: str
    group: str
    institution: str
    guardian: str


async def _demo_ids(engine: AsyncEngine, summary: Any) -> DemoIds:
    async with session_factory(engine)() as session:
        group = (
            await session.scalars(select(Group).where(Group.source_id == summary.teacher_class))
        ).one()
        guardian = await session.scalar(
            select(Person.id).where(Person.source_id == summary.guardian_two_children)
        )
    return DemoIds(
        municipality=summary.municipality_code,
        group=str(group.id),
        institution=str(group.institution_id),
        guardian=str(guardian),
    )


@pytest.mark.slow
async def test_the_api_answers_as_documented(
    database_url: str, engine: AsyncEngine, redis_url: str, make_settings: Any, tmp_path: Path
) -> None:
    summary = await _demo(engine, tmp_path / "demo")
    settings = make_settings(
        demo="true",
        database_url=database_url,
        redis_url=redis_url,
        # Off: the fuzzer sends hundreds of requests a minute as one caller; throttling is
        # tested in test_rate_limits.py, and a time-based window would make runs differ.
        rate_limit_per_minute="0",
        rate_limit_writes_per_minute="0",
    )
    callers = await _callers(engine, settings, summary)
    ids = await _demo_ids(engine, summary)
    with serve(settings) as base_url:
        run = await asyncio.to_thread(_fuzz, base_url, callers, ids)
    failures = sorted(run.failures.values())
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)
    # The run got past the lookups: each caller was answered 2xx by many operations.
    reached = {name: len(labels) for name, labels in run.reached.items()}
    assert reached["teacher"] >= 25, run.reached
    assert reached["guardian"] >= 15, run.reached
    assert reached["api key"] >= 10, run.reached
    assert reached["anonymous"] >= 3, run.reached
    assert "GET /v1/inbox/threads/{thread_id}" in run.reached["guardian"]
    assert "GET /v1/consents/{consent_id}/results" in run.reached["teacher"]
    assert "GET /v1/webhooks/{endpoint_id}" in run.reached["api key"]


# What the fuzzer found, pinned down on both engines.


async def test_an_upload_without_a_file_part_is_refused(world: World) -> None:
    # A form with a text part only: Litestar's UploadFile extractor raised StopIteration.
    response = await world.client.post(
        "/v1/attachments",
        files={"note": (None, "no file here")},
        headers=world.headers(world.summary.teacher),
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"] == ["file: required"]


async def test_any_file_part_is_still_taken(world: World) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    response = await world.client.post(
        "/v1/attachments",
        files={"data": ("skema.png", png)},
        headers=world.headers(world.summary.teacher),
    )
    assert response.status_code == 201, response.text
    assert response.json()["file_name"] == "skema.png"


async def test_a_grade_with_a_nul_is_invalid_input(world: World) -> None:
    # PostgreSQL refused to compare the text and the preview answered 500.
    group = await world.id_of(world.summary.teacher_class)
    async with session_factory(world.engine)() as session:
        school = await session.scalar(
            select(Group.institution_id).where(Group.id == uuid.UUID(group))
        )
    body = {
        "targets": [
            {"type": "year", "institution": str(school), "grade": "0\x003", "roles": ["guardians"]}
        ]
    }
    response = await world.post("/v1/audiences/preview", world.summary.teacher, body)
    assert response.status_code == 422, response.text


async def test_a_nul_that_reaches_the_database_is_invalid_input(world: World) -> None:
    # Any text field, not only the grade: PostgreSQL's refusal is the client's error.
    response = await world.get(
        "/v1/inbox/threads", world.summary.teacher, params={"category": "a\x00b"}
    )
    if "postgresql" in world.settings.database_url:
        assert response.status_code == 422, response.text
        assert response.json()["detail"] == "text may not contain NUL characters"
    else:  # SQLite holds any text: no thread has that category
        assert response.status_code == 200, response.text
        assert response.json()["items"] == []


async def test_a_malformed_metrics_header_is_a_documented_422(world: World) -> None:
    response = await world.client.get("/metrics", headers={"Authorization": "x" * 2000})
    assert response.status_code == 422, response.text
    document = (await world.client.get("/schema/openapi.json")).json()
    assert "422" in document["paths"]["/metrics"]["get"]["responses"]
