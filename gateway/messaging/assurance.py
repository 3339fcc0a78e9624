"""Identity assurance levels (NSIS / eIDAS): ``low`` < ``substantial`` < ``high``.

Tokens name the level in different ways (``substantial``, an eIDAS URI ending in
``/LoA/substantial``, MitID's ``…/nsis/loa/Substantial``); the last path segment,
lower-cased, is what counts. A token without a level, or with one not listed, ranks
below ``low``, so it never opens a sensitive thread.
"""

from __future__ import annotations

LEVELS = ("low", "substantial", "high")
DEFAULT_SENSITIVE_LEVEL = "substantial"


def rank(acr: str | None) -> int:
    """The level's position in :data:`LEVELS`; -1 for none or an unknown one."""
    if not acr:
        return -1
    name = acr.rstrip("/").rsplit("/", 1)[-1].strip().lower()
    return LEVELS.index(name) if name in LEVELS else -1


def meets(acr: str | None, required: str) -> bool:
    """Whether a token's level is at least ``required`` (itself one of :data:`LEVELS`)."""
    return rank(acr) >= max(rank(required), 0)
