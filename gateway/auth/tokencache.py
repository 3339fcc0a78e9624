"""A short memory of people's tokens whose signature and claims have been checked.

Checking a person's token costs an ES256/RS256 signature check (and a JSON decode);
a portal page asks several endpoints at once with the same token, and an inbox polls
its unread count. So the API process remembers, for a while, the claims of a token it
has just verified. The roster lookup that maps the claims to an *active* person still
runs on every request (:meth:`~gateway.auth.credentials.Authenticator.person_for`),
so a person the roster deactivates is refused at once, as before.

What it keeps of :mod:`gateway.auth.tokens`:

- only a token that passed every check is remembered; a refused one is checked again
  in full next time (nothing an attacker sends can fill the cache but valid tokens);
- an entry ends at the token's own ``exp`` (without the leeway a fresh check allows),
  so an expired token is refused exactly as before;
- entries are keyed by the SHA-256 of the token, so the process holds no usable token,
  and a token differing in one byte is a different key;
- the cache is bounded (the oldest entries go first) and per process.

What it relaxes: a signing key the identity provider withdraws from its JWKS is
refused up to :data:`TTL_SECONDS` later for tokens already seen, on top of the JWKS
cache itself (``BUDSTIKKE_AUTH_JWKS_CACHE_SECONDS``, during which a withdrawn key is
trusted anyway).
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from gateway.auth.tokens import TokenClaims

TTL_SECONDS = 60.0
MAX_ENTRIES = 50_000


@dataclass(frozen=True, slots=True)
class _Entry:
    claims: TokenClaims
    until: float  # POSIX seconds


class VerifiedTokens:
    """Claims of recently verified tokens, by the token's hash, until a deadline."""

    def __init__(
        self,
        *,
        ttl_seconds: float = TTL_SECONDS,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()

    def get(self, token: str) -> TokenClaims | None:
        """The claims ``token`` was verified to carry, while the entry lasts; else ``None``."""
        key = _key(token)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if self._clock() >= entry.until:
            del self._entries[key]
            return None
        return entry.claims

    def put(self, token: str, claims: TokenClaims) -> None:
        """Remember a token that passed every check, until its ``exp`` or the TTL."""
        if self._ttl <= 0 or claims.expires_at is None:
            return
        now = self._clock()
        until = min(claims.expires_at, now + self._ttl)
        if until <= now:
            return
        key = _key(token)
        self._entries.pop(key, None)
        self._entries[key] = _Entry(claims, until)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


def _key(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
