"""How long a thread is kept after its last activity, per category, and what counts as one.

The defaults, and why, are in docs/retention.md. A municipality overrides them in
``municipalities.settings["retention"]``: ``{"message": 400, "daycare_notice": 60}``,
whole days per category. A bad override is refused with the reasons, never quietly
replaced by the defaults: a default shorter than what the municipality meant to keep
would delete records it wanted, and deletion cannot be undone.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.errors import InvalidInput
from gateway.messaging.models import Thread, ThreadKind
from gateway.notices.service import CATEGORY as NOTICE_CATEGORY
from gateway.preferences.models import Category

SETTINGS_KEY = "retention"  # municipalities.settings["retention"] = {category: days}


class RetentionCategory(enum.StrEnum):
    """What a thread is, for retention: informal talk, information, or a formal record."""

    MESSAGE = Category.MESSAGE.value
    ANNOUNCEMENT = Category.ANNOUNCEMENT.value
    CONSENT = Category.CONSENT.value
    URGENT = Category.URGENT.value
    DAYCARE_NOTICE = NOTICE_CATEGORY


# Days after the last activity (for consents: after the deadline or the last answer,
# whichever is later). Reasons in docs/retention.md.
DEFAULT_DAYS: Mapping[RetentionCategory, int] = {
    RetentionCategory.MESSAGE: 365,
    RetentionCategory.ANNOUNCEMENT: 365,
    RetentionCategory.URGENT: 3 * 365,
    RetentionCategory.CONSENT: 5 * 365,
    RetentionCategory.DAYCARE_NOTICE: 90,
}
# Below a month an override is more likely a slip (days meant as months) than a policy;
# above ten years the record belongs in the municipality's archive, not in a gateway.
MIN_DAYS = 30
MAX_DAYS = 3650
_KNOWN = frozenset(member.value for member in RetentionCategory)


@dataclass(frozen=True, slots=True)
class Policy:
    """The retention in force for one municipality: days per category, and which were set."""

    days: Mapping[RetentionCategory, int]
    overridden: frozenset[RetentionCategory]


DEFAULT_POLICY = Policy(days=dict(DEFAULT_DAYS), overridden=frozenset())


def category_of(thread: Thread) -> RetentionCategory:
    """The retention category of a thread (the same order as :func:`thread_category`)."""
    return thread_category(thread.category, kind=thread.kind, urgent=thread.urgent)


def thread_category(category: str, *, kind: str, urgent: bool) -> RetentionCategory:
    """A thread's retention category from its stored category, kind and urgency.

    Daycare notices and consents first: they are records whatever else the thread is.
    A consent reminder is not a thread of its own; it goes with its consent thread.
    """
    if category == RetentionCategory.DAYCARE_NOTICE.value:
        return RetentionCategory.DAYCARE_NOTICE
    if category == RetentionCategory.CONSENT.value:
        return RetentionCategory.CONSENT
    if urgent:
        return RetentionCategory.URGENT
    if kind == ThreadKind.ANNOUNCEMENT.value:
        return RetentionCategory.ANNOUNCEMENT
    return RetentionCategory.MESSAGE


def checked_overrides(raw: object) -> dict[RetentionCategory, int]:
    """The overrides as given, checked; InvalidInput naming every bad entry."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise InvalidInput(
            "the retention settings must be an object of category: days",
            [f'retention: e.g. {{"message": 400}}, not {type(raw).__name__}'],
        )
    known = ", ".join(member.value for member in RetentionCategory)
    errors: list[str] = []
    found: dict[RetentionCategory, int] = {}
    for key, value in raw.items():
        if key == Category.REMINDER.value:
            errors.append(
                "retention.reminder: reminders are kept and deleted with their consent "
                "thread; set retention.consent instead"
            )
            continue
        if key not in _KNOWN:
            errors.append(f"retention.{key}: not a category; use one of {known}")
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(f"retention.{key}: give whole days as a number, e.g. 400")
            continue
        if not MIN_DAYS <= value <= MAX_DAYS:
            errors.append(f"retention.{key}: {value} days; give between {MIN_DAYS} and {MAX_DAYS}")
            continue
        found[RetentionCategory(key)] = value
    if errors:
        raise InvalidInput("the retention settings cannot be used as given", errors)
    return found


def policy_of(municipality_settings: Mapping[str, Any] | None) -> Policy:
    """The policy in force: the defaults with the municipality's checked overrides."""
    overrides = checked_overrides((municipality_settings or {}).get(SETTINGS_KEY))
    return Policy(days={**DEFAULT_DAYS, **overrides}, overridden=frozenset(overrides))
