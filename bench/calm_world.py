"""The calm-week simulation's world: roster, people's settings, the clock, the job runner.

Everything here is set-up or plumbing around the real pipeline:

- :class:`SimClock` and :func:`clock_seam`: the gateway's services read the wall clock
  (``gateway.orm.utcnow``) instead of taking ``now`` (``threads.send``, ``replies.reply``,
  ``announcements.create``, ``consents.service.create``, ``notices.service.create``,
  ``reading.mark_read``, ``consents.answers.answer``, ``deliver.deliver``, the digest's
  outcome recording, ...). The seam rebinds that one name, in every loaded ``gateway``
  and ``workers`` module, to the simulated clock; the list of rebound modules goes into
  the result. Nothing else about those functions changes.
- :class:`JobQueue`: the arq queue without Redis; it keeps the ``deliver`` jobs the
  pipeline enqueues so the simulation runs them, in order, at the simulated instant.
- :class:`Recorder`: a channel that records what would be sent and when (simulated),
  and answers ``Delivered``; the renderer still renders every envelope.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import sys
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import msgspec
from sqlalchemy import select

from channels.base import Delivered, Envelope, Outcome
from gateway import orm
from gateway.auth.principals import PersonPrincipal
from gateway.db import bulk_insert
from gateway.delivery.models import PushSubscription
from gateway.delivery.queue import Queue
from gateway.orm import new_id
from gateway.preferences import rules
from gateway.preferences.schemas import PreferencesPut
from gateway.preferences.service import update_preferences
from gateway.roster.models import (
    ContactPoint,
    Group,
    Guardianship,
    Institution,
    Membership,
    Person,
    PersonKind,
)

# Institution defaults a municipality might set (the stored form of ``PUT
# /v1/institutions/{id}/notification-defaults``); ``builtin`` sets none (all instant).
# ``calm``: email gathers into the daily digest, announcements do not push, messages,
# consents and reminders push at once. ``digest``: one daily digest mail for all that
# is not urgent, no push. Urgent is always instant on both channels.
INSTITUTION_DEFAULTS: dict[str, dict[str, dict[str, str]]] = {
    "builtin": {},
    "calm": {
        "message": {"webpush": "instant", "email": "digest"},
        "announcement": {"webpush": "off", "email": "digest"},
        "consent": {"webpush": "instant", "email": "digest"},
        "reminder": {"webpush": "instant", "email": "digest"},
    },
    "digest": {
        category: {"webpush": "off", "email": "digest"}
        for category in ("message", "announcement", "consent", "reminder")
    },
}


class SimClock:
    """The simulated time; ``clock()`` is what the gateway gets for ``utcnow()``."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now


@contextlib.contextmanager
def clock_seam(clock: SimClock) -> Iterator[list[str]]:
    """Rebind ``utcnow`` in the loaded gateway/workers modules to ``clock``; their names."""
    original = orm.utcnow
    patched: list[str] = []
    for name, module in list(sys.modules.items()):
        if (
            name.split(".")[0] in ("gateway", "workers")
            and getattr(module, "utcnow", None) is original
        ):
            module.utcnow = clock  # type: ignore[attr-defined]
            patched.append(name)
    try:
        yield sorted(patched)
    finally:
        for name in patched:
            sys.modules[name].utcnow = original  # type: ignore[attr-defined]


class JobQueue(Queue):
    """The queue the pipeline enqueues to; ``deliver`` jobs are kept for the simulation."""

    def __init__(self) -> None:
        super().__init__(None, "calm-week")
        self.jobs: list[tuple[str, tuple[uuid.UUID, ...], str]] = []

    async def deliver(self, channel: str, ids: Sequence[uuid.UUID], job_id: str) -> None:
        self.jobs.append((channel, tuple(ids), job_id))


@dataclass(frozen=True, slots=True)
class Sent:
    at: dt.datetime
    channel: str
    delivery_id: uuid.UUID


class Recorder:
    """A channel that records each envelope at the simulated time and reports it delivered."""

    name: ClassVar[str] = "recorder"

    def __init__(self, channel: str, clock: SimClock, log: list[Sent]) -> None:
        self.name = channel  # type: ignore[misc]
        self._clock = clock
        self._log = log

    def configured(self) -> str | None:
        return None

    async def send(self, batch: Sequence[Envelope]) -> Sequence[Outcome]:
        for envelope in batch:
            self._log.append(Sent(self._clock.now, self.name, envelope.delivery_id))
        return [Delivered(envelope.delivery_id) for envelope in batch]

    async def close(self) -> None:
        return None


