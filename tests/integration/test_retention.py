"""Retention on both engines: the purge deletes exactly what is past, a hold keeps it all.

Threads are written straight into the tables with the timestamps each case needs (a day
inside and a day past each category's days), each with a message, two inbox entries, a
delivery, an outbox row and an attachment with its file; consents add their request,
version, child, answer and reminder run, daycare notices their notice.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.audit.models import AuditEvent
from gateway.auth.apikeys import create_api_key
from gateway.consents.models import (
    ConsentAnswer,
    ConsentChild,
    ConsentReminderRun,
    ConsentRequest,
    ConsentVersion,
)
from gateway.db import session_factory
from gateway.delivery.models import Delivery
from gateway.errors import InvalidInput
from gateway.messaging import attachments
from gateway.messaging.models import Attachment, Message, OutboxItem, Participant, Thread
from gateway.notices.models import DaycareNotice
from gateway.orm import new_id
from gateway.retention.cli import retention
from gateway.retention.policy import DEFAULT_DAYS, RetentionCategory
from gateway.retention.service import purge
from gateway.roster.models import Institution, Municipality, Person
from tests.integration import messaging_world
from tests.integration.messaging_world import World
from workers.retention import purge_retention

NOW = dt.datetime(2027, 6, 1, 12, 0, tzinfo=dt.UTC)
TABLES: tuple[Any, ...] = (
    Thread,
    Message,
    Participant,
    Attachment,
    Delivery,
    OutboxItem,
    ConsentRequest,
    ConsentVersion,
    ConsentChild,
    ConsentAnswer,
    ConsentReminderRun,
    DaycareNotice,
)


@dataclass
class Scene:
    w: World
    municipality_id: uuid.UUID
    school: uuid.UUID
    other_school: uuid.UUID
    teacher: uuid.UUID
    guardian: uuid.UUID
    child: uuid.UUID
    admin_key: str
    report_key: str
    files: dict[uuid.UUID, Path] = field(default_factory=dict)  # thread id: its file

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}


@pytest.fixture
async def world(
    tmp_path: Path, database_url: str, redis_url: str, make_settings: Any, engine: AsyncEngine
) -> AsyncIterator[World]:
    async for built in messaging_world.make_world(
        tmp_path, database_url, redis_url, make_settings, engine
    ):
        yield built


@pytest.fixture
async def scene(world: World) -> Scene:
    w = world
    teacher = await w.person(w.summary.teacher)
    guardian = await w.person(w.summary.guardian_two_children)
    async with session_factory(w.engine)() as session, session.begin():
        schools = list(
            (
                await session.scalars(
                    select(Institution.id)
                    .where(Institution.municipality_id == teacher.municipality_id)
                    .order_by(Institution.source_id)
                )
            ).all()
        )
        child = await session.scalar(
            select(Person.id).where(
                Person.municipality_id == teacher.municipality_id, Person.kind == "child"
            )
        )
        admin = await create_api_key(
            session, municipality_code=w.code, name="F", permissions=["admin"]
        )
        report = await create_api_key(
            session, municipality_code=w.code, name="R", permissions=["report"]
        )
    assert child is not None and len(schools) >= 2
    return Scene(
        w=w,
        municipality_id=teacher.municipality_id,
        school=schools[0],
        other_school=schools[1],
        teacher=teacher.id,
        guardian=guardian.id,
        child=child,
        admin_key=admin.key,
        report_key=report.key,
    )


async def make_thread(
    s: Scene, category: RetentionCategory, age_days: float, *, institution: uuid.UUID | None = None
) -> uuid.UUID:
    """A thread of the category whose last activity was ``age_days`` before NOW."""
    at = NOW - dt.timedelta(days=age_days)
    mine = s.municipality_id
    thread_id, message_id, attachment_id = new_id(), new_id(), new_id()
    kind = "announcement" if category is RetentionCategory.ANNOUNCEMENT else "message"
    stored_category = {
        RetentionCategory.CONSENT: "consent",
        RetentionCategory.DAYCARE_NOTICE: "daycare_notice",
    }.get(category, "general")
    where = institution or s.school
    async with session_factory(s.w.engine)() as session, session.begin():
        session.add(
            Thread(
                id=thread_id,
                municipality_id=mine,
                kind=kind,
                institution_id=where,
                category=stored_category,
                subject="Emne",
                urgent=category is RetentionCategory.URGENT,
                created_by=s.teacher,
                created_at=at - dt.timedelta(days=1),
                last_message_at=at,
            )
        )
        await session.flush()
        session.add(
            Message(
                id=message_id,
                municipality_id=mine,
                thread_id=thread_id,
                author_id=s.teacher,
                body="Tekst",
                body_html="<p>Tekst</p>",
                created_at=at,
            )
        )
        await session.flush()
        for person, role in ((s.teacher, "sender"), (s.guardian, "recipient")):
            session.add(
                Participant(
                    municipality_id=mine,
                    thread_id=thread_id,
                    person_id=person,
                    kind=kind,
                    institution_id=where,
                    role=role,
                )
            )
        session.add(
            Delivery(
                municipality_id=mine,
                message_id=message_id,
                thread_id=thread_id,
                person_id=s.guardian,
                channel="email",
                kind="instant",
                category="message",
                state="sent",
                not_before=at,
            )
        )
        session.add(
            OutboxItem(
                municipality_id=mine,
                item_kind="message",
                item_id=message_id,
                created_at=at,
                done_at=at,
            )
        )
        session.add(
            Attachment(
                id=attachment_id,
                municipality_id=mine,
                uploaded_by=s.teacher,
                message_id=message_id,
                file_name="plan.txt",
                content_type="text/plain",
                size=5,
                sha256="0" * 64,
            )
        )
        if category is RetentionCategory.CONSENT:
            request_id = new_id()
            session.add(
                ConsentRequest(
                    id=request_id,
                    municipality_id=mine,
                    institution_id=where,
                    thread_id=thread_id,
                    kind="consent",
                    answer_rule="any",
                    options=[{"key": "yes", "label": "Ja"}],
                    deadline=at - dt.timedelta(days=2),
                    created_by=s.teacher,
                )
            )
            await session.flush()
            session.add(
                ConsentVersion(
                    municipality_id=mine,
                    request_id=request_id,
                    version=1,
                    title="Fotos",
                    question="Må vi?",
                    question_html="<p>Må vi?</p>",
                    message_id=message_id,
                    created_by=s.teacher,
                )
            )
            session.add(ConsentChild(municipality_id=mine, request_id=request_id, child_id=s.child))
            session.add(
                ConsentAnswer(
                    municipality_id=mine,
                    request_id=request_id,
                    version=1,
                    child_id=s.child,
                    answered_by=s.guardian,
                    option="yes",
                    channel="api",
                    created_at=at - dt.timedelta(days=3),
                )
            )
            session.add(ConsentReminderRun(municipality_id=mine, request_id=request_id, round=1))
        if category is RetentionCategory.DAYCARE_NOTICE:
            day = (at - dt.timedelta(days=1)).date()
            session.add(
                DaycareNotice(
                    municipality_id=mine,
                    institution_id=where,
                    child_id=s.child,
                    kind="sick",
                    from_date=day,
                    to_date=day,
                    thread_id=thread_id,
                    created_by=s.guardian,
                    created_at=at,
                )
            )
    path = attachments.path_of(s.w.settings, mine, attachment_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"plan\n")
    s.files[thread_id] = path
    return thread_id


async def counts(s: Scene) -> dict[str, int]:
    async with session_factory(s.w.engine)() as session:
        return {
            model.__tablename__: int(
                await session.scalar(select(func.count()).select_from(model)) or 0
            )
            for model in TABLES
        }


async def existing(s: Scene, thread_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    async with session_factory(s.w.engine)() as session:
        return set(
            (await session.scalars(select(Thread.id).where(Thread.id.in_(thread_ids)))).all()
        )


async def run(s: Scene, *, dry_run: bool = False) -> Any:
    async with session_factory(s.w.engine)() as session:
        return await purge(session, s.w.settings, s.municipality_id, NOW, dry_run=dry_run)


# What one thread of each category adds to each table (see make_thread).
def per_thread(category: RetentionCategory) -> dict[str, int]:
    rows = dict.fromkeys((model.__tablename__ for model in TABLES), 0)
    rows.update(threads=1, messages=1, thread_participants=2, attachments=1, deliveries=1, outbox=1)
    if category is RetentionCategory.CONSENT:
        for table in ("consent_requests", "consent_versions", "consent_children"):
            rows[table] = 1
        rows["consent_answers"] = rows["consent_reminder_runs"] = 1
    if category is RetentionCategory.DAYCARE_NOTICE:
        rows["daycare_notices"] = 1
    return rows


async def both_sides(s: Scene) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """A thread a day inside and one a day past each category's retention."""
    inside, past = [], []
    for category, days in DEFAULT_DAYS.items():
        inside.append(await make_thread(s, category, days - 1))
        past.append(await make_thread(s, category, days + 1))
    return inside, past


