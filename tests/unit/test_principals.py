"""The policy helpers: what a caller may not see is 404, what they may not do is 403."""

from __future__ import annotations

import uuid

import pytest

from gateway.auth.principals import (
    Permission,
    PersonPrincipal,
    SystemPrincipal,
    acting_person_id,
    authorize,
    authorize_person,
    ensure_in_key_scope,
    ensure_tenant,
)
from gateway.errors import Forbidden, NotFound

HOME = uuid.uuid4()
SCHOOL, OTHER_SCHOOL = uuid.uuid4(), uuid.uuid4()


def system(
    *permissions: Permission, institutions: frozenset[uuid.UUID] = frozenset()
) -> SystemPrincipal:
    return SystemPrincipal(
        key_id=uuid.uuid4(),
        prefix="abcd1234",
        name="sis",
        municipality_id=HOME,
        municipality_code="0101",
        permissions=frozenset(permissions),
        institution_ids=institutions,
    )


def person(kind: str = "guardian", via_key: SystemPrincipal | None = None) -> PersonPrincipal:
    return PersonPrincipal(
        person_id=uuid.uuid4(),
        municipality_id=HOME,
        municipality_code="0101",
        kind=kind,
        subject="someone",
        acr="substantial",
        via_key=via_key,
    )


def test_the_tenant_comes_before_the_permission() -> None:
    with pytest.raises(NotFound):
        authorize(system(), permission=Permission.ROSTER, municipality_code="0202")
    with pytest.raises(NotFound):
        authorize_person(person(), municipality_code="0202")
    with pytest.raises(Forbidden, match="'roster'"):
        authorize(system(Permission.SEND), permission=Permission.ROSTER, municipality_code="0101")
    key = system(Permission.ROSTER)
    assert authorize(key, permission=Permission.ROSTER, municipality_code=None) is key


def test_people_and_systems_do_not_pass_for_each_other() -> None:
    with pytest.raises(Forbidden, match="for systems"):
        authorize(person("staff"), permission=Permission.SEND, municipality_code=None)
    with pytest.raises(Forbidden, match="for people"):
        authorize_person(system(Permission.SEND))
    with pytest.raises(Forbidden, match="for staff, not guardian"):
        authorize_person(person("guardian"), kinds={"staff"})
    staff = person("staff")
    assert authorize_person(staff, kinds={"staff"}) is staff


def test_rows_of_another_tenant_are_not_found() -> None:
    ensure_tenant(person(), HOME, "thread")
    with pytest.raises(NotFound, match="no such thread"):
        ensure_tenant(person(), uuid.uuid4(), "thread")


def test_a_scoped_key_sees_only_its_institutions_also_when_acting_for_staff() -> None:
    scoped = system(Permission.SEND, institutions=frozenset({SCHOOL}))
    for caller in (scoped, person("staff", via_key=scoped)):
        ensure_in_key_scope(caller, [SCHOOL, OTHER_SCHOOL], "group")
        with pytest.raises(NotFound, match="no such group"):
            ensure_in_key_scope(caller, [OTHER_SCHOOL], "group")
    # Municipality-wide keys and people signed in themselves are not narrowed here.
    ensure_in_key_scope(system(Permission.SEND), [OTHER_SCHOOL], "group")
    ensure_in_key_scope(person("staff"), [OTHER_SCHOOL], "group")


def test_the_acting_person_and_the_credential() -> None:
    key = system(Permission.SEND)
    acting = person("staff", via_key=key)
    signed_in = person()
    assert acting_person_id(acting) == acting.person_id
    assert acting_person_id(signed_in) == signed_in.person_id
    assert acting_person_id(key) is None
    assert acting.credential == key.credential == f"key:{key.key_id}"
    assert signed_in.credential == f"person:{signed_in.person_id}"
