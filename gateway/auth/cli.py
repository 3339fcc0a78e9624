"""``budstikke api-key …``: create, list and revoke systems' API keys."""

from __future__ import annotations

import click


@click.group(name="api-key")
def api_key() -> None:
    """Manage API keys for systems (shown once, stored hashed)."""
