"""Authentication, rate limits and authorization for route handlers: guards and a dependency.

Pick the guard that says who may call, and take the principal as a dependency:

``guards=[requires_caller()]``
    anyone authenticated. Litestar cannot inject the ``Principal`` union as such:
    provide a dependency of your own that calls :func:`provide_principal` and narrows it
    (``gateway/api/audiences.py`` turns it into a ``Viewer``).
``guards=[requires_person()]`` / ``requires_person(PersonKind.STAFF)``
    a signed-in person (of those kinds): ``principal: NamedDependency[PersonPrincipal]``.
    ``requires_person(on_behalf_of=True)`` also lets a system with ``send`` in, acting
    for the staff member its ``Budstikke-On-Behalf-Of`` header names; the principal is
    then that staff member, with ``via_key`` set and ``acr`` ``None``.
``guards=[requires(Permission.ROSTER)]``
    a system holding the permission: ``principal: NamedDependency[SystemPrincipal]``.

Every guard applies the tenant check (a ``{municipality}`` path parameter that is not
the caller's is 404) and counts the request against the caller's rate limits. Guards
run before Litestar reads the body, so a caller without valid credentials learns
nothing about the request format, and a too-large upload is refused without being read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from litestar import Litestar, Request
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.types import Guard

from gateway.api.resources import Resources
from gateway.auth.credentials import ON_BEHALF_OF_HEADER, Authenticator
from gateway.auth.principals import (
    Permission,
    Principal,
    SystemPrincipal,
    authorize,
    authorize_person,
    ensure_municipality,
)
from gateway.auth.ratelimit import RateLimiter
from gateway.config import Settings
from gateway.errors import Forbidden, Unauthorized

# Where the guards leave the principals for the ``principal`` dependency: who
# authenticated, and who the request acts as (differs with on-behalf-of).
_STATE_KEY = "budstikke_principal"
_ACTING_KEY = "budstikke_acting"
# The path parameter that names the tenant, on every route that has one.
MUNICIPALITY_PARAMETER = "municipality"

_Connection = ASGIConnection[Any, Any, Any, Any]


@dataclass(frozen=True, slots=True)
class AuthState:
    """What the guards need, made once per process at startup (``app.state.auth``)."""

    authenticator: Authenticator
    limiter: RateLimiter


def auth_lifespan(
    settings: Settings,
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """A lifespan, after the resources', that puts :class:`AuthState` in ``app.state``."""

    @asynccontextmanager
    async def run(app: Litestar) -> AsyncIterator[None]:
        resources: Resources = app.state.resources
        app.state.auth = AuthState(
            Authenticator.from_settings(settings, resources.sessions),
            RateLimiter.from_settings(settings, resources.redis),
        )
        yield

    return run


def requires_caller() -> Guard:
    """A guard: any authenticated caller, person or system, in the path's municipality."""

    async def guard(connection: _Connection, _: BaseRouteHandler) -> None:
        principal = await _authenticated(connection)
        ensure_municipality(principal, _municipality(connection))

    return guard


def requires_person(*kinds: str, on_behalf_of: bool = False) -> Guard:
    """A guard: a signed-in person (of one of ``kinds``, if given).

    With ``on_behalf_of``, a system holding ``send`` may call too when its
    ``Budstikke-On-Behalf-Of`` header names an active staff member in its scope.
    """
    wanted = frozenset(str(kind) for kind in kinds)

    async def guard(connection: _Connection, _: BaseRouteHandler) -> None:
        principal = await _authenticated(connection)
        if on_behalf_of:
            principal = await _acting(connection, principal)
        authorize_person(principal, kinds=wanted, municipality_code=_municipality(connection))

    return guard


def requires(permission: Permission) -> Guard:
    """A guard: a system acting in the path's municipality and holding ``permission``."""

    async def guard(connection: _Connection, _: BaseRouteHandler) -> None:
        principal = await _authenticated(connection)
        authorize(principal, permission=permission, municipality_code=_municipality(connection))

    return guard


def requires_whole_municipality(permission: Permission) -> Guard:
    """:func:`requires`, and the key must speak for the whole municipality: what it
    guards (the audit log, a person's data, retention) spans institutions."""

    async def guard(connection: _Connection, _: BaseRouteHandler) -> None:
        principal = await _authenticated(connection)
        authorize(principal, permission=permission, municipality_code=_municipality(connection))
        if isinstance(principal, SystemPrincipal) and not principal.municipality_wide:
            raise Forbidden(
                f"this needs a municipality-wide {permission.value} key; this key is "
                "narrowed to some institutions"
            )

    return guard


def _municipality(connection: _Connection) -> str | None:
    value = connection.path_params.get(MUNICIPALITY_PARAMETER)
    return str(value) if value is not None else None


async def _authenticated(connection: _Connection) -> Principal:
    state = connection.scope.setdefault("state", {})
    principal: Principal | None = state.get(_STATE_KEY)
    if principal is not None:
        return principal
    auth: AuthState = connection.app.state.auth
    method = str(connection.scope.get("method", "GET"))
    try:
        principal = await auth.authenticator.authenticate(connection.headers.get("authorization"))
    except Unauthorized:
        # Failures count by address, so guessing keys or replaying expired tokens is
        # slowed; successes count by caller, so a school behind one NAT address is not
        # one caller. Nothing is written without credentials: the general limit only.
        client = connection.client.host if connection.client else "unknown"
        await auth.limiter.hit(f"ip:{client}", method="GET")
        raise
    await auth.limiter.hit(principal.credential, method=method)
    state[_STATE_KEY] = principal
    return principal


async def _acting(connection: _Connection, principal: Principal) -> Principal:
    """The principal after ``Budstikke-On-Behalf-Of``: a staff member for a system."""
    state = connection.scope["state"]
    acting: Principal | None = state.get(_ACTING_KEY)
    if acting is not None:
        return acting
    reference = connection.headers.get(ON_BEHALF_OF_HEADER.lower())
    if reference is None:
        acting = principal
    elif isinstance(principal, SystemPrincipal):
        auth: AuthState = connection.app.state.auth
        acting = await auth.authenticator.act_for(principal, reference)
    else:
        raise Forbidden(
            f"{ON_BEHALF_OF_HEADER} is for systems' API keys; a person acts as themself"
        )
    state[_ACTING_KEY] = acting
    return acting


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """The principal the guard authenticated for this request (after on-behalf-of)."""
    state = request.scope.get("state", {})
    principal: Principal | None = state.get(_ACTING_KEY) or state.get(_STATE_KEY)
    if principal is None:
        # A programming error, not a client's: fail closed and loudly.
        raise RuntimeError(f"{request.url.path} takes a principal but has no requires…() guard")
    return principal


__all__ = (
    "MUNICIPALITY_PARAMETER",
    "AuthState",
    "auth_lifespan",
    "provide_principal",
    "requires",
    "requires_caller",
    "requires_person",
)