async def test_a_purge_deletes_exactly_what_is_past_with_all_its_rows_and_files(
    scene: Scene,
) -> None:
    s = scene
    inside, past = await both_sides(s)
    before = await counts(s)
    report = await run(s)
    after = await counts(s)

    expected = dict.fromkeys(before, 0)
    for category in DEFAULT_DAYS:
        for table, rows in per_thread(category).items():
            expected[table] += rows
    assert {table: before[table] - after[table] for table in before} == expected
    assert await existing(s, inside + past) == set(inside)
    assert all(not s.files[t].exists() for t in past)
    assert all(s.files[t].exists() for t in inside)
    assert report.threads == len(past) and report.files == len(past)
    assert report.by_category == dict.fromkeys((c.value for c in DEFAULT_DAYS), 1)
    assert (report.consent_answers, report.daycare_notices, report.participants) == (1, 1, 10)
    async with session_factory(s.w.engine)() as session:
        events = list(
            (
                await session.scalars(
                    select(AuditEvent).where(AuditEvent.action == "retention.purge")
                )
            ).all()
        )
    assert len(events) == 1
    assert events[0].detail["threads"] == len(past) and events[0].detail["messages"] == len(past)
    assert events[0].actor_kind == "system"

    again = await run(s)
    assert again.threads == 0 and await existing(s, inside) == set(inside)


