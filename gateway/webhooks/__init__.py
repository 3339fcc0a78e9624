"""Webhooks signed per the Standard Webhooks spec, for portals and institutions.

Other domains call :func:`emit` inside their transaction; the worker's
``send_webhooks`` job sends what it queued (``sender.send_due``).
"""

from gateway.webhooks.service import EVENT_TYPES, emit

__all__ = ("EVENT_TYPES", "emit")
