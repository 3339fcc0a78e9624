"""The one mapping from errors to HTTP: RFC 9457 problem details.

Every error a client can see goes through here. Unknown exceptions become a bare 500
that names nothing internal; database and Redis outages become 503 with Retry-After.
"""

from __future__ import annotations

from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from gateway.errors import (
    AssuranceTooLow,
    Conflict,
    Forbidden,
    GatewayError,
    ImportFailed,
    InvalidInput,
    LimitExceeded,
    LinkExpired,
    NotFound,
    Unauthorized,
    Unavailable,
)

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger(__name__)


class Problem(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str | None = None
    errors: list[str] | None = None
    limit: str | None = None


def _status(error: GatewayError) -> int:
    match error:
        case NotFound():
            return 404
        case Forbidden():
            return 403
        case Unauthorized():
            return 401
        case InvalidInput() | ImportFailed():
            return 422
        case Conflict():
            return 409
        case LinkExpired():
            return 410
        case LimitExceeded(rate=True):
            return 429
        case LimitExceeded():
            return 413
        case Unavailable():
            return 503
    return 400


def problem_spec(description: str) -> ResponseSpec:
    """An OpenAPI response entry: a problem document, with what it means here."""
    return ResponseSpec(data_container=Problem, description=description, media_type=PROBLEM_JSON)


def problem_response(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    errors: list[str] | None = None,
    limit: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Problem]:
    """A problem-details response with the right media type."""
    slug = title.lower().replace(" ", "-")
    return Response(
        Problem(
            type=f"https://budstikke.dk/problems/{slug}",
            title=title,
            status=status,
            detail=detail,
            errors=errors,
            limit=limit,
        ),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def gateway_error(_: Request[Any, Any, Any], error: GatewayError) -> Response[Problem]:
    status = _status(error)
    headers: dict[str, str] = {}
    if isinstance(error, Unavailable):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, LimitExceeded) and error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    return problem_response(
        status,
        _ERROR_TITLES.get(type(error), "Error"),
        error.detail,
        errors=getattr(error, "errors", None) or None,
        limit=getattr(error, "limit", None),
        headers=headers or None,
    )


def validation_error(_: Request[Any, Any, Any], error: ValidationException) -> Response[Problem]:
    extra = error.extra if isinstance(error.extra, list) else []
    errors = [
        f"{item.get('key') or 'body'}: {item.get('message')}"
        for item in extra
        if isinstance(item, dict)
    ]
    return problem_response(422, "Invalid input", error.detail, errors=errors or None)


def http_error(_: Request[Any, Any, Any], error: HTTPException) -> Response[Problem]:
    return problem_response(
        error.status_code,
        _TITLES.get(error.status_code, "Error"),
        error.detail,
        headers=error.headers,
    )


def unavailable(request: Request[Any, Any, Any], error: Exception) -> Response[Problem]:
    log.warning("backing service unavailable", path=request.url.path, error=type(error).__name__)
    return problem_response(
        503,
        "Service unavailable",
        "a backing service is unreachable; try again shortly",
        headers={"Retry-After": "5"},
    )


# PostgreSQL refuses text it cannot hold (a NUL character, SQLSTATE 22021) wherever a
# value reaches it, stored or only compared; that is the client's input, not our fault.
_UNREPRESENTABLE_TEXT = "22021"


def database_error(request: Request[Any, Any, Any], error: DBAPIError) -> Response[Problem]:
    if error.connection_invalidated or isinstance(error, OperationalError | InterfaceError):
        return unavailable(request, error)
    if getattr(error.orig, "sqlstate", None) == _UNREPRESENTABLE_TEXT:
        return problem_response(422, "Invalid input", "text may not contain NUL characters")
    return internal_error(request, error)


def too_deep(request: Request[Any, Any, Any], _: RecursionError) -> Response[Problem]:
    """JSON nested deeper than the decoder recurses (thousands of levels) is the caller's
    input, not a fault of ours: a 400 that says so, never a 500."""
    log.warning("request nested too deeply", path=request.url.path)
    return problem_response(
        400, "Bad request", "the JSON is nested too deeply to read", limit="json_depth"
    )


def internal_error(request: Request[Any, Any, Any], error: Exception) -> Response[Problem]:
    if isinstance(error, OSError | ConnectionError):
        return unavailable(request, error)
    log.exception("unhandled error", path=request.url.path)
    return problem_response(HTTP_500_INTERNAL_SERVER_ERROR, "Internal server error")


_ERROR_TITLES: dict[type[GatewayError], str] = {
    NotFound: "Not found",
    Forbidden: "Forbidden",
    AssuranceTooLow: "Assurance level too low",
    Unauthorized: "Unauthorized",
    InvalidInput: "Invalid input",
    ImportFailed: "Import failed",
    Conflict: "Conflict",
    LimitExceeded: "Limit exceeded",
    LinkExpired: "Link expired",
    Unavailable: "Service unavailable",
}

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    413: "Request too large",
    415: "Unsupported media type",
    429: "Too many requests",
}

EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    GatewayError: gateway_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    DBAPIError: database_error,
    RedisConnectionError: unavailable,
    RecursionError: too_deep,
    Exception: internal_error,
}

__all__ = ("EXCEPTION_HANDLERS", "PROBLEM_JSON", "Problem", "problem_response", "problem_spec")
