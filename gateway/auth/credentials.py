"""Turn the credentials a request presents into a :data:`~gateway.auth.principals.Principal`.

One entry point for every kind of credential, told apart by their shape: an API key
starts with ``bsk_``; a person's token is a JWT (three base64url parts), verified by
:mod:`gateway.auth.tokens` and mapped to an active person of the roster. A system with
``send`` may then act for a staff member (:meth:`Authenticator.act_for`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import structlog
from sqlalchemy import ColumnElement, Select, bindparam, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlalchemy.orm import QueryableAttribute

from gateway.auth.apikeys import KEY_SCHEME, verify_api_key
from gateway.auth.devtokens import dev_tokens_enabled, dev_verifier
from gateway.auth.principals import Permission, PersonPrincipal, Principal, SystemPrincipal
from gateway.auth.tokencache import VerifiedTokens
from gateway.auth.tokens import ClaimNames, JwksKeys, TokenClaims, TokenVerifier
from gateway.config import Settings, SubjectMatch
from gateway.errors import Forbidden, Unauthorized
from gateway.roster.models import Affiliation, Municipality, Person, PersonKind

ON_BEHALF_OF_HEADER = "Budstikke-On-Behalf-Of"
_EXPECTED = "send Authorization: Bearer <a person's token, or a system's bsk_… key>"
# One answer for an unknown person, an inactive one and an unknown municipality, so a
# token holder cannot probe who exists.
_NO_SUCH_PERSON = "the token's subject is not an active person of this gateway"
# The lookups here are single statements: autocommit spares BEGIN and ROLLBACK.
_NO_TRANSACTION = {"isolation_level": "AUTOCOMMIT"}

log = structlog.get_logger(__name__)


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer …`` header; Unauthorized when there is none."""
    if not authorization:
        raise Unauthorized(f"missing credentials: {_EXPECTED}")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized(f"unsupported credentials: {_EXPECTED}")
    return token


def token_verifier(settings: Settings) -> TokenVerifier | None:
    """How people's tokens are checked here: the identity provider's JWKS, the dev key
    (demo mode without a JWKS), or not at all."""
    if settings.auth_jwks_url is not None:
        # load_settings refuses a JWKS URL without issuer and audience.
        assert settings.auth_issuer is not None and settings.auth_audience is not None
        return TokenVerifier(
            JwksKeys(settings.auth_jwks_url, ttl_seconds=settings.auth_jwks_cache_seconds),
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
            leeway_seconds=settings.auth_leeway_seconds,
            claims=ClaimNames.of(settings),
        )
    if dev_tokens_enabled(settings):
        return dev_verifier(settings)
    return None


