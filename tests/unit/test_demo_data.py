"""The demo municipality: deterministic, spec-shaped, internally consistent, and readable.

The CSV set is checked as a reader would see it (files and columns), independently of
the generator's own structs; only the household addresses, which OneRoster has no
column for, are checked on the generator's families.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import re
from collections import Counter
from pathlib import Path

import pytest

from gateway.roster.demo import DemoSummary, write_demo_data
from gateway.roster.demo.households import FamilyFactory, FamilyKind, Relation
from gateway.roster.demo.institutions import Municipality
from gateway.roster.demo.names import UniLogins, ascii_slug
from gateway.roster.models import PersonKind
from gateway.roster.oneroster import read_oneroster

Rows = list[dict[str, str]]
START = dt.date(2026, 8, 1)

# The OneRoster 1.2 CSV binding's columns, copied here on purpose: a change to the
# generator's column lists must fail this test, not silently move the spec.
SPEC_HEADERS = {
    "academicSessions.csv": "sourcedId,status,dateLastModified,title,type,startDate,endDate,"
    "parentSourcedId,schoolYear",
    "orgs.csv": "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId",
    "users.csv": "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,"
    "familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,"
    "userMasterIdentifier,resourceSourcedIds,preferredGivenName,preferredMiddleName,"
    "preferredFamilyName,primaryOrgSourcedId,pronouns",
    "roles.csv": "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,"
    "endDate,orgSourcedId,userProfileSourcedId",
    "courses.csv": "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,"
    "grades,orgSourcedId,subjects,subjectCodes",
    "classes.csv": "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,"
    "classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods",
    "enrollments.csv": "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,"
    "userSourcedId,role,primary,beginDate,endDate",
    "demographics.csv": "sourcedId,status,dateLastModified,birthDate,sex,"
    "americanIndianOrAlaskaNative,asian,blackOrAfricanAmerican,"
    "nativeHawaiianOrOtherPacificIslander,white,demographicRaceTwoOrMoreRaces,"
    "hispanicOrLatinoEthnicity,countryOfBirthCode,stateOfBirthAbbreviation,cityOfBirth,"
    "publicSchoolResidenceStatus",
}
EXTENSIONS = {
    "orgs.csv": ["metadata.dk.kind"],
    "users.csv": [
        "metadata.dk.protected",
        "metadata.dk.alias",
        "metadata.dk.custody",
        "metadata.dk.relation",
        "metadata.dk.locale",
        "metadata.dk.staffRole",
    ],
    "classes.csv": ["metadata.dk.kind"],
}
ROLES_1_2 = {
    "aide", "counselor", "districtAdministrator", "guardian", "parent", "principal", "proctor",
    "relative", "siteAdministrator", "student", "systemAdministrator", "teacher",
}  # fmt: skip


class DemoSet:
    """One written set: the summary, the folder, and every file's rows by column name."""

    def __init__(self, folder: Path, summary: DemoSummary) -> None:
        self.folder = folder
        self.summary = summary
        self.headers: dict[str, list[str]] = {}
        self.files: dict[str, Rows] = {}
        for path in sorted(folder.glob("*.csv")):
            with path.open(encoding="utf-8", newline="") as stream:
                reader = csv.DictReader(stream)
                self.files[path.name] = list(reader)
                self.headers[path.name] = list(reader.fieldnames or ())
        self.users = {row["sourcedId"]: row for row in self.files["users.csv"]}
        self.classes = {row["sourcedId"]: row for row in self.files["classes.csv"]}
        self.orgs = {row["sourcedId"]: row for row in self.files["orgs.csv"]}
        self.birth = {
            row["sourcedId"]: dt.date.fromisoformat(row["birthDate"])
            for row in self.files["demographics.csv"]
        }

    def of_kind(self, kind: str) -> list[dict[str, str]]:
        if kind == "child":
            return [u for u in self.files["users.csv"] if u["sourcedId"].startswith("child-")]
        if kind == "guardian":
            return [u for u in self.files["users.csv"] if u["metadata.dk.relation"]]
        return [u for u in self.files["users.csv"] if u["metadata.dk.staffRole"]]

    def enrollments_of(self, user: str) -> Rows:
        return [e for e in self.files["enrollments.csv"] if e["userSourcedId"] == user]

    def members(self, group: str) -> Rows:
        return [e for e in self.files["enrollments.csv"] if e["classSourcedId"] == group]


