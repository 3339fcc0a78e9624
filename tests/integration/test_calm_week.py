"""Calm delivery over a simulated school day: the invariants hold and it is calmer.

Runs ``bench/calm_week.py``'s simulation small (50 children, one Monday, SQLite,
the ``calm`` institution defaults): the real services accept the items, ``fan_out``,
the dispatcher, digests, consent reminders and ``deliver`` run at simulated times, and
guardians read by the benchmark's reading model. These are behaviour invariants, not
speed: urgent items go at once, every item is in every inbox at the moment it is
accepted, no guardian is notified in their quiet hours and no member of staff outside
working hours, and there are fewer interruptions than items.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.append(str(BENCH))  # after the standard library: bench/ has an email.py

import calm_week  # noqa: E402
from calm_week import run_week, with_database, world  # noqa: E402

from gateway.audience.schemas import Audience, People  # noqa: E402
from gateway.delivery.models import Delivery  # noqa: E402
from gateway.messaging import threads  # noqa: E402
from gateway.messaging.events import Events  # noqa: E402
from gateway.messaging.schemas import MessageCreate  # noqa: E402
from gateway.preferences import rules  # noqa: E402
from gateway.roster.demo import write_demo_data  # noqa: E402

pytestmark = pytest.mark.slow

MONDAY = dt.date(2026, 12, 7)  # a fixed week: the result must not depend on today
ZONE = ZoneInfo(calm_week.ZONE)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("calm")
    write_demo_data(work / "demo", children=50, seed=1)
    return work


@pytest.fixture(scope="module")
def week(demo: Path) -> Iterator[dict[str, Any]]:
    yield run_week(demo, profile="calm", days=1, monday=MONDAY)


def test_urgent_items_go_at_once(week: dict[str, Any]) -> None:
    assert week["counts"].get("items: urgent", 0) >= 1
    assert week["urgent_recipient_items"] > 0
    assert week["urgent_delayed"] == 0


def test_every_item_is_in_every_inbox_when_accepted(week: dict[str, Any]) -> None:
    assert week["items"] > 30
    assert week["not_in_inbox_at_once"] == 0
    assert week["deliveries_planned_for_someone_without_it_in_inbox"] == 0


def test_nobody_is_notified_in_their_quiet_or_outside_their_working_hours(
    week: dict[str, Any],
) -> None:
    assert week["guardians_in_quiet_hours"] == 0, week["hours_broken_examples"]
    assert week["staff_outside_working_hours"] == 0, week["hours_broken_examples"]


def test_fewer_interruptions_than_items(week: dict[str, Any]) -> None:
    assert week["baseline_total"] > 100
    assert 0 < week["interruptions_total"] < week["baseline_total"]
    assert week["refusals"] == {}, week["refusal_examples"]


def test_a_staff_digest_waits_for_working_hours(demo: Path) -> None:
    """A guardian writes to a teacher at 16:00 on Monday; the teacher's digest waits for work.

    The simulation found it: planning put staff digests at the digest time (17:00, after
    working hours, and at weekends) until commit c3c6520.
    """

    async def body(env: dict[str, str]) -> tuple[dt.datetime, dt.datetime, Any]:
        async with world(env, demo / "demo", profile="calm", monday=MONDAY, seed=7) as w:
            p = w.pipeline
            roster = p.roster
            group = next(
                g for g in roster.order(roster.group_staff) if roster.groups[g][1] == "class"
            )
            teacher = roster.group_staff[group]
            child = roster.group_children[group][0]
            guardian = roster.custodians[child][0]
            p.clock.now = dt.datetime.combine(MONDAY, dt.time(16), ZONE).astimezone(dt.UTC)
            data = MessageCreate(
                subject="Spørgsmål",
                body="Hej",
                audience=Audience(targets=[People(people=[teacher])], regarding=[child]),
            )
            async with p.sessions() as session:
                done = await threads.send(
                    session, p.actor(guardian), data, settings=p.settings, events=Events(None)
                )
            await p.accepted("1:1 thread", done.thread_id, done.message_id)
            async with p.sessions() as session:
                row = (
                    await session.scalars(
                        select(Delivery).where(
                            Delivery.message_id == done.message_id,
                            Delivery.person_id == teacher,
                            Delivery.channel == "email",
                        )
                    )
                ).one()
            return row.kind, row.not_before, p.settings.working_hours

    kind, not_before, working = with_database(demo, "sqlite", "staff-digest", body)
    assert kind == "digest"  # the calm defaults: email gathers into the digest
    # Not 17:00 (the digest time, after work): the next working morning, 07:30.
    assert rules.within_working_hours(not_before, calm_week.ZONE, working) == not_before
    assert not_before.astimezone(ZONE).strftime("%a %H:%M") == "Tue 07:30"