class Authenticator:
    """Who a request's credentials speak for. One per API process, made at startup."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        verifier: TokenVerifier | None,
        *,
        subject_match: SubjectMatch = SubjectMatch.SOURCE_ID,
        municipality_claim: str = "municipality",
        verified: VerifiedTokens | None = None,
    ) -> None:
        self._sessions = sessions
        self._verifier = verifier
        self._subject_match = subject_match
        self._municipality_claim = municipality_claim
        self._verified = verified if verified is not None else VerifiedTokens()

    @classmethod
    def from_settings(
        cls, settings: Settings, sessions: async_sessionmaker[AsyncSession]
    ) -> Authenticator:
        return cls(
            sessions,
            token_verifier(settings),
            subject_match=settings.auth_subject_match,
            municipality_claim=settings.auth_municipality_claim,
        )

    async def authenticate(self, authorization: str | None) -> Principal:
        """Who the ``Authorization`` header speaks for; Unauthorized when no one.

        Runs in its own short transaction, apart from the request's work, so that the
        API key's ``last_used_at`` bookkeeping neither waits for nor rolls back with the
        handler.
        """
        token = bearer_token(authorization)
        if token.startswith(f"{KEY_SCHEME}_"):
            async with self._sessions() as session, session.begin():
                return await verify_api_key(session, token)
        if token.count(".") != 2:
            raise Unauthorized(f"unsupported credentials: {_EXPECTED}")
        if self._verifier is None:
            raise Unauthorized(
                "people's tokens are not accepted here: no identity provider is configured "
                "(BUDSTIKKE_AUTH_JWKS_URL)"
            )
        claims = self._verified.get(token)
        if claims is None:
            claims = await self._verifier.verify(token)
            self._verified.put(token, claims)
        return await self.person_for(claims)

    async def person_for(self, claims: TokenClaims) -> PersonPrincipal:
        """The active person a verified token names; Unauthorized when there is none."""
        by_uni_login = self._subject_match is SubjectMatch.UNI_LOGIN
        async with self._sessions() as session:
            conn = await session.connection(execution_options=_NO_TRANSACTION)
            code = claims.municipality or await self._only_municipality(conn)
            query = _BY_UNI_LOGIN if by_uni_login else _BY_SOURCE_ID
            rows = (await conn.execute(query, {"code": code, "subject": claims.subject})).all()
        if len(rows) != 1:
            if rows:
                # Two active people with one UNI-Login is a roster error, not the caller's.
                log.warning("token subject matches several people", municipality=code)
            raise Unauthorized(_NO_SUCH_PERSON)
        person_id, kind, municipality_id, code = rows[0]
        return PersonPrincipal(
            person_id=person_id,
            municipality_id=municipality_id,
            municipality_code=code,
            kind=kind,
            subject=claims.subject,
            acr=claims.acr,
        )

    async def _only_municipality(self, conn: AsyncConnection) -> str:
        codes = (await conn.execute(select(Municipality.code).limit(2))).scalars().all()
        if len(codes) == 1:
            return codes[0]
        if not codes:
            raise Unauthorized(_NO_SUCH_PERSON)
        raise Unauthorized(
            f"the token has no {self._municipality_claim!r} claim, and this gateway serves "
            "more than one municipality"
        )

    async def act_for(
        self, system: SystemPrincipal, reference: str, *, today: dt.date | None = None
    ) -> PersonPrincipal:
        """The staff member a system acts for (``Budstikke-On-Behalf-Of``).

        Allowed with the ``send`` permission, for an active member of staff of the key's
        municipality, who for an institution-scoped key is affiliated with one of its
        institutions. Anyone else gets the same Forbidden, whether they exist or not.
        """
        if Permission.SEND not in system.permissions:
            raise Forbidden(f"{ON_BEHALF_OF_HEADER} needs an API key with the 'send' permission")
        reference = reference.strip()
        scope = "of this municipality" if system.municipality_wide else "of this key's institutions"
        refused = Forbidden(
            f"{ON_BEHALF_OF_HEADER}: {reference[:100]!r} is not an active staff member {scope} "
            "(name one by gateway id or roster source id)"
        )
        if not reference or len(reference) > 255:
            raise refused
        async with self._sessions() as session:
            rows = (await session.execute(_staff_query(system, reference, today or _today()))).all()
        if len(rows) != 1:
            raise refused
        person_id, source_id = rows[0]
        return PersonPrincipal(
            person_id=person_id,
            municipality_id=system.municipality_id,
            municipality_code=system.municipality_code,
            kind=PersonKind.STAFF.value,
            subject=source_id,
            acr=None,
            via_key=system,
        )


def _person_query(column: QueryableAttribute[Any]) -> Select[uuid.UUID, str, uuid.UUID, str]:
    """The active person a subject names in a municipality (``code``, ``subject``)."""
    return (
        select(Person.id, Person.kind, Person.municipality_id, Municipality.code)
        .join(Municipality, Municipality.id == Person.municipality_id)
        .where(
            Municipality.code == bindparam("code"),
            column == bindparam("subject"),
            Person.active.is_(True),
        )
        .limit(2)
    )


# Built once, like every hot statement: the object keeps its SQL cache key.
_BY_SOURCE_ID = _person_query(Person.source_id)
_BY_UNI_LOGIN = _person_query(Person.uni_login)


def _staff_query(system: SystemPrincipal, reference: str, today: dt.date) -> Select[uuid.UUID, str]:
    named: list[ColumnElement[bool]] = [Person.source_id == reference]
    if (person_id := as_uuid(reference)) is not None:
        named.append(Person.id == person_id)
    query = select(Person.id, Person.source_id).where(
        Person.municipality_id == system.municipality_id,
        Person.kind == PersonKind.STAFF.value,
        Person.active.is_(True),
        or_(*named),
    )
    if not system.municipality_wide:
        query = query.where(
            exists().where(
                Affiliation.municipality_id == system.municipality_id,
                Affiliation.person_id == Person.id,
                Affiliation.institution_id.in_(system.institution_ids),
                Affiliation.active.is_(True),
                or_(Affiliation.end_date.is_(None), Affiliation.end_date >= today),
            )
        )
    return query.limit(2)


def as_uuid(reference: str) -> uuid.UUID | None:
    """``reference`` as a gateway id, or ``None`` when it is some other kind of id."""
    try:
        return uuid.UUID(reference)
    except ValueError:
        return None


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()
