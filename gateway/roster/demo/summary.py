"""What a demo data set holds: row counts, and ids of people worth knowing for docs and tests.

The ids are picked while the families stream past (the first that fits), so the
generator never has to look back; the scripted first families guarantee a match.
"""

from __future__ import annotations

import msgspec

from gateway.roster.demo import schoolyear
from gateway.roster.demo.households import Family, FamilyKind, Relation
from gateway.roster.demo.institutions import Municipality

# The age from which the gateway's policies let pupils answer for themselves.
PUPIL_AGE = 13


class DemoSummary(msgspec.Struct, frozen=True, kw_only=True):
    """Row counts per file and the sourcedIds of people with particular properties."""

    municipality_code: str
    municipality_name: str
    school_year: str
    seed: int
    rows: dict[str, int]  # per written file, without the header

    families: int
    children: int
    pupils: int
    daycare_children: int
    guardians: int
    staff: int
    schools: int
    daycares: int
    classes: int
    rooms: int
    split_households: int
    non_custodial_links: int
    protected_children: int
    protected_guardians: int

    teacher: str  # primary teacher of ``teacher_class``
    teacher_class: str  # a class with a child of ``guardian_two_children``
    pedagogue: str  # primary pedagogue of ``pedagogue_room``
    pedagogue_room: str
    leader: str  # of the school of ``teacher_class``
    district_admin: str
    guardian_two_children: str  # a parent with custody of two or more children
    guardian_two_children_children: tuple[str, ...]
    non_custodial_parent: str  # a parent without custody of any of their children
    non_custodial_child: str
    custody_list_guardian: str  # custody of some of their children only (the list form)
    split_household_child: str  # custodial guardians at two addresses
    step_parent: str
    foster_parent: str
    pupil: str  # a school child aged 13 or more at the start of the school year
    protected_child: str
    protected_guardian: str


# The ids the collector looks for; once all are found, families are only counted.
_WANTED = frozenset(
    {
        "protected_child",
        "protected_guardian",
        "pupil",
        "split_household_child",
        "step_parent",
        "foster_parent",
        "custody_list_guardian",
        "non_custodial_parent",
        "non_custodial_child",
        "guardian_two_children",
        "teacher_class",
    }
)