async def test_a_late_answer_keeps_a_consent_and_a_dry_run_deletes_nothing(scene: Scene) -> None:
    s = scene
    days = DEFAULT_DAYS[RetentionCategory.CONSENT]
    withdrawn_late = await make_thread(s, RetentionCategory.CONSENT, days + 10)
    async with session_factory(s.w.engine)() as session, session.begin():
        # A withdrawal inside retention is the record's last change: it counts.
        request = await session.scalar(
            select(ConsentRequest).where(ConsentRequest.thread_id == withdrawn_late)
        )
        assert request is not None
        session.add(
            ConsentAnswer(
                municipality_id=s.municipality_id,
                request_id=request.id,
                version=1,
                child_id=s.child,
                answered_by=s.guardian,
                option="withdrawn",
                channel="api",
                created_at=NOW - dt.timedelta(days=days - 5),
            )
        )
    gone = await make_thread(s, RetentionCategory.MESSAGE, 400)
    before = await counts(s)
    dry = await run(s, dry_run=True)
    assert await counts(s) == before and s.files[gone].exists()
    assert (dry.threads, dry.messages, dry.files, dry.by_category) == (1, 1, 1, {"message": 1})
    async with session_factory(s.w.engine)() as session:
        assert not await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "retention.purge")
        )
    done = await run(s)
    assert (done.threads, done.messages, done.participants) == (dry.threads, dry.messages, 2)
    assert await existing(s, [withdrawn_late, gone]) == {withdrawn_late}


async def test_a_legal_hold_keeps_everything_of_the_institution(scene: Scene) -> None:
    s = scene
    _, past = await both_sides(s)
    elsewhere = await make_thread(s, RetentionCategory.MESSAGE, 400, institution=s.other_school)
    held = await s.w.client.put(
        f"/v1/institutions/{s.school}/legal-hold",
        json={"on": True, "reason": "Klagesag 2027-14"},
        headers=s.admin(),
    )
    assert held.status_code == 200, held.text
    assert held.json()["active"] and held.json()["reason"] == "Klagesag 2027-14"
    no_reason = await s.w.client.put(
        f"/v1/institutions/{s.school}/legal-hold", json={"on": True}, headers=s.admin()
    )
    assert no_reason.status_code == 422 and "reason" in no_reason.text

    before = await counts(s)
    report = await run(s)
    assert (
        report.threads == 1 and report.kept_by_hold == len(past) and report.held_institutions == 1
    )
    assert await existing(s, [*past, elsewhere]) == set(past)
    assert all(s.files[t].exists() for t in past)
    assert before["threads"] - (await counts(s))["threads"] == 1

    shown = (await s.w.client.get("/v1/retention", headers=s.admin())).json()
    assert [h["institution_id"] for h in shown["holds"]] == [str(s.school)]
    lifted = await s.w.client.put(
        f"/v1/institutions/{s.school}/legal-hold",
        json={"on": False, "reason": "Sagen er afsluttet"},
        headers=s.admin(),
    )
    assert lifted.status_code == 200 and not lifted.json()["active"]
    assert (await run(s)).threads == len(past)
    async with session_factory(s.w.engine)() as session:
        actions = list(
            (
                await session.scalars(
                    select(AuditEvent.action)
                    .where(AuditEvent.action.like("legal_hold.%"))
                    .order_by(AuditEvent.at)
                )
            ).all()
        )
    assert actions == ["legal_hold.set", "legal_hold.clear"]


