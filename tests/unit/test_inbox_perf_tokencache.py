"""The verified-token cache: what it may remember, for how long, and how much.

Tokens are real ES256 JWTs verified by :class:`~gateway.auth.tokens.TokenVerifier`; the
clock is a fake one so that expiry is exact.
"""

from __future__ import annotations

import datetime as dt

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt import PyJWK
from jwt.algorithms import ECAlgorithm

from gateway.auth.tokencache import VerifiedTokens
from gateway.auth.tokens import StaticKeys, TokenClaims, TokenVerifier

KEY = ec.generate_private_key(ec.SECP256R1())
ISSUER, AUDIENCE = "https://idp.example.dk", "budstikke-test"
NOW = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def claims(subject: str = "guardian-1", expires_at: float | None = NOW + 3600) -> TokenClaims:
    return TokenClaims(subject=subject, municipality="0999", acr=None, expires_at=expires_at)


def test_a_remembered_token_gives_its_claims_and_no_other_token_does() -> None:
    cache = VerifiedTokens(clock=Clock())
    cache.put("a.b.c", claims())
    assert cache.get("a.b.c") == claims()
    assert cache.get("a.b.d") is None  # one byte off: another key


def test_an_entry_ends_at_the_tokens_exp_before_the_ttl() -> None:
    clock = Clock()
    cache = VerifiedTokens(ttl_seconds=60, clock=clock)
    cache.put("t", claims(expires_at=NOW + 5))
    clock.now = NOW + 4.9
    assert cache.get("t") is not None
    clock.now = NOW + 5
    assert cache.get("t") is None
    assert len(cache) == 0  # an expired entry goes when it is seen


def test_an_entry_ends_after_the_ttl_before_a_distant_exp() -> None:
    clock = Clock()
    cache = VerifiedTokens(ttl_seconds=60, clock=clock)
    cache.put("t", claims())
    clock.now = NOW + 60
    assert cache.get("t") is None


def test_nothing_already_expired_or_without_exp_is_remembered() -> None:
    cache = VerifiedTokens(clock=Clock())
    cache.put("old", claims(expires_at=NOW - 1))
    cache.put("none", claims(expires_at=None))
    assert len(cache) == 0
    off = VerifiedTokens(ttl_seconds=0, clock=Clock())
    off.put("t", claims())
    assert off.get("t") is None


def test_the_cache_is_bounded_and_the_oldest_entry_goes_first() -> None:
    cache = VerifiedTokens(max_entries=2, clock=Clock())
    for token in ("one", "two", "three"):
        cache.put(token, claims(token))
    assert len(cache) == 2
    assert cache.get("one") is None
    assert cache.get("three") == claims("three")


def test_the_process_keeps_a_hash_not_the_token() -> None:
    cache = VerifiedTokens(clock=Clock())
    cache.put("secret.token.value", claims())
    [key] = cache._entries  # what is held is the point of the test
    assert len(key) == 32
    assert b"secret" not in key


@pytest.mark.parametrize("lifetime", [dt.timedelta(minutes=5), dt.timedelta(hours=8)])
async def test_verified_claims_carry_the_tokens_exp(lifetime: dt.timedelta) -> None:
    jwk = ECAlgorithm.to_jwk(KEY.public_key(), as_dict=True) | {"kid": "k", "alg": "ES256"}
    verifier = TokenVerifier(StaticKeys({"k": PyJWK(jwk)}), issuer=ISSUER, audience=AUDIENCE)
    expires = dt.datetime.now(dt.UTC).replace(microsecond=0) + lifetime
    token = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "sub": "guardian-1", "exp": expires},
        KEY,
        algorithm="ES256",
        headers={"kid": "k"},
    )
    found = await verifier.verify(token)
    assert found.expires_at == expires.timestamp()
