"""The email channel through the shared channel contract, against a real SMTP server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from channels.base import Envelope
from channels.email import EmailChannel
from gateway.config import load_settings
from tests.channels.conftest import SmtpServer
from tests.channels.contract import ChannelContract, Harness, new_id

UNKNOWN = "ukendt@skole.example.dk"


class TestEmailContract(ChannelContract):
    @pytest.fixture
    async def harness(self, smtp_server: SmtpServer, tmp_path: Path) -> AsyncIterator[Harness]:
        smtp_server.answer_rcpt(UNKNOWN, "550 5.1.1 no such user")
        channel = EmailChannel(smtp_server.settings(tmp_path))
        unconfigured = EmailChannel(load_settings({"BUDSTIKKE_DATA_DIR": str(tmp_path)}))

        def envelope(index: int, address: str) -> Envelope:
            return Envelope(
                delivery_id=new_id(),
                address=address,
                subject=f"Besked {index}",
                text="Der er en ny besked.",
                html="<p>Der er en ny besked.</p>",
            )

        yield Harness(
            channel=channel,
            unconfigured=unconfigured,
            good=lambda i: envelope(i, f"forælder{i}@example.dk".replace("æ", "ae")),
            bad=lambda i: envelope(i, UNKNOWN),
            malformed=lambda i: envelope(i, "ikke en adresse\r\nBcc: x@example.dk"),
        )
        await channel.close()
        await unconfigured.close()
