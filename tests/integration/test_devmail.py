"""The development mail catcher and ``/dev/mail``: caught mail is readable, and answerable."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiosmtplib
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.devmail import MailStore, ThreadedCatcher
from tests.integration.inbound_mail import ENV, MAIL_DOMAIN, Inbound
from tests.integration.messaging_world import World, make_world


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Dev:
    inbound: Inbound
    catcher_port: int
    store: MailStore

    @property
    def world(self) -> World:
        return self.inbound.world

    async def catch(self, message: EmailMessage) -> None:
        await aiosmtplib.send(
            message, hostname="127.0.0.1", port=self.catcher_port, start_tls=False, timeout=10
        )


async def _inbound_process(w: World, port: int) -> subprocess.Popen[bytes]:
    """``budstikke inbound-smtp`` as its own process (the test client blocks this loop)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUDSTIKKE_")}
    env.update(
        BUDSTIKKE_DATA_DIR=str(w.settings.data_dir),  # the same secret.key signs the tokens
        BUDSTIKKE_DATABASE_URL=w.settings.database_url,
        BUDSTIKKE_REDIS_URL=w.settings.redis_url or "",
        BUDSTIKKE_MAIL_DOMAIN=MAIL_DOMAIN,
        BUDSTIKKE_INBOUND_SMTP_PORT=str(port),
        BUDSTIKKE_LOG_FORMAT="json",
    )
    process = subprocess.Popen(  # noqa: ASYNC220 - started once, not awaited on
        [sys.executable, "-m", "gateway", "inbound-smtp"], env=env, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "budstikke inbound-smtp stopped"
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process
        await asyncio.sleep(0.2)
    process.kill()
    raise AssertionError("budstikke inbound-smtp did not listen within 60 s")


@pytest.fixture
async def dev(
    tmp_path: Path, database_url: str, redis_url: str, make_settings: Any, engine: AsyncEngine
) -> AsyncIterator[Dev]:
    """A demo world with /dev/mail on, its catcher, and the inbound listener its form uses."""
    port = _free_port()
    env = {**ENV, "dev_mail": "true", "inbound_smtp_port": str(port)}
    async for w in make_world(tmp_path, database_url, redis_url, make_settings, engine, **env):
        store = MailStore.of(w.settings)
        catcher = ThreadedCatcher(store)
        catcher_port = catcher.start()
        listener = await _inbound_process(w, port)
        try:
            yield Dev(Inbound(w, port), catcher_port, store)
        finally:
            catcher.stop()
            listener.send_signal(signal.SIGTERM)
            assert listener.wait(timeout=20) == 0  # SIGTERM is a clean stop


def _notice(*, to: str, reply_to: str | None, message_id: str, html: str) -> EmailMessage:
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = f"Budstikke <no-reply@{MAIL_DOMAIN}>"
    message["To"] = to
    message["Subject"] = "Ny besked: Tur i skoven"
    message["Date"] = "Thu, 03 Dec 2026 10:00:00 +0000"
    message["Message-ID"] = message_id
    if reply_to:
        message["Reply-To"] = reply_to
    message.set_content("Husk madpakke og regntøj.\nLæs den i portalen.")
    message.add_alternative(html, subtype="html")
    return message


async def test_caught_mail_is_listed_and_shown_with_its_html_sandboxed(dev: Dev) -> None:
    hostile = '<p>Hej "forælder"</p><script>alert(1)</script><img src=x onerror=alert(2)>'
    await dev.catch(
        _notice(
            to="anna@example.net", reply_to=None, message_id="<n1@skole.example.dk>", html=hostile
        )
    )
    client = dev.world.client

    listing = (await client.get("/dev/mail.json")).json()["items"]
    assert [(m["subject"], m["to"]) for m in listing] == [
        ("Ny besked: Tur i skoven", "anna@example.net")
    ]
    assert listing[0]["sender"] == f"Budstikke <no-reply@{MAIL_DOMAIN}>"
    index = await client.get("/dev/mail")
    assert index.status_code == 200 and f'href="/dev/mail/{listing[0]["id"]}"' in index.text

    page = await client.get(f"/dev/mail/{listing[0]['id']}")
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "Husk madpakke og regntøj." in page.text  # the text part
    assert "<dt>Message-ID</dt><dd>&lt;n1@skole.example.dk&gt;</dd>" in page.text
    # The HTML part only inside a sandboxed srcdoc, escaped: no live script in the page.
    assert "<iframe sandbox " in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script" not in page.text and "<img" not in page.text
    assert "<form" not in page.text  # no Reply-To: nothing to answer


async def test_the_reply_form_answers_through_the_inbound_listener(dev: Dev) -> None:
    w = dev.world
    sent = await w.send_to_class()
    guardian = await dev.inbound.recipient(sent["thread_id"])
    delivery_id = await dev.inbound.delivery(sent, guardian)
    await dev.catch(
        _notice(
            to=guardian.address,
            reply_to=dev.inbound.reply_address(delivery_id),
            message_id=f"<{delivery_id}@{MAIL_DOMAIN}>",
            html="<p>Husk madpakke</p>",
        )
    )
    [caught] = (await w.client.get("/dev/mail.json")).json()["items"]
    page = await w.client.get(f"/dev/mail/{caught['id']}")
    assert f'action="/dev/mail/{caught["id"]}/reply"' in page.text

    posted = await w.client.post(
        f"/dev/mail/{caught['id']}/reply",
        data={"body": "Vi kommer begge to."},
        follow_redirects=False,
    )

    assert posted.status_code == 303, posted.text
    target = urlsplit(posted.headers["location"])
    assert target.path == f"/dev/mail/{caught['id']}"
    assert parse_qs(target.query)["note"][0].startswith(
        "Reply sent; the inbound listener answered 250"
    )
    detail = (await w.get(f"/v1/inbox/threads/{sent['thread_id']}", guardian.source_id)).json()
    mine = [m for m in detail["messages"] if m["author"]["id"] == str(guardian.person_id)]
    # The quoted original the form added below the text was cut again by the listener.
    assert [m["body"] for m in mine] == ["Vi kommer begge to."]
    shown = await w.client.get(posted.headers["location"])
    assert "the inbound listener answered 250" in shown.text


async def test_a_refused_reply_is_shown_and_a_foreign_post_is_refused(dev: Dev) -> None:
    w = dev.world
    sent = await w.send_to_class(sensitive=True)
    guardian = await dev.inbound.recipient(sent["thread_id"])
    delivery_id = await dev.inbound.delivery(sent, guardian)
    await dev.catch(
        _notice(
            to=guardian.address,
            reply_to=dev.inbound.reply_address(delivery_id),
            message_id=f"<{delivery_id}@{MAIL_DOMAIN}>",
            html="<p>Følsom besked</p>",
        )
    )
    [caught] = (await w.client.get("/dev/mail.json")).json()["items"]

    refused = await w.client.post(
        f"/dev/mail/{caught['id']}/reply", data={"body": "Ok"}, follow_redirects=False
    )
    note = parse_qs(urlsplit(refused.headers["location"]).query)["note"][0]
    assert "answered 550 5.7.1 this thread is sensitive" in note

    foreign = await w.client.post(
        f"/dev/mail/{caught['id']}/reply",
        data={"body": "Ok"},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    assert (await w.client.get("/dev/mail/00000000000000000000-00000000")).status_code == 404
    assert (await w.client.get("/dev/mail/..%2F..%2Fsecret.key")).status_code == 404


async def test_only_the_newest_mails_are_kept(tmp_path: Path) -> None:
    store = MailStore(tmp_path / "dev-mail", keep=3)
    ids = [
        store.save(f"Subject: {n}\r\n\r\nx".encode(), mail_from="a@b", rcpt_tos=["c@d"])
        for n in range(5)
    ]
    assert store.ids() == ids[:1:-1]
    assert [m.subject for m in store.summaries()] == ["4", "3", "2"]


async def test_the_routes_do_not_exist_without_dev_mail(
    client: AsyncTestClient[Litestar],
) -> None:
    for path in ("/dev/mail", "/dev/mail.json", "/dev/mail/00000000000000000000-00000000"):
        assert (await client.get(path)).status_code == 404
    assert (await client.post("/dev/mail/x/reply", data={"body": "x"})).status_code in (404, 405)
