"""DESIGN's privacy invariants as properties over random rosters, senders and audiences.

Each example is its own municipality (a fresh code in one database per test), written
through the REST roster upserts with a roster API key: 1–2 institutions, split
households, guardians without custody, protected children, guardians and staff. Random
senders (staff, guardians, pupils) send to random audiences (group × roles,
institutions, named people, ``guardians_of``; with or without non-custodial guardians,
hidden recipients, sensitive), and some readers answer. Then, for every person in the
roster, over everything they can fetch (``/v1/me``, the inbox list, unread counts,
every thread, the announcement feed, receipts and audience previews where they may):

- they see exactly the threads the roster rules let the send reach (so a guardian sees
  only threads they take part in, and a non-custodial parent nothing unless asked for);
- a guardian's ``/v1/me`` lists only their own children;
- nobody who is not staff reads a protected person's real name or address (a
  protected child's custodial guardian excepted: they know it);
- nobody reads another person's email address;
- a hidden-recipient thread shows a recipient only themself and the sender.

The notifications are planned by the worker's own code (``plan_message``), loaded as
the deliver job loads them (``notices.load``) and rendered by the worker's renderer
into the MIME mail the SMTP channel would send and the push payload the push channel
would encrypt, without any network: every ``To:`` holds exactly one address, the
recipient's; no mail or push carries anyone else's address, a protected person's name
for a recipient who is not staff, or anything of a sensitive thread (subject, body,
answers, sender).
"""

from __future__ import annotations

import email
import email.policy
import itertools
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.email import EmailChannel
from channels.vapid import generate_key_pair
from gateway.api.app import create_app
from gateway.auth.apikeys import create_api_key
from gateway.auth.devtokens import issue_dev_token
from gateway.auth.links import LinkSigner, secret_key
from gateway.config import Settings
from gateway.db import session_factory
from gateway.delivery import notices
from gateway.delivery.fanout import plan_message
from gateway.delivery.models import Delivery, PushSubscription
from gateway.delivery.render import Renderer
from gateway.messaging.models import Message, Thread
from gateway.orm import new_id, utcnow
from gateway.roster.models import Group, Institution, Municipality, Person
from tests.integration.privacy_rosters import Roster, Scenario, Send, may_see, scenarios

pytestmark = pytest.mark.slow

Client = AsyncTestClient[Litestar]
KEYS = generate_key_pair()
EXAMPLES = 20
ORDER = ("institutions", "groups", "people", "affiliations", "guardianships", "memberships")


@dataclass
class Gateway:
    """The app over real engines, and a counter that gives each example its own tenant."""

    client: Client
    settings: Settings
    engine: AsyncEngine
    codes: itertools.count[int] = field(default_factory=lambda: itertools.count(100))

    def code(self) -> str:
        return f"9{next(self.codes):03d}"


@pytest.fixture
async def gateway(
    database_url: str, redis_url: str, make_settings: Any, engine: AsyncEngine
) -> AsyncIterator[Gateway]:
    settings = make_settings(
        demo="true",  # dev tokens for anyone in the roster
        database_url=database_url,
        redis_url=redis_url,
        # Channels configured, so that planning plans mail and push; nothing connects.
        smtp_host="127.0.0.1",
        smtp_port="9",
        smtp_tls="none",
        smtp_from="Budstikke <no-reply@skole.example.dk>",
        vapid_private_key=KEYS.private_b64,
        vapid_subject="mailto:drift@example.dk",
        public_url="https://besked.example.dk",
        queue_name=f"test:queue:{uuid.uuid4().hex}",
    )
    async with AsyncTestClient(create_app(settings)) as client:
        yield Gateway(client, settings, engine)


# -- the tenant ------------------------------------------------------------------------


@dataclass
class Tenant:
    gateway: Gateway
    code: str
    roster: Roster
    municipality_id: uuid.UUID
    ids: dict[str, str]  # source id -> gateway id (people, groups, institutions)

    @property
    def keys_by_id(self) -> dict[str, str]:
        return {value: key for key, value in self.ids.items()}

    def headers(self, key: str) -> dict[str, str]:
        token = issue_dev_token(
            self.gateway.settings, subject=key, municipality_code=self.code, acr="substantial"
        )
        return {"Authorization": f"Bearer {token}"}

    async def get(self, path: str, key: str) -> Any:
        return await self.gateway.client.get(path, headers=self.headers(key))

    async def post(self, path: str, key: str, body: Any) -> Any:
        return await self.gateway.client.post(path, json=body, headers=self.headers(key))


