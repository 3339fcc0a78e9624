"""What the calm week amounted to: interruptions against one per item, and the invariants.

Definitions (all read back from the database and the recorded sends at the end):

- *item*: a message that was accepted (a thread's first message, a reply, an
  announcement, a consent request, a daycare notice). Its *recipients* are the people
  with an inbox entry for its thread from before it was posted, other than its author,
  limited to the sender and the addressee for a private reply, and reachable (an email
  address or a push subscription): each of them would get one notification from a
  one-per-item system. Consent reminders are not items: their sends count against
  Budstikke and not in the baseline.
- *interruption*: one push or one email sent; a digest is one (however many items
  it lists).
- *urgent delayed*: a recipient of an urgent item whom nothing reached within a minute.
- *staff outside working hours* / *guardians in their quiet hours*: a non-urgent send
  to them at a time their hours forbid (the institution's time zone).
- *not in the inbox at once*: a recipient without an unread inbox entry for the item
  at the instant it was accepted.
"""

from __future__ import annotations

import datetime as dt
import statistics
import uuid
from collections import Counter, defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from calm_sim import Pipeline
from sqlalchemy import select

from gateway.delivery.models import Delivery
from gateway.messaging.models import Message, Participant, Thread
from gateway.preferences import rules
from gateway.preferences.models import Schedule

PROMPT = dt.timedelta(minutes=1)


def spread(values: list[int]) -> dict[str, float]:
    """mean, p50, p90, max of a list of counts."""
    if not values:
        return {"mean": 0.0, "p50": 0.0, "p90": 0.0, "max": 0.0}
    ordered = sorted(values)
    cut = (
        statistics.quantiles(ordered, n=10, method="inclusive") if len(ordered) > 1 else ordered * 9
    )
    return {
        "mean": statistics.fmean(ordered),
        "p50": float(statistics.median(ordered)),
        "p90": float(cut[8]),
        "max": float(ordered[-1]),
    }


async def _recipients(p: Pipeline) -> dict[uuid.UUID, set[uuid.UUID]]:
    """Each message's recipients (reachable or not), as defined above."""
    async with p.sessions() as session:
        messages = (
            await session.execute(
                select(
                    Message.id,
                    Message.thread_id,
                    Message.author_id,
                    Message.created_at,
                    Message.private_to,
                    Thread.created_by,
                ).join(Thread, Thread.id == Message.thread_id)
            )
        ).all()
        entries = (
            await session.execute(
                select(Participant.thread_id, Participant.person_id, Participant.joined_at)
            )
        ).all()
    by_thread: dict[uuid.UUID, list[tuple[uuid.UUID, dt.datetime]]] = defaultdict(list)
    for thread_id, person, joined in entries:
        by_thread[thread_id].append((person, joined))
    found: dict[uuid.UUID, set[uuid.UUID]] = {}
    for mid, thread_id, author, created, private_to, creator in messages:
        allowed = None if private_to is None else {creator, private_to}
        found[mid] = {
            person
            for person, joined in by_thread[thread_id]
            if person != author and joined <= created and (allowed is None or person in allowed)
        }
    return found


async def _quiet_hours(p: Pipeline) -> dict[uuid.UUID, tuple[int, int]]:
    async with p.sessions() as session:
        rows = await session.execute(
            select(Schedule.person_id, Schedule.quiet_start, Schedule.quiet_end)
        )
        return {r[0]: (r[1], r[2]) for r in rows if r[1] is not None and r[2] is not None}


