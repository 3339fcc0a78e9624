"""Retention: how long threads are kept per category, the purge, and legal holds."""

from gateway.retention.hold import HoldState, active_holds, set_hold
from gateway.retention.policy import DEFAULT_DAYS, Policy, RetentionCategory, policy_of
from gateway.retention.service import PurgeReport, purge

__all__ = (
    "DEFAULT_DAYS",
    "HoldState",
    "Policy",
    "PurgeReport",
    "RetentionCategory",
    "active_holds",
    "policy_of",
    "purge",
    "set_hold",
)
