"""The world the authorization matrix runs in: two municipalities, the things to reach, and
every kind of caller with the credentials it would really present.

The gateway is configured as in production: people's tokens come from an identity
provider's JWKS (:class:`tests.jwks_server.JwksServer`, RS256, real signatures), and
systems present API keys. It is served by uvicorn on loopback, so the SSE endpoint
answers like any other. The roster is the demo municipality (0999,
``write_demo_data(children=60, seed=5)``) and the OneRoster fixture's (101), the other
tenant.

The demo people the matrix is about (see ``tests/integration/consent_world.py``):
``child-000003`` (Filippa, 8.A, aged 14, a pupil old enough to answer consents) with
custodial ``guardian-000003`` and non-custodial ``guardian-000004``; ``staff-00024``
teaches 3.A and 8.A at school-02 and sends everything; ``child-000015`` (3.A, aged 9) is
a pupil under the age; ``child-000012`` is in daycare room 1 with ``staff-00039``.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import jwt
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.vapid import generate_key_pair
from gateway.api.app import create_app
from gateway.auth.apikeys import create_api_key, revoke_api_key
from gateway.config import Settings, load_settings
from gateway.db import create_engine, session_factory
from gateway.roster.demo import write_demo_data
from gateway.roster.importer import import_oneroster
from gateway.roster.models import (
    ContactPoint,
    Group,
    Guardianship,
    Institution,
    Membership,
    Municipality,
    Person,
)
from tests.conftest import _admin, _sqlalchemy_url
from tests.jwks_server import JwksServer, jwk

DEMO = "0999"
OTHER = "101"
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "oneroster" / "v1p2-dk"
ISSUER = "https://login.kommune.example.dk/realms/skole"
AUDIENCE = "budstikke"
KID = "idp-1"
METRICS_TOKEN = "scrape-" + "x" * 24
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")

CHILD = "child-000003"  # the child the matrix is about: 8.A, aged 14
CLASS = "school-02-8a"
OTHER_CLASS = "school-02-3a"  # also the teacher's; the young pupil's
TEACHER = "staff-00024"
CO_TEACHER = "staff-00029"  # teaches 8.A too; deactivated for the matrix
YOUNG_PUPIL = "child-000015"  # 3.A, aged 9
DAYCARE_CHILD = "child-000012"
ROOM = "daycare-01-room-01"
PEDAGOGUE = "staff-00039"
PROTECTED_CHILD = "child-000004"
PROTECTED_GUARDIAN = "guardian-000005"

# Who each person caller is: a source id in 0999 (or 101), or picked from the roster.
PEOPLE: dict[str, str] = {
    "guardian": "guardian-000003",  # custody of CHILD
    "non_custodial": "guardian-000004",  # CHILD's parent without custody
    "pupil": CHILD,
    "young_pupil": YOUNG_PUPIL,
    "teacher": TEACHER,
    "teacher_other_group": "staff-00027",  # 7.A, same school
    "leader": "staff-00019",  # principal of school-02
    "staff_other_institution": "staff-00003",  # a teacher at school-01
    "pedagogue": PEDAGOGUE,
    # "guardian_other" and "daycare_guardian" are looked up (see _pick_people).
}
OTHER_PEOPLE = {"staff_other_municipality": "t-1"}
# The custodial guardian again, signed in with a weak login (no MitID substantial).
LOW_ACR = {"guardian_low_acr": "guardian-000003"}
# In the subject and body of a sensitive thread to 8.A: only its participants with a
# strong enough login may ever see it.
SENSITIVE = "Fortroligt-7f3a"

# Credentials that must never pass: each is 401 on every endpoint that needs a caller.
BAD_CREDENTIALS = (
    "no_token",
    "malformed",
    "expired",
    "wrong_audience",
    "wrong_issuer",
    "alg_none",
    "hs256_public_key",
    "hs256_public_jwk",
    "wrong_key",
    "unknown_kid",
    "unknown_person",
    "deactivated_person",
    "other_municipality_claim",
    "no_municipality_claim",
    "metrics_token",
    "key_revoked",
    "key_made_up",
)
KEYS = (
    "key_send",
    "key_roster",
    "key_report",
    "key_admin",
    "key_scoped",  # send, roster, report; school-01 only
    "key_other_municipality",  # send, roster, report in 101
    "key_for_teacher",  # key_send acting for the teacher (Budstikke-On-Behalf-Of)
    "key_report_for_teacher",  # a key without send naming the teacher
    "key_scoped_for_teacher",  # school-01's key naming a school-02 teacher
    "key_for_guardian",  # key_send naming a guardian
    "key_for_other_municipality_staff",  # key_send naming 101's teacher
)
PERSON_CALLERS = (
    "guardian",
    "guardian_other",
    "non_custodial",
    "pupil",
    "young_pupil",
    "teacher",
    "teacher_other_group",
    "leader",
    "staff_other_institution",
    "staff_other_municipality",
    "daycare_guardian",
    "pedagogue",
    "guardian_low_acr",
    "teacher_naming_leader",
)
CALLERS = PERSON_CALLERS + KEYS + BAD_CREDENTIALS
STAFF = frozenset(
    {
        "teacher",
        "teacher_other_group",
        "leader",
        "staff_other_institution",
        "staff_other_municipality",
        "pedagogue",
        "key_for_teacher",
        "teacher_naming_leader",
    }
)


@dataclass
class MatrixWorld:
    """Everything a cell needs: an HTTP client, each caller's headers, the things' ids."""

    engine_name: str
    http: httpx.AsyncClient
    engine: AsyncEngine
    settings: Settings
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)  # things and people by name
    own_emails: dict[str, set[str]] = field(default_factory=dict)
    protected_names: set[str] = field(default_factory=set)
    may_see_names: dict[str, set[str]] = field(default_factory=dict)
    other_municipality_ids: set[str] = field(default_factory=set)
    demo_ids: set[str] = field(default_factory=set)  # 0999's people
    secrets: dict[str, str] = field(default_factory=dict)

    def id(self, name: str) -> str:
        return self.ids[name]


# -- tokens ---------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(subject: str, municipality: str | None = DEMO, **extra: Any) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": subject,
        "iat": int(now.timestamp()),
        "exp": int((now + dt.timedelta(hours=1)).timestamp()),
        "acr": "https://data.gov.dk/concept/core/nsis/loa/Substantial",
    }
    if municipality is not None:
        claims["municipality"] = municipality
    claims.update(extra)
    return claims


def _unsigned(header: Mapping[str, Any], claims: Mapping[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"


def hs256_with(secret: bytes, claims: Mapping[str, Any]) -> str:
    """HS256 by hand: PyJWT rightly refuses a PEM as an HMAC secret, an attacker does not."""
    signing_input = _unsigned({"alg": "HS256", "typ": "JWT", "kid": KID}, claims)
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


class Tokens:
    """The identity provider: signs people's tokens, and the forgeries an attacker tries."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.jwk = jwk(self.key.public_key(), KID)

    def person(self, subject: str, municipality: str | None = DEMO, **extra: Any) -> str:
        return jwt.encode(
            _claims(subject, municipality, **extra),
            self.key,
            algorithm="RS256",
            headers={"kid": KID},
        )

    def forged(self, subject: str) -> dict[str, str]:
        """Bad tokens for a real, active person, one per way of getting it wrong."""
        past = int((dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).timestamp())
        public_pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        stranger = ec.generate_private_key(ec.SECP256R1())
        other_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return {
            "expired": self.person(subject, exp=past, iat=past - 3600),
            "wrong_audience": self.person(subject, aud="another-service"),
            "wrong_issuer": self.person(subject, iss="https://evil.example.net/realms/skole"),
            "alg_none": _unsigned({"alg": "none", "typ": "JWT", "kid": KID}, _claims(subject))
            + ".",
            # The classic confusion: the provider's *public* key as the HMAC secret, in
            # both forms a verifier might hold it (PEM; the JWK's JSON).
            "hs256_public_key": hs256_with(public_pem, _claims(subject)),
            "hs256_public_jwk": hs256_with(json.dumps(self.jwk).encode(), _claims(subject)),
            "wrong_key": jwt.encode(
                _claims(subject), other_rsa, algorithm="RS256", headers={"kid": KID}
            ),
            "unknown_kid": jwt.encode(
                _claims(subject), stranger, algorithm="ES256", headers={"kid": "made-up"}
            ),
        }


