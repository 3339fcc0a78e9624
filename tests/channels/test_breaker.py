"""The per-origin circuit breaker: opens after failures in a row, probes, closes."""

from __future__ import annotations

from channels.breaker import Breaker


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_it_opens_after_the_threshold_of_failures_in_a_row() -> None:
    clock = Clock()
    breaker = Breaker(threshold=3, window=60, cool_down=30, clock=clock)
    for _ in range(2):
        breaker.failed()
        assert breaker.wait() is None
    breaker.failed()
    assert breaker.wait() == 30
    clock.now += 10
    assert breaker.wait() == 20


def test_a_success_in_between_starts_the_count_again() -> None:
    clock = Clock()
    breaker = Breaker(threshold=3, window=60, cool_down=30, clock=clock)
    breaker.failed()
    breaker.failed()
    breaker.succeeded()
    breaker.failed()
    breaker.failed()
    assert breaker.wait() is None


def test_failures_spread_wider_than_the_window_do_not_open_it() -> None:
    clock = Clock()
    breaker = Breaker(threshold=3, window=60, cool_down=30, clock=clock)
    breaker.failed()
    breaker.failed()
    clock.now += 61
    breaker.failed()  # the first two are too old: this one starts a new count
    assert breaker.wait() is None


def test_after_the_cool_down_one_probe_goes_and_its_answer_decides() -> None:
    clock = Clock()
    breaker = Breaker(threshold=1, window=60, cool_down=30, clock=clock)
    breaker.failed()
    clock.now += 30
    assert breaker.wait() is None  # the probe may go
    assert breaker.wait() is not None  # but only one
    breaker.failed()  # the probe failed: open again for a cool-down
    assert breaker.wait() == 30
    clock.now += 30
    assert breaker.wait() is None
    breaker.succeeded()  # the probe came back: closed
    assert breaker.wait() is None
    assert breaker.wait() is None


def test_a_probe_that_never_reports_is_replaced_after_a_cool_down() -> None:
    clock = Clock()
    breaker = Breaker(threshold=1, window=60, cool_down=30, clock=clock)
    breaker.failed()
    clock.now += 30
    assert breaker.wait() is None  # the probe, whose caller is then cancelled
    clock.now += 29
    assert breaker.wait() is not None
    clock.now += 1
    assert breaker.wait() is None  # a new probe