class SummaryCollector:
    """Counts families as they are written and remembers the first fitting ids."""

    def __init__(self, municipality: Municipality) -> None:
        self._municipality = municipality
        self._counts = dict.fromkeys(
            (
                "families",
                "children",
                "pupils",
                "daycare_children",
                "guardians",
                "split_households",
                "non_custodial_links",
                "protected_children",
                "protected_guardians",
            ),
            0,
        )
        self._ids: dict[str, str] = {}
        self._guardian_children: tuple[str, ...] = ()

    def observe(self, family: Family) -> None:
        counts = self._counts
        counts["families"] += 1
        counts["children"] += len(family.children)
        counts["guardians"] += len(family.adults)
        counts["non_custodial_links"] += sum(not link.custody for link in family.links)
        counts["protected_children"] += sum(child.protected for child in family.children)
        counts["protected_guardians"] += sum(adult.protected for adult in family.adults)
        parent_homes = {adult.home for adult in family.adults if adult.relation is Relation.PARENT}
        counts["split_households"] += len(parent_homes) > 1
        pupils = sum(child.placement.kind == "school" for child in family.children)
        counts["pupils"] += pupils
        counts["daycare_children"] += len(family.children) - pupils
        if len(self._ids) < len(_WANTED):
            self._pick_ids(family)

    def _pick_ids(self, family: Family) -> None:
        ids = self._ids
        home_of = {adult.source_id: adult.home for adult in family.adults}
        custodial_homes: dict[str, set[int]] = {child.source_id: set() for child in family.children}
        for link in family.links:
            if link.custody:
                custodial_homes[link.child].add(home_of[link.guardian])
        for child in family.children:
            if child.protected:
                ids.setdefault("protected_child", child.source_id)
                continue
            pupil = child.placement.kind == "school"
            if pupil and schoolyear.age_on(child.birth_date, schoolyear.START) >= PUPIL_AGE:
                ids.setdefault("pupil", child.source_id)
            if len(custodial_homes[child.source_id]) > 1:
                ids.setdefault("split_household_child", child.source_id)
        for adult in family.adults:
            self._observe_adult(family, adult.source_id, adult.relation, adult.protected)

    def _observe_adult(
        self, family: Family, guardian: str, relation: Relation, protected: bool
    ) -> None:
        ids = self._ids
        links = [link for link in family.links if link.guardian == guardian]
        custody = {link.custody for link in links}
        if protected:
            ids.setdefault("protected_guardian", guardian)
            return
        if relation is Relation.STEP:
            ids.setdefault("step_parent", guardian)
        elif relation is Relation.FOSTER:
            ids.setdefault("foster_parent", guardian)
        elif relation is Relation.PARENT:
            if custody == {True, False}:
                ids.setdefault("custody_list_guardian", guardian)
            elif custody == {False} and family.kind is FamilyKind.SPLIT_NONCUSTODIAL:
                if "non_custodial_parent" not in ids:
                    ids["non_custodial_parent"] = guardian
                    ids["non_custodial_child"] = links[0].child
            elif custody == {True} and len(links) >= 2 and "guardian_two_children" not in ids:
                placements = {child.source_id: child.placement for child in family.children}
                in_school = [
                    placements[link.child]
                    for link in links
                    if placements[link.child].kind == "school"
                ]
                if in_school:
                    ids["guardian_two_children"] = guardian
                    ids["teacher_class"] = in_school[0].group
                    self._guardian_children = tuple(link.child for link in links)

    def _need(self, name: str) -> str:
        try:
            return self._ids[name]
        except KeyError:
            raise RuntimeError(f"the demo data has no {name.replace('_', ' ')}") from None

    def summary(self, *, seed: int, rows: dict[str, int]) -> DemoSummary:
        municipality = self._municipality
        counts = self._counts
        teacher_class = self._need("teacher_class")
        school = next(g.institution for g in municipality.groups if g.source_id == teacher_class)
        room, pedagogue = next(
            (teaching.group, staff.source_id)
            for staff, teaching in municipality.iter_teaching()
            if staff.staff_role == "pedagogue" and teaching.primary
        )
        leader = next(
            s.source_id
            for s in municipality.staff
            if s.institution == school and s.staff_role == "leader"
        )
        return DemoSummary(
            municipality_code=municipality.code,
            municipality_name=municipality.name,
            school_year=schoolyear.LABEL,
            seed=seed,
            rows=rows,
            families=counts["families"],
            children=counts["children"],
            pupils=counts["pupils"],
            daycare_children=counts["daycare_children"],
            guardians=counts["guardians"],
            staff=len(municipality.staff),
            schools=municipality.schools,
            daycares=municipality.daycares,
            classes=sum(g.kind == "class" for g in municipality.groups),
            rooms=sum(g.kind == "room" for g in municipality.groups),
            split_households=counts["split_households"],
            non_custodial_links=counts["non_custodial_links"],
            protected_children=counts["protected_children"],
            protected_guardians=counts["protected_guardians"],
            teacher=municipality.primary_teacher[teacher_class],
            teacher_class=teacher_class,
            pedagogue=pedagogue,
            pedagogue_room=room,
            leader=leader,
            district_admin=municipality.district_admin.source_id,
            guardian_two_children=self._need("guardian_two_children"),
            guardian_two_children_children=self._guardian_children,
            non_custodial_parent=self._need("non_custodial_parent"),
            non_custodial_child=self._need("non_custodial_child"),
            custody_list_guardian=self._need("custody_list_guardian"),
            split_household_child=self._need("split_household_child"),
            step_parent=self._need("step_parent"),
            foster_parent=self._need("foster_parent"),
            pupil=self._need("pupil"),
            protected_child=self._need("protected_child"),
            protected_guardian=self._need("protected_guardian"),
        )
