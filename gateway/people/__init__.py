"""People as they see themselves: ``GET /v1/me``."""

from gateway.people.schemas import ChildRef, GroupRef, InstitutionRef, MeRead, MunicipalityRef
from gateway.people.service import describe_self

__all__ = ("ChildRef", "GroupRef", "InstitutionRef", "MeRead", "MunicipalityRef", "describe_self")