@dataclass
class Roster:
    """Who is who in the imported demo municipality (ids only)."""

    municipality_id: uuid.UUID
    code: str
    zone: str
    kinds: dict[uuid.UUID, str] = field(default_factory=dict)
    source_ids: dict[uuid.UUID, str] = field(default_factory=dict)  # for a stable order
    institutions: dict[uuid.UUID, str] = field(default_factory=dict)  # id -> kind
    leaders: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)  # institution -> leader
    groups: dict[uuid.UUID, tuple[uuid.UUID, str]] = field(default_factory=dict)  # -> (inst, kind)
    group_staff: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)  # group -> primary staff
    group_children: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)
    custodians: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)  # child -> guardians
    reachable: set[uuid.UUID] = field(default_factory=set)  # email or push

    def order(self, ids: Any) -> list[uuid.UUID]:
        """``ids`` in roster order: by source id, since ids are random per import."""
        return sorted(ids, key=self.source_ids.__getitem__)

    def of_kind(self, kind: PersonKind) -> list[uuid.UUID]:
        """People of a kind in roster order (ids are random per import; source ids are not)."""
        found = [p for p, k in self.kinds.items() if k == kind.value]
        return sorted(found, key=self.source_ids.__getitem__)

    @property
    def guardians(self) -> list[uuid.UUID]:
        return self.of_kind(PersonKind.GUARDIAN)

    @property
    def staff(self) -> list[uuid.UUID]:
        return self.of_kind(PersonKind.STAFF)


async def load_roster(session: Any, zone: str) -> Roster:
    """Read the imported roster once (a few queries)."""
    person = (await session.scalars(select(Person).limit(1))).one()
    from gateway.roster.models import Municipality  # noqa: PLC0415

    municipality = await session.get(Municipality, person.municipality_id)
    roster = Roster(person.municipality_id, municipality.code, zone)
    people = select(Person.id, Person.kind, Person.source_id).where(Person.active)
    for pid, kind, source_id in await session.execute(people):
        roster.kinds[pid] = kind
        roster.source_ids[pid] = source_id
    for iid, kind, source_id in await session.execute(
        select(Institution.id, Institution.kind, Institution.source_id)
    ):
        roster.institutions[iid] = kind
        roster.source_ids[iid] = source_id
    for gid, iid, kind, source_id in await session.execute(
        select(Group.id, Group.institution_id, Group.kind, Group.source_id).where(Group.active)
    ):
        roster.source_ids[gid] = source_id
        if kind in ("class", "room"):
            roster.groups[gid] = (iid, kind)
    members = await session.execute(
        select(Membership.group_id, Membership.person_id, Membership.role, Membership.is_primary)
        .where(Membership.active)
        .order_by(Membership.is_primary.desc(), Membership.source_id)
    )
    for gid, pid, role, _primary in members:
        if gid not in roster.groups:
            continue
        if role == "child":
            roster.group_children.setdefault(gid, []).append(pid)
        elif role in ("teacher", "pedagogue"):
            roster.group_staff.setdefault(gid, pid)
    from gateway.roster.models import Affiliation  # noqa: PLC0415

    for pid, iid, role in await session.execute(
        select(Affiliation.person_id, Affiliation.institution_id, Affiliation.role).where(
            Affiliation.active
        )
    ):
        if role == "principal":
            roster.leaders.setdefault(iid, pid)
    for child, guardian in await session.execute(
        select(Guardianship.child_id, Guardianship.guardian_id).where(
            Guardianship.active, Guardianship.custody
        )
    ):
        roster.custodians.setdefault(child, []).append(guardian)
    for listing in (*roster.custodians.values(), *roster.group_children.values()):
        listing[:] = roster.order(listing)
    emails = await session.scalars(select(ContactPoint.person_id).where(ContactPoint.active))
    roster.reachable.update(emails)
    return roster


