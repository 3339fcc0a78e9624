"""Lean receivers for the delivery benchmarks: a push service and an SMTP sink, in own processes.

Both must cost far less than what they measure, so neither is the test suite's server
(aiohttp + a decrypt per push; aiosmtpd): each is a bare ``asyncio.Protocol`` on uvloop
(when installed) that parses just enough of HTTP/1.1 or SMTP, counts per subscription
path or per recipient, and answers at once. The push receiver decrypts every
``verify_every``-th push (RFC 8291, with the subscriber's private key) to prove the
encryption is real without paying a decrypt per push; every push must carry a VAPID
``Authorization`` and ``Content-Encoding: aes128gcm``. Each reports its own CPU time, so
a benchmark can show the receiver was not the bottleneck.

``start(kind, **options)`` spawns the sink and returns a :class:`Sink` handle; the
parent talks to it over a pipe (``stats``, ``reset``, ``stop``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import multiprocessing
import os
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

HTTP_201 = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\nLocation: /m\r\n\r\n"
HTTP_400 = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class _State:
    """What a sink counted since the last reset."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Start counting afresh (open connections keep this same object)."""
        self.counts: Counter[str] = Counter()
        self.bytes = 0
        self.refused: list[str] = []
        self.decrypted = 0
        self.connections = 0
        self.samples: dict[str, bytes] = {}  # SMTP: one raw message per recipient
        self.cpu_start = time.process_time()
        self.first: float | None = None
        self.last: float | None = None

    def seen(self, key: str, size: int) -> None:
        self.counts[key] += 1
        self.bytes += size
        now = time.monotonic()
        if self.first is None:
            self.first = now
        self.last = now

    def report(self) -> dict[str, Any]:
        return {
            "counts": dict(self.counts),
            "total": sum(self.counts.values()),
            "bytes": self.bytes,
            "refused": self.refused[:20],
            "refused_total": len(self.refused),
            "decrypted": self.decrypted,
            "connections": self.connections,
            "cpu_s": time.process_time() - self.cpu_start,
            "busy_s": (self.last - self.first) if self.first and self.last else 0.0,
        }


class _PushProtocol(asyncio.Protocol):
    """HTTP/1.1 keep-alive: ``POST /push/<name>`` with a body → 201."""

    def __init__(self, state: _State, keys: dict[str, tuple[Any, bytes]], every: int) -> None:
        self._state = state
        self._keys = keys
        self._every = every
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment] - uvloop's is no subclass
        self._state.connections += 1

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self._buffer[:end]).decode("latin-1").split("\r\n")
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if len(self._buffer) < end + 4 + length:
                return
            body = bytes(self._buffer[end + 4 : end + 4 + length])
            del self._buffer[: end + 4 + length]
            self._transport.write(self._handle(head[0], headers, body))

    def _handle(self, request_line: str, headers: dict[str, str], body: bytes) -> bytes:
        state = self._state
        path = request_line.split(" ")[1] if " " in request_line else ""
        if not headers.get("authorization", "").startswith("vapid t="):
            state.refused.append(f"{path}: no VAPID authorization")
            return HTTP_400
        if headers.get("content-encoding") != "aes128gcm" or not body:
            state.refused.append(f"{path}: not an aes128gcm body")
            return HTTP_400
        state.seen(path, len(body))
        if self._every and state.counts.total() % self._every == 1 % self._every:
            self._decrypt(path, body)
        return HTTP_201

    def _decrypt(self, path: str, body: bytes) -> None:
        import http_ece  # noqa: PLC0415 - only in the receiver process

        found = self._keys.get(path)
        if found is None:
            self._state.refused.append(f"{path}: unknown subscription")
            return
        try:
            plain = http_ece.decrypt(
                body, private_key=found[0], auth_secret=found[1], version="aes128gcm"
            )
            json.loads(plain)
        except Exception as exc:
            self._state.refused.append(f"{path}: decrypt failed ({type(exc).__name__})")
            return
        self._state.decrypted += 1


