"""What the webhook tests share: tenants to own endpoints, and a receiver that takes them.

``seed`` makes two municipalities (the first with two schools) and gives a
municipality-wide and a school-scoped principal for the first. The ``receiver`` fixture
is a real HTTP server on loopback.

Paths decide the answer: ``/ok…`` 200, ``/fail…`` 500 (or what ``answers`` says),
``/redirect`` 302 to ``/ok/landing``, ``/slow`` waits 3 s, ``/busy`` takes 0.2 s and
records how many requests were in flight at once. Every request is kept, with
its raw body and headers, so tests verify signatures as a receiver would.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.auth.principals import Permission, SystemPrincipal
from gateway.db import session_factory
from gateway.roster.models import Institution, Municipality


@dataclass(frozen=True)
class Tenants:
    municipality: Municipality
    other: Municipality
    school_a: uuid.UUID
    school_b: uuid.UUID

    def key(self, *institutions: uuid.UUID, other: bool = False) -> SystemPrincipal:
        """A principal with ``report``, scoped to ``institutions`` (none: municipality-wide)."""
        municipality = self.other if other else self.municipality
        return SystemPrincipal(
            key_id=uuid.uuid4(),
            prefix="testkey1",
            name="test",
            municipality_id=municipality.id,
            municipality_code=municipality.code,
            permissions=frozenset({Permission.REPORT}),
            institution_ids=frozenset(institutions),
        )


async def seed(engine: AsyncEngine) -> Tenants:
    """Two municipalities, 0101 (schools a and b) and 0202."""
    async with session_factory(engine)() as session, session.begin():
        first = Municipality(code="0101", name="Nordby", settings={})
        other = Municipality(code="0202", name="Sydby", settings={})
        session.add_all([first, other])
        await session.flush()
        schools = [
            Institution(municipality_id=first.id, source_id=name, kind="school", name=name)
            for name in ("school-a", "school-b")
        ]
        session.add_all(schools)
        await session.flush()
        return Tenants(first, other, schools[0].id, schools[1].id)


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    server: TestServer | None = None
    received: list[Received] = field(default_factory=list)
    answers: dict[str, int] = field(default_factory=dict)  # path → status, overrides
    in_flight: int = 0
    most_in_flight: int = 0

    def url(self, path: str, *, host: str = "127.0.0.1") -> str:
        assert self.server is not None and self.server.port is not None
        return f"http://{host}:{self.server.port}{path}"

    @property
    def port(self) -> int:
        assert self.server is not None and self.server.port is not None
        return self.server.port

    def paths(self) -> list[str]:
        return [item.path for item in self.received]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.received.append(Received(request.path, dict(request.headers), body))
        if request.path in self.answers:
            return web.Response(status=self.answers[request.path])
        if request.path.startswith("/fail"):
            return web.Response(status=500, text="boom")
        if request.path == "/redirect":
            raise web.HTTPFound(location=self.url("/ok/landing"))
        if request.path == "/slow":
            await asyncio.sleep(3)
        if request.path == "/busy":
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            await asyncio.sleep(0.2)
            self.in_flight -= 1
        return web.Response(status=200, text="thanks")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A running receiver on 127.0.0.1 (a free port)."""
    state = Receiver()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", state.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    state.server = server
    yield state
    await server.close()
