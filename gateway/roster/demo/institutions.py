"""The municipality's institutions, their classes and rooms, and the staff who work there.

The plan is made before any child exists, from the expected number of children, so
that classes, rooms and staff can be written first and children placed as they are
generated (round-robin within their year or room kind, which keeps groups even).
Schools and daycares multiply with the number of children, so that a large fixture
looks like a large municipality rather than two enormous schools.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import Literal

import msgspec

from gateway.roster.demo import schoolyear
from gateway.roster.demo.draw import pick
from gateway.roster.demo.names import (
    DANISH,
    MIDDLE_NAMES,
    UniLogins,
    ascii_slug,
    family_name_for,
    pick_origin,
)

MUNICIPALITY_CODE = "0999"  # not a real kommunekode: those run from 0101 to 0860
MUNICIPALITY_NAME = "Budstikke Kommune"
DISTRICT_ID = f"municipality-{MUNICIPALITY_CODE}"
SESSION_ID = "schoolyear-2026"
STAFF_DOMAIN = "example.org"

PUPILS_PER_SCHOOL = 700
CHILDREN_PER_DAYCARE = 150
CLASS_SIZE = 24
VUGGESTUE_ROOM_SIZE = 12
BOERNEHAVE_ROOM_SIZE = 22
# The minimum staffing ratio (minimumsnormering): one adult per three children in
# vuggestue and per six in børnehave.
VUGGESTUE_RATIO = 3
BOERNEHAVE_RATIO = 6

InstitutionKind = Literal["school", "daycare"]
RoomKind = Literal["vuggestue", "boernehave"]
StaffRole = Literal["teacher", "pedagogue", "leader", "admin"]

# fmt: off
_SCHOOL_STEMS = (
    "Nord", "Sønder", "Øster", "Vester", "Ege", "Bøge", "Linde", "Aske", "Hassel", "Rønne",
    "Hede", "Kirke", "Mølle", "Skov", "Sø", "Fjord", "Bakke", "Enge", "Mose", "Strand",
    "Rosen", "Kilde", "Trane", "Elle",
)
_SCHOOL_ENDINGS = ("skolen", "vangskolen", "højskolen", "lundskolen", "gårdsskolen")
_DAYCARE_KINDS = ("Børnehuset", "Dagtilbud", "Børnehaven", "Naturbørnehuset")
_DAYCARE_NAMES = (
    "Solsikken", "Egebakken", "Kastanjen", "Troldehøj", "Bikuben", "Spiren", "Lærkereden",
    "Mejsen", "Fuglereden", "Ellebo", "Hyldebo", "Kløverbakken", "Skovly", "Åbo",
    "Græshoppen", "Mælkebøtten", "Paddehatten", "Abildgården", "Hønsehuset", "Tusindfryd",
)
_VUGGESTUE_ROOMS = (
    "Mariehønen", "Sommerfuglen", "Bien", "Pindsvinet", "Egernet", "Musene", "Frøerne",
    "Sneglen", "Humlebien", "Ællingerne", "Kyllingerne", "Larverne",
)
_BOERNEHAVE_ROOMS = (
    "Regnbuen", "Solstrålen", "Skovtroldene", "Havfruen", "Stjernen", "Måneskin",
    "Ugleungerne", "Rævene", "Grævlingerne", "Vikingerne", "Piraterne", "Ulvene",
)
# fmt: on


class Institution(msgspec.Struct, frozen=True, kw_only=True):
    source_id: str
    kind: InstitutionKind
    name: str
    identifier: str


class Course(msgspec.Struct, frozen=True, kw_only=True):
    """A class year at a school or a room kind at a daycare (OneRoster 1.2 requires one)."""

    source_id: str
    institution: str
    title: str
    code: str
    grade: str


class Group(msgspec.Struct, frozen=True, kw_only=True):
    source_id: str
    institution: str
    course: str
    kind: Literal["class", "room"]
    title: str
    code: str
    grade: str
    class_year: int | None = None


class Teaching(msgspec.Struct, frozen=True, kw_only=True):
    group: str
    primary: bool


class Staff(msgspec.Struct, kw_only=True):
    source_id: str
    institution: str
    staff_role: StaffRole
    oneroster_role: str
    given_name: str
    middle_name: str
    family_name: str
    locale: str
    uni_login: str
    email: str
    teaches: list[Teaching] = msgspec.field(default_factory=list)


class Placement(msgspec.Struct, frozen=True, kw_only=True):
    """Where a child goes: the institution, the class or room, and the CEDS grade."""

    institution: str
    kind: InstitutionKind
    group: str
    grade: str


def ceds_grade(class_year: int) -> str:
    """OneRoster recommends the CEDS grade codes: KG is 0. klasse, 01 … 09 the rest."""
    return "KG" if class_year == 0 else f"{class_year:02d}"


ROOM_GRADES: dict[RoomKind, str] = {"vuggestue": "IT", "boernehave": "PR"}
ROOM_TITLES: dict[RoomKind, tuple[str, str]] = {
    "vuggestue": ("Vuggestue", "Vuggestuen"),
    "boernehave": ("Børnehave", "Børnehaven"),
}


def _letters(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA: class letters as schools use them."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _numbered(names: tuple[str, ...], index: int) -> str:
    """The index-th name, with a number once the list has been used up."""
    base = names[index % len(names)]
    return base if index < len(names) else f"{base} {index // len(names) + 1}"


def _school_names() -> tuple[str, ...]:
    first = ("Nordskolen", "Søndervangskolen")
    combined = (f"{stem}{ending}" for ending in _SCHOOL_ENDINGS for stem in _SCHOOL_STEMS)
    return first + tuple(name for name in combined if name not in first)


_SCHOOL_NAMES = _school_names()


def school_name(index: int) -> str:
    return _numbered(_SCHOOL_NAMES, index)


def daycare_name(index: int) -> str:
    names = tuple(
        f"{_DAYCARE_KINDS[i % len(_DAYCARE_KINDS)]} {name}" for i, name in enumerate(_DAYCARE_NAMES)
    )
    return _numbered(names, index)


class Municipality:
    """The plan: institutions, courses, groups and staff, and where each child goes."""

    def __init__(self, rng: random.Random, children: int, uni_logins: UniLogins) -> None:
        self.code = MUNICIPALITY_CODE
        self.name = MUNICIPALITY_NAME
        self._rng = rng
        self._uni_logins = uni_logins
        self.institutions: list[Institution] = []
        self.courses: list[Course] = []
        self.groups: list[Group] = []
        self.staff: list[Staff] = []
        self.primary_teacher: dict[str, str] = {}
        self._classes: dict[tuple[int, int], list[Group]] = {}
        self._rooms: dict[tuple[int, RoomKind], list[Group]] = {}
        self._placed: dict[str, int] = {}

        school_share, vuggestue_share, boernehave_share = schoolyear.expected_shares()
        pupils = children * school_share
        in_daycare = children * (vuggestue_share + boernehave_share)
        self.schools = max(2, math.ceil(pupils / PUPILS_PER_SCHOOL))
        self.daycares = max(2, math.ceil(in_daycare / CHILDREN_PER_DAYCARE))
        per_year = pupils / self.schools / 10
        for index in range(self.schools):
            self._plan_school(index, per_year)
        for index in range(self.daycares):
            self._plan_daycare(
                index,
                children * vuggestue_share / self.daycares,
                children * boernehave_share / self.daycares,
            )
        self.district_admin = self._hire(DISTRICT_ID, "admin", "districtAdministrator")

    # -- where children go -------------------------------------------------------------

    def place(
        self, *, class_year: int | None, vuggestue: bool, school: int, daycare: int
    ) -> Placement:
        """The class (school child) or room (daycare child) for the next child."""
        if class_year is not None:
            groups = self._classes[(school % self.schools, class_year)]
            kind: InstitutionKind = "school"
        else:
            room: RoomKind = "vuggestue" if vuggestue else "boernehave"
            groups = self._rooms[(daycare % self.daycares, room)]
            kind = "daycare"
        key = groups[0].course
        count = self._placed.get(key, 0)
        self._placed[key] = count + 1
        group = groups[count % len(groups)]
        return Placement(
            institution=group.institution, kind=kind, group=group.source_id, grade=group.grade
        )

    # -- planning ----------------------------------------------------------------------

    def _plan_school(self, index: int, per_year: float) -> None:
        school = Institution(
            source_id=f"school-{index + 1:02d}",
            kind="school",
            name=school_name(index),
            # Six digits like an institutionsnummer, from a range no real one uses.
            identifier=f"99{index + 1:04d}",
        )
        self.institutions.append(school)
        classes_per_year = max(1, math.ceil(per_year / CLASS_SIZE))
        classes: list[Group] = []
        for year in range(10):
            course = Course(
                source_id=f"{school.source_id}-year-{year}",
                institution=school.source_id,
                title=f"{year}. årgang",
                code=str(year),
                grade=ceds_grade(year),
            )
            self.courses.append(course)
            year_classes = [
                Group(
                    source_id=f"{school.source_id}-{year}{_letters(i).lower()}",
                    institution=school.source_id,
                    course=course.source_id,
                    kind="class",
                    title=f"{year}.{_letters(i)}",
                    code=f"{year}{_letters(i)}",
                    grade=course.grade,
                    class_year=year,
                )
                for i in range(classes_per_year)
            ]
            self._classes[(index, year)] = year_classes
            classes.extend(year_classes)
        self.groups.extend(classes)
        self._staff_school(school, classes)

    def _staff_school(self, school: Institution, classes: list[Group]) -> None:
        self._hire(school.source_id, "leader", "principal")
        self._hire(school.source_id, "admin", "siteAdministrator")
        # Every class has its klasselærer; subject teachers without a class of their own
        # make up about a quarter of the teachers, and each class gets one or two more.
        class_teachers = [self._hire(school.source_id, "teacher", "teacher") for _ in classes]
        subject_teachers = [
            self._hire(school.source_id, "teacher", "teacher")
            for _ in range(math.ceil(len(classes) * 0.3))
        ]
        everyone = class_teachers + subject_teachers
        for i, (group, teacher) in enumerate(zip(classes, class_teachers, strict=True)):
            teacher.teaches.append(Teaching(group=group.source_id, primary=True))
            self.primary_teacher[group.source_id] = teacher.source_id
            more = [subject_teachers[i % len(subject_teachers)]]
            if self._rng.random() < 0.5:
                more.append(pick(self._rng, everyone))
            for extra in more:
                already = {t.group for t in extra.teaches}
                if extra is not teacher and group.source_id not in already:
                    extra.teaches.append(Teaching(group=group.source_id, primary=False))
            if group.class_year is not None and group.class_year <= 2:
                # Pedagogues work alongside the teachers in the youngest classes.
                pedagogue = self._hire(school.source_id, "pedagogue", "aide")
                pedagogue.teaches.append(Teaching(group=group.source_id, primary=False))

    def _plan_daycare(self, index: int, vuggestue: float, boernehave: float) -> None:
        daycare = Institution(
            source_id=f"daycare-{index + 1:02d}",
            kind="daycare",
            name=daycare_name(index),
            identifier=f"98{index + 1:04d}",
        )
        self.institutions.append(daycare)
        self._hire(daycare.source_id, "leader", "principal")
        self._hire(daycare.source_id, "admin", "siteAdministrator")
        room_number = 0
        for room, expected, size, ratio, names in (
            ("vuggestue", vuggestue, VUGGESTUE_ROOM_SIZE, VUGGESTUE_RATIO, _VUGGESTUE_ROOMS),
            ("boernehave", boernehave, BOERNEHAVE_ROOM_SIZE, BOERNEHAVE_RATIO, _BOERNEHAVE_ROOMS),
        ):
            room_kind: RoomKind = "vuggestue" if room == "vuggestue" else "boernehave"
            course_title, room_prefix = ROOM_TITLES[room_kind]
            course = Course(
                source_id=f"{daycare.source_id}-{room_kind}",
                institution=daycare.source_id,
                title=course_title,
                code=room_kind,
                grade=ROOM_GRADES[room_kind],
            )
            self.courses.append(course)
            rooms = max(1, math.ceil(expected / size))
            per_room = max(2, math.ceil(expected / rooms / ratio))
            groups = []
            for i in range(rooms):
                room_number += 1
                group = Group(
                    source_id=f"{daycare.source_id}-room-{room_number:02d}",
                    institution=daycare.source_id,
                    course=course.source_id,
                    kind="room",
                    title=f"{room_prefix} {_numbered(names, i)}",
                    code=f"{room_kind}-{i + 1}",
                    grade=course.grade,
                )
                groups.append(group)
                for n in range(per_room):
                    pedagogue = self._hire(daycare.source_id, "pedagogue", "teacher")
                    pedagogue.teaches.append(Teaching(group=group.source_id, primary=n == 0))
            self._rooms[(index, room_kind)] = groups
            self.groups.extend(groups)

    def _hire(self, institution: str, staff_role: StaffRole, oneroster_role: str) -> Staff:
        rng = self._rng
        # Staff are a little less varied in origin than the families they serve.
        origin = DANISH if rng.random() < 0.5 else pick_origin(rng)
        female = rng.random() < (0.85 if staff_role == "pedagogue" else 0.65)
        given = pick(rng, origin.women if female else origin.men)
        middle = pick(rng, MIDDLE_NAMES) if origin is DANISH and rng.random() < 0.15 else ""
        family = family_name_for(pick(rng, origin.families), female=female)
        serial = len(self.staff) + 1
        staff = Staff(
            source_id=f"staff-{serial:05d}",
            institution=institution,
            staff_role=staff_role,
            oneroster_role=oneroster_role,
            given_name=given,
            middle_name=middle,
            family_name=family,
            locale="da" if rng.random() < 0.95 else "en",
            uni_login=self._uni_logins.allocate(given),
            email=f"{ascii_slug(given)}.{ascii_slug(family)}{serial}@{STAFF_DOMAIN}",
        )
        self.staff.append(staff)
        return staff

    def iter_teaching(self) -> Iterator[tuple[Staff, Teaching]]:
        for staff in self.staff:
            for teaching in staff.teaches:
                yield staff, teaching
