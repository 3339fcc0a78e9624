"""The morning peak's people: the demo municipality, who teaches whom, push keys, tokens.

The roster is ``write_demo_data`` imported as the CLI does. From the database it then
reads each school class's teachers and its children's custodial guardians and each
school's principal (OneRoster ``principal``: a broadcast role, so a school-wide
announcement may pass the recipient limit). A share of the guardians get a push
subscription with a real P-256 key pair and auth secret whose endpoint is the local
receiver, so the worker encrypts every push as for a browser and the bench can decrypt
it afterwards. Everyone who sends or reads gets a dev token (``gateway/auth/devtokens``,
as ``budstikke token`` makes them), signed with the data folder's key the API verifies.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import random
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import harness
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from harness import import_demo

from gateway.auth.devtokens import issue_dev_token
from gateway.config import load_settings
from gateway.db import create_engine


@dataclass
class SchoolClass:
    """A class: its teachers and its children's custodial guardians (gateway ids)."""

    id: uuid.UUID
    school: uuid.UUID
    teachers: list[uuid.UUID]
    guardians: list[uuid.UUID]


@dataclass
class Subscriber:
    """A guardian's browser: the private half of its push subscription."""

    person: uuid.UUID
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes


@dataclass
class Roster:
    classes: list[SchoolClass]
    principals: dict[uuid.UUID, uuid.UUID]  # school -> principal
    subscribers: dict[int, Subscriber]  # endpoint number -> keys
    tokens: dict[uuid.UUID, str] = field(default_factory=dict)  # person -> bearer token

    @property
    def guardians(self) -> set[uuid.UUID]:
        return {g for c in self.classes for g in c.guardians}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def _import(database_url: str, folder: Path) -> None:
    engine = create_engine(database_url)
    try:
        await import_demo(engine, folder)
    finally:
        await engine.dispose()


_CLASSES = """
SELECT g.id, g.institution_id FROM groups g JOIN institutions i ON i.id = g.institution_id
WHERE g.kind = 'class' AND i.kind = 'school' AND g.active ORDER BY g.source_id
"""
_TEACHERS = """
SELECT m.group_id, m.person_id FROM memberships m JOIN people p ON p.id = m.person_id
WHERE m.role = 'teacher' AND m.active AND p.active ORDER BY m.is_primary DESC, p.source_id
"""
_GUARDIANS = """
SELECT DISTINCT m.group_id, g.guardian_id FROM memberships m
JOIN guardianships g ON g.child_id = m.person_id AND g.custody AND g.active
JOIN people p ON p.id = g.guardian_id AND p.active
WHERE m.role = 'child' AND m.active ORDER BY m.group_id, g.guardian_id
"""
_PRINCIPALS = """
SELECT a.institution_id, a.person_id FROM affiliations a JOIN people p ON p.id = a.person_id
WHERE a.role = 'principal' AND a.active AND p.active ORDER BY p.source_id
"""


async def _read(database_url: str) -> tuple[list[SchoolClass], dict[uuid.UUID, uuid.UUID], Any]:
    conn = await harness.connect(database_url)
    try:
        teachers: dict[uuid.UUID, list[uuid.UUID]] = {}
        for group, person in await conn.fetch(_TEACHERS):
            teachers.setdefault(group, []).append(person)
        guardians: dict[uuid.UUID, list[uuid.UUID]] = {}
        for group, person in await conn.fetch(_GUARDIANS):
            guardians.setdefault(group, []).append(person)
        classes = [
            SchoolClass(g, school, teachers[g], guardians[g])
            for g, school in await conn.fetch(_CLASSES)
            if teachers.get(g) and guardians.get(g)
        ]
        schools = {c.school for c in classes}
        principals: dict[uuid.UUID, uuid.UUID] = {}
        for school, person in await conn.fetch(_PRINCIPALS):
            if school in schools:  # not a daycare's leader
                principals.setdefault(school, person)
        municipality = await conn.fetchval("SELECT id FROM municipalities")
        return classes, principals, municipality
    finally:
        await conn.close()


async def _subscribe(
    database_url: str, municipality: Any, guardians: list[uuid.UUID], origin: str
) -> dict[int, Subscriber]:
    """Push subscriptions with real keys for ``guardians``, endpoints at ``origin``."""
    subscribers: dict[int, Subscriber] = {}
    rows = []
    now = dt.datetime.now(dt.UTC)
    for n, person in enumerate(guardians):
        key = ec.generate_private_key(ec.SECP256R1())
        auth = os.urandom(16)
        subscribers[n] = Subscriber(person, key, auth)
        point = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        endpoint = f"{origin}/push/{n}"
        rows.append((uuid.uuid4(), municipality, person, endpoint, _b64(point), _b64(auth), now))
    conn = await harness.connect(database_url)
    try:
        await conn.copy_records_to_table(
            "push_subscriptions",
            records=rows,
            columns=[
                "id",
                "municipality_id",
                "person_id",
                "endpoint",
                "p256dh",
                "auth",
                "created_at",
            ],
        )
    finally:
        await conn.close()
    return subscribers


async def _codes(database_url: str) -> dict[uuid.UUID, tuple[str, str]]:
    """Each person's source id and municipality code, for their token."""
    conn = await harness.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT p.id, p.source_id, m.code FROM people p "
            "JOIN municipalities m ON m.id = p.municipality_id"
        )
        return {r["id"]: (r["source_id"], r["code"]) for r in rows}
    finally:
        await conn.close()


async def build(
    environ: dict[str, str], folder: Path, *, push_share: float, push_origin: str
) -> Roster:
    """Import the demo set, subscribe a share of guardians, and sign everyone's token."""
    database_url = environ["BUDSTIKKE_DATABASE_URL"]
    await _import(database_url, folder)
    classes, principals, municipality = await _read(database_url)
    if not classes or not principals:
        raise SystemExit("the demo roster has no school class with teachers, or no principal")
    rng = random.Random(7)  # noqa: S311 - a reproducible sample, not a secret
    guardians = sorted({g for c in classes for g in c.guardians})
    chosen = [g for g in guardians if rng.random() < push_share]
    subscribers = await _subscribe(database_url, municipality, chosen, push_origin)
    roster = Roster(classes, principals, subscribers)
    settings = load_settings(environ)
    codes = await _codes(database_url)
    people = roster.guardians | set(principals.values())
    people.update(t for c in classes for t in c.teachers)
    for person in people:
        source_id, code = codes[person]
        roster.tokens[person] = issue_dev_token(
            settings, subject=source_id, municipality_code=code, acr="substantial", hours=4
        )
    return roster