async def write_roster(gw: Gateway, scenario: Scenario) -> Tenant:
    """A new municipality, a roster key, the six PUTs, and push subscriptions."""
    code = gw.code()
    roster = scenario.roster
    async with session_factory(gw.engine)() as session, session.begin():
        municipality = Municipality(code=code, name=f"Kommune {code}", settings={})
        session.add(municipality)
        await session.flush()
        municipality_id = municipality.id
        key = await create_api_key(
            session, municipality_code=code, name="test", permissions=["roster"]
        )
    headers = {"Authorization": f"Bearer {key.key}"}
    for kind, items in roster.items(code).items():
        if not items:
            continue
        answer = await gw.client.put(
            f"/v1/roster/{code}/{kind}", json={"items": items}, headers=headers
        )
        assert answer.status_code == 200, (kind, answer.text)
        assert answer.json()["rejected"] == [], (kind, answer.text)
    ids: dict[str, str] = {}
    async with session_factory(gw.engine)() as session, session.begin():
        for model in (Person, Group, Institution):
            rows = await session.execute(
                select(model.source_id, model.id).where(model.municipality_id == municipality_id)
            )
            ids.update((source_id, str(found)) for source_id, found in rows)
        for person_key in sorted(scenario.push_for):
            session.add(
                PushSubscription(
                    id=new_id(),
                    municipality_id=municipality_id,
                    person_id=uuid.UUID(ids[person_key]),
                    endpoint=f"https://push.example.net/{code}/{person_key}",
                    p256dh="BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
                    auth="tBHItJI5svbpez7KI4CCXg",
                    created_at=utcnow(),
                )
            )
    return Tenant(gw, code, roster, municipality_id, ids)


# -- sending ---------------------------------------------------------------------------


@dataclass
class Sent:
    send: Send
    thread_id: str
    allowed: set[str]  # source ids the roster rules let it reach
    audience: dict[str, Any]
    answered_by: str | None = None


def audience_of(tenant: Tenant, send: Send) -> dict[str, Any]:
    targets: list[dict[str, Any]] = []
    for target in send.targets:
        if target.type in {"group", "institution"}:
            ref = f"{target.type[0]}{target.index}"
            targets.append(
                {"type": target.type, target.type: tenant.ids[ref], "roles": list(target.roles)}
            )
        elif target.type == "people":
            targets.append({"type": "people", "people": [tenant.ids[k] for k in target.people]})
        else:
            targets.append(
                {"type": "guardians_of", "children": [tenant.ids[k] for k in target.people]}
            )
    return {
        "targets": targets,
        "include_non_custodial": send.include_non_custodial,
        "hidden_recipients": send.hidden_recipients,
    }


async def send_all(tenant: Tenant, scenario: Scenario) -> tuple[list[Sent], list[tuple[str, str]]]:
    """Every send of the scenario and its answer; (sent, refusals as (sender, text))."""
    sent: list[Sent] = []
    refused: list[tuple[str, str]] = []
    for send in scenario.sends:
        audience = audience_of(tenant, send)
        body: dict[str, Any] = {"subject": send.subject, "body": send.body, "audience": audience}
        if send.announcement:
            answer = await tenant.post("/v1/announcements", send.sender, body)
        else:
            answer = await tenant.post(
                "/v1/messages", send.sender, {**body, "sensitive": send.sensitive}
            )
        if answer.status_code != 202:
            assert answer.status_code in {403, 413, 422}, answer.text
            refused.append((send.sender, answer.text))
            continue
        thread_id = answer.json()["thread_id"]
        done = Sent(send, thread_id, may_see(tenant.roster, send), audience)
        if send.replier is not None and not send.announcement:
            readers = sorted(done.allowed - {send.sender})
            if readers:
                replier = readers[send.replier % len(readers)]
                reply = await tenant.post(
                    f"/v1/threads/{thread_id}/messages", replier, {"body": send.reply}
                )
                assert reply.status_code in {202, 403}, reply.text
                if reply.status_code == 202:
                    done.answered_by = replier
                else:
                    refused.append((replier, reply.text))
        sent.append(done)
    return sent, refused


# -- what each person can read ---------------------------------------------------------


@dataclass
class Fetched:
    texts: list[str] = field(default_factory=list)
    listed: set[str] | None = None  # thread ids in the inbox list (None: could not log in)
    feed: set[str] | None = None  # announcement ids in the feed
    details: dict[str, Any] = field(default_factory=dict)  # thread id -> detail JSON
    me: dict[str, Any] | None = None
    listing: str = ""  # the inbox list as served