class _SmtpProtocol(asyncio.Protocol):
    """Enough ESMTP for a client sending mail: EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT."""

    def __init__(self, state: _State, keep_samples: bool) -> None:
        self._state = state
        self._keep = keep_samples
        self._buffer = bytearray()
        self._in_data = False
        self._recipients: list[str] = []
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment] - uvloop's is no subclass
        self._state.connections += 1
        transport.write(b"220 sink ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        assert self._transport is not None
        while True:
            if self._in_data:
                end = self._buffer.find(b"\r\n.\r\n")
                if end < 0:
                    return
                raw = bytes(self._buffer[: end + 2])
                del self._buffer[: end + 5]
                self._in_data = False
                for recipient in self._recipients:
                    self._state.seen(recipient, len(raw))
                    if self._keep and recipient not in self._state.samples:
                        self._state.samples[recipient] = raw.replace(b"\r\n..", b"\r\n.")
                self._recipients = []
                self._transport.write(b"250 2.0.0 queued\r\n")
                continue
            end = self._buffer.find(b"\r\n")
            if end < 0:
                return
            line = bytes(self._buffer[:end]).decode("latin-1")
            del self._buffer[: end + 2]
            self._transport.write(self._command(line))

    def _command(self, line: str) -> bytes:
        verb = line[:4].upper()
        if verb in {"EHLO", "HELO"}:
            return b"250-sink\r\n250-8BITMIME\r\n250 SIZE 33554432\r\n"
        if verb == "MAIL":
            self._recipients = []
            return b"250 2.1.0 ok\r\n"
        if verb == "RCPT":
            address = line.partition(":")[2].strip().split(" ")[0].strip("<>")
            self._recipients.append(address)
            return b"250 2.1.5 ok\r\n"
        if verb == "DATA":
            self._in_data = True
            return b"354 go ahead\r\n"
        if verb == "QUIT":
            assert self._transport is not None
            self._transport.write(b"221 bye\r\n")
            self._transport.close()
            return b""
        if verb in {"RSET", "NOOP"}:
            self._recipients = []
            return b"250 ok\r\n"
        return b"502 not implemented\r\n"


def _load_keys(path: str | None) -> dict[str, tuple[Any, bytes]]:
    """``{path: (private key, auth secret)}`` from the JSON the benchmark wrote."""
    if not path:
        return {}
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415

    found = {}
    for sub_path, (scalar, auth) in json.loads(Path(path).read_text("utf-8")).items():
        key = ec.derive_private_key(int.from_bytes(_unb64(scalar), "big"), ec.SECP256R1())
        found[sub_path] = (key, _unb64(auth))
    return found


async def _serve(kind: str, options: dict[str, Any], control: Connection) -> None:
    loop = asyncio.get_running_loop()
    state = _State()
    if kind == "push":
        keys = _load_keys(options.get("keys_file"))
        every = int(options.get("verify_every", 10))

        def factory() -> asyncio.Protocol:
            return _PushProtocol(state, keys, every)
    else:
        keep = bool(options.get("keep_samples", False))

        def factory() -> asyncio.Protocol:
            return _SmtpProtocol(state, keep)

    server = await loop.create_server(factory, "127.0.0.1", 0, backlog=1024)
    control.send(server.sockets[0].getsockname()[1])
    stopped = loop.create_future()

    def command() -> None:
        # The loop made the pipe non-blocking; a large answer must not fail half-way.
        os.set_blocking(control.fileno(), True)
        order = control.recv()
        if order == "stats":
            control.send(state.report())
        elif order == "samples":
            control.send(state.samples)
        elif order == "reset":
            state.reset()
            control.send(True)
        elif order == "stop" and not stopped.done():
            stopped.set_result(None)

    loop.add_reader(control.fileno(), command)
    await stopped
    server.close()


def _main(kind: str, options: dict[str, Any], control: Connection) -> None:
    with contextlib.suppress(ImportError):
        import uvloop  # noqa: PLC0415

        uvloop.install()
    asyncio.run(_serve(kind, options, control))


@dataclass
class Sink:
    """The parent's handle on a running sink process."""

    kind: str
    port: int
    process: Any
    control: Connection

    def stats(self) -> dict[str, Any]:
        self.control.send("stats")
        found: dict[str, Any] = self.control.recv()
        return found

    def samples(self) -> dict[str, bytes]:
        self.control.send("samples")
        found: dict[str, bytes] = self.control.recv()
        return found

    def reset(self) -> None:
        self.control.send("reset")
        self.control.recv()

    def stop(self) -> None:
        if self.process.is_alive():
            with contextlib.suppress(OSError):
                self.control.send("stop")
            self.process.join(5)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()


def start(kind: str, **options: Any) -> Sink:
    """Spawn a ``push`` receiver or an ``smtp`` sink on a free loopback port."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_main, args=(kind, options, child), daemon=True)
    process.start()
    child.close()
    if not parent.poll(30):
        process.kill()
        raise SystemExit(f"the {kind} sink did not start")
    return Sink(kind, int(parent.recv()), process, parent)
