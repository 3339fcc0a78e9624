"""The roster in transit: validated records that every source (CSV import, REST) produces.

A source turns its input into a :class:`RosterBatch`; :mod:`gateway.roster.sync` applies
one batch to the database in one transaction. References between records are by source
id (OneRoster ``sourcedId``), so a delta batch may refer to what is already stored.
Every record carries ``origin`` (``"users.csv:17"``, ``"people[3]"``) so that a row the
sync must refuse is reported where it came from.
"""

from __future__ import annotations

import datetime as dt
import enum

import msgspec

from gateway.roster.models import GroupKind, InstitutionKind, MemberRole, PersonKind


class Mode(enum.StrEnum):
    """How a batch treats one kind of record (OneRoster's manifest ``file.*`` values)."""

    BULK = "bulk"  # the batch is the whole truth for its institutions: absent means gone
    DELTA = "delta"  # only what is in the batch changes; ``active=False`` deactivates


class MunicipalityRecord(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str
    source_id: str | None = None


class InstitutionRecord(msgspec.Struct, frozen=True, kw_only=True):
    origin: str
    source_id: str
    kind: InstitutionKind
    name: str
    identifier: str | None = None
    time_zone: str | None = None
    active: bool = True


class GroupRecord(msgspec.Struct, frozen=True, kw_only=True):
    origin: str
    source_id: str
    institution: str
    kind: GroupKind
    name: str
    grades: str | None = None
    details: dict[str, str] = msgspec.field(default_factory=dict)
    active: bool = True


class PersonRecord(msgspec.Struct, frozen=True, kw_only=True):
    origin: str
    source_id: str
    kind: PersonKind
    given_name: str
    family_name: str
    protected: bool = False
    alias: str | None = None
    locale: str = "da"
    birth_date: dt.date | None = None
    grades: str | None = None
    uni_login: str | None = None
    username: str | None = None
    emails: tuple[str, ...] = ()
    active: bool = True


class AffiliationRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A person's role at an institution; ``role`` is the OneRoster role name."""

    origin: str
    person: str
    institution: str
    role: str
    primary: bool = True
    begin_date: dt.date | None = None
    end_date: dt.date | None = None
    active: bool = True


class GuardianshipRecord(msgspec.Struct, frozen=True, kw_only=True):
    origin: str
    child: str
    guardian: str
    custody: bool
    relation: str
    active: bool = True


class MembershipRecord(msgspec.Struct, frozen=True, kw_only=True):
    origin: str
    group: str
    person: str
    role: MemberRole
    source_id: str | None = None
    primary: bool = False
    begin_date: dt.date | None = None
    end_date: dt.date | None = None
    active: bool = True


class RosterBatch(msgspec.Struct, kw_only=True):
    """One source's records, with the mode each kind is applied in.

    A kind missing from ``modes`` is not touched at all (OneRoster's ``absent``).
    Guardianships and people's e-mail addresses follow the people's mode.
    """

    municipality: MunicipalityRecord | None = None
    modes: dict[str, Mode] = msgspec.field(default_factory=dict)
    institutions: list[InstitutionRecord] = msgspec.field(default_factory=list)
    groups: list[GroupRecord] = msgspec.field(default_factory=list)
    people: list[PersonRecord] = msgspec.field(default_factory=list)
    affiliations: list[AffiliationRecord] = msgspec.field(default_factory=list)
    guardianships: list[GuardianshipRecord] = msgspec.field(default_factory=list)
    memberships: list[MembershipRecord] = msgspec.field(default_factory=list)


KINDS = ("institutions", "groups", "people", "affiliations", "guardianships", "memberships")


class Counts(msgspec.Struct, kw_only=True):
    created: int = 0
    updated: int = 0
    deactivated: int = 0
    unchanged: int = 0


class SyncReport(msgspec.Struct, kw_only=True):
    """What a sync did (or, on a dry run, would have done), per kind, and what it refused."""

    counts: dict[str, Counts] = msgspec.field(default_factory=lambda: {k: Counts() for k in KINDS})
    rejected: list[str] = msgspec.field(default_factory=list)
    dry_run: bool = False

    def reject(self, origin: str, reason: str) -> None:
        self.rejected.append(f"{origin}: {reason}")
