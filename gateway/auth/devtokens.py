"""Dev tokens: the embedded default signs its own people's tokens (``budstikke token``).

In demo mode without a JWKS URL, the gateway plays identity provider: an ES256 key
pair is made once and kept in the data folder (``dev-signing-key.pem``, mode 0600), and
tokens signed with it are verified exactly like a real provider's, through
:class:`~gateway.auth.tokens.TokenVerifier`. Their ``iss`` and ``aud`` are fixed
values of their own, so a dev token never passes as a real one, and
:func:`gateway.auth.credentials.token_verifier` never trusts this key when a JWKS is
configured or demo mode is off.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import jwt
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt import PyJWK
from jwt.algorithms import ECAlgorithm
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth.keyfile import read_or_create
from gateway.auth.tokens import ClaimNames, StaticKeys, TokenVerifier
from gateway.config import Settings, SubjectMatch
from gateway.errors import ConfigError
from gateway.roster.models import Municipality, Person

KEY_FILE = "dev-signing-key.pem"
DEV_ISSUER = "urn:budstikke:dev"
DEV_AUDIENCE = "urn:budstikke:api"
MAX_HOURS = 24 * 30

log = structlog.get_logger(__name__)


def dev_tokens_enabled(settings: Settings) -> bool:
    """Whether this gateway signs and accepts its own tokens."""
    return settings.demo and settings.auth_jwks_url is None


def require_dev_tokens(settings: Settings) -> None:
    """ConfigError saying why, unless this gateway signs its own tokens."""
    if not dev_tokens_enabled(settings):
        reason = (
            "BUDSTIKKE_AUTH_JWKS_URL is set (tokens come from the identity provider)"
            if settings.auth_jwks_url
            else "demo mode is off (set BUDSTIKKE_DEMO=true, as `budstikke run` does)"
        )
        raise ConfigError(f"dev tokens are only for the demo: {reason}")


def signing_key(data_dir: Path) -> ec.EllipticCurvePrivateKey:
    """The dev key pair from the data folder, made on first use."""
    path = data_dir / KEY_FILE
    key = serialization.load_pem_private_key(read_or_create(path, _new_pem), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ConfigError(f"{path} is not an ES256 (P-256) private key; delete it to make one")
    return key


def _new_pem() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _public_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    jwk: dict[str, Any] = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    # RFC 7638 thumbprint: a kid that changes whenever the key does.
    canonical = json.dumps(
        {name: jwk[name] for name in ("crv", "kty", "x", "y")}, separators=(",", ":")
    )
    digest = hashlib.sha256(canonical.encode()).digest()
    jwk["kid"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    jwk["alg"] = "ES256"
    jwk["use"] = "sig"
    return jwk


def dev_verifier(settings: Settings) -> TokenVerifier:
    """A verifier for this gateway's own dev tokens (demo mode only)."""
    require_dev_tokens(settings)
    jwk = _public_jwk(signing_key(settings.data_dir))
    return TokenVerifier(
        StaticKeys({jwk["kid"]: PyJWK(jwk)}),
        issuer=DEV_ISSUER,
        audience=DEV_AUDIENCE,
        leeway_seconds=settings.auth_leeway_seconds,
        claims=ClaimNames.of(settings),
    )


def issue_dev_token(
    settings: Settings,
    *,
    subject: str,
    municipality_code: str,
    acr: str | None = None,
    hours: float = 8,
    now: dt.datetime | None = None,
) -> str:
    """A dev token for a person, signed with the data folder's key (demo mode only)."""
    require_dev_tokens(settings)
    if not 0 < hours <= MAX_HOURS:
        raise ConfigError(f"a dev token lives more than 0 and at most {MAX_HOURS} hours")
    key = signing_key(settings.data_dir)
    issued = now or dt.datetime.now(dt.UTC)
    claims: dict[str, Any] = {
        "iss": DEV_ISSUER,
        "aud": DEV_AUDIENCE,
        settings.auth_subject_claim: subject,
        settings.auth_municipality_claim: municipality_code,
        "iat": issued,
        "exp": issued + dt.timedelta(hours=hours),
    }
    if acr is not None:
        claims[settings.auth_acr_claim] = acr
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": _public_jwk(key)["kid"]})


async def find_person(
    session: AsyncSession, reference: str, *, municipality_code: str | None = None
) -> tuple[Person, str]:
    """The person ``budstikke token`` names (source id, UNI-Login or gateway id) and the
    code of their municipality; ConfigError saying why when there is not exactly one."""
    named: list[ColumnElement[bool]] = [
        Person.source_id == reference,
        Person.uni_login == reference,
    ]
    with contextlib.suppress(ValueError):  # not a gateway id
        named.append(Person.id == uuid.UUID(reference))
    query = (
        select(Person, Municipality.code)
        .join(Municipality, Municipality.id == Person.municipality_id)
        .where(or_(*named))
    )
    if municipality_code is not None:
        query = query.where(Municipality.code == municipality_code)
    rows = (await session.execute(query.limit(10))).all()
    where = f" in municipality {municipality_code}" if municipality_code else ""
    if not rows:
        raise ConfigError(f"no person {reference!r}{where} (give a source id, UNI-Login or id)")
    if len(rows) > 1:
        places = ", ".join(sorted({f"{person.source_id} in {code}" for person, code in rows}))
        raise ConfigError(f"{reference!r} names several people ({places}); add --municipality")
    person, code = rows[0]
    if not person.active:
        raise ConfigError(f"{person.source_id} is inactive: the gateway would refuse its token")
    return person, code


def token_subject(settings: Settings, person: Person) -> str:
    """The subject claim the gateway will match this person by."""
    if settings.auth_subject_match is SubjectMatch.UNI_LOGIN:
        if not person.uni_login:
            raise ConfigError(
                f"{person.source_id} has no UNI-Login, and tokens are matched by UNI-Login "
                "(BUDSTIKKE_AUTH_SUBJECT_MATCH=uni_login)"
            )
        return person.uni_login
    return person.source_id
