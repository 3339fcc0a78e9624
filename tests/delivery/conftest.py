"""A demo municipality with working channels and a real arq worker run in burst mode.

``delivery_world`` is the messaging world with the email channel pointed at a real
aiosmtpd server, web push at the local RFC 8030 push service, its own job queue in
the real Redis, and quiet/working hours placed away from the test's clock so that
"instant" really is instant (tests about quiet hours set their own).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from arq.worker import Worker
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.vapid import generate_key_pair
from gateway.db import session_factory
from gateway.delivery.models import Delivery, PushSubscription
from gateway.orm import new_id, utcnow
from tests.channels.conftest import SmtpServer, smtp_server  # noqa: F401 - a fixture
from tests.channels.push_service import PushService, Subscriber
from tests.integration.messaging_world import World, make_world
from workers.settings import WorkerSettings, redis_settings, shutdown, startup

ZONE = ZoneInfo("Europe/Copenhagen")
KEYS = generate_key_pair()


def hours_away(hours: int, length_minutes: int = 30) -> str:
    """A clock range ``hours`` from now (local time), for quiet hours that do or do not apply."""
    start = dt.datetime.now(ZONE) + dt.timedelta(hours=hours)
    end = start + dt.timedelta(minutes=length_minutes)
    return f"{start:%H:%M}-{end:%H:%M}"


def around_now() -> str:
    """Quiet hours that hold right now (from an hour ago to an hour ahead)."""
    start = dt.datetime.now(ZONE) - dt.timedelta(hours=1)
    end = dt.datetime.now(ZONE) + dt.timedelta(hours=1)
    return f"{start:%H:%M}-{end:%H:%M}"


@pytest.fixture
async def push() -> AsyncIterator[PushService]:
    service = PushService()
    await service.start()
    yield service
    await service.stop()


@dataclass
class DeliveryWorld:
    world: World
    smtp: SmtpServer
    push: PushService
    env: dict[str, str]  # the BUDSTIKKE_* environment the settings came from

    @property
    def settings(self) -> Any:
        return self.world.settings

    async def run_worker(self, **settings_overrides: Any) -> int:
        """Run the real worker in burst mode until its queue is empty; jobs done."""
        settings = self.settings
        worker = Worker(
            functions=WorkerSettings.functions,
            on_startup=startup,
            on_shutdown=shutdown,
            redis_settings=redis_settings(settings),
            queue_name=settings.queue_name,
            burst=True,
            handle_signals=False,
            poll_delay=0.05,
            keep_result=0,
            ctx={"settings": settings},
        )
        try:
            await worker.main()
        finally:
            await worker.close()
        return worker.jobs_complete

    async def deliveries(self, **where: Any) -> list[Delivery]:
        async with session_factory(self.world.engine)() as session:
            query = select(Delivery).order_by(Delivery.person_id, Delivery.channel)
            for name, value in where.items():
                query = query.where(getattr(Delivery, name) == value)
            return list((await session.scalars(query)).all())

    async def count(self, model: Any) -> int:
        async with session_factory(self.world.engine)() as session:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)

    async def subscribe(self, source_id: str, name: str | None = None) -> Subscriber:
        """Register a browser of this person at the local push service."""
        subscriber = self.push.subscribe(name or f"{source_id}-{uuid.uuid4().hex[:6]}")
        person = await self.world.person(source_id)
        async with session_factory(self.world.engine)() as session, session.begin():
            session.add(
                PushSubscription(
                    id=new_id(),
                    municipality_id=person.municipality_id,
                    person_id=person.id,
                    endpoint=subscriber.endpoint,
                    p256dh=subscriber.keys["p256dh"],
                    auth=subscriber.keys["auth"],
                    created_at=utcnow(),
                )
            )
        return subscriber


def channel_env(smtp: SmtpServer, **extra: str) -> dict[str, str]:
    env = {
        "smtp_host": smtp.host,
        "smtp_port": str(smtp.port),
        "smtp_tls": "none",
        "smtp_from": "Budstikke <no-reply@skole.example.dk>",
        "smtp_timeout_seconds": "5",
        "vapid_private_key": KEYS.private_b64,
        "vapid_subject": "mailto:drift@example.dk",
        "queue_name": f"test:queue:{uuid.uuid4().hex}",
        "quiet_hours": hours_away(6),
        "working_hours": "mon-sun 00:00-23:59",
        "public_url": "https://besked.example.dk",
    }
    env.update(extra)
    return env


async def build_delivery_world(
    tmp_path: Path,
    database_url: str,
    redis_url: str,
    make_settings: Any,
    engine: AsyncEngine,
    smtp: SmtpServer,
    push: PushService,
    **extra: str,
) -> AsyncIterator[DeliveryWorld]:
    env = channel_env(smtp, **extra)
    async for world in make_world(tmp_path, database_url, redis_url, make_settings, engine, **env):
        environ = {f"BUDSTIKKE_{key.upper()}": value for key, value in env.items()}
        environ.update(
            BUDSTIKKE_DATA_DIR=str(world.settings.data_dir),
            BUDSTIKKE_DEMO="true",
            BUDSTIKKE_DATABASE_URL=database_url,
            BUDSTIKKE_REDIS_URL=redis_url,
        )
        yield DeliveryWorld(world, smtp, push, environ)


@pytest.fixture
async def delivery_world(
    tmp_path: Path,
    database_url: str,
    redis_url: str,
    make_settings: Any,
    engine: AsyncEngine,
    smtp_server: SmtpServer,  # noqa: F811 - the fixture imported above
    push: PushService,
) -> AsyncIterator[DeliveryWorld]:
    async for built in build_delivery_world(
        tmp_path, database_url, redis_url, make_settings, engine, smtp_server, push
    ):
        yield built