async def test_overrides_apply_and_bad_ones_are_refused(scene: Scene) -> None:
    s = scene
    young = await make_thread(s, RetentionCategory.MESSAGE, 45)
    notice = await make_thread(s, RetentionCategory.DAYCARE_NOTICE, 100)
    changed = await s.w.client.put(
        "/v1/retention", json={"days": {"message": 40, "daycare_notice": 120}}, headers=s.admin()
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["days"]["message"] == 40
    assert changed.json()["overridden"] == ["daycare_notice", "message"]
    assert (await run(s)).threads == 1
    assert await existing(s, [young, notice]) == {notice}

    for days, needle in (
        ({"message": 5}, "between 30 and 3650"),
        ({"reminder": 100}, "set retention.consent instead"),
        ({"chat": 100}, "not a category"),
    ):
        refused = await s.w.client.put("/v1/retention", json={"days": days}, headers=s.admin())
        assert refused.status_code == 422, refused.text
        assert any(needle in error for error in refused.json()["errors"]), refused.text
    assert (await s.w.client.get("/v1/retention", headers=s.admin())).json()["days"][
        "message"
    ] == 40

    # Settings written around the API (a bad value in the database) stop the purge.
    async with session_factory(s.w.engine)() as session, session.begin():
        await session.execute(
            update(Municipality)
            .where(Municipality.id == s.municipality_id)
            .values(settings={"retention": {"message": "one year"}})
        )
    await make_thread(s, RetentionCategory.MESSAGE, 400)
    with pytest.raises(InvalidInput) as refused_run:
        await run(s)
    assert "retention.message: give whole days" in refused_run.value.errors[0]
    shown = (await s.w.client.get("/v1/retention", headers=s.admin())).json()
    assert shown["errors"] and shown["days"] == shown["defaults"]


async def test_only_a_municipality_admin_key_reaches_retention(scene: Scene) -> None:
    s = scene
    hold_path = f"/v1/institutions/{s.school}/legal-hold"
    body = {"on": True, "reason": "Sag"}
    for headers in (
        {"Authorization": f"Bearer {s.report_key}"},
        s.w.headers(s.w.summary.teacher),
        s.w.headers(s.w.summary.guardian_two_children),
    ):
        assert (await s.w.client.get("/v1/retention", headers=headers)).status_code == 403
        refused = await s.w.client.put(hold_path, json=body, headers=headers)
        assert refused.status_code == 403
    assert (await s.w.client.get("/v1/retention")).status_code == 401
    shown = await s.w.client.get("/v1/retention", headers=s.admin())
    assert shown.status_code == 200 and shown.json()["holds"] == []
    assert shown.json()["days"] == {c.value: d for c, d in DEFAULT_DAYS.items()}
    unknown = await s.w.client.put(
        f"/v1/institutions/{uuid.uuid4()}/legal-hold", json=body, headers=s.admin()
    )
    assert unknown.status_code == 404


async def test_the_cli_holds_and_purges(scene: Scene, monkeypatch: pytest.MonkeyPatch) -> None:
    s = scene
    monkeypatch.setenv("BUDSTIKKE_DATABASE_URL", s.w.settings.database_url)
    monkeypatch.setenv("BUDSTIKKE_DATA_DIR", str(s.w.settings.data_dir))
    # The CLI purges as of the real clock: a thread long past any category's days.
    old = await make_thread(
        s, RetentionCategory.MESSAGE, (NOW - dt.datetime.now(dt.UTC)).days + 4000
    )
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return anyio.to_thread.run_sync(lambda: runner.invoke(retention, list(args)))

    async with session_factory(s.w.engine)() as session:
        source_id = await session.scalar(
            select(Institution.source_id).where(Institution.id == s.school)
        )
    assert source_id is not None
    missing_reason = await invoke("hold", source_id, "--on")
    assert missing_reason.exit_code != 0 and "reason" in missing_reason.output
    held = await invoke("hold", source_id, "--on", "--reason", "Klagesag")
    assert held.exit_code == 0 and "is under legal hold" in held.output, held.output
    kept = await invoke("purge", "--municipality", s.w.code)
    assert kept.exit_code == 0 and '"kept_by_hold": 1' in kept.output, kept.output
    assert (await invoke("hold", source_id, "--off")).exit_code == 0
    dry = await invoke("purge", "--municipality", s.w.code, "--dry-run")
    assert dry.exit_code == 0 and '"threads": 1' in dry.output and await existing(s, [old])
    done = await invoke("purge")
    assert done.exit_code == 0 and '"threads": 1' in done.output, done.output
    assert not await existing(s, [old]) and not s.files[old].exists()
    assert (await invoke("purge", "--municipality", "nope")).exit_code != 0


async def test_the_nightly_job_purges_every_municipality(scene: Scene) -> None:
    s = scene
    old = await make_thread(
        s, RetentionCategory.MESSAGE, (NOW - dt.datetime.now(dt.UTC)).days + 4000
    )
    async with session_factory(s.w.engine)() as session, session.begin():
        session.add(Municipality(code="0888", name="Fejlby", settings={"retention": {"x": 1}}))
    ctx = {"sessions": session_factory(s.w.engine), "settings": s.w.settings}
    # The other municipality's bad settings skip it, and only it.
    assert await purge_retention(ctx) == 1
    assert not await existing(s, [old])
