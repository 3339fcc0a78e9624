"""The generator's structs as OneRoster 1.2 rows, in each file's column order.

Rows go to one sink per file, keyed by the manifest's file names (``users``, ``roles``);
see :mod:`gateway.roster.demo.columns` for the columns.

Roles and enrollments carry no begin or end dates: the school year is in
academicSessions.csv, and dated memberships would make a demo loaded before August 2026
look empty to anything that honours the dates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from gateway.roster.demo import schoolyear
from gateway.roster.demo.households import Adult, Child, Family, Relation
from gateway.roster.demo.institutions import DISTRICT_ID, SESSION_ID, Municipality, Staff

ACTIVE = "active"
MODIFIED = schoolyear.LAST_MODIFIED
# The OneRoster role a guardian has at their child's institution, by relation.
GUARDIAN_ROLES = {
    Relation.PARENT: "parent",
    Relation.FOSTER: "guardian",
    Relation.STEP: "relative",
    Relation.RELATIVE: "relative",
}
ALIASES = {"school": "Elev (beskyttet)", "daycare": "Barn (beskyttet)"}
GUARDIAN_ALIAS = "Forælder (beskyttet)"


class Sink(Protocol):
    """Where one file's rows go."""

    def write(self, row: Sequence[str], /) -> None: ...


def _flag(value: bool) -> str:
    return "true" if value else "false"


