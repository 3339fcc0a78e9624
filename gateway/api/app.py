"""The Litestar application factory."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

import gateway
from gateway.api.auth import provide_principal
from gateway.api.health import HealthController
from gateway.api.problems import EXCEPTION_HANDLERS
from gateway.api.resources import Resources, lifespan, provide_session
from gateway.api.roster import RosterController
from gateway.config import Settings


def _resources(request: Request[Any, Any, Any]) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


def create_app(settings: Settings) -> Litestar:
    """Build the API for these settings; nothing connects until startup."""
    return Litestar(
        route_handlers=[HealthController, RosterController],
        lifespan=[lifespan(settings)],
        dependencies={
            "principal": Provide(provide_principal, sync_to_thread=False),
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
                    )
                }
            ),
        ),
        debug=False,
        logging_config=None,  # gateway.logging configures structlog for the process
    )