async def measure(
    p: Pipeline, profiles: dict[uuid.UUID, str], readers: dict[uuid.UUID, str]
) -> dict[str, Any]:
    roster, settings = p.roster, p.settings
    recipients = await _recipients(p)
    quiet = await _quiet_hours(p)
    async with p.sessions() as session:
        rows = (
            await session.execute(
                select(
                    Delivery.id,
                    Delivery.person_id,
                    Delivery.message_id,
                    Delivery.kind,
                    Delivery.urgent,
                    Delivery.state,
                )
            )
        ).all()
    delivery = {r[0]: r for r in rows}
    items = {item.message_id: item for item in p.items}
    baseline: Counter[uuid.UUID] = Counter()
    not_in_inbox = 0
    for mid, item in items.items():
        people = recipients.get(mid, set())
        not_in_inbox += len(people - item.in_inbox)
        baseline.update(person for person in people if person in roster.reachable)
    # A delivery planned for someone who did not have the item in the inbox at once.
    planned_early = sum(1 for r in rows if r[2] in items and r[1] not in items[r[2]].in_inbox)
    interruptions: Counter[uuid.UUID] = Counter()
    kinds: Counter[str] = Counter()
    staff_outside: Counter[str] = Counter()  # by delivery kind
    guardians_quiet: Counter[str] = Counter()
    examples: list[str] = []
    first_urgent: dict[tuple[uuid.UUID, uuid.UUID], dt.datetime] = {}
    for sent in p.sent:
        _, person, mid, kind, urgent, _ = delivery[sent.delivery_id]
        interruptions[person] += 1
        kinds[f"{sent.channel}/{kind}"] += 1
        if urgent:
            first_urgent.setdefault((mid, person), sent.at)
            continue
        if roster.kinds[person] == "staff":
            wrong = (
                rules.within_working_hours(sent.at, roster.zone, settings.working_hours) != sent.at
            )
            staff_outside[kind] += wrong
        else:
            hours = quiet.get(person, settings.quiet_hours)
            wrong = rules.after_quiet_hours(sent.at, roster.zone, hours) != sent.at
            guardians_quiet[kind] += wrong
        if wrong and len(examples) < 10:
            local = sent.at.astimezone(ZoneInfo(roster.zone))
            who = f"{roster.kinds[person]} {roster.source_ids[person]}"
            chose = f"{profiles.get(person, '-')}, quiet {hours_of(quiet.get(person))}"
            examples.append(f"{who} ({chose}): {sent.channel}/{kind} at {local:%a %H:%M}")
    urgent_delayed = 0
    urgent_pairs = 0
    for item in p.items:
        if not item.urgent:
            continue
        for person in recipients.get(item.message_id, set()) & roster.reachable:
            urgent_pairs += 1
            reached = first_urgent.get((item.message_id, person))
            urgent_delayed += reached is None or reached - item.at > PROMPT
    guardians = [g for g in roster.guardians if baseline[g]]
    per_guardian = [interruptions[g] for g in guardians]
    per_guardian_baseline = [baseline[g] for g in guardians]
    total, base = sum(interruptions.values()), sum(baseline.values())
    return {
        "items": len(items),
        "baseline_total": base,
        "interruptions_total": total,
        "reduction": 1 - total / base if base else 0.0,
        "guardians": len(guardians),
        "guardian_interruptions": spread(per_guardian),
        "guardian_baseline": spread(per_guardian_baseline),
        "guardian_reduction": spread_ratio(per_guardian, per_guardian_baseline),
        "guardian_interruptions_total": sum(per_guardian),
        "guardian_baseline_total": sum(per_guardian_baseline),
        "urgent_recipient_items": urgent_pairs,
        "urgent_delayed": urgent_delayed,
        "staff_outside_working_hours": sum(staff_outside.values()),
        "staff_outside_working_hours_by_kind": {k: n for k, n in staff_outside.items() if n},
        "guardians_in_quiet_hours": sum(guardians_quiet.values()),
        "guardians_in_quiet_hours_by_kind": {k: n for k, n in guardians_quiet.items() if n},
        "not_in_inbox_at_once": not_in_inbox,
        "hours_broken_examples": examples,
        "deliveries_planned_for_someone_without_it_in_inbox": planned_early,
        "sends_by_channel_kind": dict(sorted(kinds.items())),
        "deliveries_by_state": dict(sorted(Counter(r[5] for r in rows).items())),
        "by_profile": _by(profiles, guardians, interruptions, baseline),
        "by_reader": _by(readers, guardians, interruptions, baseline),
    }


def hours_of(quiet: tuple[int, int] | None) -> str:
    if quiet is None:
        return "default"
    return f"{quiet[0] // 60:02}:{quiet[0] % 60:02}-{quiet[1] // 60:02}:{quiet[1] % 60:02}"


def spread_ratio(values: list[int], baselines: list[int]) -> dict[str, float]:
    """Per-guardian reduction (1 − interruptions / items), as mean/p50/p90/max."""
    ratios = sorted(1 - v / b for v, b in zip(values, baselines, strict=True) if b)
    if not ratios:
        return {"mean": 0.0, "p50": 0.0, "p90": 0.0, "max": 0.0}
    cut = statistics.quantiles(ratios, n=10, method="inclusive") if len(ratios) > 1 else ratios * 9
    return {
        "mean": statistics.fmean(ratios),
        "p50": statistics.median(ratios),
        "p90": cut[8],
        "max": ratios[-1],
    }


def _by(
    label: dict[uuid.UUID, str],
    guardians: list[uuid.UUID],
    interruptions: Counter[uuid.UUID],
    baseline: Counter[uuid.UUID],
) -> dict[str, dict[str, float]]:
    groups: dict[str, list[uuid.UUID]] = defaultdict(list)
    for g in guardians:
        groups[label.get(g, "?")].append(g)
    found = {}
    for name, people in sorted(groups.items()):
        sent = sum(interruptions[g] for g in people)
        items = sum(baseline[g] for g in people)
        found[name] = {
            "guardians": len(people),
            "interruptions_per_guardian": sent / len(people),
            "items_per_guardian": items / len(people),
            "reduction": 1 - sent / items if items else 0.0,
        }
    return found
