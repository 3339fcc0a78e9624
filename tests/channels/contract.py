"""The contract every channel adapter passes, whatever it delivers over.

To run a channel through it, subclass :class:`ChannelContract` in a ``test_*.py`` module
and give it one fixture, ``harness``, returning a :class:`Harness`::

    class TestWebPushContract(ChannelContract):
        @pytest.fixture
        async def harness(self, push_service) -> AsyncIterator[Harness]:
            channel = WebPushChannel(push_service.settings())
            yield Harness(channel=channel, unconfigured=WebPushChannel(bare_settings),
                          good=push_service.envelope, bad=push_service.gone_envelope,
                          malformed=lambda i: Envelope(..., address="not a url"))
            await channel.close()

``good(i)`` must build an envelope the (real, local) service accepts; ``bad(i)`` one the
service refuses for its recipient (unknown mailbox, subscription gone); ``malformed(i)``
one whose address or headers can never be sent. Each call must return a new delivery id.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import msgspec
import pytest

from channels.base import Channel, Delivered, Envelope, Outcome, Rejected, Retry

Make = Callable[[int], Envelope]


@dataclass
class Harness:
    """A configured channel wired to a live local service, and how to make envelopes."""

    channel: Channel
    unconfigured: Channel
    good: Make
    bad: Make
    malformed: Make


# Each letter is one envelope: g(ood), b(ad recipient), m(alformed).
PATTERNS = ["g", "b", "m", "gbg", "bgb", "mgm", "gggg", "bbbb", "gbmgbm"]


def _batch(harness: Harness, pattern: str) -> list[Envelope]:
    makers = {"g": harness.good, "b": harness.bad, "m": harness.malformed}
    return [makers[kind](index) for index, kind in enumerate(pattern)]


def _expected(kind: str, outcome: Outcome) -> bool:
    if kind == "g":
        return isinstance(outcome, Delivered)
    if kind == "b":
        return isinstance(outcome, Rejected | Retry)
    return isinstance(outcome, Rejected)


class ChannelContract:
    """Cases every channel must pass; subclasses provide the ``harness`` fixture."""

    @pytest.mark.parametrize("pattern", PATTERNS)
    async def test_one_outcome_per_envelope_in_order(self, harness: Harness, pattern: str) -> None:
        batch = _batch(harness, pattern)
        outcomes = await harness.channel.send(batch)
        assert [o.delivery_id for o in outcomes] == [e.delivery_id for e in batch]
        wrong = [
            (kind, outcome)
            for kind, outcome in zip(pattern, outcomes, strict=True)
            if not _expected(kind, outcome)
        ]
        assert wrong == []

    async def test_an_empty_batch_has_no_outcomes(self, harness: Harness) -> None:
        assert list(await harness.channel.send([])) == []

    async def test_bad_recipients_are_answers_not_exceptions(self, harness: Harness) -> None:
        batch = [harness.bad(0), harness.malformed(1), harness.bad(2)]
        outcomes = await harness.channel.send(batch)
        assert len(outcomes) == 3
        assert all(isinstance(o, Rejected | Retry) and o.reason for o in outcomes)

    async def test_the_same_delivery_twice_in_a_batch_gets_two_outcomes(
        self, harness: Harness
    ) -> None:
        envelope = harness.good(0)
        outcomes = await harness.channel.send([envelope, envelope])
        assert [o.delivery_id for o in outcomes] == [envelope.delivery_id] * 2

    async def test_outcomes_survive_serialisation(self, harness: Harness) -> None:
        outcomes = await harness.channel.send(_batch(harness, "gbm"))
        raw = msgspec.json.encode(list(outcomes))
        assert msgspec.json.decode(raw, type=list[Outcome]) == list(outcomes)

    def test_configured_channel_says_it_is_ready(self, harness: Harness) -> None:
        assert harness.channel.configured() is None

    def test_unconfigured_channel_says_why(self, harness: Harness) -> None:
        reason = harness.unconfigured.configured()
        assert isinstance(reason, str)
        assert len(reason.strip()) >= 10

    async def test_close_is_idempotent(self, harness: Harness) -> None:
        await harness.channel.send([harness.good(0)])
        await harness.channel.close()
        await harness.channel.close()
        await harness.unconfigured.close()
        await harness.unconfigured.close()

    def test_channel_has_a_known_name(self, harness: Harness) -> None:
        assert harness.channel.name in {"email", "webpush", "inbox"}
        assert type(harness.unconfigured).name == harness.channel.name


def new_id() -> uuid.UUID:
    """A fresh delivery id for harness makers."""
    return uuid.uuid4()


__all__: Sequence[str] = ("PATTERNS", "ChannelContract", "Harness", "new_id")
