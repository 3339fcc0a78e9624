"""ASGI entry for uvicorn's ``--factory``: each server process reads the environment once."""

from __future__ import annotations

import os

from litestar import Litestar

from gateway.api.app import create_app
from gateway.config import load_settings
from gateway.logging import configure_logging


def create_from_environment() -> Litestar:
    """Settings from ``BUDSTIKKE_*``, logging, and the app."""
    settings = load_settings(os.environ)
    configure_logging(settings)
    return create_app(settings)
