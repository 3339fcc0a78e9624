"""The calm week's traffic and its reading model, acted through the gateway's own services.

Traffic (institution time; Monday to Friday unless said):

- each class or room: its primary teacher/pedagogue posts a message to the group's
  guardians on 80 % of days, 70 % of them between 08:00 and 15:30, the rest in the
  evening (19:00–22:00); replies go to the sender only, and 5 % of the recipients answer
  within a few hours (a 1:1 reply to the teacher);
- 1:1 threads: 4 % of guardians a day (2 % on weekend days) write to their child's
  teacher, any time 07:00–22:30; staff answer at their inbox checks;
- each institution's leader posts an announcement on Monday, Wednesday and Friday late
  morning; a third of the classes get a permission request on Monday (deadline Friday
  12:00, reminders 48 h and 24 h before);
- urgent: Tuesday (Monday in a one-day run) 06:40 an urgent announcement to one
  school's guardians, Thursday 21:15 one to a daycare's guardians (quiet hours are no
  reason to wait);
- daycare: each day 5 % of the daycare children are reported sick between 06:15 and
  08:00, 3 % get a pick-up notice between 10:00 and 14:00.

Reading model (guardians): *prompt* (35 %) open the app 5–45 minutes after a
notification reaches them (at 07:00 if it came at night) and half of the evenings;
*evening* (35 %) open it once a day between 19:00 and 21:30; *sporadic* (20 %) on 40 %
of days between 12:00 and 22:00; *never* (10 %) never open it. Opening reads every
unread thread; a pending consent is answered by 90 % of prompt and evening readers and
half of the sporadic ones. Staff check their inbox at 08:00, 12:00 and 15:30 on
weekdays (a quarter of them also at 21:00), answer 80 % of the guardians' threads that
wait for them, and read everything.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from calm_sim import Calendar, Pipeline
from sqlalchemy import select

from gateway.audience.schemas import Audience, GroupAudience, InstitutionAudience, People, Roles
from gateway.consents import answers
from gateway.consents import service as consents
from gateway.consents.models import ConsentKind, ConsentRequest
from gateway.consents.schemas import AnswerIn, AnswersIn, ConsentCreate
from gateway.messaging import announcements, reading, replies, threads
from gateway.messaging.events import Events
from gateway.messaging.models import Message, Participant, ReplyPolicy, Thread, ThreadKind
from gateway.messaging.schemas import AnnouncementCreate, MessageCreate, ReplyCreate
from gateway.notices import service as notices
from gateway.notices.models import NoticeKind
from gateway.notices.schemas import NoticeCreate

READERS = (("prompt", 0.35), ("evening", 0.35), ("sporadic", 0.20), ("never", 0.10))
ANSWERING = {"prompt": 0.9, "evening": 0.9, "sporadic": 0.5, "never": 0.0}
EVENTS = Events(None)


class Week:
    """Puts a week of traffic and reading on the calendar; each action calls a service."""

    def __init__(
        self, pipeline: Pipeline, calendar: Calendar, monday: dt.date, days: int, seed: int
    ) -> None:
        self.p = pipeline
        self.cal = calendar
        self.zone = ZoneInfo(pipeline.roster.zone)
        self.monday = monday
        self.days = days
        # The planned traffic draws from ``rng`` alone, so it is the same under every
        # defaults profile; what people do in reaction (when they read, reply, answer)
        # draws from ``react``.
        self.rng = random.Random(seed)  # noqa: S311 - a reproducible week, not a secret
        self.react = random.Random(seed + 1)  # noqa: S311
        roster = pipeline.roster
        self.readers = {g: self._reader() for g in roster.guardians}
        self._opening: dict[uuid.UUID, dt.datetime] = {}
        pipeline.on_sent = self._notified

    def _reader(self) -> str:
        draw = self.rng.random()
        for name, share in READERS:
            if draw < share:
                return name
            draw -= share
        return READERS[-1][0]

    def local(self, day: int, hour: float) -> dt.datetime:
        """Day ``day`` of the week (0 = Monday) at ``hour`` o'clock local, in UTC."""
        date = self.monday + dt.timedelta(days=day)
        minutes = round(hour * 60)
        at = dt.datetime.combine(date, dt.time(minutes // 60, minutes % 60), self.zone)
        return at.astimezone(dt.UTC)

    def between(self, day: int, start: float, end: float) -> dt.datetime:
        return self.local(day, self.rng.uniform(start, end))

    # --- the week ---------------------------------------------------------------------

    def plan(self) -> None:
        roster = self.p.roster
        for day in range(self.days):
            school_day = (self.monday + dt.timedelta(days=day)).weekday() < 5
            if school_day:
                self._group_messages(day)
                self._notices(day)
                self._staff_checks(day)
            share = 0.04 if school_day else 0.02
            for guardian in roster.guardians:
                if self.rng.random() < share:
                    self.cal.at(self.between(day, 7, 22.5), "1:1", self._write_teacher(guardian))
            self._reading(day)
        self._institution_items()

    def _group_messages(self, day: int) -> None:
        roster = self.p.roster
        for group in roster.order(roster.group_staff):
            staff = roster.group_staff[group]
            if self.p.roster.group_children.get(group) and self.rng.random() < 0.8:
                hour = (
                    self.rng.uniform(8, 15.5)
                    if self.rng.random() < 0.7
                    else self.rng.uniform(19, 22)
                )
                self.cal.at(
                    self.local(day, hour), "group message", self._group_message(staff, group)
                )

    def _notices(self, day: int) -> None:
        roster = self.p.roster
        for group in roster.order(roster.groups):
            if roster.groups[group][1] != "room":
                continue
            for child in roster.group_children.get(group, []):
                guardians = roster.custodians.get(child, [])
                if not guardians:
                    continue
                draw = self.rng.random()
                if draw < 0.05:
                    when, what = self.between(day, 6.25, 8), NoticeKind.SICK
                elif draw < 0.08:
                    when, what = self.between(day, 10, 14), NoticeKind.PICKED_UP_BY
                else:
                    continue
                sender = self.rng.choice(guardians)
                self.cal.at(when, "daycare notice", self._notice(sender, child, what, day))

    def _staff_checks(self, day: int) -> None:
        for staff in self.p.roster.staff:
            for hour in (8, 12, 15.5):
                self.cal.at(self.local(day, hour), "staff reads", self._staff_opens(staff))
            if self.rng.random() < 0.25:
                self.cal.at(self.local(day, 21), "staff reads", self._staff_opens(staff))

    def _institution_items(self) -> None:
        roster = self.p.roster
        schools = sorted(
            i for i, k in roster.institutions.items() if k == "school" and i in roster.leaders
        )
        daycares = sorted(
            i for i, k in roster.institutions.items() if k == "daycare" and i in roster.leaders
        )
        for institution in sorted(roster.leaders):
            for day in (0, 2, 4):
                if day < self.days:
                    when = self.between(day, 10, 12.5)
                    self.cal.at(when, "announcement", self._announce(institution, urgent=False))
        for group in roster.order(roster.group_staff):
            staff = roster.group_staff[group]
            asks = roster.groups[group][1] == "class" and roster.group_children.get(group)
            if asks and self.rng.random() < 1 / 3:
                self.cal.at(self.between(0, 9, 11), "consent request", self._ask(staff, group))
        if schools:  # Tuesday (Monday in a one-day run)
            when = self.local(min(1, self.days - 1), 6 + 40 / 60)
            self.cal.at(when, "urgent", self._announce(schools[0], urgent=True))
        if daycares and self.days > 3:
            self.cal.at(self.local(3, 21.25), "urgent", self._announce(daycares[0], urgent=True))

    def _reading(self, day: int) -> None:
        for guardian, kind in self.readers.items():
            if kind == "evening" or (kind == "prompt" and self.rng.random() < 0.5):
                self.cal.at(self.between(day, 19, 21.5), "guardian reads", self._opens(guardian))
            elif kind == "sporadic" and self.rng.random() < 0.4:
                self.cal.at(self.between(day, 12, 22), "guardian reads", self._opens(guardian))

    def _notified(self, person: uuid.UUID, at: dt.datetime) -> None:
        """A prompt reader opens the app a little after a notification (awake: 07–22)."""
        if self.readers.get(person) != "prompt":
            return
        when = at + dt.timedelta(minutes=self.react.uniform(5, 45))
        local = when.astimezone(self.zone)
        if local.hour >= 22 or local.hour < 7:
            morning = local.date() + dt.timedelta(days=1 if local.hour >= 22 else 0)
            when = dt.datetime.combine(morning, dt.time(7, self.react.randrange(60)), self.zone)
            when = when.astimezone(dt.UTC)
        pending = self._opening.get(person)
        if pending is not None and at <= pending <= when:
            return  # already on the way to the app
        self._opening[person] = when
        self.cal.at(when, "guardian reads", self._opens(person))

    # --- actions (each one call of a gateway service) --------------------------------

    def _group_message(self, staff: uuid.UUID, group: uuid.UUID) -> Any:
        async def act() -> None:
            data = MessageCreate(
                subject="Nyt fra klassen",
                body="I morgen tager vi **idrætstøj** med.",
                audience=Audience(targets=[GroupAudience(group=group, roles=[Roles.GUARDIANS])]),
                reply_policy=ReplyPolicy.SENDER,
            )
            async with self.p.sessions() as session:
                done = await threads.send(
                    session, self.p.actor(staff), data, settings=self.p.settings, events=EVENTS
                )
            await self.p.accepted("group message", done.thread_id, done.message_id)
            await self._answers_later(done.thread_id)

        return act

    async def _answers_later(self, thread_id: uuid.UUID) -> None:
        async with self.p.sessions() as session:
            people = list(
                await session.scalars(
                    select(Participant.person_id).where(
                        Participant.thread_id == thread_id, Participant.role == "recipient"
                    )
                )
            )
        for person in self.p.roster.order(people):
            if self.react.random() < 0.05:
                when = self.p.clock.now + dt.timedelta(minutes=self.react.uniform(10, 240))
                self.cal.at(when, "1:1 reply", self._reply(person, thread_id, "Tak, det gør vi."))

    def _reply(self, person: uuid.UUID, thread_id: uuid.UUID, body: str) -> Any:
        async def act() -> None:
            async with self.p.sessions() as session:
                done = await replies.reply(
                    session,
                    self.p.actor(person),
                    thread_id,
                    ReplyCreate(body=body),
                    settings=self.p.settings,
                    events=EVENTS,
                )
            await self.p.accepted("1:1 reply", done.thread_id, done.message_id)

        return act

    def _write_teacher(self, guardian: uuid.UUID) -> Any:
        async def act() -> None:
            roster = self.p.roster
            children = [c for c, gs in roster.custodians.items() if guardian in gs]
            for child in roster.order(children):
                group = next((g for g, cs in roster.group_children.items() if child in cs), None)
                teacher = roster.group_staff.get(group) if group else None
                if teacher is None:
                    continue
                data = MessageCreate(
                    subject="Spørgsmål",
                    body="Hej, kan vi tale om ugen?",
                    audience=Audience(targets=[People(people=[teacher])], regarding=[child]),
                )
                async with self.p.sessions() as session:
                    done = await threads.send(
                        session,
                        self.p.actor(guardian),
                        data,
                        settings=self.p.settings,
                        events=EVENTS,
                    )
                await self.p.accepted("1:1 thread", done.thread_id, done.message_id)
                return

        return act

    def _announce(self, institution: uuid.UUID, *, urgent: bool) -> Any:
        async def act() -> None:
            leader = self.p.roster.leaders[institution]
            target = InstitutionAudience(institution=institution, roles=[Roles.GUARDIANS])
            data = AnnouncementCreate(
                subject="Lukket i dag fra kl. 12" if urgent else "Nyt fra ledelsen",
                body="Læs mere i **opslaget**.",
                audience=Audience(targets=[target]),
                urgent=urgent,
            )
            async with self.p.sessions() as session:
                done = await announcements.create(
                    session, self.p.actor(leader), data, settings=self.p.settings, events=EVENTS
                )
            await self.p.accepted(
                "urgent" if urgent else "announcement",
                done.thread_id,
                done.message_id,
                urgent=urgent,
            )

        return act

    def _ask(self, staff: uuid.UUID, group: uuid.UUID) -> Any:
        async def act() -> None:
            deadline = self.local(min(4, self.days - 1), 12)
            hours = [h for h in (48, 24) if self.p.clock.now + dt.timedelta(hours=h) < deadline]
            data = ConsentCreate(
                title="Tur til skoven torsdag",
                question="Må dit barn komme med?",
                kind=ConsentKind.PERMISSION,
                audience=Audience(targets=[GroupAudience(group=group, roles=[Roles.CHILDREN])]),
                deadline=deadline,
                reminder_offsets_hours=hours,
            )
            async with self.p.sessions() as session:
                done = await consents.create(
                    session, self.p.actor(staff), data, settings=self.p.settings, events=EVENTS
                )
            await self.p.accepted("consent request", done.thread_id, done.message_id)
            await self.p.rounds_of(done.thread_id)

        return act

    def _notice(self, guardian: uuid.UUID, child: uuid.UUID, kind: NoticeKind, day: int) -> Any:
        async def act() -> None:
            date = self.monday + dt.timedelta(days=day)
            data = NoticeCreate(
                child_id=child,
                kind=kind,
                from_date=date,
                picked_up_by="Mormor" if kind == NoticeKind.PICKED_UP_BY else None,
                pickup_time="15:00" if kind == NoticeKind.PICKED_UP_BY else None,
            )
            async with self.p.sessions() as session:
                read = await notices.create(
                    session, self.p.actor(guardian), data, settings=self.p.settings, events=EVENTS
                )
            if read.thread_id is None:
                return  # no staff to tell: nothing to notify
            async with self.p.sessions() as session:
                newest = await session.scalar(
                    select(Message.id)
                    .where(Message.thread_id == read.thread_id)
                    .order_by(Message.created_at.desc(), Message.id.desc())
                    .limit(1)
                )
            assert newest is not None
            await self.p.accepted("daycare notice", read.thread_id, newest)

        return act

    def _opens(self, guardian: uuid.UUID) -> Any:
        async def act() -> None:
            self._opening.pop(guardian, None)
            for thread_id, kind, category, regarding in await self._unread(guardian):
                actor = self.p.actor(guardian)
                async with self.p.sessions() as session:
                    if kind == ThreadKind.ANNOUNCEMENT.value:
                        await announcements.mark_read(session, actor, thread_id)
                    else:
                        await reading.mark_read(session, actor, thread_id, None, events=EVENTS)
                self.p.count("reads")
                answers_it = self.react.random() < ANSWERING[self.readers[guardian]]
                if category == "consent" and regarding and answers_it:
                    await self._answer(guardian, thread_id, regarding)

        return act

    async def _unread(self, person: uuid.UUID) -> list[tuple[uuid.UUID, str, str, list[str]]]:
        """The person's unread threads: (id, kind, category, children it regards)."""
        async with self.p.sessions() as session:
            rows = await session.execute(
                select(Thread.id, Thread.kind, Thread.category, Participant.regarding)
                .join(Participant, Participant.thread_id == Thread.id)
                .where(Participant.person_id == person, Participant.unread_count > 0)
                .order_by(Thread.last_message_at)
            )
            return [(r[0], r[1], r[2], list(r[3] or [])) for r in rows]

    async def _answer(
        self, guardian: uuid.UUID, thread_id: uuid.UUID, regarding: list[str]
    ) -> None:
        from gateway.errors import GatewayError  # noqa: PLC0415

        async with self.p.sessions() as session:
            consent_id = await session.scalar(
                select(ConsentRequest.id).where(ConsentRequest.thread_id == thread_id)
            )
        if consent_id is None:
            return
        data = AnswersIn(answers=[AnswerIn(child_id=uuid.UUID(c), option="yes") for c in regarding])
        try:
            async with self.p.sessions() as session:
                await answers.answer(
                    session, self.p.actor(guardian), consent_id, data, settings=self.p.settings
                )
            self.p.count("consent answers")
        except GatewayError as error:
            self.p.count(f"consent answer refused: {type(error).__name__}")

    async def _started_by(self, person: uuid.UUID) -> set[uuid.UUID]:
        async with self.p.sessions() as session:
            return set(await session.scalars(select(Thread.id).where(Thread.created_by == person)))

    def _staff_opens(self, staff: uuid.UUID) -> Any:
        async def act() -> None:
            mine = await self._started_by(staff)
            for thread_id, kind, _category, _regarding in await self._unread(staff):
                actor = self.p.actor(staff)
                # Not in their own class threads: there an answer would reach the whole class.
                answers_it = kind == ThreadKind.MESSAGE.value and thread_id not in mine
                if answers_it and self.react.random() < 0.8:
                    await self._reply(staff, thread_id, "Tak for beskeden, det ordner vi.")()
                async with self.p.sessions() as session:
                    if kind == ThreadKind.ANNOUNCEMENT.value:
                        await announcements.mark_read(session, actor, thread_id)
                    else:
                        await reading.mark_read(session, actor, thread_id, None, events=EVENTS)

        return act
