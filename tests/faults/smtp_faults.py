"""An aiosmtpd server that can be told to misbehave, per recipient, per domain or for all.

Faults are keyed by a full address, ``@domain`` or ``*`` (the most specific wins):

- an SMTP answer at ``RCPT`` or at ``DATA`` (``421 4.7.0 …``, ``451 4.3.0 …``, ``550 5.1.1 …``);
- ``DROP``: abort the connection in the middle of ``DATA``, before the mail is stored;
- ``LOST_REPLY``: store the mail, then abort before the ``250`` reaches the client — the
  one way a correct client sends a mail twice;
- ``hold``: keep ``RCPT`` waiting until :meth:`FaultySmtp.release` (a slow server).

It counts every ``RCPT`` it saw per address (``attempts``), so a test can say how many
times the gateway tried, and what it stored (``received``), so it can count duplicates.
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.channels.conftest import Received, _free_port

DROP = "drop"
LOST_REPLY = "lost-reply"
HOLD_LIMIT_SECONDS = 60.0  # a held RCPT answers by itself after this, so nothing hangs


@dataclass
class Fault:
    answer: str  # an SMTP reply line, DROP or LOST_REPLY
    at: Literal["rcpt", "data"] = "rcpt"


@dataclass
class FaultyHandler:
    faults: dict[str, Fault] = field(default_factory=dict)
    held: set[str] = field(default_factory=set)  # keys whose RCPT waits for release
    released: threading.Event = field(default_factory=threading.Event)
    received: list[Received] = field(default_factory=list)
    attempts: collections.Counter[str] = field(default_factory=collections.Counter)
    waiting: int = 0  # RCPTs being held right now
    answered_after_hold: int = 0
    data_delay: float = 0.0  # seconds each DATA takes (a slow but working server)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _key(self, table: set[str] | dict[str, Any], address: str) -> str | None:
        for key in (address, "@" + address.rpartition("@")[2], "*"):
            if key in table:
                return key
        return None

    def fault(self, address: str, at: str) -> Fault | None:
        key = self._key(self.faults, address)
        found = self.faults.get(key) if key is not None else None
        return found if found is not None and found.at == at else None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        with self.lock:
            self.attempts[address] += 1
        if self._key(self.held, address) is not None and not self.released.is_set():
            self.waiting += 1
            deadline = time.monotonic() + HOLD_LIMIT_SECONDS
            try:
                # The test's thread sets a threading.Event, which this loop cannot await.
                while not self.released.is_set() and time.monotonic() < deadline:  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
            finally:
                self.waiting -= 1
                self.answered_after_hold += 1
        fault = self.fault(address, "rcpt")
        if fault is not None:
            return fault.answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        recipient = envelope.rcpt_tos[0]
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        fault = self.fault(recipient, "data")
        if fault is not None and fault.answer == DROP:
            _abort(server)  # mid-DATA: the client waits for an answer in vain
            return "250 never seen"
        if fault is not None and fault.answer != LOST_REPLY:
            return fault.answer
        content = envelope.content
        assert isinstance(content, bytes)
        with self.lock:
            self.received.append(
                Received(str(envelope.mail_from), list(envelope.rcpt_tos), content)
            )
        if fault is not None:  # LOST_REPLY: stored, but the client never hears so
            _abort(server)
            return "250 never seen"
        return "250 OK queued"


def _abort(server: SMTP) -> None:
    transport = server.transport
    assert isinstance(transport, asyncio.Transport)
    transport.abort()


@dataclass
class FaultySmtp:
    host: str
    port: int
    handler: FaultyHandler
    controller: Controller

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def fail(self, target: str, answer: str, *, at: Literal["rcpt", "data"] = "rcpt") -> None:
        """Answer ``target`` (address, ``@domain`` or ``*``) with ``answer`` from now on."""
        self.handler.faults[target] = Fault(answer, at)

    def hold(self, target: str) -> None:
        """Keep RCPT for ``target`` waiting until :meth:`release`."""
        self.handler.released.clear()
        self.handler.held.add(target)

    def release(self) -> None:
        self.handler.released.set()

    def heal(self) -> None:
        """Behave from now on: no faults, nothing held."""
        self.handler.faults.clear()
        self.handler.held.clear()
        self.release()

    def copies(self, address: str) -> int:
        """How many mails to ``address`` the server stored."""
        return sum(address in mail.recipients for mail in self.received)

    def message_ids(self, address: str) -> set[str]:
        return {
            str(mail.parsed()["Message-ID"]) for mail in self.received if address in mail.recipients
        }


@pytest.fixture
def faulty_smtp() -> Iterator[FaultySmtp]:
    handler = FaultyHandler()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield FaultySmtp("127.0.0.1", port, handler, controller)
    finally:
        handler.released.set()
        controller.stop()
