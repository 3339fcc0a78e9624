"""A small pool of reused aiosmtplib connections with a bound on how many are open at once.

Opening an SMTP connection costs a TCP handshake, EHLO, often STARTTLS and AUTH; a batch of
hundreds of notifications should pay that ``size`` times, not once per mail. A connection
that failed in the middle of a transaction is closed, never handed out again; one that sat
idle for a while is checked with ``NOOP`` first, since servers drop idle clients.

Mail for one recipient domain takes at most ``per_domain`` connections at a time (and
never all of them), so a domain whose servers answer slowly — a relay holds ``RCPT``
while it asks the next hop — waits in its own queue and leaves the other connections to
mail for every other domain.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress

import aiosmtplib

IDLE_CHECK_SECONDS = 10.0
PER_DOMAIN = 2


class PoolClosed(RuntimeError):
    """The pool was closed; no connection is handed out any more."""


class SmtpPool:
    """Hands out connected :class:`aiosmtplib.SMTP` clients, at most ``size`` at a time."""

    def __init__(
        self, connect: Callable[[], aiosmtplib.SMTP], size: int, per_domain: int = PER_DOMAIN
    ) -> None:
        if size < 1 or per_domain < 1:
            raise ValueError("size and per_domain must be at least 1")
        self._connect = connect
        self._slots = asyncio.Semaphore(size)
        # One domain may not take the last connection while there is more than one.
        self._per_domain = min(per_domain, max(1, size - 1))
        self._domains: dict[str, tuple[asyncio.Semaphore, int]] = {}  # bound, users
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []
        self._closed = False
        self.opened = 0  # connections opened over the pool's life (for metrics and tests)

    @property
    def idle(self) -> int:
        """How many connected clients wait for reuse."""
        return len(self._idle)

    @asynccontextmanager
    async def connection(self, domain: str = "") -> AsyncIterator[aiosmtplib.SMTP]:
        """A connected client for one transaction to ``domain``; returned if it ends cleanly.

        The domain's own bound is taken first, so mail waiting for a busy domain holds
        no connection. Any exception from the body closes the connection: after a failed
        transaction the session state is unknown, and a fresh connection is cheaper than
        a wrong one.
        """
        async with self._domain(domain.lower()), self._slots:
            if self._closed:
                raise PoolClosed("the SMTP pool is closed")
            client = await self._take()
            try:
                yield client
            except BaseException:
                await _quietly_close(client)
                raise
            if self._closed or not client.is_connected:
                await _quietly_close(client)
            else:
                self._idle.append((client, time.monotonic()))

    @asynccontextmanager
    async def _domain(self, domain: str) -> AsyncIterator[None]:
        entry = self._domains.get(domain)
        limit = entry[0] if entry is not None else asyncio.Semaphore(self._per_domain)
        self._domains[domain] = (limit, (entry[1] if entry is not None else 0) + 1)
        try:
            async with limit:
                yield
        finally:
            users = self._domains[domain][1]
            if users == 1:
                del self._domains[domain]  # a worker sees many domains: keep only busy ones
            else:
                self._domains[domain] = (limit, users - 1)

    async def _take(self) -> aiosmtplib.SMTP:
        while self._idle:
            client, since = self._idle.pop()
            if not client.is_connected:
                continue
            if time.monotonic() - since < IDLE_CHECK_SECONDS:
                return client
            try:
                await client.noop()
            except (aiosmtplib.SMTPException, OSError):
                await _quietly_close(client)
                continue
            return client
        client = self._connect()
        await client.connect()
        self.opened += 1
        return client

    async def close(self) -> None:
        """Say QUIT on every idle connection; safe to call more than once."""
        self._closed = True
        idle, self._idle = self._idle, []
        await asyncio.gather(*(_quit(client) for client, _ in idle))


async def _quit(client: aiosmtplib.SMTP) -> None:
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError):
        await _quietly_close(client)


async def _quietly_close(client: aiosmtplib.SMTP) -> None:
    with suppress(Exception):
        client.close()
    await asyncio.sleep(0)
