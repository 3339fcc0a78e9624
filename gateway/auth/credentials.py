"""Turn the credentials a request presents into a :data:`~gateway.auth.principals.Principal`.

One entry point for every kind of credential, told apart by their shape: an API key
starts with ``bsk_``. A JWT for people (three base64url parts) gets its own branch here
when sign-in arrives; callers do not change.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.auth.apikeys import KEY_SCHEME, verify_api_key
from gateway.auth.principals import Principal
from gateway.errors import Unauthorized


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer …`` header; Unauthorized when there is none."""
    if not authorization:
        raise Unauthorized("missing credentials: send Authorization: Bearer bsk_…")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("unsupported credentials: send Authorization: Bearer bsk_…")
    return token


async def authenticate(
    authorization: str | None, sessions: async_sessionmaker[AsyncSession]
) -> Principal:
    """Who the ``Authorization`` header speaks for; Unauthorized when no one.

    Runs in its own short transaction, apart from the request's work, so that the
    ``last_used_at`` bookkeeping neither waits for nor rolls back with the handler.
    """
    token = bearer_token(authorization)
    if token.startswith(f"{KEY_SCHEME}_"):
        async with sessions() as session, session.begin():
            return await verify_api_key(session, token)
    raise Unauthorized("unsupported credentials: expected an API key (bsk_…)")