# -- the database and the app ---------------------------------------------------------


@asynccontextmanager
async def database(
    engine_name: str,
    *,
    folder: Path,
    postgres_admin_url: str,
    postgres_template: str,
    sqlite_template: Path,
) -> AsyncIterator[str]:
    """A fresh migrated database of one engine, for the module."""
    if engine_name == "sqlite":
        path = folder / "matrix.db"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    name = f"budstikke_authz_{uuid.uuid4().hex[:10]}"
    await _admin(postgres_admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"')
    try:
        yield _sqlalchemy_url(postgres_admin_url, name)
    finally:
        await _admin(postgres_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[str]:
    """The real app under uvicorn on loopback; its base URL."""
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=0, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def _import(engine: AsyncEngine, folder: Path) -> None:
    report = await import_oneroster(
        engine,
        folder,
        municipality_code=None,
        dry_run=False,
        max_file_bytes=1 << 30,
        default_time_zone="Europe/Copenhagen",
    )
    assert not report.rejected, report.rejected[:3]


@asynccontextmanager
async def matrix_world(
    engine_name: str,
    *,
    folder: Path,
    redis_url: str,
    postgres_admin_url: str,
    postgres_template: str,
    sqlite_template: Path,
) -> AsyncIterator[MatrixWorld]:
    """Both municipalities imported, every caller's credentials, the things created."""
    async with database(
        engine_name,
        folder=folder,
        postgres_admin_url=postgres_admin_url,
        postgres_template=postgres_template,
        sqlite_template=sqlite_template,
    ) as url:
        engine = create_engine(url)
        try:
            demo = folder / "demo"
            write_demo_data(demo, children=60, seed=5)
            await _import(engine, demo)
            await _import(engine, FIXTURE)
            tokens = Tokens()
            vapid = generate_key_pair()
            with JwksServer([tokens.jwk]) as jwks:
                environ = {
                    "BUDSTIKKE_DATA_DIR": str(folder / "data"),
                    "BUDSTIKKE_DATABASE_URL": url,
                    "BUDSTIKKE_REDIS_URL": redis_url,
                    "BUDSTIKKE_QUEUE_NAME": f"test:authz:{uuid.uuid4().hex}",
                    "BUDSTIKKE_AUTH_JWKS_URL": jwks.url,
                    "BUDSTIKKE_AUTH_ISSUER": ISSUER,
                    "BUDSTIKKE_AUTH_AUDIENCE": AUDIENCE,
                    # The matrix makes thousands of calls; limits have their own tests.
                    "BUDSTIKKE_RATE_LIMIT_PER_MINUTE": "0",
                    "BUDSTIKKE_RATE_LIMIT_WRITES_PER_MINUTE": "0",
                    "BUDSTIKKE_METRICS_TOKEN": METRICS_TOKEN,
                    "BUDSTIKKE_VAPID_PRIVATE_KEY": vapid.private_pem,
                    "BUDSTIKKE_VAPID_SUBJECT": "mailto:drift@example.dk",
                    "BUDSTIKKE_PUBLIC_URL": "https://besked.example.dk",
                }
                settings = load_settings(environ)
                async with (
                    serve(settings) as base,
                    httpx.AsyncClient(base_url=base, timeout=20) as http,
                ):
                    world = MatrixWorld(engine_name, http, engine, settings)
                    await _callers(world, tokens)
                    await _things(world)
                    yield world
        finally:
            await engine.dispose()


# -- callers --------------------------------------------------------------------------


def _bearer(value: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}", **extra}


async def _pick_people(engine: AsyncEngine) -> dict[str, str]:
    """A guardian with no child in the teacher's classes or the daycare room, and the
    daycare child's custodian: the first by source id, so every run asks the same ones."""
    async with session_factory(engine)() as session:
        classes = select(Group.id).where(Group.source_id.in_([CLASS, OTHER_CLASS, ROOM]))
        near = set(
            (
                await session.scalars(
                    select(Membership.person_id).where(Membership.group_id.in_(classes))
                )
            ).all()
        )
        rows = (
            await session.execute(
                select(Person.source_id, Person.protected, Guardianship)
                .join(Guardianship, Guardianship.guardian_id == Person.id)
                .join(Municipality, Municipality.id == Person.municipality_id)
                .where(Municipality.code == DEMO)
                .order_by(Person.source_id)
            )
        ).all()
        daycare_child = await session.scalar(
            select(Person.id).where(Person.source_id == DAYCARE_CHILD)
        )
    children: dict[str, set[uuid.UUID]] = {}
    for source_id, protected, link in rows:
        if not protected:
            children.setdefault(source_id, set()).add(link.child_id)
    far = next(source for source, theirs in children.items() if not theirs & near)
    custodian = next(
        source_id
        for source_id, protected, link in rows
        if link.child_id == daycare_child and link.custody and not protected
    )
    return {"guardian_other": far, "daycare_guardian": custodian}


async def _key(
    engine: AsyncEngine, code: str, permissions: list[str], institutions: Sequence[str] = ()
) -> str:
    async with session_factory(engine)() as session, session.begin():
        created = await create_api_key(
            session,
            municipality_code=code,
            name=f"authz {' '.join(permissions)}",
            permissions=permissions,
            institutions=list(institutions),
        )
    return created.key


async def _callers(w: MatrixWorld, tokens: Tokens) -> None:
    people = PEOPLE | await _pick_people(w.engine)
    for name, source_id in people.items():
        w.headers[name] = _bearer(tokens.person(source_id))
    for name, source_id in OTHER_PEOPLE.items():
        w.headers[name] = _bearer(tokens.person(source_id, OTHER))
    for name, source_id in LOW_ACR.items():
        w.headers[name] = _bearer(tokens.person(source_id, acr="low"))
    keys = {
        "key_send": await _key(w.engine, DEMO, ["send"]),
        "key_roster": await _key(w.engine, DEMO, ["roster"]),
        "key_report": await _key(w.engine, DEMO, ["report"]),
        "key_admin": await _key(w.engine, DEMO, ["admin"]),
        "key_scoped": await _key(w.engine, DEMO, ["send", "roster", "report"], ["school-01"]),
        "key_other_municipality": await _key(w.engine, OTHER, ["send", "roster", "report"]),
    }
    for name, key in keys.items():
        w.headers[name] = _bearer(key)
    acting = {"Budstikke-On-Behalf-Of": TEACHER}
    w.headers["key_for_teacher"] = _bearer(keys["key_send"], **acting)
    w.headers["key_report_for_teacher"] = _bearer(keys["key_report"], **acting)
    w.headers["key_scoped_for_teacher"] = _bearer(keys["key_scoped"], **acting)
    w.headers["key_for_guardian"] = _bearer(
        keys["key_send"], **{"Budstikke-On-Behalf-Of": PEOPLE["guardian"]}
    )
    w.headers["key_for_other_municipality_staff"] = _bearer(
        keys["key_send"], **{"Budstikke-On-Behalf-Of": OTHER_PEOPLE["staff_other_municipality"]}
    )
    # A person may not act for anyone but themself: their token with the header.
    w.headers["teacher_naming_leader"] = w.headers["teacher"] | {
        "Budstikke-On-Behalf-Of": PEOPLE["leader"]
    }
    revoked = await _key(w.engine, DEMO, ["send", "roster", "report"])
    async with session_factory(w.engine)() as session, session.begin():
        await revoke_api_key(session, revoked.split("_")[1])
    # A former teacher of the class: real, signed, but no longer active.
    async with session_factory(w.engine)() as session, session.begin():
        await session.execute(
            update(Person).where(Person.source_id == CO_TEACHER).values(active=False)
        )
    forged = tokens.forged(PEOPLE["guardian"])
    w.headers |= {
        "no_token": {},
        "malformed": _bearer("not-a-token"),
        **{name: _bearer(value) for name, value in forged.items()},
        "unknown_person": _bearer(tokens.person("guardian-999999")),
        "deactivated_person": _bearer(tokens.person(CO_TEACHER)),
        # A valid 0999 subject claiming the other municipality: nobody there by that id.
        "other_municipality_claim": _bearer(tokens.person(PEOPLE["guardian"], OTHER)),
        # Two municipalities here: a token must say which one.
        "no_municipality_claim": _bearer(tokens.person(PEOPLE["guardian"], None)),
        "metrics_token": _bearer(METRICS_TOKEN),
        "key_revoked": _bearer(revoked),
        "key_made_up": _bearer("bsk_abcdefgh_" + "A" * 43),
    }
    await _people_facts(w, people | LOW_ACR)


async def _people_facts(w: MatrixWorld, people: Mapping[str, str]) -> None:
    async with session_factory(w.engine)() as session:
        rows = (await session.execute(select(Person, Municipality.code).join(Municipality))).all()
        contacts = (await session.execute(select(ContactPoint))).scalars().all()
        places = (await session.execute(select(Institution.source_id, Institution.id))).all()
        groups = (await session.execute(select(Group.source_id, Group.id))).all()
    by_source = {(code, person.source_id): person for person, code in rows}
    for person, code in rows:
        if code == OTHER:
            w.other_municipality_ids.add(str(person.id))
        else:
            w.ids[person.source_id] = str(person.id)
            w.demo_ids.add(str(person.id))
        if person.protected:
            w.protected_names.add(f"{person.given_name} {person.family_name}")
    w.ids |= {source: str(place) for source, place in places}
    w.ids |= {source: str(group) for source, group in groups}
    # A protected person's real name is theirs to see, and their custodial guardians'.
    async with session_factory(w.engine)() as session:
        custody = (
            await session.execute(
                select(Guardianship.guardian_id, Guardianship.child_id).where(
                    Guardianship.custody.is_(True), Guardianship.active.is_(True)
                )
            )
        ).all()
    names = {person.id: f"{person.given_name} {person.family_name}" for person, _ in rows}
    entitled: dict[uuid.UUID, set[str]] = {pid: {name} for pid, name in names.items()}
    for guardian_id, child_id in custody:
        entitled[guardian_id].add(names[child_id])
    mine: dict[uuid.UUID, set[str]] = {}
    for contact in contacts:
        mine.setdefault(contact.person_id, set()).add(contact.address.lower())
    for caller, source_id in [*people.items(), *OTHER_PEOPLE.items()]:
        code = OTHER if caller in OTHER_PEOPLE else DEMO
        person_id = by_source[(code, source_id)].id
        w.own_emails[caller] = mine.get(person_id, set())
        w.may_see_names[caller] = entitled[person_id]


# -- things ---------------------------------------------------------------------------


def _ok(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert response.status_code in (statuses or (200, 201, 202)), response.text
    found: dict[str, Any] = response.json()
    return found


def _in(days: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).isoformat()


def audience(w: MatrixWorld, *roles: str, groups: tuple[str, ...] = (CLASS, OTHER_CLASS)) -> Any:
    return {
        "targets": [
            {"type": "group", "group": w.id(group), "roles": list(roles)} for group in groups
        ]
    }


async def _things(w: MatrixWorld) -> None:
    """What the matrix reaches for, made through the API by the people who would."""
    post = w.http.post
    teacher = w.headers["teacher"]
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    for name in ("attachment", "attachment_spare"):
        made = _ok(
            await post("/v1/attachments", files={"data": ("skema.png", png)}, headers=teacher)
        )
        w.ids[name] = made["id"]
    # The protected child and guardian (5.A, same school) are in it too: everyone else
    # in the thread who is not staff must see them by alias only.
    with_protected = audience(w, "guardians", "children")
    with_protected["targets"].append(
        {"type": "people", "people": [w.id(PROTECTED_CHILD), w.id(PROTECTED_GUARDIAN)]}
    )
    message = {
        "subject": "Tur i skoven",
        "body": "Husk madpakke og regntøj.",
        "audience": with_protected,
        "attachments": [w.id("attachment")],
    }
    sent = _ok(await post("/v1/messages", json=message, headers=teacher))
    w.ids["thread"], w.ids["message"] = sent["thread_id"], sent["message_id"]
    sensitive = {
        "subject": f"{SENSITIVE} om en elev",
        "body": f"{SENSITIVE}: detaljer.",
        "audience": audience(w, "guardians", "children", groups=(CLASS,)),
        "sensitive": True,
        "attachments": [w.id("attachment_spare")],
    }
    sent = _ok(await post("/v1/messages", json=sensitive, headers=teacher))
    w.ids["sensitive_thread"], w.ids["sensitive_message"] = sent["thread_id"], sent["message_id"]
    recall = _ok(await post("/v1/messages", json=message | {"attachments": []}, headers=teacher))
    w.ids["message_to_recall"] = recall["message_id"]
    announcement = {
        "subject": "Skolefest",
        "body": "Fredag kl. 17.",
        "audience": audience(w, "guardians", "children"),
    }
    made = _ok(await post("/v1/announcements", json=announcement, headers=teacher))
    w.ids["announcement"] = made["thread_id"]
    await _pupils_answer_from(w, 13)
    consent = {
        "title": "Fotos på skolens hjemmeside",
        "question": "Må vi vise billeder af dit barn?",
        "kind": "consent",
        "audience": audience(w, "children"),
        "deadline": _in(7),
    }
    made = _ok(await post("/v1/consents", json=consent, headers=teacher))
    w.ids["consent"] = made["consent_id"]
    # One to acknowledge (sick today), one to withdraw (off in two days: before its day).
    notices = {
        "notice": {"kind": "sick", "from_date": _day(0)},
        "notice_to_withdraw": {"kind": "off", "from_date": _day(2)},
    }
    for name, notice in notices.items():
        made = _ok(
            await post(
                "/v1/notices",
                json=notice | {"child_id": w.id(DAYCARE_CHILD)},
                headers=w.headers["daycare_guardian"],
            )
        )
        w.ids[name] = made["id"]
    for name in ("subscription", "subscription_to_remove"):
        made = _ok(
            await post(
                "/v1/push/subscriptions", json=push_subscription(), headers=w.headers["guardian"]
            )
        )
        w.ids[name] = made["id"]
    for name in ("webhook", "webhook_to_delete"):
        made = _ok(
            await post(
                "/v1/webhooks",
                json={"url": "https://1.1.1.1/hooks/authz", "events": ["message.created"]},
                headers=w.headers["key_report"],
            )
        )
        w.ids[name] = made["id"]
        w.secrets[name] = made["secret"]


def _day(offset: int) -> str:
    """A day counted from today in the institution's time zone."""
    today = dt.datetime.now(ZoneInfo("Europe/Copenhagen")).date()
    return (today + dt.timedelta(days=offset)).isoformat()


def push_subscription() -> dict[str, Any]:
    """What a browser's ``PushSubscription.toJSON()`` gives, with fresh keys."""
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return {
        "endpoint": f"https://push.example.net/wpush/v2/{uuid.uuid4().hex}",
        "expirationTime": None,
        "keys": {"p256dh": _b64(point), "auth": _b64(uuid.uuid4().bytes)},
    }


async def _pupils_answer_from(w: MatrixWorld, age: int) -> None:
    async with session_factory(w.engine)() as session, session.begin():
        municipality = await session.scalar(select(Municipality).where(Municipality.code == DEMO))
        assert municipality is not None
        municipality.settings = dict(municipality.settings or {}) | {
            "consents": {"pupils_from_age": age}
        }
