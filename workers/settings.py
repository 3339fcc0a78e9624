"""arq worker settings: resources made in ``on_startup``, thin jobs that call services."""

from __future__ import annotations

import os
from typing import Any, ClassVar

from arq import cron, func
from arq.connections import RedisSettings

from gateway.config import Settings, load_settings
from gateway.db import READ_YOUR_WRITES, create_engine, session_factory
from gateway.logging import configure_logging
from gateway.metrics import start_worker_metrics
from gateway.redis_client import arq_settings
from workers.consents import send_consent_reminders
from workers.delivery import (
    deliver,
    delivery_shutdown,
    delivery_startup,
    dispatch_deliveries,
    fan_out,
    send_digests,
    sweep_outbox,
)
from workers.push import expire_push_subscriptions
from workers.retention import purge_retention
from workers.roster import end_expired_links
from workers.webhooks import send_webhooks, webhook_shutdown, webhook_startup

EVERY_5_SECONDS = set(range(0, 60, 5))


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx.get("settings") or load_settings(os.environ)
    configure_logging(settings)
    # With a replica, the worker's commits too are visible there before their live
    # events go out (a scheduled announcement's feed reload, a report).
    engine = create_engine(
        settings.database_url,
        pool_size=5,
        server_settings=READ_YOUR_WRITES if settings.database_replica_url else None,
    )
    ctx.update(settings=settings, engine=engine, sessions=session_factory(engine))
    await delivery_startup(ctx)
    await webhook_startup(ctx)
    ctx["metrics_server"] = start_worker_metrics(settings)


async def shutdown(ctx: dict[str, Any]) -> None:
    await webhook_shutdown(ctx)
    await delivery_shutdown(ctx)
    if ctx.get("metrics_server") is not None:
        ctx["metrics_server"][0].shutdown()
    await ctx["engine"].dispose()


def redis_settings(settings: Settings) -> RedisSettings:
    """arq's connection settings: ``BUDSTIKKE_REDIS_URL``, or its master via Sentinel."""
    return arq_settings(settings)


class WorkerSettings:
    """The gateway's arq worker (``budstikke worker``)."""

    # Job ids are deterministic; keeping no result lets a sweeper enqueue an id again.
    functions: ClassVar[list[Any]] = [
        end_expired_links,
        expire_push_subscriptions,
        func(fan_out, keep_result=0),
        func(deliver, keep_result=0),
    ]
    cron_jobs: ClassVar[list[Any]] = [
        cron(end_expired_links, hour={3}, minute={15}),
        cron(expire_push_subscriptions, hour={3}, minute={45}),
        cron(purge_retention, hour={2}, minute={30}, keep_result=0),
        cron(dispatch_deliveries, second=EVERY_5_SECONDS, keep_result=0),
        cron(sweep_outbox, second={0, 30}, keep_result=0),
        cron(send_digests, second={20}, keep_result=0),
        cron(send_consent_reminders, second={40}, keep_result=0),
        cron(send_webhooks, second=set(range(0, 60, 10)), keep_result=0),
    ]
    on_startup = startup
    on_shutdown = shutdown
    max_jobs = 50
    job_timeout = 600
