"""Server processes for ``peer_synapse.py``: start, wait until ready, wait until idle, stop."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

TICKS = os.sysconf("SC_CLK_TCK")
# A round that has not reached every member by then has lost one: fail, do not hang.
ROUND_TIMEOUT = 300.0


def free_port() -> int:
    """A loopback port nobody holds now (the kernel picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    """One server process, its output in a file; stopped with SIGTERM, then SIGKILL."""

    name: str
    process: subprocess.Popen[bytes]
    output: IO[bytes]
    log: Path

    @classmethod
    def start(
        cls,
        name: str,
        command: list[str],
        *,
        cwd: Path,
        log: Path,
        env: dict[str, str] | None = None,
    ) -> Server:
        output = log.open("wb")
        process = subprocess.Popen(  # noqa: S603
            command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT
        )
        return cls(name, process, output, log)

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_http(self, url: str, *, timeout: float) -> None:
        """Until ``url`` answers at all; SystemExit with the log's tail if the process died."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name} exited ({self.process.returncode}):\n{self.tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback
                    return
            except urllib.error.HTTPError:
                return  # it answered
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"{self.name} did not answer {url} in {timeout:.0f} s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.output.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (its threads included)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def wait_idle(pid: int, *, quiet: float = 0.5, most: float = 60.0) -> float:
    """Wait until ``pid`` used no more than 2 % CPU for ``quiet`` seconds; seconds waited.

    This is how the benchmark knows every long-poll or stream is parked in the server
    before it sends: the server has nothing left to do for them.
    """
    started = time.monotonic()
    await asyncio.sleep(0.2)
    last = cpu_seconds(pid)
    while time.monotonic() - started < most:
        await asyncio.sleep(quiet)
        now = cpu_seconds(pid)
        if now - last <= 0.02 * quiet:
            break
        last = now
    return time.monotonic() - started
