"""A real SMTP server (aiosmtpd) for the email channel, with answers set per recipient."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from channels.email import EmailChannel
from gateway.config import Settings, load_settings

DROP = "drop"


@dataclass
class Received:
    """One mail as the server stored it."""

    sender: str
    recipients: list[str]
    raw: bytes

    def parsed(self) -> EmailMessage:
        message = BytesParser(policy=policy.default).parsebytes(self.raw)
        assert isinstance(message, EmailMessage)
        return message


@dataclass
class SmtpHandler:
    """Stores mail; answers RCPT with a configured code, or drops the connection in DATA."""

    rcpt_answers: dict[str, str] = field(default_factory=dict)
    data_answers: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        answer = self.rcpt_answers.get(address)
        if answer is not None:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        for recipient in envelope.rcpt_tos:
            answer = self.data_answers.get(recipient)
            if answer == DROP:
                transport = server.transport
                assert isinstance(transport, asyncio.Transport)
                transport.abort()  # mid-DATA: the client waits for an answer in vain
                return "250 never seen"
            if answer is not None:
                return answer
        content = envelope.content
        assert isinstance(content, bytes)
        with self.lock:
            self.received.append(
                Received(str(envelope.mail_from), list(envelope.rcpt_tos), content)
            )
        return "250 OK queued"


class CountingController(Controller):
    """An aiosmtpd controller that counts the connections it accepted."""

    connections = 0

    def factory(self) -> SMTP:
        self.connections += 1
        return super().factory()  # type: ignore[no-any-return,no-untyped-call]


@dataclass
class SmtpServer:
    """The running server, its handler, and how to reach it."""

    host: str
    port: int
    handler: SmtpHandler
    controller: CountingController

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    @property
    def connections(self) -> int:
        return self.controller.connections

    def answer_rcpt(self, address: str, answer: str) -> None:
        """Answer RCPT TO for ``address`` with ``answer`` (e.g. ``550 5.1.1 unknown``)."""
        self.handler.rcpt_answers[address] = answer

    def answer_data(self, address: str, answer: str) -> None:
        """Answer DATA for mail to ``address`` with ``answer``, or ``DROP`` the connection."""
        self.handler.data_answers[address] = answer

    def settings(self, tmp_path: Path, **extra: str) -> Settings:
        environ = {
            "BUDSTIKKE_DATA_DIR": str(tmp_path),
            "BUDSTIKKE_SMTP_HOST": self.host,
            "BUDSTIKKE_SMTP_PORT": str(self.port),
            "BUDSTIKKE_SMTP_TLS": "none",
            "BUDSTIKKE_SMTP_FROM": "Budstikke <no-reply@skole.example.dk>",
            "BUDSTIKKE_SMTP_TIMEOUT_SECONDS": "5",
        }
        environ.update({f"BUDSTIKKE_{key.upper()}": value for key, value in extra.items()})
        return load_settings(environ)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1 and a free port, stopped after the test."""
    handler = SmtpHandler()
    port = _free_port()
    controller = CountingController(handler, hostname="127.0.0.1", port=port)
    controller.start()
    controller.connections = 0  # start() makes one trial connection of its own
    try:
        yield SmtpServer("127.0.0.1", port, handler, controller)
    finally:
        controller.stop()


@pytest.fixture
async def email_channel(smtp_server: SmtpServer, tmp_path: Path) -> AsyncIterator[EmailChannel]:
    """An email channel talking to ``smtp_server`` with a pool of 2 connections."""
    channel = EmailChannel(smtp_server.settings(tmp_path, smtp_pool_size="2"))
    try:
        yield channel
    finally:
        await channel.close()