def agents(row: dict[str, str]) -> list[str]:
    return [a for a in row["agentSourcedIds"].split(",") if a]


def has_custody(guardian: dict[str, str], child: str) -> bool:
    custody = guardian["metadata.dk.custody"]
    if custody in {"true", "false"}:
        return custody == "true"
    return child in custody.split(",")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoSet:
    folder = tmp_path_factory.mktemp("demo")
    return DemoSet(folder, write_demo_data(folder))


# -- determinism ----------------------------------------------------------------------


def _bytes(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_the_same_seed_writes_the_same_bytes_and_another_seed_does_not(
    demo: DemoSet, tmp_path: Path
) -> None:
    again = write_demo_data(tmp_path / "again")
    other = write_demo_data(tmp_path / "other", seed=2)
    assert _bytes(tmp_path / "again") == _bytes(demo.folder)
    assert again == demo.summary
    different = _bytes(tmp_path / "other")
    assert different.keys() == _bytes(demo.folder).keys()
    assert different["users.csv"] != _bytes(demo.folder)["users.csv"]
    assert other.seed == 2 and other.children == demo.summary.children


def test_the_global_random_state_is_neither_used_nor_touched(tmp_path: Path) -> None:
    random.seed(7)
    before = random.getstate()
    write_demo_data(tmp_path / "a", children=50)
    assert random.getstate() == before
    random.seed(8)
    write_demo_data(tmp_path / "b", children=50)
    assert _bytes(tmp_path / "a") == _bytes(tmp_path / "b")


def test_too_few_children_for_the_scripted_families_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least"):
        write_demo_data(tmp_path, children=5)


# -- the files ------------------------------------------------------------------------


def test_headers_are_the_spec_columns_in_order_then_the_danish_extensions(
    demo: DemoSet,
) -> None:
    for name, spec in SPEC_HEADERS.items():
        assert demo.headers[name] == spec.split(",") + EXTENSIONS.get(name, []), name


def test_the_manifest_declares_1_2_bulk_for_written_files_and_absent_for_the_rest(
    demo: DemoSet,
) -> None:
    manifest = {row["propertyName"]: row["value"] for row in demo.files["manifest.csv"]}
    assert manifest["manifest.version"] == "1.0"
    assert manifest["oneroster.version"] == "1.2"
    assert manifest["source.systemName"] == "Budstikke demo"
    files = {k.removeprefix("file."): v for k, v in manifest.items() if k.startswith("file.")}
    written = {name.removesuffix(".csv") for name in SPEC_HEADERS}
    assert {name for name, mode in files.items() if mode == "bulk"} == written
    assert set(files.values()) == {"bulk", "absent"}
    assert "users" in files and "lineItems" in files and "userProfiles" in files


def test_row_counts_in_the_summary_are_the_files_rows(demo: DemoSet) -> None:
    assert demo.summary.rows == {name: len(demo.files[name]) for name in SPEC_HEADERS}


def test_files_are_utf8_with_crlf_and_quoted_lists(demo: DemoSet) -> None:
    raw = (demo.folder / "users.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\r\n") == len(demo.files["users.csv"]) + 1
    assert b',"guardian-' in raw or b',"child-' in raw  # multi-valued lists in quotes


def test_rows_use_fixed_dates_and_only_active_status(demo: DemoSet) -> None:
    for name in SPEC_HEADERS:
        for row in demo.files[name]:
            assert row["status"] == "active"
            assert row["dateLastModified"] == "2026-08-01T06:00:00Z"
    (session,) = demo.files["academicSessions.csv"]
    assert (session["type"], session["startDate"], session["endDate"], session["schoolYear"]) == (
        "schoolYear",
        "2026-08-01",
        "2027-06-30",
        "2027",
    )


def test_sourced_ids_are_unique_in_every_file(demo: DemoSet) -> None:
    for name in SPEC_HEADERS:
        ids = [row["sourcedId"] for row in demo.files[name]]
        assert len(ids) == len(set(ids)), name


def test_every_reference_resolves(demo: DemoSet) -> None:
    users, orgs, classes = demo.users, demo.orgs, demo.classes
    sessions = {row["sourcedId"] for row in demo.files["academicSessions.csv"]}
    courses = {row["sourcedId"]: row for row in demo.files["courses.csv"]}
    district = next(o for o in orgs.values() if o["type"] == "district")
    for org in orgs.values():
        assert org["parentSourcedId"] in {"", district["sourcedId"]}
    for course in courses.values():
        assert course["orgSourcedId"] in orgs and course["schoolYearSourcedId"] in sessions
    for group in classes.values():
        assert group["courseSourcedId"] in courses and group["termSourcedIds"] in sessions
        assert courses[group["courseSourcedId"]]["orgSourcedId"] == group["schoolSourcedId"]
        assert orgs[group["schoolSourcedId"]]["type"] == "school"
    for role in demo.files["roles.csv"]:
        assert role["userSourcedId"] in users and role["orgSourcedId"] in orgs
        assert role["role"] in ROLES_1_2 and role["roleType"] in {"primary", "secondary"}
    for enrollment in demo.files["enrollments.csv"]:
        assert enrollment["userSourcedId"] in users
        group = classes[enrollment["classSourcedId"]]
        assert enrollment["schoolSourcedId"] == group["schoolSourcedId"]
        # 1.2 allows only these four roles in enrollments.
        assert enrollment["role"] in {"administrator", "proctor", "student", "teacher"}
    for user in users.values():
        assert user["primaryOrgSourcedId"] in orgs
        for agent in agents(user):
            assert user["sourcedId"] in agents(users[agent]), "links are written on both rows"
    assert set(demo.birth) <= set(users)


def test_every_user_has_exactly_one_primary_role_and_it_is_at_the_primary_org(
    demo: DemoSet,
) -> None:
    primary = Counter(
        r["userSourcedId"] for r in demo.files["roles.csv"] if r["roleType"] == "primary"
    )
    assert set(primary) == set(demo.users) and set(primary.values()) == {1}
    for role in demo.files["roles.csv"]:
        if role["roleType"] == "primary":
            assert demo.users[role["userSourcedId"]]["primaryOrgSourcedId"] == role["orgSourcedId"]


# -- the people -----------------------------------------------------------------------


def test_every_child_has_a_custodial_guardian(demo: DemoSet) -> None:
    for child in demo.of_kind("child"):
        guardians = [demo.users[g] for g in agents(child)]
        assert any(has_custody(g, child["sourcedId"]) for g in guardians), child["sourcedId"]


def test_family_shapes_are_all_there(demo: DemoSet) -> None:
    guardians = demo.of_kind("guardian")
    relations = Counter(g["metadata.dk.relation"] for g in guardians)
    assert set(relations) == {"parent", "foster", "step", "relative"}
    assert relations["parent"] > 0.9 * len(guardians)
    with_siblings = [g for g in guardians if len(agents(g)) >= 2]
    assert len(with_siblings) > 0.1 * len(guardians)
    assert any(len(agents(g)) >= 3 for g in guardians)
    non_custodial_parents = [
        g
        for g in guardians
        if g["metadata.dk.relation"] == "parent" and g["metadata.dk.custody"] == "false"
    ]
    assert 0.01 * len(guardians) < len(non_custodial_parents) < 0.1 * len(guardians)
    lists = [g for g in guardians if g["metadata.dk.custody"] not in {"true", "false"}]
    assert lists
    for guardian in lists:
        custody = guardian["metadata.dk.custody"].split(",")
        assert set(custody) < set(agents(guardian))
    summary = demo.summary
    assert 0.1 < summary.split_households / summary.families < 0.35


def test_siblings_can_be_split_between_daycare_and_school(demo: DemoSet) -> None:
    kinds_per_guardian = [
        {demo.orgs[demo.users[c]["primaryOrgSourcedId"]]["metadata.dk.kind"] for c in agents(g)}
        for g in demo.of_kind("guardian")
    ]
    assert {"school", "daycare"} in kinds_per_guardian


def test_split_households_live_at_two_addresses() -> None:
    rng = random.Random(3)
    logins = UniLogins(rng)
    municipality = Municipality(rng, 400, logins)
    families = list(FamilyFactory(rng, municipality, logins).families(400))
    assert sum(len(f.children) for f in families) == 400
    split = [
        f for f in families if f.kind in {FamilyKind.SPLIT_SHARED, FamilyKind.SPLIT_NONCUSTODIAL}
    ]
    assert split
    for family in split:
        homes = {a.home for a in family.adults if a.relation is Relation.PARENT}
        assert len(homes) == 2
        assert len(family.homes) >= 2
    moved = sum(len({f.homes[0], f.homes[1]}) == 2 for f in split)
    assert moved >= len(split) - 1  # two random addresses rarely coincide


def test_protected_people_have_aliases_and_are_few(demo: DemoSet) -> None:
    users = demo.files["users.csv"]
    protected = [u for u in users if u["metadata.dk.protected"] == "true"]
    assert {u["metadata.dk.protected"] for u in users} == {"true", "false"}
    assert protected
    for user in protected:
        assert user["metadata.dk.alias"] in {
            "Elev (beskyttet)", "Barn (beskyttet)", "Forælder (beskyttet)"
        }  # fmt: skip
    assert all(not u["metadata.dk.alias"] for u in users if u["metadata.dk.protected"] == "false")
    children = demo.of_kind("child")
    assert 0 < sum(u["metadata.dk.protected"] == "true" for u in children) < 0.03 * len(children)


def test_children_are_a_quarter_in_daycare_and_born_in_the_right_years(demo: DemoSet) -> None:
    children = demo.of_kind("child")
    in_daycare = [c for c in children if c["primaryOrgSourcedId"].startswith("daycare-")]
    assert 0.18 < len(in_daycare) / len(children) < 0.32
    assert len(demo.birth) == len(children)
    for child in children:
        (enrollment,) = demo.enrollments_of(child["sourcedId"])
        group = demo.classes[enrollment["classSourcedId"]]
        assert child["grades"] == group["grades"]
        birth = demo.birth[child["sourcedId"]]
        age = START.year - birth.year - ((START.month, START.day) < (birth.month, birth.day))
        if group["metadata.dk.kind"] == "class":
            year = int(group["title"].split(".")[0])
            assert birth.year == 2020 - year  # 0. klasse the year they turn six
            assert group["grades"] == ("KG" if year == 0 else f"{year:02d}")
        else:
            assert group["metadata.dk.kind"] == "room"
            vuggestue = group["title"].startswith("Vuggestuen")
            assert (age < 3) == vuggestue, (child["sourcedId"], birth, group["title"])
            assert 0 <= age <= 5


def test_classes_and_rooms_are_staffed(demo: DemoSet) -> None:
    staff_role = {u["sourcedId"]: u["metadata.dk.staffRole"] for u in demo.of_kind("staff")}
    for group in demo.classes.values():
        staff = [e for e in demo.members(group["sourcedId"]) if e["role"] == "teacher"]
        primary = [e for e in staff if e["primary"] == "true"]
        assert len(primary) == 1, group["sourcedId"]
        if group["metadata.dk.kind"] == "class":
            assert staff_role[primary[0]["userSourcedId"]] == "teacher"
            assert len(staff) >= 2
            assert re.fullmatch(r"\d\.[A-Z]+", group["title"])
        else:
            pedagogues = [e for e in staff if staff_role[e["userSourcedId"]] == "pedagogue"]
            assert len(pedagogues) >= 2
    roles = Counter(staff_role.values())
    assert roles["leader"] == len(demo.orgs) - 1  # one per institution
    assert set(roles) == {"teacher", "pedagogue", "leader", "admin"}


def test_guardians_have_a_role_at_each_of_their_childrens_institutions(demo: DemoSet) -> None:
    roles: dict[str, list[dict[str, str]]] = {}
    for role in demo.files["roles.csv"]:
        roles.setdefault(role["userSourcedId"], []).append(role)
    expected_role = {
        "parent": "parent",
        "foster": "guardian",
        "step": "relative",
        "relative": "relative",
    }
    for guardian in demo.of_kind("guardian"):
        institutions = {demo.users[c]["primaryOrgSourcedId"] for c in agents(guardian)}
        mine = roles[guardian["sourcedId"]]
        assert {r["orgSourcedId"] for r in mine} == institutions
        assert {r["role"] for r in mine} == {expected_role[guardian["metadata.dk.relation"]]}


def test_names_logins_addresses_and_locales_look_danish_and_fictional(demo: DemoSet) -> None:
    users = demo.files["users.csv"]
    names = " ".join(f"{u['givenName']} {u['middleName']} {u['familyName']}" for u in users)
    for letter in "æøå":
        assert letter in names.lower()
    for other in ("Hussein", "Yilmaz", "Nguyen", "Kowalsk"):
        assert other in names, other
    for user in users:
        if user["email"]:
            assert user["email"].rsplit("@", 1)[1] in {"example.dk", "example.org"}
            assert user["email"].isascii()
    logins = [u["userIds"] for u in users if u["userIds"]]
    assert len(logins) == len(set(logins))
    for login in logins:
        assert re.fullmatch(r"\{UNI-Login:[a-z]{4}\d{4,5}\}", login), login
    pupils = [c for c in demo.of_kind("child") if c["primaryOrgSourcedId"].startswith("school-")]
    assert all(p["userIds"] for p in pupils)
    assert all(s["userIds"] for s in demo.of_kind("staff"))
    locales = Counter(u["metadata.dk.locale"] for u in users)
    assert locales["da"] > 0.8 * len(users)
    assert {"en", "ar", "uk"} <= set(locales)


def test_ascii_slug_spells_danish_letters_the_danish_way() -> None:
    assert ascii_slug("Søren Ølgaard-Brønd") == "soeren-oelgaard-broend"
    assert ascii_slug("Åse Bæk") == "aase-baek"
    assert ascii_slug("Paweł Wiśniewski") == "pawel-wisniewski"
    assert ascii_slug("O'Connor") == "o-connor"


# -- the summary ----------------------------------------------------------------------


def test_the_summary_ids_have_the_properties_their_names_promise(demo: DemoSet) -> None:
    s, users = demo.summary, demo.users
    assert s.municipality_code == "0999" and s.municipality_name == "Budstikke Kommune"
    district = next(o for o in demo.orgs.values() if o["type"] == "district")
    assert district["identifier"] == "0999" and district["name"] == "Budstikke Kommune"

    guardian = users[s.guardian_two_children]
    assert set(agents(guardian)) == set(s.guardian_two_children_children)
    assert len(s.guardian_two_children_children) >= 2
    assert guardian["metadata.dk.custody"] == "true"
    assert guardian["metadata.dk.protected"] == "false"
    class_members = {e["userSourcedId"]: e for e in demo.members(s.teacher_class)}
    assert set(s.guardian_two_children_children) & set(class_members)
    assert demo.classes[s.teacher_class]["metadata.dk.kind"] == "class"
    assert class_members[s.teacher]["primary"] == "true"
    assert users[s.teacher]["metadata.dk.staffRole"] == "teacher"
    leader = users[s.leader]
    assert leader["metadata.dk.staffRole"] == "leader"
    assert leader["primaryOrgSourcedId"] == demo.classes[s.teacher_class]["schoolSourcedId"]

    assert users[s.pedagogue]["metadata.dk.staffRole"] == "pedagogue"
    assert demo.classes[s.pedagogue_room]["metadata.dk.kind"] == "room"
    assert (
        demo.orgs[demo.classes[s.pedagogue_room]["schoolSourcedId"]]["metadata.dk.kind"]
        == "daycare"
    )
    assert {e["userSourcedId"]: e["primary"] for e in demo.members(s.pedagogue_room)}[
        s.pedagogue
    ] == "true"
    admin = users[s.district_admin]
    assert (
        admin["metadata.dk.staffRole"] == "admin"
        and admin["primaryOrgSourcedId"] == district["sourcedId"]
    )

    parent = users[s.non_custodial_parent]
    assert (parent["metadata.dk.relation"], parent["metadata.dk.custody"]) == ("parent", "false")
    assert s.non_custodial_child in agents(parent)
    others = [users[g] for g in agents(users[s.non_custodial_child]) if g != s.non_custodial_parent]
    assert any(has_custody(g, s.non_custodial_child) for g in others)

    listed = users[s.custody_list_guardian]
    assert listed["metadata.dk.custody"] not in {"true", "false"}
    assert users[s.step_parent]["metadata.dk.relation"] == "step"
    assert users[s.foster_parent]["metadata.dk.relation"] == "foster"

    split_child = users[s.split_household_child]
    custodial = [g for g in agents(split_child) if has_custody(users[g], s.split_household_child)]
    assert len(custodial) >= 2

    pupil = users[s.pupil]
    birth = demo.birth[s.pupil]
    assert (START.year - birth.year - ((START.month, START.day) < (birth.month, birth.day))) >= 13
    assert pupil["userIds"].startswith("{UNI-Login:") and pupil["email"]
    assert pupil["metadata.dk.protected"] == "false"

    child, adult = users[s.protected_child], users[s.protected_guardian]
    assert child["metadata.dk.protected"] == adult["metadata.dk.protected"] == "true"
    assert child["metadata.dk.alias"] == "Elev (beskyttet)"
    assert adult["metadata.dk.alias"] == "Forælder (beskyttet)"
    assert s.protected_guardian in agents(child)


def test_the_default_size_has_the_documented_shape(demo: DemoSet) -> None:
    s = demo.summary
    assert (s.children, s.schools, s.daycares) == (1000, 2, 2)
    assert s.pupils + s.daycare_children == s.children
    assert s.rows["users.csv"] == s.children + s.guardians + s.staff
    assert s.rows["demographics.csv"] == s.children
    assert s.classes == 40 and s.rows["classes.csv"] == s.classes + s.rooms
    names = sorted(o["name"] for o in demo.orgs.values())
    assert names == [
        "Budstikke Kommune", "Børnehuset Solsikken", "Dagtilbud Egebakken", "Nordskolen",
        "Søndervangskolen",
    ]  # fmt: skip


# -- read back by the OneRoster reader ------------------------------------------------


def test_the_oneroster_reader_accepts_every_row(demo: DemoSet) -> None:
    result = read_oneroster(
        demo.folder,
        municipality_code=None,
        max_file_bytes=1 << 26,
        default_time_zone="Europe/Copenhagen",
    )
    assert result.rejected == []
    assert result.version == "1.2"
    s = demo.summary
    read_files = {name: count for name, count in result.files.items() if name != "manifest.csv"}
    # The reader has no use for courses.csv; everything else is read row by row.
    assert read_files == {k: v for k, v in s.rows.items() if k != "courses.csv"}
    batch = result.batch
    assert batch.municipality is not None and batch.municipality.code == "0999"
    assert len(batch.institutions) == s.schools + s.daycares
    assert len(batch.groups) == s.classes + s.rooms
    kinds = Counter(p.kind for p in batch.people)
    assert kinds == {
        PersonKind.CHILD: s.children,
        PersonKind.GUARDIAN: s.guardians,
        PersonKind.STAFF: s.staff,
    }
    assert all(p.active for p in batch.people)
    assert len(batch.memberships) == s.rows["enrollments.csv"]
    # Roles at the district say nothing about an institution; the reader drops them.
    assert len(batch.affiliations) == s.rows["roles.csv"] - 1
    links = {(c["sourcedId"], g) for c in demo.of_kind("child") for g in agents(c)}
    custody = {(g.child, g.guardian): g.custody for g in batch.guardianships}
    assert set(custody) == links
    assert custody == {
        (child, guardian): has_custody(demo.users[guardian], child) for child, guardian in links
    }
    protected = {p.source_id: p.alias for p in batch.people if p.protected}
    assert protected[s.protected_child] == "Elev (beskyttet)"
    uni = {p.source_id: p.uni_login for p in batch.people}
    assert uni[s.pupil] and uni[s.teacher] and uni[s.guardian_two_children] is None


# -- the benchmark fixture ------------------------------------------------------------


@pytest.mark.slow
def test_the_benchmark_size_streams_a_large_municipality(tmp_path: Path) -> None:
    summary = write_demo_data(tmp_path, children=100_000)
    assert summary.children == 100_000
    assert summary.rows["users.csv"] > 200_000
    assert summary.schools > 50 and summary.daycares > 50
    with (tmp_path / "users.csv").open(encoding="utf-8", newline="") as stream:
        assert sum(1 for _ in csv.reader(stream)) == summary.rows["users.csv"] + 1
