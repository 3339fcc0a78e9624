"""The inbox component in a real browser against a real gateway.

A teacher sends through the API while the guardian's page is already open; the new
thread appears live with its unread badge, the guardian reads it and replies with the
form, and the teacher's open thread shows the reply and the read receipts change live.
Then a recalled message, a sensitive thread behind a weak login, and an attachment.
Nothing is faked: the pages talk to the gateway ``budstikke run`` started.
"""

from __future__ import annotations

import io
import json
import urllib.request
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from playwright.async_api import Locator, Page

from tests.e2e.conftest import Browsing, DemoGateway, wait_until

Factory = Callable[..., Awaitable[Browsing]]
INBOX = "budstikke-inbox"
RECALLED = "Beskeden er trukket tilbage"
ASSURANCE_TEXT = "Denne besked er følsom. Log ind med MitID for at læse den."

# The host's events, recorded from the start of the page (an init script is injected by
# DevTools, so the page's CSP does not apply to it).
RECORD_EVENTS = """
window.__inboxEvents = [];
for (const name of ["budstikke-navigate", "budstikke-auth-needed"]) {
  document.addEventListener(name, (event) =>
    window.__inboxEvents.push({type: name, detail: event.detail}));
}
"""
ACTIVE = """() => {
  const el = document.querySelector("budstikke-inbox");
  const active = el && el.shadowRoot && el.shadowRoot.activeElement;
  if (!active) return null;
  const style = getComputedStyle(active);
  return {tag: active.tagName.toLowerCase(), text: active.textContent.trim(),
          thread: active.dataset.thread || null, view: active.dataset.view || null,
          cls: active.className, outlineStyle: style.outlineStyle,
          outlineWidth: style.outlineWidth, outlineColor: style.outlineColor};
}"""


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"


def class_of_teacher(gateway: DemoGateway) -> str:
    me = gateway.api("GET", "/v1/me", gateway.token("teacher"))
    group: str = next(g["id"] for g in me["groups"] if g["kind"] == "class")
    return group


def send_to_class(gateway: DemoGateway, subject: str, body: str, **extra: Any) -> dict[str, Any]:
    """The teacher's message to the guardians of 3.A (Anne Holm among them)."""
    audience = {
        "targets": [{"type": "group", "group": class_of_teacher(gateway), "roles": ["guardians"]}]
    }
    accepted: dict[str, Any] = gateway.api(
        "POST",
        "/v1/messages",
        gateway.token("teacher"),
        {"subject": subject, "body": body, "audience": audience, **extra},
    )
    return accepted


def upload(gateway: DemoGateway, name: str, content: bytes) -> dict[str, Any]:
    """An attachment uploaded as the teacher (multipart field ``file``)."""
    boundary = uuid.uuid4().hex
    body = io.BytesIO()
    disposition = f'form-data; name="file"; filename="{name}"'
    body.write(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode())
    body.write(b"Content-Type: text/plain\r\n\r\n" + content + f"\r\n--{boundary}--\r\n".encode())
    request = urllib.request.Request(
        gateway.base_url + "/v1/attachments", data=body.getvalue(), method="POST"
    )
    request.add_header("content-type", f"multipart/form-data; boundary={boundary}")
    request.add_header("authorization", f"Bearer {gateway.token('teacher')}")
    with urllib.request.urlopen(request, timeout=30) as response:
        result: dict[str, Any] = json.loads(response.read())
    return result


def inbox(page: Page) -> Locator:
    return page.locator(INBOX)


def thread_item(page: Page, thread_id: str) -> Locator:
    return page.locator(f'{INBOX} .thread-link[data-thread="{thread_id}"]')


async def ready(page: Page) -> None:
    """The component has drawn its shell and its event stream is open."""
    await page.locator(f"{INBOX} .nav-item").first.wait_for()
    await page.locator(f'{INBOX} .root[data-live="open"]').wait_for(state="attached")


async def active(page: Page) -> dict[str, Any] | None:
    info: dict[str, Any] | None = await page.evaluate(ACTIVE)
    return info


async def nav_count(page: Page, view: str) -> int:
    value = await page.locator(f'{INBOX} .nav-item[data-view="{view}"]').get_attribute("data-count")
    return int(value or 0)


