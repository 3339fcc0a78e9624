"""The audience rules of a municipality or an institution, from their JSON ``settings``.

An institution's key wins over its municipality's, which wins over the default. The keys
share the ``settings`` column with other features, so unknown keys are left alone. A
known key with a bad value is logged and ignored, so the layer below stays in force:
every default is the safe choice, and a typo in a setting must not stop a school from
sending (an emergency message least of all). :func:`setting_problems` lets whatever writes the
settings refuse bad values before they are stored.

Keys (docs/audiences.md has the full rules):

- ``recipient_limit`` (default ``400``, as Aula): the most recipients a thread may start
  with, the sender not counted.
- ``broadcast_roles`` (default ``["leader", "admin"]``): staff roles that may exceed the
  limit; group roles, or OneRoster roles of an affiliation (``principal``).
- ``guardians_may_write_guardians`` (default ``false``): guardians may start threads
  with the custodial guardians of their children's group mates.
- ``pupils_may_write_pupils`` (default ``false``): pupils may start threads with the
  pupils of their own groups.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class AudienceRules:
    """Who may start threads with whom, and how many recipients a thread may have."""

    recipient_limit: int = 400
    broadcast_roles: frozenset[str] = frozenset({"leader", "admin"})
    guardians_may_write_guardians: bool = False
    pupils_may_write_pupils: bool = False


DEFAULT_RULES = AudienceRules()


def _limit(value: Any) -> int:
    # bool is an int in Python; ``true`` is no limit anyone meant to set.
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("a whole number of at least 1")
    return value


def _roles(value: Any) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError('a list of role names, e.g. ["leader", "admin"]')
    return frozenset(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "recipient_limit": _limit,
    "broadcast_roles": _roles,
    "guardians_may_write_guardians": _flag,
    "pupils_may_write_pupils": _flag,
}
SETTING_KEYS = tuple(_PARSERS)


def setting_problems(settings: Mapping[str, Any]) -> list[str]:
    """What is wrong with the audience keys of a ``settings`` mapping (``key: must be …``)."""
    problems = []
    for key, parse in _PARSERS.items():
        if key in settings:
            try:
                parse(settings[key])
            except ValueError as error:
                problems.append(f"{key}: must be {error}")
    return problems


def rules_from(
    municipality: Mapping[str, Any] | None, institution: Mapping[str, Any] | None = None
) -> AudienceRules:
    """The rules of an institution: its settings over its municipality's over the defaults."""
    values: dict[str, Any] = {}
    for layer, where in ((municipality, "municipality"), (institution, "institution")):
        for key, parse in _PARSERS.items():
            if layer is None or key not in layer:
                continue
            try:
                values[key] = parse(layer[key])
            except ValueError as error:
                # The layer below stays in force: the default, or the municipality's.
                log.warning(
                    "bad audience setting ignored", key=key, level=where, must_be=str(error)
                )
    return dataclasses.replace(DEFAULT_RULES, **values)
