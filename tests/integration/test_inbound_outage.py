"""With the database down, the listener answers 451: the sending server keeps the mail."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from gateway.auth.links import LinkSigner, Purpose, secret_key
from gateway.db import create_engine, session_factory
from gateway.inbound_server import listening
from tests import dsn_samples
from tests.integration.inbound_mail import ENV, MAIL_DOMAIN, transact


async def test_a_database_outage_defers_mail_with_451(make_settings: Any) -> None:
    # Nothing listens on port 1: every connection attempt is refused at once.
    settings = make_settings(database_url="postgresql+asyncpg://postgres@127.0.0.1:1/none", **ENV)
    engine = create_engine(settings.database_url)
    token = LinkSigner(secret_key(settings)).issue_ids(
        Purpose.REPLY, (uuid.uuid4(),), dt.date.today() + dt.timedelta(days=5)
    )
    try:
        async with listening(settings, session_factory(engine), host="127.0.0.1", port=0) as server:
            port = server.sockets[0].getsockname()[1]
            reply = await transact(port, "anna@example.net", [f"r-{token}@{MAIL_DOMAIN}"])
            report = dsn_samples.postfix(f"<{uuid.uuid4()}@{MAIL_DOMAIN}>")
            bounce = await transact(port, "", [f"no-reply@{MAIL_DOMAIN}"], report)
    finally:
        await engine.dispose()

    assert (reply.code, reply.stage) == (451, "rcpt")
    assert reply.message.startswith("4.3.0")
    assert (bounce.code, bounce.stage) == (451, "data")
