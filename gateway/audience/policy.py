"""Who may start a thread with whom: the send policy, applied to resolved recipients.

- Staff may start threads with anyone in their institutions: people affiliated with one
  or in one of its groups, and the guardians of its children. Groups, institutions,
  ``guardians_of`` children and ``regarding`` children an audience names must be theirs.
- Guardians and pupils address people only (``people`` targets), and may mark a thread
  as regarding only their own children (or themself); everything else is for staff.
- Guardians may write to staff of their children's institutions, to their own children
  and to their children's other guardians; to other families' guardians only where
  ``guardians_may_write_guardians`` is on, and then only to the custodial guardians of
  their children's group mates; never to other families' pupils.
- Pupils may write to staff of their institutions and to their own guardians; to the
  pupils of their own groups only where ``pupils_may_write_pupils`` is on; never to
  other families' guardians.
- Only staff start threads with a protected person of another family.
- A :class:`~gateway.audience.models.PersonBlock` between the sender and a recipient, in
  either direction, refuses the send.
- More recipients than ``recipient_limit`` (the sender not counted) refuses, unless
  the sender holds one of the ``broadcast_roles`` at one of their institutions.

Settings come from :mod:`gateway.audience.settings`, per institution the sender belongs
to (a guardian through their children); where these differ, each permission applies
within its own institution's groups, and the lowest limit counts.

A refusal never says who could not be reached, or why: a name could expose a protected
person, and "blocked" would expose a block. It is always :data:`UNREACHABLE`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.audience.family_reach import check_family_reach
from gateway.audience.institution_scope import check_inside
from gateway.audience.links import Links
from gateway.audience.models import PersonBlock
from gateway.audience.refusals import (
    NO_SENDER,
    OUTSIDE,
    OWN_CHILDREN_ONLY,
    PEOPLE_ONLY,
    UNREACHABLE,
)
from gateway.audience.schemas import Audience, People, Recipient
from gateway.audience.senders import AFFILIATION_STAFF_ROLES, ALL_ROLES, Sender, load_sender
from gateway.errors import Forbidden, LimitExceeded
from gateway.roster.models import PersonKind

# The refusals and roles live in their own modules; they stay importable from here.
__all__ = (
    "AFFILIATION_STAFF_ROLES",
    "ALL_ROLES",
    "DEFAULT_TIME_ZONE",
    "NO_SENDER",
    "OUTSIDE",
    "OWN_CHILDREN_ONLY",
    "PEOPLE_ONLY",
    "UNREACHABLE",
    "check_reach",
    "check_scope",
    "check_send",
    "check_send_ids",
)

# The day rosters are read on when the caller does not say.
DEFAULT_TIME_ZONE = "Europe/Copenhagen"


async def check_send(
    session: AsyncSession,
    *,
    sender_id: uuid.UUID,
    municipality_id: uuid.UUID,
    audience: Audience,
    recipients: list[Recipient],
    today: dt.date | None = None,
) -> None:
    """Allow ``sender_id`` to start a thread with ``recipients``, or raise.

    ``recipients`` are what :func:`~gateway.audience.resolver.resolve` made of
    ``audience``; pass the same ``today`` (default: the date in Copenhagen now).
    Raises Forbidden (never naming anyone) or LimitExceeded(limit="recipient_limit").
    """
    await check_send_ids(
        session,
        sender_id=sender_id,
        municipality_id=municipality_id,
        audience=audience,
        recipient_ids=[r.person_id for r in recipients],
        today=today,
    )


async def check_send_ids(
    session: AsyncSession,
    *,
    sender_id: uuid.UUID,
    municipality_id: uuid.UUID,
    audience: Audience,
    recipient_ids: Collection[uuid.UUID],
    today: dt.date | None = None,
) -> None:
    """:func:`check_send` for recipients known by id alone (a broadcast the database wrote)."""
    links = Links(municipality_id, today or _today())
    sender = await load_sender(session, links, sender_id)
    _check_shape(sender, audience)
    others = set(recipient_ids) - {sender_id}
    if len(others) > sender.limit and not sender.may_broadcast:
        raise LimitExceeded(
            f"the audience reaches {len(others)} people; at most {sender.limit} "
            "can be addressed at once",
            limit="recipient_limit",
        )
    await _check_people(session, links, sender, audience, others)


async def check_reach(
    session: AsyncSession,
    *,
    sender_id: uuid.UUID,
    municipality_id: uuid.UUID,
    audience: Audience,
    recipients: list[Recipient],
    today: dt.date | None = None,
) -> None:
    """:func:`check_send` without the recipient limit: may the sender address these at all."""
    links = Links(municipality_id, today or _today())
    sender = await load_sender(session, links, sender_id)
    _check_shape(sender, audience)
    others = {r.person_id for r in recipients} - {sender_id}
    await _check_people(session, links, sender, audience, others)


async def check_scope(
    session: AsyncSession,
    *,
    municipality_id: uuid.UUID,
    institution_ids: Collection[uuid.UUID],
    audience: Audience,
    recipients: list[Recipient],
    today: dt.date | None = None,
) -> None:
    """Forbidden unless the audience stays inside these institutions (a scoped system key)."""
    links = Links(municipality_id, today or _today())
    ids = [recipient.person_id for recipient in recipients]
    await check_inside(session, links, set(institution_ids), audience, ids)


def _today() -> dt.date:
    return dt.datetime.now(ZoneInfo(DEFAULT_TIME_ZONE)).date()


def _check_shape(sender: Sender, audience: Audience) -> None:
    if sender.kind == PersonKind.STAFF:
        return
    if not all(isinstance(target, People) for target in audience.targets):
        raise Forbidden(PEOPLE_ONLY)


async def _check_people(
    session: AsyncSession,
    links: Links,
    sender: Sender,
    audience: Audience,
    others: set[uuid.UUID],
) -> None:
    """Every recipient within the sender's reach, and no block between them.

    ``others``: the recipients but the sender (often in their own audience, as the
    teacher of the class is; that is no reach).
    """
    if sender.kind == PersonKind.STAFF:
        await check_inside(session, links, set(sender.rules), audience, others)
    else:
        await check_family_reach(session, links, sender, audience, others)
    blocks = await session.execute(
        select(PersonBlock.person_id, PersonBlock.blocked_id).where(
            PersonBlock.municipality_id == links.municipality_id,
            or_(PersonBlock.person_id == sender.id, PersonBlock.blocked_id == sender.id),
        )
    )
    counterparts = {person for pair in blocks for person in pair} - {sender.id}
    if counterparts.intersection(others):
        raise Forbidden(UNREACHABLE)
