"""The inbound SMTP listener needs no login, so it counts mails per remote address."""

from __future__ import annotations

import uuid

from gateway.inbound_server import MAILS_PER_MINUTE, PeerLimiter
from tests.integration import inbound_mail
from tests.integration.inbound_mail import Inbound

world = inbound_mail.world  # the fixtures
inbound = inbound_mail.inbound


async def test_one_address_over_the_limit_is_told_to_slow_down(inbound: Inbound) -> None:
    sender = "parent@example.net"
    target = [inbound.reply_address(uuid.uuid4())]
    answers = [await inbound.send(sender, target, None) for _ in range(MAILS_PER_MINUTE + 1)]
    assert {a.stage for a in answers[:MAILS_PER_MINUTE]} <= {"rcpt", "data"}
    over = answers[-1]
    assert (over.code, over.stage) == (450, "mail")
    assert "mails a minute" in over.message


def test_the_limit_is_per_address_and_a_sliding_minute() -> None:
    limiter = PeerLimiter(per_minute=2)
    assert limiter.allow("192.0.2.1", 0.0) and limiter.allow("192.0.2.1", 1.0)
    assert not limiter.allow("192.0.2.1", 2.0)
    assert limiter.allow("198.51.100.7", 2.0)  # another address has its own count
    assert not limiter.allow("192.0.2.1", 59.9)
    assert limiter.allow("192.0.2.1", 60.0)  # the first mail is a minute old now
