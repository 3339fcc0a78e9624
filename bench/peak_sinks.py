"""The morning peak's receivers: a counting SMTP sink and a lean web push receiver.

Both run in one child process (its own event loop, so receiving does not stall the
load generator's timing) and record only the receive time and what identifies the item:

- SMTP: a minimal ESMTP server (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; no TLS, no
  auth) that answers ``250`` to everything and keeps, per mail, ``time.time()`` at the
  final ``.`` and the ``Message-ID`` header (the gateway's is ``<delivery id@domain>``).
  aiosmtpd would do, but spends far more per mail on the two cores it shares.
- Web push: an aiohttp app taking ``POST /push/<n>`` with ``201`` and keeping the time,
  ``n`` and the encrypted body. Decrypting (RFC 8291, the subscriber's private key) is
  left to :func:`decrypt` after the run, for the same reason; it checks no VAPID header
  (tests/channels/push_service.py does, and the push benchmark measures that path).

``start()`` spawns the process and returns its ports; ``stop()`` returns the records.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import re
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import http_ece
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec

_END_OF_DATA = b"\r\n.\r\n"
_MESSAGE_ID = re.compile(rb"^message-id:\s*<([^>]+)>", re.IGNORECASE | re.MULTILINE)
_EHLO = b"250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 33554432\r\n"


class _SmtpSession(asyncio.Protocol):
    """One SMTP connection: commands line by line, then the data up to ``.``."""

    def __init__(self, mails: list[tuple[float, str]]) -> None:
        self._mails = mails
        self._buffer = b""
        self._in_data = False
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        transport.write(b"220 sink ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while self._transport is not None:
            if self._in_data:
                # The data starts right after DATA's line, so its end is "\r\n.\r\n" or a
                # lone ".\r\n" when the mail is empty; the gateway's never are.
                end = self._buffer.find(_END_OF_DATA)
                if end < 0:
                    return
                self._mail(self._buffer[:end])
                self._buffer = self._buffer[end + len(_END_OF_DATA) :]
                self._in_data = False
                self._transport.write(b"250 OK queued\r\n")
                continue
            line, found, rest = self._buffer.partition(b"\r\n")
            if not found:
                return
            self._buffer = rest
            self._command(line[:4].upper())

    def _command(self, verb: bytes) -> None:
        assert self._transport is not None
        if verb == b"EHLO":
            self._transport.write(_EHLO)
        elif verb == b"DATA":
            self._in_data = True
            self._transport.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
        elif verb == b"QUIT":
            self._transport.write(b"221 Bye\r\n")
            self._transport.close()
            self._transport = None
        else:  # HELO, MAIL, RCPT, RSET, NOOP: all fine
            self._transport.write(b"250 OK\r\n")

    def _mail(self, data: bytes) -> None:
        headers = data.split(b"\r\n\r\n", 1)[0]
        found = _MESSAGE_ID.search(headers)
        self._mails.append((time.time(), found.group(1).decode() if found else ""))


@dataclass
class Records:
    """What the receivers took in: ``(time, Message-ID key)`` and ``(time, n, body)``."""

    mails: list[tuple[float, str]]
    pushes: list[tuple[float, int, bytes]]


async def _serve(control: Connection) -> None:
    loop = asyncio.get_running_loop()
    mails: list[tuple[float, str]] = []
    pushes: list[tuple[float, int, bytes]] = []

    async def push(request: web.Request) -> web.Response:
        body = await request.read()
        pushes.append((time.time(), int(request.match_info["n"]), body))
        return web.Response(status=201)

    smtp = await loop.create_server(lambda: _SmtpSession(mails), "127.0.0.1", 0)
    app = web.Application(client_max_size=8192)
    app.router.add_post("/push/{n:\\d+}", push)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    push_port = runner.addresses[0][1]
    control.send((smtp.sockets[0].getsockname()[1], push_port))
    await loop.run_in_executor(None, control.recv)  # until told to stop
    smtp.close()
    await runner.cleanup()
    control.send(Records(mails, pushes))


def _main(control: Connection) -> None:
    asyncio.run(_serve(control))


class Sinks:
    """The receivers' process: ``smtp_port``, ``push_origin``; ``stop()`` for the records."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._control, child = context.Pipe()
        self._process = context.Process(target=_main, args=(child,), daemon=True)
        self._process.start()
        self.pid: int | None = self._process.pid
        self.smtp_port, push_port = self._control.recv()
        self.push_origin = f"http://127.0.0.1:{push_port}"

    def stop(self) -> Records:
        self._control.send("stop")
        records: Records = self._control.recv()
        self._process.join(10)
        return records

    def kill(self) -> None:
        """On an error path: no records, just no process left behind."""
        with contextlib.suppress(Exception):
            self._process.kill()


def decrypt(body: bytes, private_key: ec.EllipticCurvePrivateKey, auth: bytes) -> dict[str, Any]:
    """The JSON payload of one aes128gcm push message (RFC 8291)."""
    plain = http_ece.decrypt(body, private_key=private_key, auth_secret=auth, version="aes128gcm")
    payload: dict[str, Any] = json.loads(plain)
    return payload
