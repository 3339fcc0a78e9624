"""Read a whole OneRoster CSV set into one :class:`~gateway.roster.records.RosterBatch`.

The files are read in the order their references need: orgs, then (optional) sessions
and demographics, then roles (1.2) and users, then classes and enrollments. Each is
streamed once. Nothing here touches the database; references into files read in bulk
are checked here, the rest is left to :mod:`gateway.roster.sync`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

import msgspec

from gateway.errors import ImportFailed
from gateway.roster.models import InstitutionKind
from gateway.roster.oneroster import (
    affiliations,
    demographics,
    groups,
    memberships,
    orgs,
    people,
    sessions,
)
from gateway.roster.oneroster.files import FileSet, open_file_set
from gateway.roster.oneroster.guardians import guardianships
from gateway.roster.oneroster.manifest import COLUMNS as MANIFEST_COLUMNS
from gateway.roster.oneroster.manifest import FileMode, Manifest, read_manifest
from gateway.roster.oneroster.references import Known
from gateway.roster.oneroster.table import Rejections, Table
from gateway.roster.records import Mode, RosterBatch

T = TypeVar("T")

MANIFEST = "manifest.csv"
USER_PROFILES = "userProfiles.csv"


class ReadResult(msgspec.Struct, kw_only=True):
    """A set as records, the rows it refused, its OneRoster version and rows per file."""

    batch: RosterBatch
    rejected: list[str]
    version: str  # "1.1" or "1.2"
    files: dict[str, int]  # file name -> data rows read
    notices: list[str] = msgspec.field(default_factory=list)  # accepted, but worth saying


def read_oneroster(
    path: Path,
    *,
    municipality_code: str | None,
    max_file_bytes: int,
    default_time_zone: str,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> ReadResult:
    """Read the OneRoster set at ``path`` (a folder or a .zip) without touching the database.

    Raises :class:`~gateway.errors.ImportFailed` for what stops the whole set (a missing
    file or column, a size limit, no municipality); row problems are in ``rejected``.
    """
    with open_file_set(path, max_file_bytes=max_file_bytes, on_progress=on_progress) as files:
        return _SetReader(files, municipality_code, default_time_zone).read()


class _SetReader:
    def __init__(self, files: FileSet, municipality_code: str | None, time_zone: str) -> None:
        self.files = files
        self.municipality_code = municipality_code
        self.time_zone = time_zone
        self.zone = ZoneInfo(time_zone)
        self.rejections = Rejections()
        self.counts: dict[str, int] = {}
        self.batch = RosterBatch()
        self.manifest = Manifest(version=None)
        self.notices: list[str] = []

    def read(self) -> ReadResult:
        if self.files.has(MANIFEST):
            self.manifest = self._read(MANIFEST, MANIFEST_COLUMNS, MANIFEST_COLUMNS, read_manifest)
        else:
            # The spec requires a manifest, but real exports leave it out; without one,
            # every file present is bulk and the version follows users.csv's columns.
            self.notices.append("manifest.csv is missing: every file present is read as bulk")
        # Every fatal check on the file set comes first: none should wait for 300 000 users.
        for name in (orgs.FILE, people.FILE):
            self._need(name, always=True)
        with_groups = self._need(groups.FILE, always=False)
        with_memberships = self._need(memberships.FILE, always=False)
        users_columns = self._peek_columns(people.FILE)
        version = self.manifest.version or ("1.1" if "role" in users_columns else "1.2")
        has_roles_file = self._mode(affiliations.FILE) is not None
        roles_in_users = version == "1.1" or ("role" in users_columns and not has_roles_file)
        if not roles_in_users and not has_roles_file:
            raise ImportFailed(
                "roles.csv is missing: in OneRoster 1.2 users' roles are there "
                "(users.csv has no role column)"
            )

        org_file = self._orgs()
        user_file = self._people(org_file.known, roles_in_users)
        group_known: Known[InstitutionKind | None] = Known(groups.FILE, complete=False)
        if with_groups:
            group_known = self._groups(org_file.known)
        if with_memberships:
            self._memberships(group_known, user_file)
        self._optional(USER_PROFILES, ("sourcedId",), (), lambda t: sum(1 for _ in t.rows()))
        return ReadResult(
            batch=self.batch,
            rejected=self.rejections.lines,
            version=version,
            files=self.counts,
            notices=self.notices,
        )

    def _orgs(self) -> orgs.OrgsFile:
        org_file = self._read(
            orgs.FILE,
            orgs.COLUMNS,
            orgs.REQUIRED,
            lambda t: orgs.read_orgs(
                t,
                delta=self._delta(orgs.FILE),
                default_time_zone=self.time_zone,
                rejections=self.rejections,
            ),
        )
        self.batch.municipality = orgs.municipality(org_file, self.municipality_code)
        if self.batch.municipality is None:
            raise ImportFailed(
                "no municipality: orgs.csv has no org of type district; "
                "add one or give the municipality code"
            )
        self.batch.institutions = org_file.institutions
        self._set_mode("institutions", orgs.FILE)
        self._optional(
            sessions.FILE,
            sessions.COLUMNS,
            sessions.REQUIRED,
            lambda t: sessions.check_sessions(
                t, delta=self._delta(sessions.FILE), zone=self.zone, rejections=self.rejections
            ),
        )
        return org_file

    def _people(self, org_known: Known[orgs.Org], roles_in_users: bool) -> people.PeopleFile:
        birth_dates = self._optional(
            demographics.FILE,
            demographics.COLUMNS,
            demographics.REQUIRED,
            lambda t: demographics.read_birth_dates(
                t, delta=self._delta(demographics.FILE), zone=self.zone, rejections=self.rejections
            ),
        )
        birth_dates = birth_dates or {}
        roles = None
        if not roles_in_users:
            roles = self._read(
                affiliations.FILE,
                affiliations.COLUMNS,
                affiliations.REQUIRED,
                lambda t: affiliations.read_roles(
                    t,
                    delta=self._delta(affiliations.FILE),
                    zone=self.zone,
                    orgs=org_known,
                    rejections=self.rejections,
                ),
            )
        user_file = self._read(
            people.FILE,
            people.COLUMNS,
            people.REQUIRED + (("role",) if roles_in_users else ()),
            lambda t: people.read_people(
                t,
                delta=self._delta(people.FILE),
                person_roles=roles.person_roles if roles is not None else None,
                orgs=org_known,
                birth_dates=birth_dates,
                rejections=self.rejections,
            ),
        )
        demographics.reject_unclaimed(birth_dates, user_file.known, self.rejections)
        batch = self.batch
        batch.people = user_file.records
        self._set_mode("people", people.FILE)
        if roles is not None:
            batch.affiliations = affiliations.keep_known_people(
                roles.affiliations, user_file.known, self.rejections
            )
            self._set_mode("affiliations", affiliations.FILE)
        else:
            batch.affiliations = user_file.affiliations
            self._set_mode("affiliations", people.FILE)
        batch.guardianships = guardianships(user_file, self.rejections)
        return user_file

    def _groups(self, org_known: Known[orgs.Org]) -> Known[InstitutionKind | None]:
        group_file = self._read(
            groups.FILE,
            groups.COLUMNS,
            groups.REQUIRED,
            lambda t: groups.read_groups(
                t, delta=self._delta(groups.FILE), orgs=org_known, rejections=self.rejections
            ),
        )
        self.batch.groups = group_file.records
        self._set_mode("groups", groups.FILE)
        return group_file.known

    def _memberships(
        self, group_known: Known[InstitutionKind | None], user_file: people.PeopleFile
    ) -> None:
        self.batch.memberships = self._read(
            memberships.FILE,
            memberships.COLUMNS,
            memberships.REQUIRED,
            lambda t: memberships.read_memberships(
                t,
                delta=self._delta(memberships.FILE),
                zone=self.zone,
                groups=group_known,
                people=user_file.known,
                staff_roles=user_file.staff_roles,
                rejections=self.rejections,
            ),
        )
        self._set_mode("memberships", memberships.FILE)

    # -- files, modes and limits -------------------------------------------------------

    def _mode(self, name: str) -> FileMode | None:
        """The mode a file is read in; ``None`` when it is absent or not there at all."""
        declared = self.manifest.mode(name)
        if declared is FileMode.ABSENT or not self.files.has(name):
            return None
        # A file the manifest forgot to list is taken as the whole truth, like bulk.
        return declared or FileMode.BULK

    def _delta(self, name: str) -> bool:
        return self._mode(name) is FileMode.DELTA

    def _set_mode(self, kind: str, name: str) -> None:
        mode = self._mode(name)
        if mode is not None:
            self.batch.modes[kind] = Mode(mode.value)

    def _need(self, name: str, *, always: bool) -> bool:
        """Whether to read ``name``; fatal when it must be there and is not."""
        declared = self.manifest.mode(name)
        if declared is FileMode.ABSENT:
            if always:
                raise ImportFailed(
                    f"manifest.csv marks file.{name.removesuffix('.csv')} absent, but {name} "
                    "is always needed: send it, as bulk or delta"
                )
            return False
        if self.files.has(name):
            return True
        if declared is not None:
            raise ImportFailed(f"{name} is missing, but manifest.csv lists it as {declared.value}")
        hint = (
            "" if always else f", or mark file.{name.removesuffix('.csv')} absent in manifest.csv"
        )
        raise ImportFailed(f"{name} is missing: add it{hint}")

    def _peek_columns(self, name: str) -> set[str]:
        with self.files.text(name, report=False) as stream:
            table = Table(name, stream, columns=people.COLUMNS, required=())
            return set(table.columns)

    def _read(
        self, name: str, columns: Sequence[str], required: Sequence[str], read: Callable[[Table], T]
    ) -> T:
        with self.files.text(name) as stream:
            table = Table(name, stream, columns=columns, required=required)
            result = read(table)
        self.counts[name] = table.count
        return result

    def _optional(
        self, name: str, columns: Sequence[str], required: Sequence[str], read: Callable[[Table], T]
    ) -> T | None:
        if self._mode(name) is None:
            return None
        return self._read(name, columns, required, read)
