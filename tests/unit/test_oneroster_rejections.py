"""Every row-level rejection: the row is reported as ``file:line: reason`` and left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.roster.oneroster import ReadResult, read_oneroster

USERS = (
    "sourcedId,status,enabledUser,username,userIds,givenName,familyName,email,agentSourcedIds,"
    "grades,metadata.dk.protected,metadata.dk.alias,metadata.dk.locale,metadata.dk.custody,"
    "metadata.dk.relation,metadata.dk.staffRole"
)
_USER_COLUMNS = USERS.split(",")


def user(source_id: str, **cells: str) -> str:
    """A users.csv row; cells by column name (``metadata.dk.alias`` as ``alias``)."""
    values = {"sourcedId": source_id, "givenName": "Given", "familyName": "Family"}
    for key, value in cells.items():
        column = key if key in _USER_COLUMNS else f"metadata.dk.{key}"
        values[column] = value
    return ",".join(_quote(values.get(column, "")) for column in _USER_COLUMNS)


def _quote(value: str) -> str:
    return f'"{value}"' if "," in value else value


# A small, valid 1.2 set; each test appends rows (so their line numbers are known).
BASE: dict[str, list[str]] = {
    "manifest.csv": [
        "propertyName,value",
        "oneroster.version,1.2",
        "file.orgs,bulk",
        "file.users,bulk",
        "file.roles,bulk",
        "file.classes,bulk",
        "file.enrollments,bulk",
        "file.demographics,bulk",
        "file.academicSessions,bulk",
    ],
    "orgs.csv": [
        "sourcedId,status,name,type,identifier,metadata.dk.kind,metadata.dk.timeZone",
        "k-1,,Aarhus Kommune,district,751,,",
        "s-1,,Skovvangskolen,school,,,",
        "d-1,,Børnehuset Solsikken,school,,daycare,",
        "dep-1,,Forvaltningen,department,,,",
    ],
    "users.csv": [
        USERS,
        user("c-1"),
        user("g-1", agentSourcedIds="c-1"),
        user("t-1"),
        user("c-2"),
        user("g-2"),
    ],
    "roles.csv": [
        "sourcedId,status,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId",
        "r-1,,c-1,primary,student,,,s-1",
        "r-2,,g-1,primary,parent,,,s-1",
        "r-3,,t-1,primary,teacher,,,s-1",
        "r-4,,c-2,primary,student,,,s-1",
        "r-5,,g-2,primary,guardian,,,s-1",
    ],
    "classes.csv": [
        "sourcedId,status,title,schoolSourcedId,metadata.dk.kind",
        "cl-1,,1.A,s-1,",
    ],
    "enrollments.csv": [
        "sourcedId,status,classSourcedId,userSourcedId,role,primary,beginDate,endDate",
        "e-1,,cl-1,c-1,student,false,,",
        "e-2,,cl-1,t-1,teacher,true,,",
    ],
    "demographics.csv": ["sourcedId,status,birthDate", "c-1,,2017-02-03"],
    "academicSessions.csv": [
        "sourcedId,status,title,type,startDate,endDate,schoolYear",
        "y-1,,2024/25,schoolYear,2024-08-01,2025-06-30,2025",
    ],
}


def read_with(
    tmp_path: Path,
    extra: dict[str, list[str]] | None = None,
    *,
    code: str | None = None,
    **replace: list[str],
) -> ReadResult:
    folder = tmp_path / "set"
    folder.mkdir()
    files = {name: list(lines) for name, lines in BASE.items()}
    for name, lines in (extra or {}).items():
        files[name] += lines
    for stem, lines in replace.items():
        files[f"{stem}.csv"] = lines
    for name, lines in files.items():
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return read_oneroster(
        folder,
        municipality_code=code,
        max_file_bytes=1 << 20,
        default_time_zone="Europe/Copenhagen",
    )


def test_the_base_set_is_clean(tmp_path: Path) -> None:
    result = read_with(tmp_path)
    assert result.rejected == []
    assert len(result.batch.people) == 5
    assert len(result.batch.memberships) == 2


CASES = [
    # enrollments.csv (rows start on line 4)
    ("enrollments.csv", "e-9,,cl-99,c-1,student,false,,", "unknown class 'cl-99'"),
    ("enrollments.csv", "e-9,,cl-1,u-99,student,false,,", "unknown user 'u-99'"),
    ("enrollments.csv", "e-9,,cl-1,c-1,janitor,false,,", "bad role 'janitor'"),
    ("enrollments.csv", "e-9,,cl-1,c-1,,false,,", "missing required value role"),
    (
        "enrollments.csv",
        "e-9,,cl-1,g-1,parent,false,,",
        "guardians cannot be enrolled in a class (role 'parent')",
    ),
    (
        "enrollments.csv",
        "e-9,,cl-1,t-1,student,false,,",
        "user 't-1' is staff, so cannot be enrolled as 'student'",
    ),
    (
        "enrollments.csv",
        "e-1,,cl-1,c-2,student,false,,",
        "duplicate sourcedId 'e-1' (first on line 2)",
    ),
    (
        "enrollments.csv",
        "e-9,,cl-1,c-1,student,false,,",
        "duplicate enrollment of 'c-1' in 'cl-1' as child (first on line 2)",
    ),
    (
        "enrollments.csv",
        "e-9,,cl-1,c-2,student,maybe,,",
        "bad boolean 'maybe' in primary (true or false)",
    ),
    (
        "enrollments.csv",
        "e-9,,cl-1,c-2,student,false,2024-13-01,",
        "malformed date '2024-13-01' in beginDate (use YYYY-MM-DD)",
    ),
    (
        "enrollments.csv",
        "e-9,,cl-1,c-2,student,false,next monday,",
        "malformed date 'next monday' in beginDate (use YYYY-MM-DD)",
    ),
    (
        "enrollments.csv",
        "e-9,,cl-1,c-2,student,false,2024-08-01,2024-07-01",
        "endDate 2024-07-01 is before beginDate 2024-08-01",
    ),
    (
        "enrollments.csv",
        "e-9,gone,cl-1,c-2,student,false,,",
        "bad status 'gone' (active or tobedeleted)",
    ),
    ("enrollments.csv", "e-9,,,c-2,student,false,,", "missing required value classSourcedId"),
    ("enrollments.csv", ",,cl-1,c-2,student,false,,", "missing required value sourcedId"),
    # classes.csv (line 3)
    ("classes.csv", "cl-2,,2.A,s-99,", "unknown school 's-99'"),
    (
        "classes.csv",
        "cl-2,,2.A,dep-1,",
        "org 'dep-1' is a department, not a school or daycare institution",
    ),
    (
        "classes.csv",
        "cl-2,,2.A,s-1,garden",
        "bad metadata.dk.kind 'garden' (class, year, room, club, staff or custom)",
    ),
    ("classes.csv", "cl-2,,,s-1,", "missing required value title"),
    ("classes.csv", "cl-1,,1.A again,s-1,", "duplicate sourcedId 'cl-1' (first on line 2)"),
    # orgs.csv (line 6)
    ("orgs.csv", "x-1,,Et sted,campus,,,", "bad org type 'campus'"),
    (
        "orgs.csv",
        "x-1,,Et sted,school,,nursery,",
        "bad metadata.dk.kind 'nursery' (school or daycare)",
    ),
    (
        "orgs.csv",
        "x-1,,Et sted,school,,,Mars/Olympus",
        "unknown time zone 'Mars/Olympus' in metadata.dk.timeZone (e.g. Europe/Copenhagen)",
    ),
    (
        "orgs.csv",
        "k-2,,Odder Kommune,district,727,,",
        "second district org 'k-2' (first on line 2): one set is one municipality",
    ),
    ("orgs.csv", "x-1,,,school,,,", "missing required value name"),
    ("orgs.csv", "x-1,,Et sted,,,,", "missing required value type"),
    # users.csv (line 7), each with a role in roles.csv on line 7
    ("users.csv", user("u-9", protected="true"), "protected person needs metadata.dk.alias"),
    (
        "users.csv",
        user("u-9", protected="maybe", alias="X"),
        "bad boolean 'maybe' in metadata.dk.protected (true or false)",
    ),
    (
        "users.csv",
        user("u-9", enabledUser="sometimes"),
        "bad boolean 'sometimes' in enabledUser (true or false)",
    ),
    ("users.csv", user("u-9", givenName=""), "missing required value givenName"),
    ("users.csv", user("c-1"), "duplicate sourcedId 'c-1' (first on line 2)"),
    ("users.csv", user("u-9", status="archived"), "bad status 'archived' (active or tobedeleted)"),
    ("users.csv", user("u-nobody"), "bad role: user 'u-nobody' has no role in roles.csv"),
    (
        "users.csv",
        user("u-9", staffRole="janitor"),
        "bad metadata.dk.staffRole 'janitor' (teacher, pedagogue, leader or admin)",
    ),
]


@pytest.mark.parametrize(("file", "row", "reason"), CASES, ids=[c[2][:50] for c in CASES])
def test_a_bad_row_is_rejected_with_its_line_and_reason(
    tmp_path: Path, file: str, row: str, reason: str
) -> None:
    extra = {file: [row]}
    expected = [f"{file}:{len(BASE[file]) + 1}: {reason}"]
    if row.startswith("u-9,"):
        extra["roles.csv"] = ["r-9,,u-9,primary,teacher,,,s-1"]
        # What refers to a rejected row is reported too, pointing at the cause.
        expected.append("roles.csv:7: user 'u-9' was rejected in users.csv")
    result = read_with(tmp_path, extra)
    assert result.rejected == expected


def test_a_rejected_row_is_left_out_of_the_batch(tmp_path: Path) -> None:
    result = read_with(tmp_path, {"enrollments.csv": ["e-9,,cl-99,c-1,student,false,,"]})
    assert "e-9" not in {m.source_id for m in result.batch.memberships}


def test_a_bad_relation_word_rejects_the_guardian(tmp_path: Path) -> None:
    result = read_with(
        tmp_path,
        {
            "users.csv": [user("u-9", relation="best friend forever and ever and more")],
            "roles.csv": ["r-9,,u-9,primary,relative,,,s-1"],
        },
    )
    assert result.rejected == [
        "users.csv:7: bad metadata.dk.relation 'best friend forever and ever and more' "
        "(one word of at most 32 letters, e.g. parent, foster)",
        "roles.csv:7: user 'u-9' was rejected in users.csv",
    ]
    assert "u-9" not in {p.source_id for p in result.batch.people}


# -- agents --------------------------------------------------------------------------------


def test_an_agent_missing_from_a_bulk_users_file_is_rejected(tmp_path: Path) -> None:
    result = read_with(
        tmp_path,
        {
            "users.csv": [user("c-3", agentSourcedIds="g-99")],
            "roles.csv": ["r-9,,c-3,primary,student,,,s-1"],
        },
    )
    assert result.rejected == ["users.csv:7: unknown agent 'g-99'"]


def test_links_between_two_children_or_two_guardians_are_rejected(tmp_path: Path) -> None:
    result = read_with(
        tmp_path,
        {
            "users.csv": [user("c-3", agentSourcedIds="c-2"), user("g-3", agentSourcedIds="g-2")],
            "roles.csv": ["r-9,,c-3,primary,student,,,s-1", "r-10,,g-3,primary,parent,,,s-1"],
        },
    )
    assert result.rejected == [
        "users.csv:7: agent link between two children ('c-3', 'c-2')",
        "users.csv:8: agent link between two guardians ('g-3', 'g-2')",
    ]
    assert len(result.batch.guardianships) == 1  # only the base set's c-1 ↔ g-1


def test_staff_cannot_be_an_agent(tmp_path: Path) -> None:
    result = read_with(
        tmp_path,
        {
            "users.csv": [user("c-3", agentSourcedIds="t-1")],
            "roles.csv": ["r-9,,c-3,primary,student,,,s-1"],
        },
    )
    assert result.rejected == [
        "users.csv:7: agent link between 'c-3' (a child) and 't-1' (staff): "
        "only child–guardian links are imported"
    ]


def test_an_agent_whose_row_was_rejected_is_named_as_such(tmp_path: Path) -> None:
    result = read_with(
        tmp_path,
        {
            "users.csv": [user("g-3", protected="true"), user("c-3", agentSourcedIds="g-3")],
            "roles.csv": ["r-9,,g-3,primary,parent,,,s-1", "r-10,,c-3,primary,student,,,s-1"],
        },
    )
    assert result.rejected == [
        "users.csv:7: protected person needs metadata.dk.alias",
        "roles.csv:7: user 'g-3' was rejected in users.csv",
        "users.csv:8: agent 'g-3' was rejected in users.csv",
    ]


def test_a_user_cannot_be_their_own_agent(tmp_path: Path) -> None:
    result = read_with(
        tmp_path,
        {
            "users.csv": [user("g-3", agentSourcedIds="g-3")],
            "roles.csv": ["r-9,,g-3,primary,parent,,,s-1"],
        },
    )
    assert result.rejected == ["users.csv:7: user 'g-3' is listed as their own agent"]


def test_a_custody_list_naming_a_stranger_is_reported(tmp_path: Path) -> None:
    result = read_with(
        tmp_path,
        {
            "users.csv": [user("g-3", agentSourcedIds="c-2", custody="c-2,c-77")],
            "roles.csv": ["r-9,,g-3,primary,parent,,,s-1"],
        },
    )
    assert result.rejected == [
        "users.csv:7: metadata.dk.custody names 'c-77', who is not linked to this guardian "
        "(ignored)"
    ]
    assert {(g.child, g.guardian, g.custody) for g in result.batch.guardianships} >= {
        ("c-2", "g-3", True)
    }


# -- values that are dropped while the person is kept --------------------------------------


def test_a_bad_email_is_skipped_but_the_person_is_kept(tmp_path: Path) -> None:
    result = read_with(
        tmp_path,
        {
            "users.csv": [user("u-9", email="ok@example.dk;not-an-address")],
            "roles.csv": ["r-9,,u-9,primary,teacher,,,s-1"],
        },
    )
    assert result.rejected == [
        "users.csv:7: email 'not-an-address' is not an address (skipped; the person was imported)"
    ]
    person = next(p for p in result.batch.people if p.source_id == "u-9")
    assert person.emails == ("ok@example.dk",)


def test_a_bad_locale_falls_back_to_danish(tmp_path: Path) -> None:
    result = read_with(
        tmp_path,
        {
            "users.csv": [user("u-9", locale="Danish!")],
            "roles.csv": ["r-9,,u-9,primary,teacher,,,s-1"],
        },
    )
    assert result.rejected == [
        "users.csv:7: metadata.dk.locale 'Danish!' is not a language tag "
        "(using da; the person was imported)"
    ]
    assert next(p for p in result.batch.people if p.source_id == "u-9").locale == "da"


# -- roles.csv -----------------------------------------------------------------------------


ROLE_CASES = [
    ("r-9,,c-1,secondary,student,,,s-99", "unknown org 's-99'"),
    ("r-9,,u-99,primary,student,,,s-1", "unknown user 'u-99'"),
    ("r-9,,c-1,secondary,wizard,,,s-1", "bad role 'wizard'"),
    ("r-9,,c-1,tertiary,student,,,s-1", "bad roleType 'tertiary' (primary or secondary)"),
    (
        "r-9,,c-1,secondary,student,01/02/24,,s-1",
        "malformed date '01/02/24' in beginDate (use YYYY-MM-DD)",
    ),
    (
        "r-9,,c-1,secondary,student,,,s-1",
        "duplicate role 'student' of user 'c-1' at org 's-1' (first on line 2)",
    ),
    ("r-1,,c-1,secondary,student,,,d-1", "duplicate sourcedId 'r-1' (first on line 2)"),
    ("r-9,,c-1,secondary,student,,,", "missing required value orgSourcedId"),
]


@pytest.mark.parametrize(("row", "reason"), ROLE_CASES, ids=[c[1][:40] for c in ROLE_CASES])
def test_a_bad_role_row_is_rejected(tmp_path: Path, row: str, reason: str) -> None:
    result = read_with(tmp_path, {"roles.csv": [row]})
    assert result.rejected == [f"roles.csv:7: {reason}"]


def test_roles_at_the_district_or_a_department_are_skipped_silently(tmp_path: Path) -> None:
    result = read_with(
        tmp_path,
        {
            "roles.csv": [
                "r-9,,t-1,secondary,districtAdministrator,,,k-1",
                "r-10,,t-1,secondary,teacher,,,dep-1",
            ]
        },
    )
    assert result.rejected == []
    assert {a.institution for a in result.batch.affiliations} == {"s-1"}


# -- demographics.csv and academicSessions.csv ---------------------------------------------


def test_bad_demographics_rows(tmp_path: Path) -> None:
    result = read_with(
        tmp_path,
        {"demographics.csv": ["c-2,,31.02.2016", "u-99,,2016-01-01", "c-1,,2017-02-03"]},
    )
    assert result.rejected == [
        "demographics.csv:3: malformed date '31.02.2016' in birthDate (use YYYY-MM-DD)",
        "demographics.csv:5: duplicate sourcedId 'c-1' (first on line 2)",
        "demographics.csv:4: unknown user 'u-99'",
    ]


def test_bad_academic_sessions(tmp_path: Path) -> None:
    result = read_with(
        tmp_path,
        {
            "academicSessions.csv": [
                "y-2,,x,term,2024-08-01,,2025",
                "y-3,,x,term,2025-01-01,2024-08-01,2025",
                "y-4,,x,term,1 August,2025-01-01,2025",
            ]
        },
    )
    assert result.rejected == [
        "academicSessions.csv:3: missing required value endDate",
        "academicSessions.csv:4: endDate 2024-08-01 is before startDate 2025-01-01",
        "academicSessions.csv:5: malformed date '1 August' in startDate (use YYYY-MM-DD)",
    ]


# -- delta files ---------------------------------------------------------------------------


def test_a_delta_row_must_state_its_status(tmp_path: Path) -> None:
    manifest = [line.replace(",bulk", ",delta") for line in BASE["manifest.csv"]]
    result = read_with(
        tmp_path,
        {"enrollments.csv": ["e-9,active,cl-1,c-2,student,false,,"]},
        code="751",
        manifest=manifest,
    )
    # The base rows have no status: in a delta file that is not allowed.
    missing = "missing required value status (delta files need active or tobedeleted)"
    assert f"enrollments.csv:2: {missing}" in result.rejected
    assert f"classes.csv:2: {missing}" in result.rejected
    # e-9 says active, but its class was refused, and what refers to it says so.
    assert "enrollments.csv:4: class 'cl-1' was rejected in classes.csv" in result.rejected
    assert result.batch.memberships == []


# -- 1.1 -----------------------------------------------------------------------------------


def test_1_1_an_unknown_org_drops_only_that_affiliation(tmp_path: Path) -> None:
    manifest = ["propertyName,value", "oneroster.version,1.1"]
    users = [
        "sourcedId,status,enabledUser,orgSourcedIds,role,username,givenName,familyName",
        'u-1,,true,"s-1,s-99",teacher,,Ane,Berg',
    ]
    result = read_with(
        tmp_path, manifest=manifest, users=users, roles=[], enrollments=BASE["enrollments.csv"][:1]
    )
    assert result.rejected == [
        "users.csv:2: unknown org 's-99' in orgSourcedIds (that role is skipped)",
        "demographics.csv:2: unknown user 'c-1'",
    ]
    assert [(a.person, a.institution) for a in result.batch.affiliations] == [("u-1", "s-1")]
    assert [p.source_id for p in result.batch.people] == ["u-1"]
