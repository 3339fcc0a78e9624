"""A circuit breaker for one destination (a push service's origin).

After ``threshold`` failures in a row (timeouts, refused connections, 5xx), the first of
them no longer than ``window`` seconds ago, the breaker opens: for ``cool_down`` seconds
the caller answers Retry without making a request, so a hanging service costs one timeout
per slot, not one per message. Then one request goes through as a probe (half-open): an
answer closes the breaker, a failure opens it again. Any answer of the service counts as
success, whatever its status: the service is up.
"""

from __future__ import annotations

import time
from collections.abc import Callable

THRESHOLD = 5
WINDOW_SECONDS = 60.0
COOL_DOWN_SECONDS = 30.0


class Breaker:
    """Closed, open or half-open; see the module docstring."""

    def __init__(
        self,
        *,
        threshold: int = THRESHOLD,
        window: float = WINDOW_SECONDS,
        cool_down: float = COOL_DOWN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = threshold
        self._window = window
        self._cool_down = cool_down
        self._clock = clock
        self._failures = 0
        self._first_failure = 0.0
        self._open_until: float | None = None
        self._probe_since: float | None = None

    @property
    def open(self) -> bool:
        """Whether requests are held back (open, or half-open with its probe out)."""
        return self.wait() is not None

    def wait(self) -> float | None:
        """Seconds until a request may go; None when one may go now (maybe as the probe)."""
        if self._open_until is None:
            return None
        now = self._clock()
        if now < self._open_until:
            return self._open_until - now
        if self._probe_since is not None and now - self._probe_since < self._cool_down:
            # The probe is out; its answer decides. A probe that never reported (its
            # caller was cancelled) is replaced after a cool-down.
            return self._probe_since + self._cool_down - now
        self._probe_since = now
        return None

    def succeeded(self) -> None:
        self._failures = 0
        self._open_until = None
        self._probe_since = None

    def failed(self) -> None:
        now = self._clock()
        if self._open_until is not None:
            if self._probe_since is not None:  # the probe failed: open again
                self._open_until = now + self._cool_down
                self._probe_since = None
            return  # requests sent before it opened: it is open already
        if self._failures == 0 or now - self._first_failure > self._window:
            self._failures, self._first_failure = 0, now
        self._failures += 1
        if self._failures >= self._threshold:
            self._open_until = now + self._cool_down
