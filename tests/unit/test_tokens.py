"""People's tokens: signature, algorithm, expiry, issuer, audience and keys from a JWKS.

The JWKS is served by a real HTTP server on 127.0.0.1, and tokens are made with keys
generated here; PyJWT itself is not mocked.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.auth import tokens
from gateway.auth.devtokens import (
    DEV_AUDIENCE,
    DEV_ISSUER,
    dev_tokens_enabled,
    dev_verifier,
    issue_dev_token,
    signing_key,
)
from gateway.auth.tokens import ClaimNames, JwksKeys, TokenVerifier
from gateway.config import load_settings
from gateway.errors import ConfigError, Unauthorized, Unavailable
from tests.jwks_server import JwksServer, jwk

ISSUER = "https://idp.example.dk"
AUDIENCE = "budstikke-test"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def jwks() -> Iterator[JwksServer]:
    with JwksServer(
        [jwk(RSA_KEY.public_key(), "rsa-1"), jwk(EC_KEY.public_key(), "ec-1")]
    ) as server:
        yield server


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def verifier(jwks: JwksServer, clock: Clock | None = None) -> TokenVerifier:
    keys = JwksKeys(jwks.url, ttl_seconds=300, clock=clock or Clock())
    return TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE, leeway_seconds=5)


def claims(**changes: Any) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "guardian-1",
        "municipality": "0101",
        "acr": "https://data.gov.dk/concept/core/nsis/loa/Substantial",
        "iat": now,
        "exp": now + dt.timedelta(minutes=10),
    }
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


def rs256(payload: dict[str, Any], kid: str = "rsa-1") -> str:
    return jwt.encode(payload, RSA_KEY, algorithm="RS256", headers={"kid": kid})


def es256(payload: dict[str, Any], kid: str = "ec-1") -> str:
    return jwt.encode(payload, EC_KEY, algorithm="ES256", headers={"kid": kid})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade(header: dict[str, Any], payload: dict[str, Any], sign: Any) -> str:
    """A token built by hand, for what PyJWT refuses to make (``none``, HS256 with a PEM)."""
    body = json.dumps(payload, default=lambda moment: int(moment.timestamp())).encode()
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(body)}"
    return f"{signing_input}.{b64(sign(signing_input.encode()))}"


# -- accepted ---------------------------------------------------------------------------


async def test_good_rs256_and_es256_tokens_give_their_claims(jwks: JwksServer) -> None:
    check = verifier(jwks)
    for token in (rs256(claims()), es256(claims(sub="staff-7", municipality=None, acr=None))):
        assert (await check.verify(token)).subject in {"guardian-1", "staff-7"}
    rsa_claims = await check.verify(rs256(claims()))
    assert rsa_claims.municipality == "0101"
    assert rsa_claims.acr is not None and rsa_claims.acr.endswith("Substantial")
    ec_claims = await check.verify(es256(claims(sub="staff-7", municipality=None, acr=None)))
    assert (ec_claims.subject, ec_claims.municipality, ec_claims.acr) == ("staff-7", None, None)
    assert jwks.hits == 1  # the keys are cached


async def test_configured_claim_names_are_read(jwks: JwksServer) -> None:
    check = TokenVerifier(
        JwksKeys(jwks.url, ttl_seconds=300),
        issuer=ISSUER,
        audience=AUDIENCE,
        claims=ClaimNames(subject="uid", municipality="kommune", acr="loa"),
    )
    found = await check.verify(rs256(claims(sub=None, uid="emma1234", kommune="0147", loa=3)))
    assert (found.subject, found.municipality, found.acr) == ("emma1234", "0147", "3")


async def test_a_token_just_past_exp_is_accepted_within_the_leeway(jwks: JwksServer) -> None:
    now = dt.datetime.now(dt.UTC)
    token = rs256(claims(exp=now - dt.timedelta(seconds=2)))
    assert (await verifier(jwks).verify(token)).subject == "guardian-1"


# -- refused ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"exp": dt.timedelta(minutes=-1)}, "expired"),
        ({"iss": "https://evil.example"}, "issuer"),
        ({"aud": "another-service"}, "audience"),
        ({"exp": None}, "'exp'"),
        ({"aud": None}, "'aud'"),
        ({"sub": None}, "'sub'"),
        ({"sub": ""}, "'sub'"),
        # Offsets from the moment the test runs (parametrize runs at collection time).
        ({"nbf": dt.timedelta(minutes=5)}, "not valid yet"),
    ],
)
async def test_bad_claims_are_refused(
    jwks: JwksServer, changes: dict[str, Any], message: str
) -> None:
    payload = claims()
    for key, value in changes.items():
        if value is None:
            payload.pop(key)
        elif isinstance(value, dt.timedelta):
            payload[key] = dt.datetime.now(dt.UTC) + value
        else:
            payload[key] = value
    for token in (rs256(payload), es256(payload)):
        with pytest.raises(Unauthorized, match=message):
            await verifier(jwks).verify(token)


async def test_alg_none_is_refused(jwks: JwksServer) -> None:
    for alg in ("none", "None", "NONE", None, ["RS256"], {"alg": "RS256"}):
        token = handmade({"alg": alg, "kid": "rsa-1"}, claims(), lambda _: b"")
        with pytest.raises(Unauthorized, match="algorithm"):
            await verifier(jwks).verify(token)
    assert jwks.hits == 0  # refused before any key is fetched


async def test_hs256_signed_with_the_public_key_is_refused(jwks: JwksServer) -> None:
    public_pem = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for secret in (public_pem, json.dumps(jwks.keys[0]).encode()):
        token = handmade(
            {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"},
            claims(),
            lambda data, secret=secret: hmac.new(secret, data, hashlib.sha256).digest(),
        )
        # The forgery is well made: HS256 with that secret does verify it.
        signing_input, _, signature = token.rpartition(".")
        expected = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        assert b64(expected) == signature
        with pytest.raises(Unauthorized, match="HS256"):
            await verifier(jwks).verify(token)


async def test_a_token_whose_algorithm_is_not_its_keys_is_refused(jwks: JwksServer) -> None:
    # Signed ES256 with the EC key, but naming the RSA key's kid.
    token = es256(claims(), kid="rsa-1")
    with pytest.raises(Unauthorized, match="is for RS256"):
        await verifier(jwks).verify(token)


async def test_a_wrong_signature_is_refused(jwks: JwksServer) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(), other, algorithm="RS256", headers={"kid": "rsa-1"})
    with pytest.raises(Unauthorized, match="signature"):
        await verifier(jwks).verify(token)


async def test_malformed_and_oversized_tokens_are_refused(jwks: JwksServer) -> None:
    for token, message in (("a.b.c", "malformed"), ("x" * 9000, "too long")):
        with pytest.raises(Unauthorized, match=message):
            await verifier(jwks).verify(token)


# -- keys from the JWKS -----------------------------------------------------------------


async def test_an_unknown_kid_is_refused_and_refetches_at_most_once_in_a_while(
    jwks: JwksServer,
) -> None:
    clock = Clock()
    check = verifier(jwks, clock)
    assert (await check.verify(rs256(claims()))).subject == "guardian-1"
    for _ in range(5):
        with pytest.raises(Unauthorized, match="unknown key"):
            await check.verify(rs256(claims(), kid="nope"))
    assert jwks.hits == 1  # made-up kids do not make us hammer the identity provider

    # The provider rotates: a new key appears, and tokens with it work after the pause.
    rotated = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks.keys.append(jwk(rotated.public_key(), "rsa-2"))
    token = jwt.encode(claims(), rotated, algorithm="RS256", headers={"kid": "rsa-2"})
    with pytest.raises(Unauthorized, match="unknown key"):
        await check.verify(token)
    clock.now += tokens.MIN_REFRESH_SECONDS
    assert (await check.verify(token)).subject == "guardian-1"
    assert jwks.hits == 2


async def test_keys_of_other_kinds_in_the_jwks_are_ignored(jwks: JwksServer) -> None:
    hs_secret = {"kty": "oct", "k": b64(b"a-shared-secret-of-thirty-two-bytes!"), "kid": "oct-1"}
    enc_key = jwk(EC_KEY.public_key(), "ec-enc") | {"use": "enc"}
    jwks.keys = [hs_secret, enc_key, jwks.keys[0]]
    check = verifier(jwks)
    forged = jwt.encode(
        claims(),
        "a-shared-secret-of-thirty-two-bytes!",
        algorithm="HS256",
        headers={"kid": "oct-1"},
    )
    with pytest.raises(Unauthorized, match="HS256"):
        await check.verify(forged)
    with pytest.raises(Unauthorized, match="unknown key"):
        await check.verify(es256(claims(), kid="ec-enc"))
    assert (await check.verify(rs256(claims()))).subject == "guardian-1"


async def test_an_unreachable_jwks_is_503_until_keys_were_fetched_once(jwks: JwksServer) -> None:
    clock = Clock()
    check = verifier(jwks, clock)
    jwks.failing = True
    with pytest.raises(Unavailable, match="BUDSTIKKE_AUTH_JWKS_URL"):
        await check.verify(rs256(claims()))
    jwks.failing = False
    clock.now += tokens.MIN_REFRESH_SECONDS
    assert (await check.verify(rs256(claims()))).subject == "guardian-1"
    # The provider goes down after the cache has expired: the keys we have stay in use.
    jwks.failing = True
    clock.now += 10_000
    assert (await check.verify(rs256(claims()))).subject == "guardian-1"
    assert jwks.hits == 3


async def test_a_token_without_kid_needs_a_single_key(jwks: JwksServer) -> None:
    token = jwt.encode(claims(), RSA_KEY, algorithm="RS256")
    with pytest.raises(Unauthorized, match="kid"):
        await verifier(jwks).verify(token)
    jwks.keys = jwks.keys[:1]
    assert (await verifier(jwks).verify(token)).subject == "guardian-1"


# -- dev tokens -------------------------------------------------------------------------


def test_the_dev_key_is_made_once_and_private(tmp_path: Path) -> None:
    first = signing_key(tmp_path / "data")
    path = tmp_path / "data" / "dev-signing-key.pem"
    assert path.stat().st_mode & 0o777 == 0o600
    second = signing_key(tmp_path / "data")
    assert first.private_numbers() == second.private_numbers()


async def test_dev_tokens_verify_only_with_their_own_issuer(
    tmp_path: Path, jwks: JwksServer
) -> None:
    demo = load_settings({"BUDSTIKKE_DATA_DIR": str(tmp_path), "BUDSTIKKE_DEMO": "true"})
    assert dev_tokens_enabled(demo)
    token = issue_dev_token(demo, subject="staff-1", municipality_code="0999", acr="high")
    found = await dev_verifier(demo).verify(token)
    assert (found.subject, found.municipality, found.acr) == ("staff-1", "0999", "high")
    assert jwt.decode(token, options={"verify_signature": False})["iss"] == DEV_ISSUER
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == DEV_AUDIENCE
    # A real provider's verifier refuses a dev token, even one that lists the dev key.
    jwks.keys.append(
        jwk(signing_key(tmp_path).public_key(), jwt.get_unverified_header(token)["kid"])
    )
    with pytest.raises(Unauthorized, match="issuer"):
        await verifier(jwks).verify(token)


@pytest.mark.parametrize(
    ("environ", "reason"),
    [
        ({}, "demo mode is off"),
        ({"BUDSTIKKE_DEMO": "false"}, "demo mode is off"),
        (
            {
                "BUDSTIKKE_DEMO": "true",
                "BUDSTIKKE_AUTH_JWKS_URL": "https://idp.example.dk/jwks",
                "BUDSTIKKE_AUTH_ISSUER": ISSUER,
                "BUDSTIKKE_AUTH_AUDIENCE": AUDIENCE,
            },
            "BUDSTIKKE_AUTH_JWKS_URL is set",
        ),
    ],
)
def test_no_dev_tokens_outside_the_demo(
    tmp_path: Path, environ: dict[str, str], reason: str
) -> None:
    settings = load_settings({"BUDSTIKKE_DATA_DIR": str(tmp_path), **environ})
    assert not dev_tokens_enabled(settings)
    with pytest.raises(ConfigError, match=reason):
        issue_dev_token(settings, subject="x", municipality_code="0999")
    with pytest.raises(ConfigError, match=reason):
        dev_verifier(settings)
    assert not (tmp_path / "dev-signing-key.pem").exists()


# -- settings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"BUDSTIKKE_AUTH_JWKS_URL": "https://idp.example.dk/jwks"}, "BUDSTIKKE_AUTH_ISSUER"),
        (
            {
                "BUDSTIKKE_AUTH_JWKS_URL": "https://idp.example.dk/jwks",
                "BUDSTIKKE_AUTH_ISSUER": ISSUER,
            },
            "BUDSTIKKE_AUTH_AUDIENCE",
        ),
        ({"BUDSTIKKE_AUTH_JWKS_URL": "http://idp.example.dk/jwks"}, "https://"),
        ({"BUDSTIKKE_AUTH_SUBJECT_MATCH": "email"}, "BUDSTIKKE_AUTH_SUBJECT_MATCH"),
        ({"BUDSTIKKE_CORS_ORIGINS": "*"}, "is not an origin"),
        ({"BUDSTIKKE_CORS_ORIGINS": "https://portal.example.dk/inbox"}, "is not an origin"),
        ({"BUDSTIKKE_CORS_ORIGINS": "portal.example.dk"}, "is not an origin"),
        ({"BUDSTIKKE_RATE_LIMIT_PER_MINUTE": "-1"}, "BUDSTIKKE_RATE_LIMIT_PER_MINUTE"),
    ],
)
def test_bad_auth_settings_stop_startup(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(environ)


def test_cors_origins_are_a_list_and_empty_by_default() -> None:
    assert load_settings({}).cors_origins == ()
    settings = load_settings(
        {"BUDSTIKKE_CORS_ORIGINS": "https://portal.example.dk/, http://localhost:5173"}
    )
    assert settings.cors_origins == ("https://portal.example.dk", "http://localhost:5173")
