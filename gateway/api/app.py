"""The Litestar application factory."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

import gateway
from gateway.api.actors import provide_actor, provide_events
from gateway.api.admission import AdmissionLimit, Gate
from gateway.api.announcements import AnnouncementsController
from gateway.api.audiences import AudiencesController
from gateway.api.audit import AuditController
from gateway.api.auth import auth_lifespan, provide_principal
from gateway.api.consent_links import ConsentLinksController
from gateway.api.consents import ConsentsController
from gateway.api.demo import DemoController
from gateway.api.devmail import DevMailController
from gateway.api.events import EventsController
from gateway.api.headers import security_headers
from gateway.api.health import HealthController
from gateway.api.inbox import InboxController
from gateway.api.landing import LandingController
from gateway.api.me import MeController
from gateway.api.messages import MessagesController
from gateway.api.metrics import MetricsController
from gateway.api.notices import NoticesController
from gateway.api.people_data import PeopleDataController
from gateway.api.preferences import NotificationDefaultsController, PreferencesController
from gateway.api.problems import EXCEPTION_HANDLERS
from gateway.api.push import PushController
from gateway.api.reports import ReportsController
from gateway.api.resources import Resources, lifespan, provide_session
from gateway.api.retention import RetentionController
from gateway.api.roster import RosterController
from gateway.api.threads import ThreadsController
from gateway.api.unsubscribe import UnsubscribeController
from gateway.api.web import WebController
from gateway.api.webhooks import WebhooksController
from gateway.auth.devtokens import dev_tokens_enabled
from gateway.config import Settings


def _resources(request: Request[Any, Any, Any]) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


def _cors(settings: Settings) -> CORSConfig | None:
    """Browser calls from the configured portal origins only; none when unset."""
    if not settings.cors_origins:
        return None
    return CORSConfig(
        allow_origins=list(settings.cors_origins),
        allow_headers=[
            "Authorization",
            "Content-Type",
            "Idempotency-Key",
            "Last-Event-ID",
            "If-None-Match",
        ],
        expose_headers=["ETag", "Retry-After"],
        # Bearer tokens, not cookies: the browser needs no credentials mode.
        allow_credentials=False,
    )


def create_app(settings: Settings) -> Litestar:
    """Build the API for these settings; nothing connects until startup."""
    return Litestar(
        route_handlers=[
            HealthController,
            MeController,
            RosterController,
            MessagesController,
            ThreadsController,
            AnnouncementsController,
            ConsentsController,
            InboxController,
            EventsController,
            AudiencesController,
            WebhooksController,
            MetricsController,
            PreferencesController,
            NotificationDefaultsController,
            PushController,
            ReportsController,
            NoticesController,
            PeopleDataController,
            AuditController,
            RetentionController,
            LandingController,
            UnsubscribeController,
            ConsentLinksController,
            WebController,
            # The development mail catcher's pages exist only when it is on, and the demo
            # portal only where the gateway signs its own tokens.
            *([DevMailController] if settings.dev_mail else []),
            *([DemoController] if dev_tokens_enabled(settings) else []),
        ],
        before_send=[security_headers(settings)],
        middleware=[DefineMiddleware(AdmissionLimit, gate=Gate(settings.api_max_in_flight))],
        lifespan=[lifespan(settings), auth_lifespan(settings)],
        cors_config=_cors(settings),
        dependencies={
            "principal": Provide(provide_principal, sync_to_thread=False),
            "actor": Provide(provide_actor, sync_to_thread=False),
            "events": Provide(provide_events, sync_to_thread=False),
            "resources": Provide(_resources, sync_to_thread=False),
            "session": Provide(provide_session),
            "settings": Provide(lambda: settings, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="Budstikke",
            version=gateway.__version__,
            description="Open school–home messaging gateway. Errors are RFC 9457 problem details.",
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
            components=Components(
                security_schemes={
                    "apiKey": SecurityScheme(
                        type="http",
                        scheme="bearer",
                        description="A system's API key: `Authorization: Bearer bsk_…`",
                    ),
                    "personToken": SecurityScheme(
                        type="http",
                        scheme="bearer",
                        bearer_format="JWT",
                        description="A person's token from the portal's identity provider "
                        "(or `budstikke token` in the demo). See docs/auth.md.",
                    ),
                }
            ),
        ),
        debug=False,
        logging_config=None,  # gateway.logging configures structlog for the process
    )
