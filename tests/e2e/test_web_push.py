"""Web push end to end: the gateway's payload, the service worker's notification, the control.

The gateway sends to a real RFC 8030 push service on this machine
(``tests/channels/push_service.py``: it checks the VAPID signature and decrypts with the
subscriber's private key, so what it records is what a browser would get). The decrypted
payload is then handed to the real ``/sw.js`` in Chromium with the DevTools protocol
(``ServiceWorker.deliverPushMessage``), and the notification it shows is read back with
``registration.getNotifications()``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from playwright.async_api import Page

from tests.channels.push_service import PushService
from tests.e2e.conftest import PHONE, Browsing, DemoGateway, wait_until
from tests.e2e.push_helpers import (
    CLOSE_NOTIFICATIONS,
    CONTROL,
    DRAW_NOTIFICATIONS,
    NOTIFICATIONS,
    WALK_THROUGH_SUBJECT,
    GuardianPush,
    ServiceWorkers,
    axe_on_control,
    control_screenshot,
    control_state,
    fake_push_manager,
    notifications,
    open_settings,
    redirect_of,
    register_service_worker,
    send_to_class,
    unique,
    vapid_key,
)

Factory = Callable[..., Awaitable[Browsing]]
SENSITIVE_TITLE = "Ny følsom besked"
SENSITIVE_BODY = "Åbn portalen for at læse den."


@pytest.fixture
async def push_service() -> AsyncIterator[PushService]:
    service = PushService()
    await service.start()
    yield service
    await service.stop()


@pytest.fixture
async def guardian_push(
    push_service: PushService, demo_gateway: DemoGateway
) -> AsyncIterator[GuardianPush]:
    """A subscription made in Python (keys only the test holds), registered for Anne Holm."""
    subscriber = push_service.subscribe(
        f"guardian-{id(push_service)}", application_server_key=vapid_key(demo_gateway)
    )
    registered = GuardianPush(push_service, subscriber, demo_gateway)
    assert registered.register()["created"] is True
    yield registered
    _forget(demo_gateway, push_service.origin)


def _forget(gateway: DemoGateway, origin: str) -> None:
    """Remove the guardian's subscriptions to this test's push service (it stops now)."""
    token = gateway.token("guardian")
    for item in gateway.api("GET", "/v1/push/subscriptions", token)["items"]:
        if item["origin"] == origin:
            gateway.api("DELETE", f"/v1/push/subscriptions/{item['id']}", token)


def _mine(gateway: DemoGateway, origin: str) -> list[dict[str, Any]]:
    token = gateway.token("guardian")
    items: list[dict[str, Any]] = gateway.api("GET", "/v1/push/subscriptions", token)["items"]
    return [item for item in items if item["origin"] == origin]


async def _guardian_page(b: Browsing) -> tuple[Page, ServiceWorkers]:
    """The demo portal as Anne Holm, with the DevTools ServiceWorker domain listening."""
    page = await b.open_as("guardian")
    return page, await ServiceWorkers.attach(b.context, page)


async def _deliver(b: Browsing, workers: ServiceWorkers, data: str) -> None:
    base = b.gateway.base_url
    await workers.deliver(base, base + "/", data)


def _unread(gateway: DemoGateway, thread_id: str) -> int:
    thread = gateway.api("GET", f"/v1/inbox/threads/{thread_id}", gateway.token("guardian"))
    return int(thread["unread_count"])


async def test_gateway_push_decrypts_and_the_service_worker_shows_it(
    browsing: Factory, demo_gateway: DemoGateway, guardian_push: GuardianPush
) -> None:
    subject = unique(WALK_THROUGH_SUBJECT)
    sent = send_to_class(demo_gateway, subject)
    thread_id = str(sent["thread_id"])

    plaintext, payload = await guardian_push.next_payload(thread_id)
    assert subject in payload["title"]
    assert payload["body"].startswith("Sara Eriksen: ")
    assert "Husk regntøj og madpakke." in payload["body"]  # the Markdown's words, no markup
    assert payload["tag"] == f"thread-{thread_id}"
    assert payload["url"] == f"{demo_gateway.base_url}/threads/{thread_id}"
    assert payload["thread_id"] == thread_id
    assert payload["sensitive"] is False
    assert payload["urgent"] is False
    assert payload["kind"] == "message"
    received = guardian_push.received()[-1]
    assert received.topic  # one Topic per thread, so an offline phone keeps the newest
    assert received.urgency == "normal"
    assert received.claims["aud"] == guardian_push.service.origin

    b = await browsing(viewport=PHONE)
    page, workers = await _guardian_page(b)
    await register_service_worker(page)
    await _deliver(b, workers, plaintext)
    shown = await notifications(page, f"thread-{thread_id}")
    assert len(shown) == 1
    assert shown[0]["title"] == payload["title"]
    assert shown[0]["body"] == payload["body"]
    assert shown[0]["data"]["url"] == payload["url"]
    assert shown[0]["data"]["thread_id"] == thread_id
    assert shown[0]["requireInteraction"] is False
    await page.evaluate(DRAW_NOTIFICATIONS, shown)
    await b.screenshot(page, "notification")

    # A second message in the thread: its push replaces the first notification (same tag).
    teacher = demo_gateway.token("teacher")
    demo_gateway.api(
        "POST",
        f"/v1/threads/{thread_id}/messages",
        teacher,
        {"body": "Vi mødes ved **skolens port** kl. 8."},
    )
    second_text, second = await guardian_push.next_payload(thread_id)
    assert second["tag"] == payload["tag"]
    assert "Vi mødes ved skolens port kl. 8." in second["body"]
    await _deliver(b, workers, second_text)

    async def replaced() -> bool:
        bodies = [item["body"] for item in await page.evaluate(NOTIFICATIONS, payload["tag"])]
        return bodies == [second["body"]]

    await wait_until(replaced, 15)
    shown = await notifications(page)
    assert [item["tag"] for item in shown].count(payload["tag"]) == 1
    await page.evaluate(DRAW_NOTIFICATIONS, shown)
    await b.screenshot(page, "notification-replaced")


async def test_sensitive_push_carries_and_shows_no_content(
    browsing: Factory, demo_gateway: DemoGateway, guardian_push: GuardianPush
) -> None:
    subject = unique("Samtale om trivsel")
    body = "Vi vil gerne tale med jer om Lærkes trivsel i klassen."
    sent = send_to_class(demo_gateway, subject, body, sensitive=True)
    thread_id = str(sent["thread_id"])

    plaintext, payload = await guardian_push.next_payload(thread_id)
    for secret in (subject, "Samtale", "trivsel", "Sara", "Eriksen"):
        assert secret not in plaintext
    assert payload["sensitive"] is True
    assert payload["title"] == SENSITIVE_TITLE  # Anne Holm reads Danish
    assert payload["body"] == SENSITIVE_BODY
    assert payload["tag"] == f"thread-{thread_id}"

    b = await browsing(viewport=PHONE)
    page, workers = await _guardian_page(b)
    await register_service_worker(page)
    await _deliver(b, workers, plaintext)
    shown = await notifications(page, f"thread-{thread_id}")
    assert (shown[0]["title"], shown[0]["body"]) == (SENSITIVE_TITLE, SENSITIVE_BODY)
    assert shown[0]["lang"] == "da"
    await page.evaluate(DRAW_NOTIFICATIONS, shown)
    await b.screenshot(page, "sensitive-notification")

    # Even a payload that does carry content (a bug elsewhere, or a forged push) shows
    # none of it once it says sensitive.
    crafted = {
        "sensitive": True,
        "title": "secret subject",
        "body": "secret",
        "tag": "thread-crafted",
        "thread_id": thread_id,
        "url": payload["url"],
    }
    await _deliver(b, workers, json.dumps(crafted))
    shown = await notifications(page, "thread-crafted")
    assert (shown[0]["title"], shown[0]["body"]) == (SENSITIVE_TITLE, SENSITIVE_BODY)
    # The gateway's own content-free text in another language is kept (Arabic, urgent).
    arabic = {
        "sensitive": True,
        "urgent": True,
        "title": "[عاجل] رسالة حساسة جديدة",
        "body": "افتح البوابة لقراءتها.",
        "tag": "thread-arabic",
    }
    await _deliver(b, workers, json.dumps(arabic))
    shown = await notifications(page, "thread-arabic")
    assert (shown[0]["title"], shown[0]["body"]) == (arabic["title"], arabic["body"])
    assert (shown[0]["dir"], shown[0]["requireInteraction"], shown[0]["renotify"]) == (
        "rtl",
        True,
        True,
    )
    # No "sensitive": false, no content either; not JSON at all: still a notification
    # (Chrome insists on one per push), a generic one.
    unflagged = {"title": "secret subject", "body": "secret", "tag": "thread-unflagged"}
    await _deliver(b, workers, json.dumps(unflagged))
    shown = await notifications(page, "thread-unflagged")
    assert (shown[0]["title"], shown[0]["body"]) == ("Ny besked", SENSITIVE_BODY)
    await _deliver(b, workers, "not json {")
    shown = await notifications(page, "budstikke")
    assert (shown[0]["title"], shown[0]["body"]) == ("Ny besked", SENSITIVE_BODY)
    everything = await notifications(page, count=5)
    assert all("secret" not in item["title"] + item["body"] for item in everything)
    await page.evaluate(DRAW_NOTIFICATIONS, everything)
    await b.screenshot(page, "no-content-shown")


# The click itself: neither Playwright nor the DevTools protocol can click a system
# notification (there is no CDP command for it). So the test dispatches a
# NotificationEvent made in the worker (worker.evaluate) to the worker's real
# "notificationclick" listener, with waitUntil collected by a subclass. Being untrusted,
# it cannot focus a window or open one, which the worker tolerates for focus; openWindow
# is observed by shadowing clients.openWindow in that worker. What openWindow would open
# is then followed for real: the gateway's /threads/<id> redirects to the demo portal.
CLICK = """async ({tag, stubOpenWindow}) => {
  const opened = [];
  if (stubOpenWindow) self.clients.openWindow = async (url) => { opened.push(url); return null; };
  const [notification] = await self.registration.getNotifications({tag});
  class Click extends NotificationEvent {
    constructor(n) { super("notificationclick", {notification: n}); this.pending = []; }
    waitUntil(promise) { this.pending.push(promise); }
  }
  const event = new Click(notification);
  self.dispatchEvent(event);
  await Promise.all(event.pending);
  if (stubOpenWindow) delete self.clients.openWindow;
  return {opened, left: (await self.registration.getNotifications({tag})).length};
}"""


async def test_notification_click_opens_the_thread(
    browsing: Factory, demo_gateway: DemoGateway, guardian_push: GuardianPush
) -> None:
    first_subject, second_subject = unique("Forældremøde"), unique("Skolefoto")
    first = str(send_to_class(demo_gateway, first_subject)["thread_id"])
    second = str(send_to_class(demo_gateway, second_subject)["thread_id"])
    first_text, first_payload = await guardian_push.next_payload(first)
    second_text, second_payload = await guardian_push.next_payload(second)
    assert _unread(demo_gateway, first) == 1

    b = await browsing()
    page, workers = await _guardian_page(b)
    await open_settings(page)  # the view where the push control (and its listener) is
    await control_state(page, "off")
    await register_service_worker(page)
    worker = b.context.service_workers[0]
    assert worker.url == f"{demo_gateway.base_url}/sw.js"

    # The inbox is open in a tab: it is asked to open the thread, confirms, and no
    # window is opened; opening it marks it read.
    await _deliver(b, workers, first_text)
    await notifications(page, first_payload["tag"])
    result = await worker.evaluate(CLICK, {"tag": first_payload["tag"], "stubOpenWindow": True})
    assert result == {"opened": [], "left": 0}  # handled by the page, notification closed
    await page.get_by_role("heading", name=first_subject).wait_for()

    async def first_read() -> bool:
        return _unread(demo_gateway, first) == 0

    await wait_until(first_read)
    await b.screenshot(page, "thread-opened-by-click")

    # No page of the origin shows the inbox: after the page's silence, the thread's link
    # is opened in a new window.
    await page.goto(f"{demo_gateway.base_url}/healthz")
    await _deliver(b, workers, second_text)
    await notifications(page, second_payload["tag"])
    result = await worker.evaluate(CLICK, {"tag": second_payload["tag"], "stubOpenWindow": True})
    assert result == {"opened": [second_payload["url"]], "left": 0}

    # That link, for real: the gateway redirects it to the portal at the thread, which
    # opens it and marks it read. (Followed in the tab that knows the demo person: the
    # demo keeps who you are per tab, as a portal's login session would across tabs.)
    status, location = redirect_of(second_payload["url"])
    assert status in (302, 303, 307)
    assert location.endswith(f"/demo?thread={second}")
    assert _unread(demo_gateway, second) == 1
    await page.goto(second_payload["url"])
    assert page.url == f"{demo_gateway.base_url}/demo?thread={second}"
    await page.get_by_role("heading", name=second_subject).wait_for()

    async def second_read() -> bool:
        return _unread(demo_gateway, second) == 0

    await wait_until(second_read)
    await b.screenshot(page, "thread-opened-from-link")


# Headless Chromium on this closed network cannot reach a real push service (Chrome's is
# Google's FCM), so PushManager.subscribe() would fail here. In this test only, the
# browser's PushManager is replaced by an init script that returns a subscription with
# the endpoint and keys of a subscriber of the test's own push service. Everything after
# the browser's subscribe call is real: the control's POST, the gateway storing it, the
# gateway encrypting, signing and sending, the push service verifying and decrypting,
# the real service worker (registered by the control) showing it, and the DELETE.
async def test_push_control_turns_on_and_off(
    browsing: Factory, demo_gateway: DemoGateway, push_service: PushService, axe: str
) -> None:
    subscriber = push_service.subscribe(
        "browser-control", application_server_key=vapid_key(demo_gateway)
    )
    watched = GuardianPush(push_service, subscriber, demo_gateway)
    try:
        b = await browsing(viewport=PHONE)
        await b.context.add_init_script(fake_push_manager(subscriber))
        page, workers = await _guardian_page(b)
        await open_settings(page)
        await control_state(page, "off")
        assert await axe_on_control(page, axe) == []
        await control_screenshot(b, page, "control-off")

        await page.get_by_role("button", name="Slå push-notifikationer til").click()
        await control_state(page, "on")
        assert "slået til" in await page.locator(CONTROL).inner_text()
        listed = _mine(demo_gateway, push_service.origin)
        assert len(listed) == 1 and listed[0]["disabled"] is False
        assert "Chrome" in (listed[0]["user_agent"] or "")
        assert await axe_on_control(page, axe) == []
        await control_screenshot(b, page, "control-on")
        await b.screenshot(page, "settings-push-on")

        # The gateway now pushes to this browser's subscription.
        subject = unique(WALK_THROUGH_SUBJECT)
        thread_id = str(send_to_class(demo_gateway, subject)["thread_id"])
        plaintext, payload = await watched.next_payload(thread_id)
        assert subject in payload["title"]
        # ...and the service worker the control registered shows it.
        await _deliver(b, workers, plaintext)
        shown = await notifications(page, payload["tag"])
        assert shown[0]["title"] == payload["title"]
        await page.evaluate(CLOSE_NOTIFICATIONS)

        # Shown again (a reload): the browser's subscription is posted again, which the
        # gateway takes as the same one.
        await page.reload()
        await open_settings(page)
        await control_state(page, "on")
        again = _mine(demo_gateway, push_service.origin)
        assert [item["id"] for item in again] == [listed[0]["id"]]

        await page.get_by_role("button", name="Slå push-notifikationer fra").click()
        await control_state(page, "off")
        assert _mine(demo_gateway, push_service.origin) == []
        assert (
            await page.evaluate(
                "navigator.serviceWorker.getRegistration('/')"
                ".then(r => r.pushManager.getSubscription())"
            )
            is None
        )
        await control_screenshot(b, page, "control-off-again")
    finally:
        _forget(demo_gateway, push_service.origin)


async def test_push_control_states_and_arabic(
    browsing: Factory, demo_gateway: DemoGateway, axe: str
) -> None:
    # A browser without the Push API.
    b = await browsing(viewport=PHONE)
    await b.context.add_init_script("delete window.PushManager;")
    page, _ = await _guardian_page(b)
    await open_settings(page)
    await control_state(page, "unsupported")
    assert await page.locator(f"{CONTROL} button").count() == 0
    assert "understøtter ikke" in await page.locator(CONTROL).inner_text()
    await control_screenshot(b, page, "control-unsupported")

    # Notifications blocked in the browser's settings for the site.
    blocked = await browsing(viewport=PHONE)
    await blocked.context.add_init_script(
        "Object.defineProperty(Notification, 'permission', {get: () => 'denied'});"
    )
    page, _ = await _guardian_page(blocked)
    await open_settings(page)
    await control_state(page, "blocked")
    assert "blokeret" in await page.locator(CONTROL).inner_text()
    assert await axe_on_control(page, axe) == []
    await control_screenshot(blocked, page, "control-blocked")

    # Arabic, right to left.
    arabic = await browsing(locale="ar", viewport=PHONE)
    page = await arabic.open_as("guardian", "/demo?lang=ar")
    await open_settings(page, "ar")
    await control_state(page, "off")
    button = page.get_by_role("button", name="تفعيل الإشعارات الفورية")
    assert await button.is_visible()
    direction = await page.locator("budstikke-inbox section.bs-push").evaluate(
        "(el) => getComputedStyle(el).direction"
    )
    assert direction == "rtl"
    assert await page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    assert await axe_on_control(page, axe) == []
    await control_screenshot(arabic, page, "control-arabic")
    await arabic.screenshot(page, "settings-arabic")


# pushsubscriptionchange cannot be caused from outside either (the browser fires it when
# its push service replaces a subscription), so the worker's real listener gets an event
# made in the worker, carrying a new subscription of the test's push service. The worker
# has no token: it hands the subscription to the open page, whose control posts it.
SUBSCRIPTION_CHANGE = """async (renewed) => {
  const event = new Event("pushsubscriptionchange");
  const pending = [];
  event.waitUntil = (promise) => pending.push(promise);
  event.oldSubscription = null;
  event.newSubscription = {endpoint: renewed.endpoint, toJSON: () => renewed};
  self.dispatchEvent(event);
  await Promise.all(pending);
}"""


async def test_a_renewed_subscription_reaches_the_gateway_through_the_page(
    browsing: Factory, demo_gateway: DemoGateway, push_service: PushService
) -> None:
    key = vapid_key(demo_gateway)
    first = push_service.subscribe("before-change", application_server_key=key)
    renewed = push_service.subscribe("after-change", application_server_key=key)
    try:
        b = await browsing()
        await b.context.add_init_script(fake_push_manager(first))  # see the test above
        page, _ = await _guardian_page(b)
        await open_settings(page)
        await control_state(page, "off")
        await page.get_by_role("button", name="Slå push-notifikationer til").click()
        await control_state(page, "on")
        assert len(_mine(demo_gateway, push_service.origin)) == 1

        worker = b.context.service_workers[0]
        body = {"endpoint": renewed.endpoint, "expirationTime": None, "keys": renewed.keys}
        await worker.evaluate(SUBSCRIPTION_CHANGE, body)

        async def posted() -> bool:
            return len(_mine(demo_gateway, push_service.origin)) == 2

        await wait_until(posted)
        subject = unique(WALK_THROUGH_SUBJECT)
        thread_id = str(send_to_class(demo_gateway, subject)["thread_id"])
        _, payload = await GuardianPush(push_service, renewed, demo_gateway).next_payload(thread_id)
        assert subject in payload["title"]
    finally:
        _forget(demo_gateway, push_service.origin)


async def test_push_control_without_permission_or_server_key(
    browsing: Factory, demo_gateway: DemoGateway
) -> None:
    # The reader is asked and does not allow notifications (this context grants nothing:
    # headless Chromium denies the prompt itself, so the control then says blocked).
    b = await browsing(viewport=PHONE)
    await b.context.clear_permissions()
    page, _ = await _guardian_page(b)
    await open_settings(page)
    await control_state(page, "off")
    await page.get_by_role("button", name="Slå push-notifikationer til").click()
    alert = page.locator(f"{CONTROL} [role=alert]")
    await alert.wait_for()
    assert "ikke tilladt" in await alert.inner_text()
    await control_screenshot(b, page, "control-not-allowed")

    # A gateway without web push configured answers 404 for its key.
    bare = await browsing(viewport=PHONE)
    page, _ = await _guardian_page(bare)
    await page.route(
        "**/v1/push/vapid-public-key",
        lambda route: route.fulfill(
            status=404,
            content_type="application/problem+json",
            body='{"type":"about:blank","title":"Not Found","status":404}',
        ),
    )
    await open_settings(page)
    await control_state(page, "unavailable")
    assert await page.locator(f"{CONTROL} button").count() == 0
    await control_screenshot(bare, page, "control-unavailable")
