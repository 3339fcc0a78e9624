"""Whole OneRoster sets from tests/fixtures/oneroster, read as a folder and as a zip."""

from __future__ import annotations

import datetime as dt
import shutil
import zipfile
from pathlib import Path

import pytest

from gateway.roster.models import GroupKind, InstitutionKind, MemberRole, PersonKind
from gateway.roster.oneroster import ReadResult, read_oneroster
from gateway.roster.records import Mode

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "oneroster"
ZONE = "Europe/Copenhagen"


def read(path: Path, *, code: str | None = None) -> ReadResult:
    return read_oneroster(
        path, municipality_code=code, max_file_bytes=1 << 20, default_time_zone=ZONE
    )


def zipped(folder: Path, target: Path, *, inside: str = "") -> Path:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.iterdir()):
            archive.write(file, f"{inside}{file.name}")
    return target


@pytest.fixture(scope="module")
def dk() -> ReadResult:
    return read(FIXTURES / "v1p2-dk")


def test_a_clean_danish_1_2_set_has_no_rejections_and_counts_every_file(dk: ReadResult) -> None:
    assert dk.rejected == []
    assert dk.version == "1.2"
    assert dk.files == {
        "manifest.csv": 19,
        "orgs.csv": 4,
        "academicSessions.csv": 1,
        "demographics.csv": 2,
        "roles.csv": 12,
        "users.csv": 10,
        "classes.csv": 4,
        "enrollments.csv": 8,
        "userProfiles.csv": 1,
    }


def test_modes_follow_the_manifest(dk: ReadResult) -> None:
    assert dk.batch.modes == {
        "institutions": Mode.BULK,
        "people": Mode.BULK,
        "affiliations": Mode.BULK,
        "groups": Mode.BULK,
        "memberships": Mode.BULK,
    }


def test_the_district_is_the_municipality_and_only_schools_and_kinds_are_institutions(
    dk: ReadResult,
) -> None:
    municipality = dk.batch.municipality
    assert municipality is not None
    assert (municipality.code, municipality.name, municipality.source_id) == (
        "101",
        "Københavns Kommune",
        "k-101",
    )
    kinds = {i.source_id: i.kind for i in dk.batch.institutions}
    # d-1 is of type "local" but says metadata.dk.kind=daycare; the department is left out.
    assert kinds == {"s-1": InstitutionKind.SCHOOL, "d-1": InstitutionKind.DAYCARE}
    daycare = next(i for i in dk.batch.institutions if i.source_id == "d-1")
    assert daycare.name == "Børnehuset Mælkebøtten, Valby"  # a quoted comma
    assert daycare.identifier == "D-17"
    assert daycare.time_zone == ZONE


def test_municipality_code_wins_over_the_district_identifier() -> None:
    result = read(FIXTURES / "v1p2-dk", code="147")
    assert result.batch.municipality is not None
    assert result.batch.municipality.code == "147"
    assert result.batch.municipality.name == "Københavns Kommune"


def test_bom_crlf_and_an_embedded_newline_keep_physical_line_numbers(dk: ReadResult) -> None:
    raw = (FIXTURES / "v1p2-dk" / "users.csv").read_bytes()
    # The fixture must stay as messy as written (no line-end normalisation on checkout).
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\r\n") >= 10
    assert b"Marie\nLouise" in raw
    # c-1's middleName spans lines 2-3, so c-2 starts on line 4.
    origins = {p.source_id: p.origin for p in dk.batch.people}
    assert origins["c-1"] == "users.csv:2"
    assert origins["c-2"] == "users.csv:4"
    assert origins["t-3"] == "users.csv:12"


def test_people_get_their_kind_from_the_primary_role_in_roles_csv(dk: ReadResult) -> None:
    kinds = {p.source_id: p.kind for p in dk.batch.people}
    assert kinds == {
        "c-1": PersonKind.CHILD,
        "c-2": PersonKind.CHILD,
        "c-3": PersonKind.CHILD,
        "c-4": PersonKind.CHILD,
        "g-1": PersonKind.GUARDIAN,
        "g-2": PersonKind.GUARDIAN,
        "g-3": PersonKind.GUARDIAN,
        "t-1": PersonKind.STAFF,
        "t-2": PersonKind.STAFF,
        "t-3": PersonKind.STAFF,
    }