async def fetch_everything(tenant: Tenant, key: str, sent: list[Sent]) -> Fetched:
    found = Fetched()

    async def read(method: str, path: str, body: Any = None) -> Any:
        if method == "get":
            answer = await tenant.get(path, key)
        else:
            answer = await tenant.post(path, key, body)
        assert answer.status_code < 500, (path, answer.text)
        found.texts.append(answer.text)
        return answer

    me = await read("get", "/v1/me")
    if me.status_code == 200:
        found.me = me.json()
    listing = await read("get", "/v1/inbox/threads")
    found.listing = listing.text
    if listing.status_code == 200:
        found.listed = {item["id"] for item in listing.json()["items"]}
    feed = await read("get", "/v1/inbox/announcements")
    if feed.status_code == 200:
        found.feed = {item["id"] for item in feed.json()["items"]}
    await read("get", "/v1/inbox/unread")
    for item in sent:
        detail = await read("get", f"/v1/inbox/threads/{item.thread_id}")
        if detail.status_code == 200:
            found.details[item.thread_id] = detail.json()
            await read("get", f"/v1/threads/{item.thread_id}/receipts")
        else:
            assert detail.status_code in {401, 403, 404}, detail.text
        if key == item.send.sender or tenant.roster.is_staff(key):
            await read("post", "/v1/audiences/preview", item.audience)
    return found


def secrets_for(roster: Roster, reader: str) -> set[str]:
    """Names and addresses ``reader`` must never read anywhere."""
    hidden: set[str] = set()
    staff = roster.is_staff(reader)
    own_children = roster.custodial_children(reader)
    for person in roster.people:
        if person.key == reader:
            continue
        hidden.update(person.emails)  # nobody sees another person's address
        if person.protected and not staff and person.key not in own_children:
            hidden.update((person.given, person.family))
    return hidden


def check_reader(tenant: Tenant, key: str, found: Fetched, sent: list[Sent]) -> None:
    roster = tenant.roster
    hidden = secrets_for(roster, key)
    for text in found.texts:
        leaked = sorted(secret for secret in hidden if secret in text)
        assert not leaked, (key, leaked, text[:2000])
    messages = {item.thread_id: item for item in sent if not item.send.announcement}
    announcements = {item.thread_id: item for item in sent if item.send.announcement}
    by_id = tenant.keys_by_id
    for thread_id, item in messages.items():
        sees = thread_id in found.details or (
            found.listed is not None and thread_id in found.listed
        )
        # Exactly whom the rules let it reach: nobody more (the invariants), nobody less
        # (so that the checks above had something to look at).
        if sees:
            assert key in item.allowed, (key, "reads a thread it was never sent", item.send)
        elif found.listed is not None and key != item.send.sender:
            assert key not in item.allowed, (key, "misses a thread sent to it", item.send)
        if thread_id in found.details:
            detail = found.details[thread_id]
            names = {p["name"] for p in detail["participants"]}
            for shown_key in {by_id[p["id"]] for p in detail["participants"]}:
                person = roster.by_key(shown_key)
                # The alias stands in for the name (the check above had a name to miss).
                if person.alias and person.given in hidden:
                    assert person.alias in names, (key, person.key, names)
                    event("a protected participant shown by alias")
            if item.send.hidden_recipients and key != item.send.sender:
                shown = {by_id[p["id"]] for p in detail["participants"]}
                authors = {by_id[m["author"]["id"]] for m in detail["messages"]}
                assert shown <= {key, item.send.sender}, (key, shown, item.send)
                assert authors <= {key, item.send.sender}, (key, authors, item.send)
    if found.listed is not None:
        assert found.listed <= set(messages) | set(announcements), (key, found.listed)
    if found.feed is not None:
        for announcement_id in found.feed:
            assert announcement_id in announcements, (key, announcement_id)
            assert key in announcements[announcement_id].allowed, (key, announcement_id)
    if found.me is not None and found.me["kind"] == "guardian":
        children = {by_id[child["id"]] for child in found.me["children"]}
        assert children <= roster.children_of(key), (key, children)
    # A sensitive thread's list entry carries neither subject nor body.
    if found.listed is not None:
        for thread_id in found.listed & set(messages):
            send = messages[thread_id].send
            if send.sensitive and key != send.sender:
                assert send.subject not in found.listing, (key, send)
                assert send.tokens[1] not in found.listing, (key, send)


# -- notifications ---------------------------------------------------------------------


@dataclass
class Notification:
    person: str  # source id of the recipient
    channel: str
    thread_id: str
    text: str  # everything in it: headers and decoded parts, or the push payload
    to: list[str] = field(default_factory=list)


