"""The demo municipality over the real app, with dev tokens for anyone in it.

``world`` imports ``write_demo_data(children=60, seed=5)`` into a fresh database (both
engines) and starts the app in demo mode, so each test can act as a teacher, a guardian
or a pupil with a real signed token.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.api.app import create_app
from gateway.auth.devtokens import issue_dev_token
from gateway.config import Settings
from gateway.db import session_factory
from gateway.roster.demo import DemoSummary, write_demo_data
from gateway.roster.importer import import_oneroster
from gateway.roster.models import ContactPoint, Group, Guardianship, Person

Client = AsyncTestClient[Litestar]
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


@dataclass
class World:
    client: Client
    settings: Settings
    engine: AsyncEngine
    summary: DemoSummary
    code: str
    _ids: dict[str, str] = field(default_factory=dict)

    def headers(
        self, source_id: str, *, acr: str | None = "substantial", **extra: str
    ) -> dict[str, str]:
        token = issue_dev_token(
            self.settings, subject=source_id, municipality_code=self.code, acr=acr
        )
        return {"Authorization": f"Bearer {token}", **extra}

    async def id_of(self, source_id: str) -> str:
        if source_id not in self._ids:
            async with session_factory(self.engine)() as session:
                found = await session.scalar(select(Person.id).where(Person.source_id == source_id))
                if found is None:
                    found = await session.scalar(
                        select(Group.id).where(Group.source_id == source_id)
                    )
            assert found is not None, source_id
            self._ids[source_id] = str(found)
        return self._ids[source_id]

    async def person(self, source_id: str) -> Person:
        async with session_factory(self.engine)() as session:
            found = await session.scalar(select(Person).where(Person.source_id == source_id))
        assert found is not None
        return found

    async def guardians_of(
        self, child_source_id: str, *, custody: bool | None = None
    ) -> list[Person]:
        child_id = uuid.UUID(await self.id_of(child_source_id))
        async with session_factory(self.engine)() as session:
            query = (
                select(Person)
                .join(Guardianship, Guardianship.guardian_id == Person.id)
                .where(Guardianship.child_id == child_id, Guardianship.active.is_(True))
            )
            if custody is not None:
                query = query.where(Guardianship.custody.is_(custody))
            return list((await session.scalars(query)).all())

    async def emails(self) -> set[str]:
        async with session_factory(self.engine)() as session:
            return set((await session.scalars(select(ContactPoint.address))).all())

    async def post(self, path: str, who: str, body: Any = None, **kw: Any) -> Any:
        headers = self.headers(who, **kw.pop("token", {}))
        headers.update(kw.pop("headers", {}))
        return await self.client.post(path, json=body, headers=headers, **kw)

    async def get(self, path: str, who: str, **kw: Any) -> Any:
        headers = self.headers(who, **kw.pop("token", {}))
        headers.update(kw.pop("headers", {}))
        return await self.client.get(path, headers=headers, **kw)

    async def send_to_class(self, **extra: Any) -> dict[str, Any]:
        """The teacher writes to the guardians of ``teacher_class``; the 202 body."""
        body = {
            "subject": extra.pop("subject", "Tur i skoven"),
            "body": extra.pop("body", "Husk **madpakke** og regntøj."),
            "audience": {
                "targets": [
                    {
                        "type": "group",
                        "group": await self.id_of(self.summary.teacher_class),
                        "roles": ["guardians"],
                    }
                ],
                **extra.pop("audience_options", {}),
            },
            **extra,
        }
        response = await self.post("/v1/messages", self.summary.teacher, body)
        assert response.status_code == 202, response.text
        result: dict[str, Any] = response.json()
        return result


async def make_world(
    tmp_path: Path,
    database_url: str,
    redis_url: str,
    make_settings: Any,
    engine: AsyncEngine,
    **env: str,
) -> AsyncIterator[World]:
    folder = tmp_path / "demo"
    summary = write_demo_data(folder, children=60, seed=5)
    await import_oneroster(
        engine,
        folder,
        municipality_code=None,
        dry_run=False,
        max_file_bytes=1 << 30,
        default_time_zone="Europe/Copenhagen",
    )
    settings = make_settings(demo="true", database_url=database_url, redis_url=redis_url, **env)
    async with AsyncTestClient(create_app(settings)) as client:
        yield World(client, settings, engine, summary, summary.municipality_code)


@pytest.fixture
async def world(
    tmp_path: Path, database_url: str, redis_url: str, make_settings: Any, engine: AsyncEngine
) -> AsyncIterator[World]:
    async for built in make_world(tmp_path, database_url, redis_url, make_settings, engine):
        yield built