def test_person_fields_and_danish_extensions(dk: ReadResult) -> None:
    by_id = {p.source_id: p for p in dk.batch.people}
    emma = by_id["c-1"]
    assert (emma.given_name, emma.family_name) == ("Emma", "Jensen")
    assert emma.uni_login == "emma1234"
    assert emma.birth_date == dt.date(2018, 3, 14)
    noah = by_id["c-2"]
    assert noah.protected and noah.alias == "Barn i 3.B"
    assert noah.birth_date == dt.date(2015, 5, 14)  # written 14-05-2015
    assert noah.uni_login == "noah5678"  # type written "unilogin"
    assert by_id["c-4"].locale == "ar"
    assert by_id["g-3"].locale == "en-GB"  # written en_gb
    assert by_id["t-3"].given_name == "Kaja"  # preferredGivenName wins
    assert by_id["t-1"].grades == "00,01,03"  # "00,01, 03" tidied


def test_multi_valued_emails_are_split_and_domains_lower_cased(dk: ReadResult) -> None:
    by_id = {p.source_id: p for p in dk.batch.people}
    assert by_id["g-1"].emails == ("mette@example.dk", "mette.jensen@arbejde.example")
    assert by_id["t-1"].emails == ("LL@bakkeskolen.example",)


def test_custody_defaults_and_overrides(dk: ReadResult) -> None:
    links = {(g.child, g.guardian): (g.custody, g.relation) for g in dk.batch.guardianships}
    assert links == {
        # g-1 lists only c-1 in metadata.dk.custody: custody of c-1, not of c-3.
        ("c-1", "g-1"): (True, "parent"),
        ("c-3", "g-1"): (False, "parent"),
        # a relative has no custody by default; the relation word is kept.
        ("c-1", "g-2"): (False, "grandparent"),
        # a guardian has custody by default, but g-3 says metadata.dk.custody=false.
        ("c-2", "g-3"): (False, "foster"),
    }


def test_a_link_named_from_both_sides_counts_once(dk: ReadResult) -> None:
    pairs = [(g.child, g.guardian) for g in dk.batch.guardianships]
    assert pairs.count(("c-2", "g-3")) == 1
    assert len(pairs) == len(set(pairs))


def test_affiliations_skip_the_district_and_keep_primary_and_secondary(dk: ReadResult) -> None:
    roles = {(a.person, a.institution, a.role): a.primary for a in dk.batch.affiliations}
    assert roles[("g-1", "s-1", "parent")] is True
    assert roles[("g-1", "d-1", "parent")] is False
    assert ("t-3", "k-101", "districtAdministrator") not in roles
    assert len(roles) == 11


def test_groups_kinds_and_details(dk: ReadResult) -> None:
    groups = {g.source_id: g for g in dk.batch.groups}
    assert groups["cl-0a"].kind is GroupKind.CLASS
    assert groups["cl-sfo"].kind is GroupKind.CLUB
    assert groups["cl-sfo"].grades == "00,01,02,03"
    assert groups["cl-stue"].kind is GroupKind.ROOM  # a daycare group defaults to a room
    assert groups["cl-0a"].details == {
        "classType": "homeroom",
        "classCode": "0A",
        "location": "Lokale 12",
    }
    assert groups["cl-3b"].details == {"classType": "homeroom", "classCode": "3B"}


