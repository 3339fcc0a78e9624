"""``budstikke inbound-smtp``: the SMTP listener for replies by email and bounces.

The mail domain's MX points here (directly, or through the municipality's own relay).
Everything that can be decided before the mail body is decided at ``RCPT``: an address
outside the mail domain is refused (no open relay), so is an unknown, forged or expired
reply address, or one whose thread takes no answer by email. After ``DATA`` each
recipient is handled by :func:`gateway.delivery.inbound.handle`; one refusal refuses the
whole mail with its reason (what was already posted is not posted twice on a resend:
see the module on duplicates). A database outage answers ``451``, so the sending server
tries again later and nothing is lost.

Limits: ``BUDSTIKKE_INBOUND_MAX_BYTES`` per mail (``552``), 10 recipients per mail
(``452``), and per remote address 60 mails a minute (``450``), counted in memory.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import structlog
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.config import Settings
from gateway.db import READ_YOUR_WRITES, create_engine, session_factory
from gateway.delivery import inbound
from gateway.delivery.addresses import mail_domain
from gateway.delivery.queue import Queue
from gateway.messaging.events import Events
from gateway.orm import utcnow
from gateway.redis_client import connect_redis

log = structlog.get_logger(__name__)

MAX_RECIPIENTS = 10
MAILS_PER_MINUTE = 60
DB_TIMEOUT_S = 30.0
COMMAND_TIMEOUT_S = 120.0
TEMPORARY = "451 4.3.0 the gateway cannot take mail right now; please try again later"
TOO_MANY_RECIPIENTS = f"452 4.5.3 too many recipients: at most {MAX_RECIPIENTS} per mail"
SLOW_DOWN = f"450 4.7.1 more than {MAILS_PER_MINUTE} mails a minute from your address; try later"

T = TypeVar("T")


class PeerLimiter:
    """At most ``per_minute`` mails per remote address in any 60 s, remembered in memory."""

    def __init__(self, per_minute: int = MAILS_PER_MINUTE, *, max_peers: int = 10_000) -> None:
        self._per_minute = per_minute
        self._max_peers = max_peers
        self._seen: dict[str, collections.deque[float]] = {}

    def allow(self, peer: str, now: float) -> bool:
        """Count one mail from ``peer``; False when it is over the limit."""
        times = self._seen.get(peer)
        if times is None:
            if len(self._seen) >= self._max_peers:
                self._forget(now)
            times = self._seen[peer] = collections.deque(maxlen=self._per_minute)
        while times and now - times[0] >= 60:
            times.popleft()
        if len(times) >= self._per_minute:
            return False
        times.append(now)
        return True

    def _forget(self, now: float) -> None:
        stale = [peer for peer, times in self._seen.items() if not times or now - times[-1] >= 60]
        for peer in stale:
            del self._seen[peer]
        if len(self._seen) >= self._max_peers:
            self._seen.clear()  # a flood from many addresses: start counting afresh


class InboundHandler:
    """The aiosmtpd hooks: MAIL counts, RCPT checks the address, DATA acts on the mail."""

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        *,
        events: Events,
        queue: Queue | None = None,
        limiter: PeerLimiter | None = None,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._events = events
        self._queue = queue
        self._limiter = limiter or PeerLimiter()

    async def handle_MAIL(  # the aiosmtpd hook names
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not self._limiter.allow(_peer(session), time.monotonic()):
            log.warning("inbound rate limit", peer=_peer(session))
            return SLOW_DOWN
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return TOO_MANY_RECIPIENTS
        check = inbound.check_recipient(
            self._sessions, self._settings, address, today=utcnow().date()
        )
        refusal = await _guarded(check, "rcpt")
        if isinstance(refusal, str):
            return refusal
        if refusal is not None:
            log.info("inbound recipient refused", peer=_peer(session), answer=refusal.smtp)
            return refusal.smtp
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        outcomes: list[inbound.InboundOutcome] = []
        for rcpt in envelope.rcpt_tos:
            work = inbound.handle(
                self._sessions,
                self._settings,
                mail_from=envelope.mail_from or "",
                rcpt=rcpt,
                data=data,
                now=utcnow(),
                events=self._events,
                queue=self._queue,
            )
            outcome = await _guarded(work, "data")
            if isinstance(outcome, str):
                return outcome
            log.info("inbound mail", peer=_peer(session), kind=outcome.kind, action=outcome.action)
            outcomes.append(outcome)
        refused = [outcome for outcome in outcomes if not outcome.accepted]
        return (refused or outcomes)[0].smtp


async def _guarded(work: Awaitable[T], stage: str) -> T | str:
    """The result, or a 451 answer when the database (or anything else) failed."""
    try:
        return await asyncio.wait_for(work, timeout=DB_TIMEOUT_S)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        log.warning("inbound mail deferred", stage=stage, error=type(exc).__name__)
        return TEMPORARY
    except Exception:
        # A bug must not lose mail: the sending server keeps it and tries again.
        log.exception("inbound mail failed", stage=stage)
        return TEMPORARY


def _peer(session: Session) -> str:
    peer: Any = session.peer
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer or "unknown")


def protocol_factory(
    settings: Settings, handler: InboundHandler, loop: asyncio.AbstractEventLoop
) -> Callable[[], SMTP]:
    """Makes one aiosmtpd protocol per connection, with the gateway's limits."""
    hostname = mail_domain(settings) or "budstikke"
    quiet_aiosmtpd()

    def make() -> SMTP:
        return SMTP(
            handler,
            data_size_limit=settings.inbound_max_bytes,
            enable_SMTPUTF8=True,
            hostname=hostname,
            ident="Budstikke inbound",
            timeout=COMMAND_TIMEOUT_S,
            loop=loop,
        )

    return make


def quiet_aiosmtpd() -> None:
    """aiosmtpd logs every command at info, reply addresses included; keep only warnings."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)


@asynccontextmanager
async def listening(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    events: Events | None = None,
    queue: Queue | None = None,
    host: str | None = None,
    port: int | None = None,
) -> AsyncIterator[asyncio.Server]:
    """The listener on ``host:port`` (default: the settings') until the block ends."""
    loop = asyncio.get_running_loop()
    handler = InboundHandler(settings, sessions, events=events or Events(None), queue=queue)
    server = await loop.create_server(
        protocol_factory(settings, handler, loop),
        host or settings.inbound_smtp_host,
        settings.inbound_smtp_port if port is None else port,
    )
    try:
        yield server
    finally:
        server.close()
        await server.wait_closed()


async def serve_until_stopped(settings: Settings, on_ready: Callable[[str], None]) -> None:
    """Run the listener with its own engine and Redis until SIGINT or SIGTERM."""
    # With a replica, commits wait for it (as the API's): a reply by email is in the
    # replica's inbox lists before its live event goes out.
    engine = create_engine(
        settings.database_url,
        server_settings=READ_YOUR_WRITES if settings.database_replica_url else None,
    )
    redis = connect_redis(settings, socket_timeout=5)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with listening(
            settings,
            session_factory(engine),
            events=Events(redis),
            queue=Queue(redis, settings.queue_name),
        ) as server:
            host, port = server.sockets[0].getsockname()[:2]
            on_ready(f"{host}:{port}")
            await stop.wait()
    finally:
        if redis is not None:
            await redis.aclose()
        await engine.dispose()