async def test_guardian_reads_and_replies_while_the_teacher_watches_live(
    browsing: Factory, demo_gateway: DemoGateway
) -> None:
    guardian_side = await browsing()
    guardian = await guardian_side.page()
    await guardian.add_init_script(RECORD_EVENTS)
    await guardian.goto(f"{demo_gateway.base_url}/demo?as={demo_gateway.people['guardian']}")
    await ready(guardian)
    await guardian.locator(f"{INBOX} [data-view=threads] h2").wait_for()
    await guardian.evaluate("window.__noReload = true")
    # The count the nav shows once its first load is in (it may still be on its way).
    unread_before = int(
        demo_gateway.api("GET", "/v1/inbox/unread", demo_gateway.token("guardian"))["total"]
    )
    await wait_until(lambda: _count_is(guardian, "threads", unread_before))
    await guardian_side.screenshot(guardian, "1-guardian-inbox-before")

    subject = unique("Tur til skoven fredag")
    accepted = send_to_class(demo_gateway, subject, "Husk **regntøj** og madpakke.")
    thread_id = accepted["thread_id"]

    # Live: the thread appears without a reload, unread, with its badge in text too.
    item = thread_item(guardian, thread_id)
    await item.wait_for(timeout=20_000)
    assert subject in await item.inner_text()
    assert await item.locator(".badge").inner_text() == "1"
    assert "1 ulæst besked" in (await item.text_content() or "")
    await wait_until(lambda: _count_is(guardian, "threads", unread_before + 1))
    assert await guardian.evaluate("window.__noReload === true")
    await guardian_side.screenshot(guardian, "2-guardian-new-message-live")

    # The teacher's page, on the thread: no one has read it yet.
    teacher_side = await browsing()
    teacher = await teacher_side.open_as("teacher", f"/demo?thread={thread_id}")
    await ready(teacher)
    receipts = teacher.locator(f"{INBOX} details.receipts")
    await receipts.wait_for()
    await wait_until(lambda: _attribute_is(receipts, "data-read", "0"))
    total = int(await receipts.get_attribute("data-total") or 0)
    assert total > 1
    assert f"Læst af 0 af {total}" in await receipts.locator("summary").inner_text()
    await teacher_side.screenshot(teacher, "3-teacher-thread-unread")

    # The guardian opens it: the message, marked read; the teacher's count moves live.
    await item.click()
    heading = guardian.locator(f"{INBOX} [data-view=thread] h2")
    await heading.wait_for()
    assert await heading.inner_text() == subject
    body = guardian.locator(f"{INBOX} .message-body").first
    assert "Husk regntøj og madpakke." in await body.inner_text()
    assert await body.locator("strong").inner_text() == "regntøj"
    await wait_until(lambda: _attribute_is(receipts, "data-read", "1"))
    assert f"Læst af 1 af {total}" in await receipts.locator("summary").inner_text()
    await receipts.locator("summary").click()
    read_line = receipts.locator("li", has_text="Anne Holm")
    read_text = await read_line.inner_text()
    assert "læst" in read_text and "ikke læst" not in read_text
    await teacher_side.screenshot(teacher, "4-teacher-receipt-live")
    events = await guardian.evaluate("window.__inboxEvents")
    assert {"type": "budstikke-navigate", "detail": {"view": "thread", "id": thread_id}} in events

    # The reply form; the teacher's page shows the reply without a reload.
    await teacher.evaluate("window.__noReload = true")
    reply = f"Tak, vi husker det! {uuid.uuid4().hex[:4]}"
    await guardian.locator(f"{INBOX} form.reply textarea").fill(reply)
    await guardian.locator(f"{INBOX} form.reply button[type=submit]").click()
    await guardian.locator(f"{INBOX} form.reply", has_text="Dit svar er sendt.").wait_for()
    await guardian.locator(f"{INBOX} .message.own", has_text=reply).wait_for()
    await guardian_side.screenshot(guardian, "5-guardian-replied")
    await teacher.locator(f"{INBOX} .message", has_text=reply).wait_for(timeout=20_000)
    assert await teacher.evaluate("window.__noReload === true")
    live = await teacher.locator(f"{INBOX} .live-region").text_content()
    assert live is not None
    await wait_until(lambda: _live_says(teacher, "Ny besked fra Anne Holm"))
    await teacher_side.screenshot(teacher, "6-teacher-sees-reply-live")

    # Back to the list: the thread is read now.
    await guardian.locator(f"{INBOX} .back").click()
    await item.wait_for()
    assert await item.locator(".badge").count() == 0
    await guardian_side.screenshot(guardian, "7-guardian-list-after")