class RowWriter:
    """Turns the generator's structs into OneRoster rows."""

    def __init__(self, tables: Mapping[str, Sink]) -> None:
        self._sessions = tables["academicSessions"]
        self._orgs = tables["orgs"]
        self._users = tables["users"]
        self._roles = tables["roles"]
        self._courses = tables["courses"]
        self._classes = tables["classes"]
        self._enrollments = tables["enrollments"]
        self._demographics = tables["demographics"]

    def structure(self, municipality: Municipality) -> None:
        self._sessions.write(
            (
                SESSION_ID,
                ACTIVE,
                MODIFIED,
                schoolyear.TITLE,
                "schoolYear",
                schoolyear.START.isoformat(),
                schoolyear.END.isoformat(),
                "",
                schoolyear.ONEROSTER_SCHOOL_YEAR,
            )
        )
        self._orgs.write(
            (
                DISTRICT_ID,
                ACTIVE,
                MODIFIED,
                municipality.name,
                "district",
                municipality.code,
                "",
                "",
            )
        )
        for institution in municipality.institutions:
            # OneRoster has no daycare org type: a daycare is a "school" with our kind.
            self._orgs.write(
                (
                    institution.source_id,
                    ACTIVE,
                    MODIFIED,
                    institution.name,
                    "school",
                    institution.identifier,
                    DISTRICT_ID,
                    institution.kind,
                )
            )
        for course in municipality.courses:
            self._courses.write(
                (
                    course.source_id,
                    ACTIVE,
                    MODIFIED,
                    SESSION_ID,
                    course.title,
                    course.code,
                    course.grade,
                    course.institution,
                    "",
                    "",
                )
            )
        for group in municipality.groups:
            self._classes.write(
                (
                    group.source_id,
                    ACTIVE,
                    MODIFIED,
                    group.title,
                    group.grade,
                    group.course,
                    group.code,
                    "homeroom",
                    "",
                    group.institution,
                    SESSION_ID,
                    "",
                    "",
                    "",
                    group.kind,
                )
            )

    def staff(self, staff: Staff) -> None:
        self._user(
            source_id=staff.source_id,
            enabled=True,
            username=staff.uni_login,
            uni_login=staff.uni_login,
            given_name=staff.given_name,
            family_name=staff.family_name,
            middle_name=staff.middle_name,
            email=staff.email,
            agents="",
            grades="",
            primary_org=staff.institution,
            protected=False,
            alias="",
            custody="",
            relation="",
            locale=staff.locale,
            staff_role=staff.staff_role,
        )
        self._role(staff.source_id, staff.institution, staff.oneroster_role, primary=True)
        for teaching in staff.teaches:
            # 1.2 allows only administrator, proctor, student and teacher here; the
            # pedagogues' own role is in metadata.dk.staffRole and roles.csv.
            self._enrollments.write(
                (
                    f"{teaching.group}-{staff.source_id}",
                    ACTIVE,
                    MODIFIED,
                    teaching.group,
                    staff.institution,
                    staff.source_id,
                    "teacher",
                    _flag(teaching.primary),
                    "",
                    "",
                )
            )

    def family(self, family: Family) -> None:
        guardians_of: dict[str, list[str]] = {child.source_id: [] for child in family.children}
        children_of: dict[str, list[str]] = {adult.source_id: [] for adult in family.adults}
        custody_of: dict[str, list[str]] = {adult.source_id: [] for adult in family.adults}
        for link in family.links:
            guardians_of[link.child].append(link.guardian)
            children_of[link.guardian].append(link.child)
            if link.custody:
                custody_of[link.guardian].append(link.child)
        for child in family.children:
            self._child(child, guardians_of[child.source_id])
        institution_of = {child.source_id: child.placement.institution for child in family.children}
        for adult in family.adults:
            linked = children_of[adult.source_id]
            custodial = custody_of[adult.source_id]
            institutions = list(dict.fromkeys(institution_of[c] for c in linked))
            self._guardian(adult, linked, custodial, institutions)

    def _child(self, child: Child, guardians: list[str]) -> None:
        placement = child.placement
        self._user(
            source_id=child.source_id,
            # Daycare children do not log in, but enabledUser stays true: importers
            # (ours included) read false as "deactivated", which would drop them.
            enabled=True,
            username=child.uni_login or child.source_id,
            uni_login=child.uni_login,
            given_name=child.given_name,
            family_name=child.family_name,
            middle_name=child.middle_name,
            email=child.email,
            agents=",".join(guardians),
            grades=placement.grade,
            primary_org=placement.institution,
            protected=child.protected,
            alias=ALIASES[placement.kind] if child.protected else "",
            custody="",
            relation="",
            locale=child.locale,
            staff_role="",
        )
        self._role(child.source_id, placement.institution, "student", primary=True)
        self._enrollments.write(
            (
                f"{placement.group}-{child.source_id}",
                ACTIVE,
                MODIFIED,
                placement.group,
                placement.institution,
                child.source_id,
                "student",
                "false",
                "",
                "",
            )
        )
        self._demographics.write(
            (
                child.source_id,
                ACTIVE,
                MODIFIED,
                child.birth_date.isoformat(),
                "female" if child.female else "male",
                *("",) * 11,
            )
        )

    def _guardian(
        self, adult: Adult, linked: list[str], custodial: list[str], institutions: list[str]
    ) -> None:
        if len(custodial) == len(linked):
            custody = "true"
        elif not custodial:
            custody = "false"
        else:
            custody = ",".join(custodial)
        self._user(
            source_id=adult.source_id,
            enabled=True,
            username=adult.email or adult.source_id,
            uni_login="",
            given_name=adult.given_name,
            family_name=adult.family_name,
            middle_name=adult.middle_name,
            email=adult.email,
            agents=",".join(linked),
            grades="",
            primary_org=institutions[0],
            protected=adult.protected,
            alias=GUARDIAN_ALIAS if adult.protected else "",
            custody=custody,
            relation=adult.relation.value,
            locale=adult.locale,
            staff_role="",
        )
        role = GUARDIAN_ROLES[adult.relation]
        for i, institution in enumerate(institutions):
            self._role(adult.source_id, institution, role, primary=i == 0)

    def _role(self, user: str, org: str, role: str, *, primary: bool) -> None:
        self._roles.write(
            (
                f"{user}-{org}",
                ACTIVE,
                MODIFIED,
                user,
                "primary" if primary else "secondary",
                role,
                "",
                "",
                org,
                "",
            )
        )

    def _user(
        self,
        *,
        source_id: str,
        enabled: bool,
        username: str,
        uni_login: str,
        given_name: str,
        family_name: str,
        middle_name: str,
        email: str,
        agents: str,
        grades: str,
        primary_org: str,
        protected: bool,
        alias: str,
        custody: str,
        relation: str,
        locale: str,
        staff_role: str,
    ) -> None:
        self._users.write(
            (
                source_id,
                ACTIVE,
                MODIFIED,
                _flag(enabled),
                username,
                f"{{UNI-Login:{uni_login}}}" if uni_login else "",
                given_name,
                family_name,
                middle_name,
                "",
                email,
                "",
                "",
                agents,
                grades,
                "",
                "",
                "",
                "",
                "",
                "",
                primary_org,
                "",
                _flag(protected),
                alias,
                custody,
                relation,
                locale,
                staff_role,
            )
        )
