"""The morning peak's system under test: ``budstikke serve`` and ``budstikke worker``.

Both run as production runs them (the console scripts, one process each, in their own
session so a stuck one can be killed with its children), with settings that point
email and web push at the local receivers and let nothing wait: quiet hours are one
minute half a day away and working hours all week, so every notification takes the
instant path. Per-caller rate limits are at their most (60,000 a minute): the limiter
still runs, but one teacher's morning does not trip it.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from zoneinfo import ZoneInfo

from peak_sinks import Sinks

from channels.vapid import generate_key_pair

BIN = Path(sys.executable).parent
MAIL_DOMAIN = "skole.example.dk"


def environ_for(work: Path, database_url: str, redis_url: str, sinks: Sinks) -> dict[str, str]:
    """The API's and the worker's settings: both channels local, nothing waits."""
    zone = ZoneInfo("Europe/Copenhagen")
    quiet = dt.datetime.now(zone) + dt.timedelta(hours=12)
    return {
        "BUDSTIKKE_DATA_DIR": str(work / "data"),
        "BUDSTIKKE_DATABASE_URL": database_url,
        "BUDSTIKKE_REDIS_URL": redis_url,
        "BUDSTIKKE_QUEUE_NAME": f"arq:peak:{os.getpid()}",
        "BUDSTIKKE_DEMO": "true",  # the gateway signs (and verifies) its own dev tokens
        "BUDSTIKKE_SMTP_HOST": "127.0.0.1",
        "BUDSTIKKE_SMTP_PORT": str(sinks.smtp_port),
        "BUDSTIKKE_SMTP_TLS": "none",
        "BUDSTIKKE_SMTP_FROM": f"Skolen <no-reply@{MAIL_DOMAIN}>",
        "BUDSTIKKE_MAIL_DOMAIN": MAIL_DOMAIN,
        "BUDSTIKKE_VAPID_PRIVATE_KEY": generate_key_pair().private_b64,
        "BUDSTIKKE_VAPID_SUBJECT": f"mailto:drift@{MAIL_DOMAIN}",
        "BUDSTIKKE_QUIET_HOURS": f"{quiet:%H:%M}-{quiet + dt.timedelta(minutes=1):%H:%M}",
        "BUDSTIKKE_WORKING_HOURS": "mon-sun 00:00-23:59",
        "BUDSTIKKE_RATE_LIMIT_PER_MINUTE": "60000",
        "BUDSTIKKE_RATE_LIMIT_WRITES_PER_MINUTE": "60000",
        "BUDSTIKKE_LOG_LEVEL": "warning",
    }


class Processes:
    """``budstikke serve`` and ``budstikke worker`` as production runs them."""

    def __init__(self, work: Path, environ: dict[str, str]) -> None:
        base = {k: v for k, v in os.environ.items() if not k.startswith("BUDSTIKKE_")}
        self.port = _free_port()
        self._env = {
            **base,
            **environ,
            "BUDSTIKKE_HOST": "127.0.0.1",
            "BUDSTIKKE_PORT": str(self.port),
        }
        self._work = work
        self.children: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        for name in ("serve", "worker"):
            log = (self._work / f"{name}.log").open("wb")
            self.children[name] = subprocess.Popen(  # noqa: S603
                [str(BIN / "budstikke"), name],
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            self.check()
            try:
                with urllib.request.urlopen(self.base_url + "/readyz", timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise SystemExit(f"the API did not get ready; see {self._work / 'serve.log'}")

    def check(self) -> None:
        for name, child in self.children.items():
            if child.poll() is not None:
                log = (self._work / f"{name}.log").read_text(errors="replace")[-3000:]
                raise SystemExit(f"`budstikke {name}` stopped (exit {child.returncode}):\n{log}")

    def stop(self) -> None:
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        for child in self.children.values():
            try:
                child.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