@dataclass(frozen=True, slots=True)
class Profile:
    """One person's notification choices (``None``: the default)."""

    name: str
    categories: dict[str, dict[str, str]] | None = None
    quiet: tuple[str, str] | None = None
    digest_time: str | None = None


# The share of guardians with each profile; the rest keep every default.
GUARDIAN_PROFILES: tuple[tuple[float, Profile], ...] = (
    (
        0.10,
        Profile(
            "all email as digest",
            {c: {"email": "digest"} for c in ("message", "announcement", "consent")},
        ),
    ),
    (
        0.08,
        Profile(
            "push only",
            {c: {"email": "off"} for c in ("message", "announcement", "consent", "reminder")},
        ),
    ),
    (0.05, Profile("announcements off", {"announcement": {"webpush": "off", "email": "off"}})),
    (
        0.07,
        Profile(
            "everything instant",
            {
                c: {"webpush": "instant", "email": "instant"}
                for c in ("message", "announcement", "consent", "reminder")
            },
        ),
    ),
    (0.08, Profile("late quiet hours", quiet=("22:00", "06:30"))),
    (0.04, Profile("early quiet hours", quiet=("19:00", "08:00"))),
    (0.05, Profile("evening digest", {"message": {"email": "digest"}}, digest_time="19:30")),
)


def pick_profile(rng: random.Random) -> Profile:
    draw = rng.random()
    for share, profile in GUARDIAN_PROFILES:
        if draw < share:
            return profile
        draw -= share
    return Profile("defaults")


def _put(profile: Profile) -> PreferencesPut:
    """The profile as the body of ``PUT /v1/me/preferences``, decoded as the API decodes it."""
    body: dict[str, Any] = {}
    if profile.categories:
        body["categories"] = {
            category: {("push" if ch == "webpush" else ch): mode for ch, mode in modes.items()}
            for category, modes in profile.categories.items()
        }
    if profile.quiet:
        body["quiet_hours"] = {"start": profile.quiet[0], "end": profile.quiet[1]}
    if profile.digest_time:
        body["digest_time"] = profile.digest_time
    return msgspec.convert(body, PreferencesPut)


async def apply_profiles(
    sessions: Any, settings: Any, roster: Roster, rng: random.Random
) -> dict[uuid.UUID, str]:
    """Give each guardian a profile through the preferences service; who got which."""
    chosen: dict[uuid.UUID, str] = {}
    for guardian in roster.guardians:
        profile = pick_profile(rng)
        chosen[guardian] = profile.name
        if profile.name == "defaults":
            continue
        principal = PersonPrincipal(
            person_id=guardian,
            municipality_id=roster.municipality_id,
            municipality_code=roster.code,
            kind=PersonKind.GUARDIAN.value,
            subject=str(guardian),
            acr="substantial",
        )
        async with sessions() as session:
            await update_preferences(session, principal, _put(profile), settings)
    return chosen


async def set_institution_defaults(sessions: Any, roster: Roster, profile: str) -> None:
    """A profile's defaults in every institution (as ``replace_defaults`` stores them)."""
    chosen = INSTITUTION_DEFAULTS[profile]
    if not chosen:
        return
    async with sessions() as session, session.begin():
        for iid in roster.institutions:
            institution = await session.get(Institution, iid)
            institution.settings = {
                **(institution.settings or {}),
                rules.DEFAULTS_KEY: chosen,
            }


async def subscribe(
    sessions: Any, roster: Roster, rng: random.Random, guardian_share: float, staff_share: float
) -> set[uuid.UUID]:
    """One browser push subscription for a share of guardians and of staff; who has one."""
    chosen = {g for g in roster.guardians if rng.random() < guardian_share}
    chosen |= {s for s in roster.staff if rng.random() < staff_share}
    async with sessions() as session, session.begin():
        await bulk_insert(
            session,
            PushSubscription.__table__,  # type: ignore[arg-type]
            [
                {
                    "id": new_id(),
                    "municipality_id": roster.municipality_id,
                    "person_id": person,
                    "endpoint": f"https://push.example.net/calm/{person}",
                    "p256dh": "B" + "A" * 86,
                    "auth": "A" * 22,
                    "created_at": orm.utcnow(),
                }
                for person in sorted(chosen)
            ],
        )
    roster.reachable |= chosen
    return chosen


def demo_folder(work: Path) -> Path:
    return work / "demo"
