"""The REST roster API's structs: what a system sends (``…Put``) and what it gets back.

They are strict on purpose (unknown fields, unbounded strings and impossible
combinations are 422 before anything is looked up) and separate from the sync's
:mod:`~gateway.roster.records`, which every source shares. References between items are
source ids, the same ids a OneRoster import uses, so both sources can feed one roster.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from gateway.roster.models import GroupKind, InstitutionKind, MemberRole, PersonKind
from gateway.roster.records import Counts, SyncReport

# The most a schema allows; the deployment's BUDSTIKKE_ROSTER_PUT_MAX_ITEMS is usually lower.
MAX_ITEMS = 100_000
MAX_EMAILS = 5

# Checked in ``__post_init__`` rather than as ``Meta(pattern=…)``, whose error message is
# the bare regex; these say what to fix.
_ID_FIELDS = ("source_id", "institution", "person", "child", "guardian", "group")
_TEXT_FIELDS = ("name", "given_name", "family_name", "alias")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

SourceId = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=255,
        description="A source id (OneRoster sourcedId); no leading or trailing spaces.",
    ),
]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320, examples=["navn@example.dk"])]
Grade = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=8, pattern=r"^[^,\s]+$", description="e.g. 0, 5, KG"),
]
Locale = Annotated[
    str, msgspec.Meta(max_length=16, pattern=r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
]
Login = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class AffiliationRole(enum.StrEnum):
    """A person's role at an institution: the OneRoster role vocabulary."""

    STUDENT = "student"
    TEACHER = "teacher"
    AIDE = "aide"
    ADMINISTRATOR = "administrator"
    PROCTOR = "proctor"
    PRINCIPAL = "principal"
    COUNSELOR = "counselor"
    DISTRICT_ADMINISTRATOR = "districtAdministrator"
    SITE_ADMINISTRATOR = "siteAdministrator"
    SYSTEM_ADMINISTRATOR = "systemAdministrator"
    PARENT = "parent"
    GUARDIAN = "guardian"
    RELATIVE = "relative"

    @property
    def person_kind(self) -> PersonKind:
        """The kind of person who can hold this role."""
        if self is AffiliationRole.STUDENT:
            return PersonKind.CHILD
        if self in _GUARDIAN_ROLES:
            return PersonKind.GUARDIAN
        return PersonKind.STAFF


_GUARDIAN_ROLES = frozenset(
    {AffiliationRole.PARENT, AffiliationRole.GUARDIAN, AffiliationRole.RELATIVE}
)


class GuardianRelation(enum.StrEnum):
    PARENT = "parent"
    GUARDIAN = "guardian"
    RELATIVE = "relative"


def _check_dates(begin: dt.date | None, end: dt.date | None) -> None:
    if begin is not None and end is not None and end < begin:
        raise ValueError(f"end_date {end.isoformat()} is before begin_date {begin.isoformat()}")