def test_membership_roles_depend_on_institution_and_staff_role(dk: ReadResult) -> None:
    roles = {(m.group, m.person): m.role for m in dk.batch.memberships}
    assert roles[("cl-0a", "c-1")] is MemberRole.CHILD
    assert roles[("cl-0a", "t-1")] is MemberRole.TEACHER
    assert roles[("cl-stue", "t-2")] is MemberRole.PEDAGOGUE  # a teacher at a daycare
    assert roles[("cl-0a", "t-3")] is MemberRole.ADMIN  # metadata.dk.staffRole=admin
    first = next(m for m in dk.batch.memberships if m.source_id == "e-1")
    assert (first.begin_date, first.end_date) == (dt.date(2024, 8, 1), dt.date(2025, 6, 30))
    danish = next(m for m in dk.batch.memberships if m.source_id == "e-8")
    assert danish.begin_date == dt.date(2024, 8, 1)  # written 01.08.2024


def test_a_zip_reads_the_same_as_the_folder(dk: ReadResult, tmp_path: Path) -> None:
    result = read(zipped(FIXTURES / "v1p2-dk", tmp_path / "set.zip"))
    assert result.batch == dk.batch
    assert result.files == dk.files


def test_a_zip_with_the_set_in_a_folder_and_mac_junk_reads(dk: ReadResult, tmp_path: Path) -> None:
    archive = zipped(FIXTURES / "v1p2-dk", tmp_path / "set.zip", inside="export-2024/")
    with zipfile.ZipFile(archive, "a") as extra:
        extra.writestr("__MACOSX/export-2024/._users.csv", b"\x00\x05junk")
        extra.writestr("README.txt", "not part of the set")
    assert read(archive).batch == dk.batch


def test_progress_reports_each_file_once_it_is_read_up_to_its_size() -> None:
    reports: list[tuple[str, int, int]] = []
    read_oneroster(
        FIXTURES / "v1p2-dk",
        municipality_code=None,
        max_file_bytes=1 << 20,
        default_time_zone=ZONE,
        on_progress=lambda name, done, total: reports.append((name, done, total)),
    )
    size = (FIXTURES / "v1p2-dk" / "users.csv").stat().st_size
    finished = [name for name, done, total in reports if done == total]
    # In file order, each once: the early look at users.csv's header is not reported.
    assert finished == [
        "manifest.csv",
        "orgs.csv",
        "academicSessions.csv",
        "demographics.csv",
        "roles.csv",
        "users.csv",
        "classes.csv",
        "enrollments.csv",
        "userProfiles.csv",
    ]
    first_users = next(i for i, report in enumerate(reports) if report[0] == "users.csv")
    last_roles = max(i for i, report in enumerate(reports) if report[0] == "roles.csv")
    assert first_users > last_roles
    assert ("users.csv", size, size) in reports


# -- OneRoster 1.1 ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def v11() -> ReadResult:
    return read(FIXTURES / "v1p1", code="230")


def test_a_1_1_set_takes_roles_and_orgs_from_users_csv(v11: ReadResult) -> None:
    assert v11.version == "1.1"
    assert v11.rejected == []
    assert v11.batch.modes["affiliations"] is Mode.BULK
    fatima = [a for a in v11.batch.affiliations if a.person == "u-p2"]
    assert [(a.institution, a.role, a.primary) for a in fatima] == [
        ("s-1", "guardian", True),
        ("s-2", "guardian", False),
    ]


def test_a_1_1_set_without_district_uses_the_given_code(v11: ReadResult) -> None:
    assert v11.batch.municipality is not None
    assert v11.batch.municipality.code == "230"
    assert v11.batch.municipality.name == "230"


def test_1_1_deleted_users_are_inactive_but_disabled_logins_stay(v11: ReadResult) -> None:
    active = {p.source_id: p.active for p in v11.batch.people}
    assert active["u-x1"] is False  # status tobedeleted
    # enabledUser=false: may not log in (a daycare child), still on the roster.
    assert active["u-d1"] is True
    assert active["u-c1"] is True


def test_1_1_non_iso_dates_are_read(v11: ReadResult) -> None:
    begins = {m.source_id: m.begin_date for m in v11.batch.memberships}
    august = dt.date(2024, 8, 1)
    # 01-08-2024, 2024/08/01, 2024-08-01T00:00:00Z, 2024-07-31T22:00:00Z (midnight in
    # Copenhagen, written in UTC) and 1.8.2024 are all 1 August.
    assert begins == {f"en-{n}": august for n in range(1, 6)} | {"en-6": None}
    ends = {m.source_id: m.end_date for m in v11.batch.memberships}
    assert ends["en-1"] == dt.date(2025, 6, 30)


