"""Every ORM model, imported in one place so that metadata is complete (Alembic, tests)."""

from __future__ import annotations

from gateway.auth.models import ApiKey
from gateway.orm import Base
from gateway.roster.models import (
    Affiliation,
    ContactPoint,
    Group,
    Guardianship,
    ImportRun,
    Institution,
    Membership,
    Municipality,
    Person,
)

__all__ = (
    "Affiliation",
    "ApiKey",
    "Base",
    "ContactPoint",
    "Group",
    "Guardianship",
    "ImportRun",
    "Institution",
    "Membership",
    "Municipality",
    "Person",
)
