"""The one error tree of the gateway.

::

    GatewayError
     ├─ ConfigError        startup stops; the message names the variable
     ├─ NotFound           404   (also for what the caller may not see)
     ├─ Forbidden          403
     │   └─ AssuranceTooLow  403   (a sensitive thread needs a stronger login)
     ├─ Unauthorized       401
     ├─ InvalidInput       422   (carries per-field or per-row reasons)
     ├─ Conflict           409
     ├─ LimitExceeded      413 / 429   (names the limit that was hit)
     ├─ ImportFailed       a fatal roster-import error; nothing was changed
     └─ Unavailable        503   (a backing service is down; retry later)

The HTTP mapping lives in :mod:`gateway.api.problems`, nowhere else.
"""

from __future__ import annotations

from collections.abc import Sequence


class GatewayError(Exception):
    """Root of every error the gateway raises on purpose."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ConfigError(GatewayError):
    """A setting is unknown or has a bad value."""


class NotFound(GatewayError):
    """The thing does not exist, or the caller may not know that it does."""


class Forbidden(GatewayError):
    """The caller is known and may see the thing, but may not do this to it."""


class AssuranceTooLow(Forbidden):
    """The login is valid but its assurance level is below what the thing requires."""


class LinkExpired(GatewayError):
    """A signed link or address was valid once but its time is up."""


class Unauthorized(GatewayError):
    """No valid credentials came with the request."""


class InvalidInput(GatewayError):
    """The input is malformed or breaks a rule; ``errors`` says where."""

    def __init__(self, detail: str, errors: Sequence[str] = ()) -> None:
        super().__init__(detail)
        self.errors = list(errors)


class Conflict(GatewayError):
    """The request conflicts with the current state."""


class LimitExceeded(GatewayError):
    """A size, count or rate limit was hit; ``limit`` names it.

    ``retry_after`` (seconds) says when a rate limit lets the caller in again.
    """

    def __init__(
        self, detail: str, *, limit: str, rate: bool = False, retry_after: int | None = None
    ) -> None:
        super().__init__(detail)
        self.limit = limit
        self.rate = rate
        self.retry_after = retry_after


class ImportFailed(GatewayError):
    """A roster import cannot go on at all; nothing was written."""


class Unavailable(GatewayError):
    """A backing service (database, Redis) cannot be reached."""

    def __init__(self, detail: str, *, retry_after: int = 5) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
