"""The REST roster structs: strict, bounded, and saying which item is wrong."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import pytest

from gateway.roster.models import MemberRole, PersonKind
from gateway.roster.records import SyncReport
from gateway.roster.schemas import (
    AffiliationRole,
    AffiliationsPut,
    GroupsPut,
    GuardianshipsPut,
    InstitutionsPut,
    MembershipsPut,
    PeoplePut,
    RosterSyncResult,
)


def person(**extra: Any) -> dict[str, Any]:
    return {"source_id": "p1", "kind": "child", "given_name": "Ida", "family_name": "Holm", **extra}


def decode(struct: type[Any], items: list[dict[str, Any]]) -> Any:
    return msgspec.json.decode(msgspec.json.encode({"items": items}), type=struct)


def refusal(struct: type[Any], items: list[dict[str, Any]]) -> str:
    with pytest.raises(msgspec.ValidationError) as caught:
        decode(struct, items)
    return str(caught.value)


def test_a_person_gets_the_documented_defaults() -> None:
    item = decode(PeoplePut, [person()]).items[0]
    assert (item.active, item.protected, item.alias, item.locale) == (True, False, None, "da")
    assert item.emails == []
    assert item.grades == []
    assert item.kind is PersonKind.CHILD


def test_dates_are_iso_dates() -> None:
    item = decode(PeoplePut, [person(birth_date="2017-03-04")]).items[0]
    assert item.birth_date == dt.date(2017, 3, 4)
    assert "items[0].birth_date" in refusal(PeoplePut, [person(birth_date="04-03-2017")])


def test_unknown_fields_are_refused_with_their_name() -> None:
    message = refusal(PeoplePut, [person(), person(source_id="p2", nickname="x")])
    assert "unknown field `nickname`" in message
    assert "$.items[1]" in message
    body = msgspec.json.encode({"items": [person()], "extra": 1})
    with pytest.raises(msgspec.ValidationError, match="unknown field `extra`"):
        msgspec.json.decode(body, type=PeoplePut)


def test_a_protected_person_needs_an_alias_and_the_item_is_named() -> None:
    items = [person(source_id=f"p{n}") for n in range(3)]
    items.append(person(source_id="p3", protected=True))
    message = refusal(PeoplePut, items)
    assert "needs an alias" in message
    assert "$.items[3]" in message
    assert decode(PeoplePut, [person(protected=True, alias="Barn A")]).items[0].alias == "Barn A"


def test_emails_are_checked_and_bounded() -> None:
    assert "emails[1] 'not-an-address'" in refusal(
        PeoplePut, [person(emails=["ida@example.dk", "not-an-address"])]
    )
    six = [f"a{n}@example.dk" for n in range(6)]
    assert "length <= 5 - at `$.items[0].emails`" in refusal(PeoplePut, [person(emails=six)])
    assert decode(PeoplePut, [person(emails=six[:5])]).items[0].emails == six[:5]


def test_strings_are_bounded_and_not_blank() -> None:
    assert "items[0].given_name" in refusal(PeoplePut, [person(given_name="x" * 201)])
    assert "given_name is blank" in refusal(PeoplePut, [person(given_name="   ")])
    assert "items[0].source_id" in refusal(PeoplePut, [person(source_id="")])
    assert "items[0].source_id" in refusal(PeoplePut, [person(source_id="x" * 256)])


def test_ids_with_surrounding_spaces_are_refused() -> None:
    # " p1" and "p1" would be two different people to the sync.
    assert "source_id ' p1' has leading or trailing spaces" in refusal(
        PeoplePut, [person(source_id=" p1")]
    )
    message = refusal(MembershipsPut, [{"group": "g1 ", "person": "p1", "role": "child"}])
    assert "group 'g1 '" in message


def test_grades_must_fit_the_column() -> None:
    assert "64 characters" in refusal(PeoplePut, [person(grades=["12345678"] * 8)])
    assert "items[0].grades[0]" in refusal(PeoplePut, [person(grades=["1,2"])])
    assert decode(PeoplePut, [person(grades=["0", "1"])]).items[0].grades == ["0", "1"]


def test_enums_and_time_zones() -> None:
    assert "items[0].kind" in refusal(
        InstitutionsPut, [{"source_id": "s", "kind": "castle", "name": "S"}]
    )
    assert "unknown time zone 'Mars/Olympus'" in refusal(
        InstitutionsPut,
        [{"source_id": "s", "kind": "school", "name": "S", "time_zone": "Mars/Olympus"}],
    )
    ok = decode(
        InstitutionsPut,
        [{"source_id": "s", "kind": "daycare", "name": "S", "time_zone": "Europe/Copenhagen"}],
    )
    assert ok.items[0].time_zone == "Europe/Copenhagen"
    assert "items[0].kind" in refusal(
        GroupsPut, [{"source_id": "g", "institution": "s", "kind": "gang", "name": "G"}]
    )


def test_link_dates_may_not_run_backwards() -> None:
    message = refusal(
        MembershipsPut,
        [
            {
                "group": "g",
                "person": "p",
                "role": "teacher",
                "begin_date": "2026-08-01",
                "end_date": "2026-06-30",
            }
        ],
    )
    assert "end_date 2026-06-30 is before begin_date 2026-08-01" in message
    assert "before" in refusal(
        AffiliationsPut,
        [
            {
                "person": "p",
                "institution": "s",
                "role": "teacher",
                "begin_date": "2026-08-01",
                "end_date": "2025-01-01",
            }
        ],
    )


def test_custody_must_be_said() -> None:
    # Custody decides who may answer consents: no default to guess with.
    assert "custody" in refusal(GuardianshipsPut, [{"child": "c", "guardian": "g"}])
    item = decode(GuardianshipsPut, [{"child": "c", "guardian": "g", "custody": False}]).items[0]
    assert (item.custody, item.relation.value) == (False, "parent")


def test_a_request_has_at_least_one_item() -> None:
    assert "length >= 1" in refusal(PeoplePut, [])


def test_affiliation_roles_know_their_kind_of_person() -> None:
    assert AffiliationRole.STUDENT.person_kind is PersonKind.CHILD
    assert AffiliationRole.RELATIVE.person_kind is PersonKind.GUARDIAN
    assert AffiliationRole("districtAdministrator").person_kind is PersonKind.STAFF
    assert "items[0].role" in refusal(
        AffiliationsPut, [{"person": "p", "institution": "s", "role": "janitor"}]
    )
    membership = decode(MembershipsPut, [{"group": "g", "person": "p", "role": "pedagogue"}])
    assert membership.items[0].role is MemberRole.PEDAGOGUE


def test_the_reply_has_every_kind_and_the_refusals() -> None:
    report = SyncReport()
    report.counts["people"].created = 2
    report.counts["memberships"].deactivated = 1
    report.reject("items[1]", "unknown group 'x'")
    reply = msgspec.to_builtins(RosterSyncResult.of(report))
    assert set(reply["counts"]) == {
        "institutions",
        "groups",
        "people",
        "affiliations",
        "guardianships",
        "memberships",
    }
    assert reply["counts"]["people"] == {
        "created": 2,
        "updated": 0,
        "deactivated": 0,
        "unchanged": 0,
    }
    assert reply["counts"]["memberships"]["deactivated"] == 1
    assert reply["rejected"] == ["items[1]: unknown group 'x'"]
