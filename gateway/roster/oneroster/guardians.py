"""Guardianships from ``agentSourcedIds``, written on the child's row, the guardian's, or both.

A pair counts once, whichever side names it. Custody is decided on the guardian's row:
``metadata.dk.custody`` if given, else by role (parent and guardian have custody, a
relative has not). That is why, in a delta file, a link named only by a child whose
guardian is not in the file is refused rather than guessed: a wrong guess would either
take custody away from a parent or give it to someone without it.
"""

from __future__ import annotations

from gateway.roster.models import PersonKind
from gateway.roster.oneroster.people import AgentLink, GuardianRow, PeopleFile
from gateway.roster.oneroster.roles import CUSTODY_BY_DEFAULT, describe
from gateway.roster.oneroster.table import Rejections
from gateway.roster.records import GuardianshipRecord


def guardianships(people: PeopleFile, rejections: Rejections) -> list[GuardianshipRecord]:
    found: dict[tuple[str, str], GuardianshipRecord] = {}
    handled: set[tuple[str, str]] = set()
    for link in people.links:
        first, second = sorted((link.user, link.agent))
        if (first, second) in handled:
            continue
        handled.add((first, second))
        pair, reason = _pair(link, people)
        if pair is None:
            rejections.add(link.origin, reason)
            continue
        child, guardian = pair
        active = child not in people.deleted and guardian not in people.deleted
        row = people.guardians.get(guardian)
        if row is None:
            # The guardian's row is a deletion without a role: the link only goes away.
            found[pair] = GuardianshipRecord(
                origin=link.origin,
                child=child,
                guardian=guardian,
                custody=False,
                relation="guardian",
                active=False,
            )
            continue
        found[pair] = GuardianshipRecord(
            origin=row.origin,
            child=child,
            guardian=guardian,
            custody=_custody(row, child),
            relation=row.relation or row.role,
            active=active,
        )
    _check_custody_lists(people, found, rejections)
    return list(found.values())


def _pair(link: AgentLink, people: PeopleFile) -> tuple[tuple[str, str] | None, str]:
    """``(child, guardian)`` for a usable link, else ``None`` and the reason."""
    known = people.known
    user_kind = known.get(link.user)
    agent_kind = known.get(link.agent)
    if link.agent == link.user:
        return None, f"user {link.user!r} is listed as their own agent"
    if agent_kind is None:
        reason = known.problem("agent", link.agent)
        if reason is not None:
            return None, reason
        # Delta: the agent is not in this file; the sync checks it against what is stored.
        if user_kind is PersonKind.GUARDIAN:
            return (link.agent, link.user), ""
        if user_kind is PersonKind.CHILD:
            return None, (
                f"link to guardian {link.agent!r} skipped: the guardian is not in this delta "
                "users.csv, and custody is decided on the guardian's row (send that row too)"
            )
        return None, f"staff {link.user!r} cannot have agents (only child–guardian links)"
    kinds = (user_kind, agent_kind)
    if kinds == (PersonKind.CHILD, PersonKind.GUARDIAN):
        return (link.user, link.agent), ""
    if kinds == (PersonKind.GUARDIAN, PersonKind.CHILD):
        return (link.agent, link.user), ""
    if kinds == (PersonKind.CHILD, PersonKind.CHILD):
        return None, f"agent link between two children ({link.user!r}, {link.agent!r})"
    if kinds == (PersonKind.GUARDIAN, PersonKind.GUARDIAN):
        return None, f"agent link between two guardians ({link.user!r}, {link.agent!r})"
    assert user_kind is not None
    return None, (
        f"agent link between {link.user!r} ({describe(user_kind)}) and {link.agent!r} "
        f"({describe(agent_kind)}): only child–guardian links are imported"
    )


def _custody(row: GuardianRow, child: str) -> bool:
    if row.custody is None:
        return row.role in CUSTODY_BY_DEFAULT
    if isinstance(row.custody, bool):
        return row.custody
    return child in row.custody


def _check_custody_lists(
    people: PeopleFile,
    found: dict[tuple[str, str], GuardianshipRecord],
    rejections: Rejections,
) -> None:
    """A custody list naming someone who is not the guardian's child is most likely a typo."""
    listing = [g for g, row in people.guardians.items() if isinstance(row.custody, frozenset)]
    if not listing:
        return
    children: dict[str, set[str]] = {}
    for child, guardian in found:
        children.setdefault(guardian, set()).add(child)
    for guardian in listing:
        row = people.guardians[guardian]
        if isinstance(row.custody, frozenset):
            for stray in sorted(row.custody - children.get(guardian, set())):
                rejections.add(
                    row.origin,
                    f"metadata.dk.custody names {stray!r}, who is not linked to this guardian "
                    "(ignored)",
                )
