"""Web push: the gateway's public key, and a person's browser subscriptions (``/v1/push``).

See docs/api-preferences.md.
"""

from __future__ import annotations

import uuid

from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.api.auth import requires_person
from gateway.api.problems import problem_spec
from gateway.auth.principals import PersonPrincipal
from gateway.config import Settings
from gateway.delivery import subscriptions
from gateway.delivery.subscription_schemas import (
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionList,
    VapidPublicKey,
)

Session = NamedDependency[AsyncSession]
Me = NamedDependency[PersonPrincipal]


ERRORS = {
    401: problem_spec("No valid token, or its subject is not an active person."),
    403: problem_spec("An API key: push subscriptions belong to a signed-in person."),
    404: problem_spec("No such subscription of the caller's."),
    422: problem_spec(
        "The subscription cannot be used: `errors` names the field (endpoint not https or "
        "too long, p256dh not a P-256 point, auth not 16 bytes, an unknown field)."
    ),
    429: problem_spec("Over a rate limit (`limit` names it; see `Retry-After`)."),
}


class PushController(Controller):
    path = "/v1/push"
    tags = ["push"]  # noqa: RUF012 - Litestar reads a class attribute

    @get(
        "/vapid-public-key",
        summary="The gateway's web push key",
        description="The `applicationServerKey` to pass to `PushManager.subscribe()` "
        "(base64url, a 65-byte P-256 point). No credentials needed. 404 when web push is "
        "not configured (`BUDSTIKKE_VAPID_PRIVATE_KEY`).",
        responses={404: problem_spec("Web push is not configured.")},
    )
    async def vapid_public_key(
        self, settings: NamedDependency[Settings]
    ) -> Response[VapidPublicKey]:
        key = VapidPublicKey(public_key=subscriptions.vapid_public_key(settings))
        # Browsers compare it with the key a subscription was made with; an hour lets a
        # rotated key reach them soon.
        return Response(key, headers={"Cache-Control": "public, max-age=3600"})

    @post(
        "/subscriptions",
        guards=[requires_person()],
        security=[{"personToken": []}],
        summary="Register this browser for push",
        description="Post `PushSubscription.toJSON()` (plus `user_agent` if you like). "
        "201 for a new subscription, 200 when the endpoint was known (its keys are "
        "refreshed, it is enabled again, and it moves to the caller). A person keeps at "
        "most 20 active subscriptions: one more disables the least recently active.",
        status_code=201,
        responses={
            200: ResponseSpec(
                data_container=SubscriptionCreated,
                description="The endpoint was known: refreshed, enabled and now the caller's.",
            ),
            **ERRORS,
        },
    )
    async def register(
        self, data: JSONBody[SubscriptionCreate], principal: Me, session: Session
    ) -> Response[SubscriptionCreated]:
        stored = await subscriptions.register(session, principal, data)
        return Response(stored, status_code=201 if stored.created else 200)

    @get(
        "/subscriptions",
        guards=[requires_person()],
        security=[{"personToken": []}],
        summary="My push subscriptions",
        description="Newest first, disabled ones included. Only the endpoint's origin is "
        "shown: the rest of it is a capability to push to the browser.",
        responses=ERRORS,
    )
    async def list_subscriptions(self, principal: Me, session: Session) -> SubscriptionList:
        return await subscriptions.list_subscriptions(session, principal)

    @delete(
        "/subscriptions/{subscription_id:uuid}",
        guards=[requires_person()],
        security=[{"personToken": []}],
        summary="Remove a push subscription",
        description="The browser gets no more push. Only the owner can; 404 otherwise.",
        status_code=204,
        responses=ERRORS,
    )
    async def remove(
        self, subscription_id: FromPath[uuid.UUID], principal: Me, session: Session
    ) -> None:
        await subscriptions.remove(session, principal, subscription_id)