async def test_a_recalled_message_shows_its_marker_live(
    browsing: Factory, demo_gateway: DemoGateway
) -> None:
    subject = unique("Forældremøde")
    accepted = send_to_class(demo_gateway, subject, "Mødet er flyttet til torsdag.")
    side = await browsing()
    page = await side.open_as("guardian", f"/demo?thread={accepted['thread_id']}")
    await ready(page)
    await page.locator(f"{INBOX} .message-body", has_text="Mødet er flyttet").wait_for()

    demo_gateway.api(
        "POST", f"/v1/messages/{accepted['message_id']}/recall", demo_gateway.token("teacher"), {}
    )
    marker = page.locator(f"{INBOX} .message .recalled")
    await marker.wait_for(timeout=20_000)
    assert await marker.inner_text() == RECALLED
    assert await page.locator(f"{INBOX} .message-body", has_text="Mødet er flyttet").count() == 0
    await side.screenshot(page, "recalled")


async def test_a_sensitive_thread_asks_for_a_stronger_login(
    browsing: Factory, demo_gateway: DemoGateway
) -> None:
    accepted = send_to_class(
        demo_gateway, unique("Om Lærkes trivsel"), "Kan vi tale sammen i morgen?", sensitive=True
    )
    thread_id = accepted["thread_id"]
    side = await browsing()
    page = await side.page()
    await page.add_init_script(RECORD_EVENTS)
    await page.goto(f"{demo_gateway.base_url}/demo?as={demo_gateway.people['guardian']}")
    await ready(page)

    # In the list: the clear marker (an icon and the word), no subject.
    item = thread_item(page, thread_id)
    await item.wait_for()
    tag = item.locator(".tag-sensitive")
    assert await tag.inner_text() == "Følsom"
    assert await tag.locator("svg").count() == 1
    assert "trivsel" not in await item.inner_text()
    await side.screenshot(page, "1-sensitive-in-list")

    # A low-assurance login (as a portal would hand one out): the calm box, not a code.
    low = demo_gateway.token("guardian", acr="low")
    await page.evaluate(
        """([token, id]) => {
            const el = document.querySelector("budstikke-inbox");
            el.tokenProvider = async () => token;
            el.setAttribute("thread", id);
        }""",
        [low, thread_id],
    )
    box = page.locator(f"{INBOX} .problem-assurance")
    await box.wait_for()
    assert ASSURANCE_TEXT in await box.inner_text()
    assert await box.get_attribute("role") == "alert"
    events = await page.evaluate("window.__inboxEvents")
    assert {"type": "budstikke-auth-needed", "detail": {"acr": "substantial"}} in events
    assert await page.locator(f"{INBOX} .message-body").count() == 0
    await side.screenshot(page, "2-sensitive-low-login")

    # Logged in more strongly, "Try again" shows the thread.
    strong = demo_gateway.token("guardian", acr="substantial")
    await page.evaluate(
        "token => { document.querySelector('budstikke-inbox').tokenProvider = async () => token; }",
        strong,
    )
    await box.locator("button").click()
    await page.locator(f"{INBOX} .message-body", has_text="Kan vi tale sammen").wait_for()
    assert await page.locator(f"{INBOX} .thread-markers .tag-sensitive").inner_text() == "Følsom"
    await side.screenshot(page, "3-sensitive-strong-login")