async def plan_and_render(tenant: Tenant) -> list[Notification]:
    """What the worker would send for every message of the tenant, without sending it."""
    settings = tenant.gateway.settings
    renderer = Renderer(settings, LinkSigner(secret_key(settings)))
    mailer = EmailChannel(settings)
    by_id = tenant.keys_by_id
    now = utcnow()
    out: list[Notification] = []
    sessions = session_factory(tenant.gateway.engine)
    async with sessions() as session, session.begin():
        rows = await session.execute(
            select(Message, Thread)
            .join(Thread, Thread.id == Message.thread_id)
            .where(Message.municipality_id == tenant.municipality_id)
            .order_by(Message.created_at, Message.id)
        )
        for message, thread in rows.all():
            await plan_message(session, settings, thread, message, now, generation="prop")
    async with sessions() as session:
        ids = list(
            (
                await session.scalars(
                    select(Delivery.id).where(Delivery.municipality_id == tenant.municipality_id)
                )
            ).all()
        )
        loaded = await notices.load(session, settings, ids, now)
    for item in loaded:
        notice = item.notice
        person = by_id[str(notice.person_id)]
        if notice.channel == "email":
            assert item.email is not None, person
            mime = mailer.build(renderer.email(notice, item.email))
            raw = email.message_from_bytes(mime.as_bytes(), policy=email.policy.default)
            parts = [f"{name}: {value}" for name, value in raw.items()]
            parts += [part.get_content() for part in raw.walk() if not part.is_multipart()]
            to = [address.addr_spec for address in raw["To"].addresses]
            out.append(Notification(person, "email", str(notice.thread_id), "\n".join(parts), to))
        else:
            for target in item.targets:
                payload = renderer.push(notice, target).text
                assert payload is not None
                decoded = json.dumps(json.loads(payload), ensure_ascii=False)
                out.append(Notification(person, "webpush", str(notice.thread_id), decoded))
    return out


def check_notifications(tenant: Tenant, sent: list[Sent], found: list[Notification]) -> None:
    roster = tenant.roster
    threads = {item.thread_id: item for item in sent}
    for notification in found:
        key = notification.person
        item = threads[notification.thread_id]
        assert key in item.allowed, (key, "notified of a thread it was never sent")
        hidden = secrets_for(roster, key)
        text = notification.text
        if notification.channel == "email":
            assert len(notification.to) == 1, notification.to
            assert notification.to[0] in roster.by_key(key).emails, (key, notification.to)
        leaked = sorted(secret for secret in hidden if secret in text)
        assert not leaked, (key, notification.channel, leaked, text[:3000])
        send = item.send
        if not send.sensitive or send.announcement:
            # What the checks search is the decoded mail or payload, not an encoding of it.
            assert send.subject in text or send.reply in text, (key, text[:3000])
        if send.sensitive and not send.announcement:
            author = roster.by_key(send.sender)
            repliers = [roster.by_key(item.answered_by)] if item.answered_by else []
            forbidden = set(send.tokens)
            for person in (author, *repliers):
                forbidden |= {person.given, person.family}
                if person.alias:
                    forbidden.add(person.alias)
            carried = sorted(token for token in forbidden if token in text)
            assert not carried, (key, notification.channel, carried, text[:3000])


def threads_sensitive(sent: list[Sent], notification: Notification) -> bool:
    return any(i.thread_id == notification.thread_id and i.send.sensitive for i in sent)


# -- the property ----------------------------------------------------------------------


async def check_scenario(gw: Gateway, scenario: Scenario) -> None:
    tenant = await write_roster(gw, scenario)
    sent, refused = await send_all(tenant, scenario)
    for sender, text in refused:
        leaked = sorted(s for s in secrets_for(tenant.roster, sender) if s in text)
        assert not leaked, (sender, leaked, text)
    for person in tenant.roster.people:
        found = await fetch_everything(tenant, person.key, sent)
        check_reader(tenant, person.key, found, sent)
    notifications = await plan_and_render(tenant)
    check_notifications(tenant, sent, notifications)
    # Shown by --hypothesis-show-statistics: that the examples exercise what they claim.
    event(f"accepted sends: {len(sent)} of {len(scenario.sends)}")
    event(f"notifications: {'some' if notifications else 'none'}")
    event(f"sensitive notified: {any(threads_sensitive(sent, n) for n in notifications)}")
    event(f"protected people: {sum(p.protected for p in tenant.roster.people) > 0}")


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios())
async def test_every_person_reads_only_what_the_privacy_rules_allow(
    gateway: Gateway, scenario: Scenario
) -> None:
    await check_scenario(gateway, scenario)