def test_1_1_staff_roles_in_enrollments(v11: ReadResult) -> None:
    roles = {m.source_id: m.role for m in v11.batch.memberships}
    assert roles["en-3"] is MemberRole.TEACHER
    assert roles["en-5"] is MemberRole.PEDAGOGUE  # aide
    assert roles["en-6"] is MemberRole.LEADER  # administrator


def test_1_1_guardianships_from_either_side(v11: ReadResult) -> None:
    links = {(g.child, g.guardian): g.custody for g in v11.batch.guardianships}
    assert links == {
        ("u-c1", "u-p1"): True,
        ("u-c1", "u-p2"): True,
        ("u-c2", "u-p2"): True,
        ("u-c1", "u-r1"): False,
    }


# -- delta ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def delta() -> ReadResult:
    return read(FIXTURES / "delta-1p2")


def test_delta_modes(delta: ReadResult) -> None:
    assert set(delta.batch.modes.values()) == {Mode.DELTA}
    assert set(delta.batch.modes) == {
        "institutions",
        "people",
        "affiliations",
        "groups",
        "memberships",
    }


def test_delta_tobedeleted_rows_become_inactive_records(delta: ReadResult) -> None:
    by_id = {p.source_id: p for p in delta.batch.people}
    assert by_id["c-2"].active is False
    assert by_id["t-1"].active is False
    assert by_id["t-1"].kind is PersonKind.STAFF  # its (deleted) role in roles.csv says so
    school = delta.batch.institutions[0]
    assert (school.source_id, school.active) == ("s-9", False)
    group = next(g for g in delta.batch.groups if g.source_id == "cl-0a")
    assert group.active is False
    gone = next(m for m in delta.batch.memberships if m.source_id == "e-3")
    assert gone.active is False
    role = next(a for a in delta.batch.affiliations if a.person == "t-1")
    assert role.active is False


def test_delta_references_outside_the_files_are_passed_on(delta: ReadResult) -> None:
    # cl-3b and s-1 are not in this delta: the sync resolves them against what is stored.
    membership = next(m for m in delta.batch.memberships if m.source_id == "e-21")
    assert membership.group == "cl-3b"
    assert any(g.institution == "s-1" for g in delta.batch.groups)
    assert any(a.institution == "s-1" for a in delta.batch.affiliations)


def test_delta_links_need_the_guardians_row(delta: ReadResult) -> None:
    assert [(g.child, g.guardian, g.custody) for g in delta.batch.guardianships] == [
        ("c-5", "g-7", True)
    ]
    assert delta.rejected == [
        "users.csv:2: link to guardian 'g-1' skipped: the guardian is not in this delta "
        "users.csv, and custody is decided on the guardian's row (send that row too)",
        "users.csv:3: link to guardian 'g-8' skipped: the guardian is not in this delta "
        "users.csv, and custody is decided on the guardian's row (send that row too)",
    ]


def test_cr_line_ends_extra_cells_and_blank_rows(dk: ReadResult, tmp_path: Path) -> None:
    folder = tmp_path / "set"
    shutil.copytree(FIXTURES / "v1p2-dk", folder)
    lines = (folder / "classes.csv").read_text(encoding="utf-8").splitlines()
    # Old Mac line ends, a row of empty cells, and trailing cells past the header.
    messy = [lines[0], lines[1] + ",extra,cells", ",,,,", *lines[2:]]
    (folder / "classes.csv").write_bytes("\r".join(messy).encode("utf-8") + b"\r")
    result = read(folder)
    assert result.rejected == []
    assert result.batch.groups[0] == dk.batch.groups[0]
    assert [g.origin for g in result.batch.groups] == [
        "classes.csv:2",
        "classes.csv:4",
        "classes.csv:5",
        "classes.csv:6",
    ]
    assert result.files["classes.csv"] == 4
