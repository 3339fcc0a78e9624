"""A set written as the 1EdTech OneRoster 1.2 CSV binding shows, by a third party."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from gateway.roster.models import InstitutionKind, MemberRole, PersonKind
from gateway.roster.oneroster import read_oneroster

SET = Path(__file__).resolve().parents[1] / "fixtures" / "oneroster" / "spec-example-1.2"


def test_the_spec_style_set_reads_cleanly() -> None:
    result = read_oneroster(
        SET, municipality_code=None, max_file_bytes=1 << 20, default_time_zone="Europe/Copenhagen"
    )
    batch = result.batch
    assert result.version == "1.2"
    assert result.rejected == []
    assert result.files["users.csv"] == 8
    assert result.files["userProfiles.csv"] == 1
    assert "courses.csv" not in result.files  # present, but nothing in it is imported

    assert batch.municipality is not None
    assert (batch.municipality.code, batch.municipality.source_id) == ("ESD01", "org-district-1")
    assert [(i.source_id, i.kind) for i in batch.institutions] == [
        ("org-school-1", InstitutionKind.SCHOOL)
    ]

    kinds = {p.source_id: p.kind for p in batch.people}
    assert kinds["user-student-1"] is PersonKind.CHILD
    assert kinds["user-relative-1"] is PersonKind.GUARDIAN
    assert kinds["user-admin-1"] is PersonKind.STAFF  # districtAdministrator
    john = next(p for p in batch.people if p.source_id == "user-student-1")
    assert (john.given_name, john.family_name) == ("Johnny", "Smith")
    assert john.birth_date == dt.date(2015, 4, 12)
    assert john.emails == ("john.smith@example.org",)

    # Roles at the district and the department are not roles at an institution.
    assert {(a.person, a.institution) for a in batch.affiliations} >= {
        ("user-admin-1", "org-school-1"),
        ("user-teacher-1", "org-school-1"),
    }
    assert all(a.institution == "org-school-1" for a in batch.affiliations)

    assert {(g.child, g.guardian, g.custody) for g in batch.guardianships} == {
        ("user-student-1", "user-parent-1", True),
        ("user-student-2", "user-parent-2", True),
        ("user-student-2", "user-relative-1", False),
    }
    assert {m.source_id: m.role for m in batch.memberships} == {
        "enr-1": MemberRole.CHILD,
        "enr-2": MemberRole.CHILD,
        "enr-3": MemberRole.TEACHER,
        "enr-4": MemberRole.CHILD,
        "enr-5": MemberRole.TEACHER,
        "enr-6": MemberRole.TEACHER,  # proctor
    }
