"""A municipality-sized set: 100 000 children, their guardians and staff (~300 000 users).

Not a benchmark (those live in bench/): a guard that reading stays streaming and fast
enough for the demo set, and that nothing is lost on the way.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gateway.roster.oneroster import read_oneroster

CHILDREN = 100_000
SCHOOLS = 40
DAYCARES = 60
CHILDREN_PER_GROUP = 25
STAFF_PER_GROUP = 2


def _write(path: Path, header: str, rows: list[str]) -> None:
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")


def build_set(folder: Path) -> dict[str, int]:
    """Write the set; return how many rows each file got."""
    folder.mkdir()
    institutions = [f"s-{n}" for n in range(SCHOOLS)] + [f"d-{n}" for n in range(DAYCARES)]
    orgs = ["k-1,,Demo Kommune,district,999,,"]
    orgs += [
        f"{i},,Institution {i},school,,{'daycare' if i[0] == 'd' else ''}," for i in institutions
    ]
    users, roles, classes, enrollments = [], [], [], []
    groups = CHILDREN // CHILDREN_PER_GROUP
    for g in range(groups):
        school = institutions[g % len(institutions)]
        classes.append(f"cl-{g},,Gruppe {g},{g % 10:02d},{school}")
        for s in range(STAFF_PER_GROUP):
            staff = f"t-{g}-{s}"
            users.append(f"{staff},,true,{staff},,Staff,Person{g},{staff}@demo.example,,,")
            roles.append(f"r-{staff},,{staff},primary,teacher,,,{school}")
            enrollments.append(
                f"e-{staff},,cl-{g},{staff},teacher,{'true' if s == 0 else 'false'},2024-08-01,"
            )
    for c in range(CHILDREN):
        group = c // CHILDREN_PER_GROUP
        school = institutions[group % len(institutions)]
        child, mother, father = f"c-{c}", f"g-{c}-a", f"g-{c}-b"
        agents = f'"{mother},{father}"'
        users.append(
            f"{child},,true,uni{c},{{UNI-Login:uni{c}}},Barn,Nummer{c},,{agents},{group % 10:02d},"
        )
        users.append(f"{mother},,true,,,Mor,Nummer{c},mor{c}@demo.example,,,")
        users.append(f"{father},,true,,,Far,Nummer{c},far{c}@demo.example,{child},,")
        roles.append(f"r-{child},,{child},primary,student,2024-08-01,,{school}")
        roles.append(f"r-{mother},,{mother},primary,parent,,,{school}")
        roles.append(f"r-{father},,{father},primary,parent,,,{school}")
        enrollments.append(f"e-{child},,cl-{group},{child},student,false,2024-08-01,2025-06-30")
    _write(
        folder / "manifest.csv",
        "propertyName,value",
        [
            "oneroster.version,1.2",
            "file.orgs,bulk",
            "file.users,bulk",
            "file.roles,bulk",
            "file.classes,bulk",
            "file.enrollments,bulk",
        ],
    )
    _write(
        folder / "orgs.csv",
        "sourcedId,status,name,type,identifier,metadata.dk.kind,parentSourcedId",
        orgs,
    )
    _write(
        folder / "users.csv",
        "sourcedId,status,enabledUser,username,userIds,givenName,familyName,email,agentSourcedIds,grades,metadata.dk.custody",
        users,
    )
    _write(
        folder / "roles.csv",
        "sourcedId,status,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId",
        roles,
    )
    _write(folder / "classes.csv", "sourcedId,status,title,grades,schoolSourcedId", classes)
    _write(
        folder / "enrollments.csv",
        "sourcedId,status,classSourcedId,userSourcedId,role,primary,beginDate,endDate",
        enrollments,
    )
    return {
        "users.csv": len(users),
        "enrollments.csv": len(enrollments),
        "classes.csv": len(classes),
    }


@pytest.mark.slow
def test_a_municipality_sized_set_reads_without_rejections(tmp_path: Path) -> None:
    expected = build_set(tmp_path / "demo")
    started = time.perf_counter()
    result = read_oneroster(
        tmp_path / "demo",
        municipality_code=None,
        max_file_bytes=1 << 30,
        default_time_zone="Europe/Copenhagen",
    )
    seconds = time.perf_counter() - started
    print(f"\nread {sum(result.files.values()):,} rows in {seconds:.1f} s")
    assert result.rejected == []
    assert result.files["users.csv"] == expected["users.csv"] > 300_000
    assert len(result.batch.people) == expected["users.csv"]
    assert len(result.batch.guardianships) == 2 * CHILDREN  # each pair once, from both sides
    assert len(result.batch.memberships) == expected["enrollments.csv"]
