"""arq worker settings: resources made in ``on_startup``, thin jobs that call services."""

from __future__ import annotations

import os
from typing import Any, ClassVar

from arq import cron
from arq.connections import RedisSettings

from gateway.config import Settings, load_settings
from gateway.db import create_engine, session_factory
from gateway.logging import configure_logging
from workers.roster import end_expired_links


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx.get("settings") or load_settings(os.environ)
    configure_logging(settings)
    engine = create_engine(settings.database_url, pool_size=5)
    ctx.update(settings=settings, engine=engine, sessions=session_factory(engine))


async def shutdown(ctx: dict[str, Any]) -> None:
    await ctx["engine"].dispose()


def redis_settings(settings: Settings) -> RedisSettings:
    """arq's connection settings from ``BUDSTIKKE_REDIS_URL``."""
    if not settings.redis_url:
        raise RuntimeError("BUDSTIKKE_REDIS_URL is not set; `budstikke run` starts one for you")
    return RedisSettings.from_dsn(settings.redis_url)


class WorkerSettings:
    """The gateway's arq worker (``budstikke worker``)."""

    functions: ClassVar[list[Any]] = [end_expired_links]
    cron_jobs: ClassVar[list[Any]] = [cron(end_expired_links, hour={3}, minute={15})]
    on_startup = startup
    on_shutdown = shutdown
    max_jobs = 50
    job_timeout = 600
