"""Authentication and authorization for route handlers: a guard and a dependency.

``guards=[requires(Permission.ROSTER)]`` authenticates the request and applies the
policy of :mod:`gateway.auth.principals`; a handler then takes
``principal: NamedDependency[SystemPrincipal]``. The guard runs before Litestar reads
the body, so a caller without valid credentials learns nothing about the request
format, and a too-large upload is refused without being read.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.types import Guard

from gateway.api.resources import Resources
from gateway.auth.credentials import authenticate
from gateway.auth.principals import Permission, Principal, authorize

# Where the guard leaves the principal for the ``principal`` dependency.
_STATE_KEY = "budstikke_principal"
# The path parameter that names the tenant, on every route that has one.
MUNICIPALITY_PARAMETER = "municipality"


def requires(permission: Permission) -> Guard:
    """A guard: authenticated, acting in the path's municipality, holding ``permission``."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = await _authenticated(connection)
        authorize(
            principal,
            permission=permission,
            municipality_code=connection.path_params.get(MUNICIPALITY_PARAMETER),
        )

    return guard


async def _authenticated(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    state = connection.scope.setdefault("state", {})
    principal: Principal | None = state.get(_STATE_KEY)
    if principal is None:
        resources: Resources = connection.app.state.resources
        principal = await authenticate(connection.headers.get("authorization"), resources.sessions)
        state[_STATE_KEY] = principal
    return principal


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """The principal a :func:`requires` guard authenticated for this request."""
    principal: Principal | None = request.scope.get("state", {}).get(_STATE_KEY)
    if principal is None:
        # A programming error, not a client's: fail closed and loudly.
        raise RuntimeError(f"{request.url.path} takes a principal but has no requires() guard")
    return principal
