"""What the web push browser tests share: sending, waiting for pushes, and driving the
service worker through the DevTools protocol.

The push control (``gateway/web/inbox/push.js``) is used where readers find it: in the
settings view of ``<budstikke-inbox>`` on the demo portal.
"""

from __future__ import annotations

import base64
import json
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import BrowserContext, CDPSession, Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from gateway.web_catalog import ui_catalog
from tests.channels.push_service import PushService, Received, Subscriber
from tests.e2e.conftest import Browsing, DemoGateway, wait_until

WALK_THROUGH_SUBJECT = "Tur til skoven fredag"
WALK_THROUGH_BODY = "Husk **regntøj** og madpakke."

# The notifications the page's service worker registration shows (optionally one tag).
NOTIFICATIONS = """async (tag) => {
  const registration = await navigator.serviceWorker.getRegistration("/");
  const shown = await registration.getNotifications(tag ? {tag} : {});
  return shown.map((n) => ({title: n.title, body: n.body, tag: n.tag, data: n.data,
    lang: n.lang, dir: n.dir, renotify: n.renotify, requireInteraction: n.requireInteraction}));
}"""

CLOSE_NOTIFICATIONS = """async () => {
  const registration = await navigator.serviceWorker.getRegistration("/");
  for (const n of await registration.getNotifications()) n.close();
}"""

# A picture of what the service worker showed, for the screenshots only: headless
# Chromium draws no notification, so the test lays registration.getNotifications() out
# on the page (as text, like the system's notification would).
DRAW_NOTIFICATIONS = """(items) => {
  document.getElementById("shown-notifications")?.remove();
  const box = document.createElement("section");
  box.id = "shown-notifications";
  box.setAttribute("aria-label", "registration.getNotifications()");
  Object.assign(box.style, {margin: "1rem", display: "grid", gap: "0.5rem",
    fontFamily: "system-ui, sans-serif"});
  const caption = document.createElement("p");
  caption.textContent = `registration.getNotifications(): ${items.length}`;
  box.append(caption);
  for (const item of items) {
    const card = document.createElement("article");
    Object.assign(card.style, {border: "1px solid #d4d2ca", borderRadius: "8px",
      padding: "0.75rem", background: "#ffffff", maxWidth: "26rem",
      boxShadow: "0 2px 6px rgba(0,0,0,0.15)"});
    card.dir = item.dir || "auto";
    const title = document.createElement("strong");
    title.textContent = item.title;
    const body = document.createElement("p");
    body.textContent = item.body;
    body.style.margin = "0.25rem 0";
    const meta = document.createElement("small");
    meta.textContent = `tag ${item.tag} · url ${item.data && item.data.url}`;
    card.append(title, body, meta);
    box.append(card);
  }
  (document.querySelector("main") || document.body).append(box);
}"""

# Replaces the browser's PushManager (see test_push_control_turns_on_and_off for why):
# subscribe() and getSubscription() return a subscription with the endpoint and keys of
# a subscriber of the test's own push service; it lives in sessionStorage so a reload
# finds it, as a real one would be found.
FAKE_PUSH_MANAGER = """(() => {
  const fake = %s;
  const stored = "budstikke-test-push-subscription";
  const bytes = (text) => {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const raw = atob(base64 + "=".repeat((4 - (base64.length %% 4)) %% 4));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0)).buffer;
  };
  const text = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)))
    .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  const subscription = (key) => ({
    endpoint: fake.endpoint, expirationTime: null,
    options: {userVisibleOnly: true, applicationServerKey: bytes(key)},
    getKey: (name) => bytes(fake.keys[name]),
    toJSON: () => ({endpoint: fake.endpoint, expirationTime: null, keys: {...fake.keys}}),
    unsubscribe: async () => { sessionStorage.removeItem(stored); return true; },
  });
  PushManager.prototype.subscribe = async function (options) {
    if (!options || !options.userVisibleOnly || !options.applicationServerKey) {
      throw new DOMException("userVisibleOnly and applicationServerKey needed", "NotAllowedError");
    }
    const key = text(options.applicationServerKey.buffer || options.applicationServerKey);
    sessionStorage.setItem(stored, key);
    return subscription(key);
  };
  PushManager.prototype.getSubscription = async function () {
    const key = sessionStorage.getItem(stored);
    return key ? subscription(key) : null;
  };
})();"""


def fake_push_manager(subscriber: Subscriber) -> str:
    return FAKE_PUSH_MANAGER % json.dumps(
        {"endpoint": subscriber.endpoint, "keys": subscriber.keys}
    )


def vapid_key(gateway: DemoGateway) -> str:
    key: str = gateway.api("GET", "/v1/push/vapid-public-key")["public_key"]
    assert len(base64.urlsafe_b64decode(key + "==")) == 65
    return key


def class_id(gateway: DemoGateway, teacher: str) -> str:
    """The id of 3.A, the teacher's class."""
    groups = gateway.api("GET", "/v1/me", teacher)["groups"]
    found = [group["id"] for group in groups if group.get("name") == "3.A"]
    assert found, groups
    return str(found[0])


def send_to_class(
    gateway: DemoGateway, subject: str, body: str = WALK_THROUGH_BODY, **extra: Any
) -> dict[str, Any]:
    """The teacher writes to the guardians of 3.A (the README's walk-through)."""
    teacher = gateway.token("teacher")
    audience = {
        "targets": [{"type": "group", "group": class_id(gateway, teacher), "roles": ["guardians"]}]
    }
    sent: dict[str, Any] = gateway.api(
        "POST",
        "/v1/messages",
        teacher,
        {"subject": subject, "body": body, "audience": audience, **extra},
    )
    return sent