class _Item(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Every item has ``active``: false deactivates it (a person keeps their messages)."""

    def __post_init__(self) -> None:
        for field in _ID_FIELDS:
            value = getattr(self, field, None)
            # Ids are compared exactly: a stray space would make a second record.
            if isinstance(value, str) and value != value.strip():
                raise ValueError(f"{field} {value!r} has leading or trailing spaces")
        for field in _TEXT_FIELDS:
            value = getattr(self, field, None)
            if isinstance(value, str) and not value.strip():
                raise ValueError(f"{field} is blank")
        self.check()

    def check(self) -> None:
        """Rules across fields; raise ValueError saying what to fix."""


class InstitutionPut(_Item):
    source_id: SourceId
    kind: InstitutionKind
    name: Name
    identifier: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    time_zone: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    active: bool = True

    def check(self) -> None:
        if self.time_zone is not None:
            try:
                ZoneInfo(self.time_zone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {self.time_zone!r}") from None


class GroupPut(_Item):
    source_id: SourceId
    institution: SourceId
    kind: GroupKind
    name: Name
    grades: Annotated[list[Grade], msgspec.Meta(max_length=20)] = msgspec.field(
        default_factory=list
    )
    active: bool = True


class PersonPut(_Item):
    """A person; ``emails`` is the whole list of roster addresses (others are removed)."""

    source_id: SourceId
    kind: PersonKind
    given_name: Name
    family_name: Name
    protected: bool = False
    alias: Name | None = None
    locale: Locale = "da"
    birth_date: dt.date | None = None
    grades: Annotated[list[Grade], msgspec.Meta(max_length=8)] = msgspec.field(default_factory=list)
    uni_login: Login | None = None
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=255)] | None = None
    emails: Annotated[list[Email], msgspec.Meta(max_length=MAX_EMAILS)] = msgspec.field(
        default_factory=list
    )
    active: bool = True

    def check(self) -> None:
        # The database insists too; saying so here names the item instead of failing it all.
        if self.protected and self.alias is None:
            raise ValueError("a protected person needs an alias (the name others see)")
        if len(",".join(self.grades)) > 64:
            raise ValueError("grades are longer than 64 characters together")
        for number, address in enumerate(self.emails):
            if not _EMAIL.match(address):
                raise ValueError(f"emails[{number}] {address!r} is not an e-mail address")


class AffiliationPut(_Item):
    person: SourceId
    institution: SourceId
    role: AffiliationRole
    primary: bool = True
    begin_date: dt.date | None = None
    end_date: dt.date | None = None
    active: bool = True

    def check(self) -> None:
        _check_dates(self.begin_date, self.end_date)


class GuardianshipPut(_Item):
    """A guardian's link to a child; ``custody`` is required because it decides consent."""

    child: SourceId
    guardian: SourceId
    custody: bool
    relation: GuardianRelation = GuardianRelation.PARENT
    active: bool = True


class MembershipPut(_Item):
    group: SourceId
    person: SourceId
    role: MemberRole
    source_id: SourceId | None = None
    primary: bool = False
    begin_date: dt.date | None = None
    end_date: dt.date | None = None
    active: bool = True

    def check(self) -> None:
        _check_dates(self.begin_date, self.end_date)


class _Items(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class InstitutionsPut(_Items):
    items: Annotated[list[InstitutionPut], msgspec.Meta(min_length=1, max_length=MAX_ITEMS)]


class GroupsPut(_Items):
    items: Annotated[list[GroupPut], msgspec.Meta(min_length=1, max_length=MAX_ITEMS)]


class PeoplePut(_Items):
    items: Annotated[list[PersonPut], msgspec.Meta(min_length=1, max_length=MAX_ITEMS)]


class AffiliationsPut(_Items):
    items: Annotated[list[AffiliationPut], msgspec.Meta(min_length=1, max_length=MAX_ITEMS)]


class GuardianshipsPut(_Items):
    items: Annotated[list[GuardianshipPut], msgspec.Meta(min_length=1, max_length=MAX_ITEMS)]


class MembershipsPut(_Items):
    items: Annotated[list[MembershipPut], msgspec.Meta(min_length=1, max_length=MAX_ITEMS)]


ItemPut = InstitutionPut | GroupPut | PersonPut | AffiliationPut | GuardianshipPut | MembershipPut


class CountsRead(msgspec.Struct, kw_only=True):
    created: int
    updated: int
    deactivated: int
    unchanged: int

    @classmethod
    def of(cls, counts: Counts) -> CountsRead:
        return cls(
            created=counts.created,
            updated=counts.updated,
            deactivated=counts.deactivated,
            unchanged=counts.unchanged,
        )


class CountsByKindRead(msgspec.Struct, kw_only=True):
    """Every kind, because deactivating a person also deactivates their links."""

    institutions: CountsRead
    groups: CountsRead
    people: CountsRead
    affiliations: CountsRead
    guardianships: CountsRead
    memberships: CountsRead


class RosterSyncResult(msgspec.Struct, kw_only=True):
    """What a PUT changed, and each item it refused as ``items[N]: reason``."""

    counts: CountsByKindRead
    rejected: list[str]

    @classmethod
    def of(cls, report: SyncReport) -> RosterSyncResult:
        c = {kind: CountsRead.of(counts) for kind, counts in report.counts.items()}
        return cls(
            counts=CountsByKindRead(
                institutions=c["institutions"],
                groups=c["groups"],
                people=c["people"],
                affiliations=c["affiliations"],
                guardianships=c["guardianships"],
                memberships=c["memberships"],
            ),
            rejected=list(report.rejected),
        )
