"""What messaging handlers share: the acting person, live events, and ETags on lists."""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.di import NamedDependency

from gateway.api.auth import provide_principal, requires_person
from gateway.api.problems import problem_spec
from gateway.api.resources import Resources
from gateway.auth.principals import PersonPrincipal
from gateway.messaging.actors import Actor
from gateway.messaging.events import Events

# Reading an inbox is for the person themself; writing also for a system with ``send``
# acting for a staff member (``Budstikke-On-Behalf-Of``).
reader_guard = requires_person()
sender_guard = requires_person(on_behalf_of=True)


def provide_actor(request: Request[Any, Any, Any]) -> Actor:
    """The person the request acts as (the guard has checked there is one)."""
    principal = provide_principal(request)
    assert isinstance(principal, PersonPrincipal)
    return Actor(
        person_id=principal.person_id,
        municipality_id=principal.municipality_id,
        kind=principal.kind,
        acr=principal.acr,
        principal=principal.credential,
    )


def provide_events(resources: NamedDependency[Resources]) -> Events:
    return Events(resources.redis)


def etagged(request: Request[Any, Any, Any], value: Any) -> Response[Any]:
    """``value`` with a strong ETag; 304 without a body when the client has it already."""
    body = msgspec.json.encode(value)
    tag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": tag, "Cache-Control": "private, no-cache", "Vary": "Authorization"}
    wanted = request.headers.get("if-none-match", "")
    if tag in {t.strip().removeprefix("W/") for t in wanted.split(",")} or wanted.strip() == "*":
        return Response(content=b"", status_code=304, headers=headers)
    # The bytes already encoded for the tag, not ``value`` to be encoded once more.
    return Response(content=body, media_type=MediaType.JSON, headers=headers)


ERRORS = {
    401: problem_spec("No valid credentials (a person's token, or an API key acting for staff)."),
    403: problem_spec(
        "The caller may see the thing but not do this (e.g. reply policy, not the sender), "
        "or a sensitive thread needs a stronger login (`type` …/assurance-level-too-low)."
    ),
    404: problem_spec("No such thing — or the caller may not see it."),
    413: problem_spec("A size or count limit was hit; `limit` names it."),
    422: problem_spec("The body does not match the schema or breaks a rule; `errors` says where."),
}