def unique(text: str) -> str:
    return f"{text} {uuid.uuid4().hex[:6]}"


@dataclass
class GuardianPush:
    """A subscriber of the test's push service, registered for the guardian."""

    service: PushService
    subscriber: Subscriber
    gateway: DemoGateway
    subscription_id: str = ""
    taken: set[int] = field(default_factory=set)  # the pushes next_payload returned

    def register(self) -> dict[str, Any]:
        token = self.gateway.token("guardian")
        stored: dict[str, Any] = self.gateway.api(
            "POST",
            "/v1/push/subscriptions",
            token,
            {
                "endpoint": self.subscriber.endpoint,
                "keys": self.subscriber.keys,
                "user_agent": "browser test",
            },
        )
        self.subscription_id = str(stored["id"])
        return stored

    def received(self) -> list[Received]:
        return [item for item in self.service.received if item.path == self.subscriber.path]

    async def next_payload(self, thread_id: str, within: float = 30.0) -> tuple[str, Any]:
        """The decrypted text and JSON of the next push for a thread."""
        found: list[Received] = []

        async def arrived() -> bool:
            found[:] = [
                item
                for item in self.received()
                if id(item) not in self.taken
                and json.loads(item.plaintext).get("thread_id") == thread_id
            ]
            return bool(found)

        await wait_until(arrived, within)
        self.taken.add(id(found[0]))
        plaintext = found[0].plaintext.decode("utf-8")
        return plaintext, json.loads(plaintext)


@dataclass
class ServiceWorkers:
    """The DevTools ``ServiceWorker`` domain for one page: registrations, push delivery."""

    cdp: CDPSession
    registrations: dict[str, str] = field(default_factory=dict)  # scope URL -> id

    @classmethod
    async def attach(cls, context: BrowserContext, page: Page) -> ServiceWorkers:
        workers = cls(await context.new_cdp_session(page))
        workers.cdp.on("ServiceWorker.workerRegistrationUpdated", workers._updated)
        await workers.cdp.send("ServiceWorker.enable")
        return workers

    def _updated(self, params: dict[str, Any]) -> None:
        for registration in params["registrations"]:
            if registration.get("isDeleted"):
                self.registrations.pop(registration["scopeURL"], None)
            else:
                self.registrations[registration["scopeURL"]] = registration["registrationId"]

    async def registration_id(self, scope: str) -> str:
        async def known() -> bool:
            return scope in self.registrations

        await wait_until(known, 15)
        return self.registrations[scope]

    async def deliver(self, origin: str, scope: str, data: str) -> None:
        """Hand the service worker a push message, as the browser's push service would."""
        await self.cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": origin, "registrationId": await self.registration_id(scope), "data": data},
        )


async def register_service_worker(page: Page) -> None:
    await page.evaluate(
        """async () => {
            await navigator.serviceWorker.register("/sw.js", {scope: "/"});
            await navigator.serviceWorker.ready;
        }"""
    )


async def notifications(page: Page, tag: str | None = None, count: int = 1) -> list[Any]:
    """The notifications shown (for a tag), once there are ``count`` of them."""
    shown: list[Any] = []

    async def there() -> bool:
        shown[:] = await page.evaluate(NOTIFICATIONS, tag)
        return len(shown) >= count

    await wait_until(there, 15)
    return shown


CONTROL = "budstikke-inbox section.bs-push"


async def open_settings(page: Page, locale: str = "da") -> None:
    """The inbox's settings view (where the push control is) on an open demo page."""
    settings = ui_catalog(locale)["messages"].get("Settings", "Settings")
    await page.get_by_role("button", name=settings, exact=True).click()
    await page.locator(CONTROL).wait_for()


async def control_screenshot(b: Browsing, page: Page, name: str) -> None:
    """A screenshot of the push control alone (the settings page is long on a phone)."""
    b.shots.mkdir(parents=True, exist_ok=True)
    await page.locator(CONTROL).screenshot(path=str(b.shots / f"{name}.png"))


async def control_state(page: Page, state: str) -> None:
    """Wait until the control shows ``state``; say what it shows otherwise."""
    try:
        await page.locator(f'{CONTROL}[data-state="{state}"]').wait_for(timeout=15_000)
    except PlaywrightTimeout:
        shown = await page.evaluate(
            """() => { const s = document.querySelector("budstikke-inbox")
                ?.shadowRoot?.querySelector("section.bs-push");
              return s ? `${s.dataset.state}: ${s.innerText}` : "no control"; }"""
        )
        raise AssertionError(f"the push control is not {state!r} but {shown!r}") from None


async def axe_on_control(page: Page, source: str) -> list[str]:
    """axe-core's serious/critical WCAG 2.1 A/AA violations inside the mounted control."""
    await page.evaluate(source)
    result: list[dict[str, Any]] = await page.evaluate(
        """async () => {
            const r = await axe.run({include: [["budstikke-inbox", "section.bs-push"]]},
                {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(" "))}));
        }"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} {v['nodes']}"
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


def redirect_of(url: str) -> tuple[int, str]:
    """Status and Location of a GET, without following the redirect."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=10) as response:
            return response.status, response.headers.get("Location", "")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location", "")
