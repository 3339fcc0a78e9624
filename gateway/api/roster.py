"""REST upserts of roster data for systems that push changes (API-key auth)."""

from __future__ import annotations

from litestar import Controller


class RosterController(Controller):
    path = "/v1/roster"