async def test_an_attachment_downloads_with_the_token(
    browsing: Factory, demo_gateway: DemoGateway
) -> None:
    content = b"Madplan for uge 49\n"
    attachment = upload(demo_gateway, "madplan.txt", content)
    accepted = send_to_class(
        demo_gateway,
        unique("Madplan"),
        "Se den vedhæftede madplan.",
        attachments=[attachment["id"]],
    )
    side = await browsing()
    page = await side.open_as("guardian", f"/demo?thread={accepted['thread_id']}")
    await ready(page)
    button = page.locator(f"{INBOX} .attachments button", has_text="madplan.txt")
    await button.wait_for()
    assert "Hent madplan.txt" in await button.inner_text()
    async with page.expect_download() as info:
        await button.click()
    download = await info.value
    assert download.suggested_filename == "madplan.txt"
    path = await download.path()
    assert path.read_bytes() == content
    await side.screenshot(page, "attachment")


async def test_the_child_filter_and_the_views_of_a_guardian_with_two_children(
    browsing: Factory, demo_gateway: DemoGateway
) -> None:
    """Lærke (3.A) and Otto (daycare): the filter narrows the list to one child, and the
    daycare child brings the absence view; a teacher has neither."""
    thread_id = send_to_class(demo_gateway, unique("Lektier"), "Læs side 12-14.")["thread_id"]
    side = await browsing()
    page = await side.open_as("guardian")
    await ready(page)
    item = thread_item(page, thread_id)
    await item.wait_for()
    assert "Om Lærke Holm" in await item.inner_text()
    select = page.locator(f"{INBOX} .child-filter select")
    labels = await select.locator("option").all_inner_texts()
    assert labels == ["Alle børn", "Lærke Holm", "Otto Holm"]

    await select.select_option(label="Otto Holm")
    await page.locator(f"{INBOX} [data-view=threads] h2").wait_for()
    await page.locator(f"{INBOX} [data-view=threads] [aria-busy]").wait_for(state="detached")
    await wait_until(lambda: _gone(item))
    otto = await page.locator(f"{INBOX} [data-view=threads] .thread-meta").all_inner_texts()
    assert all("Otto Holm" in text for text in otto), otto
    await wait_until(lambda: _count_is(page, "threads", sum_unread(demo_gateway, "Otto")))
    await side.screenshot(page, "1-filter-otto")
    await select.select_option(label="Lærke Holm")
    await item.wait_for()
    await side.screenshot(page, "2-filter-laerke")

    labels = await page.locator(f"{INBOX} .nav-item > span:first-child").all_inner_texts()
    assert labels == ["Beskeder", "Opslag", "Samtykker", "Sygemelding", "Indstillinger"]
    await page.locator(f'{INBOX} .nav-item[data-view="notices"]').click()
    notices = page.locator(f"{INBOX} .view[data-view=notices]")
    await notices.locator("h2").first.wait_for()
    assert "ikke tilgængelig" not in await notices.inner_text()
    await side.screenshot(page, "3-absence")
    await page.locator(f'{INBOX} .nav-item[data-view="settings"]').click()
    settings = page.locator(f"{INBOX} .view[data-view=settings]")
    await settings.locator("h2").first.wait_for()
    await side.screenshot(page, "4-settings")

    teacher = await side.open_as("teacher")
    await ready(teacher)
    assert await teacher.locator(f'{INBOX} .nav-item[data-view="notices"]').count() == 0
    assert await teacher.locator(f"{INBOX} .child-filter").count() == 0


def sum_unread(gateway: DemoGateway, first_name: str) -> int:
    """The guardian's unread count for one child, as the API gives it."""
    token = gateway.token("guardian")
    child = next(
        c["id"]
        for c in gateway.api("GET", "/v1/me", token)["children"]
        if c["display_name"].startswith(first_name)
    )
    counts = gateway.api("GET", "/v1/inbox/unread", token)["children"]
    return int(next((c["unread"] for c in counts if c["id"] == child), 0))


async def _gone(locator: Locator) -> bool:
    return await locator.count() == 0


async def _count_is(page: Page, view: str, expected: int) -> bool:
    return await nav_count(page, view) == expected


async def _attribute_is(locator: Locator, name: str, expected: str) -> bool:
    return await locator.get_attribute(name) == expected


async def _live_says(page: Page, text: str) -> bool:
    said = await page.locator(f"{INBOX} .live-region").text_content()
    return text in (said or "")
