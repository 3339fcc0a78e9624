"""The web push channel through the shared channel contract, against a local push service."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from channels.base import Envelope
from channels.webpush import WebPushChannel
from gateway.config import load_settings
from tests.channels.contract import ChannelContract, Harness, new_id
from tests.channels.push_service import PushService
from tests.channels.test_webpush import envelope, push_settings


class TestWebPushContract(ChannelContract):
    @pytest.fixture
    async def harness(self) -> AsyncIterator[Harness]:
        service = PushService()
        await service.start()
        gone = service.subscribe("gone")
        service.answer(gone, 410)
        channel = WebPushChannel(push_settings())
        unconfigured = WebPushChannel(load_settings({}))

        def good(index: int) -> Envelope:
            return envelope(service.subscribe(f"s{index}-{new_id().hex[:8]}"))

        def bad(index: int) -> Envelope:
            return envelope(gone, {"n": index})

        def malformed(index: int) -> Envelope:
            # No encryption keys: the channel can never send it.
            return Envelope(
                delivery_id=new_id(),
                address=f"{service.origin}/push/m{index}",
                subject="",
                text="{}",
            )

        yield Harness(
            channel=channel, unconfigured=unconfigured, good=good, bad=bad, malformed=malformed
        )
        await channel.close()
        await unconfigured.close()
        await service.stop()
