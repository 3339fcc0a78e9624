"""Accessibility of the inbox component: keyboard only, visible focus, axe, RTL, phone.

The keyboard walk uses only Tab, Shift+Tab, Enter and Escape, and checks where the
focus lands inside the shadow root at each step. axe-core scans the thread list, a
thread and the announcements, at desktop and phone width, in Danish and in Arabic; the
Arabic layout must be mirrored and nothing may scroll sideways at phone width.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from playwright.async_api import Page

from tests.e2e.conftest import DESKTOP, PHONE, Browsing, DemoGateway, axe_violations, wait_until
from tests.e2e.test_web_inbox import INBOX, active, ready, send_to_class, thread_item, unique

Factory = Callable[..., Awaitable[Browsing]]
FOCUS_YELLOW = "rgb(255, 191, 71)"


def announce_to_class(gateway: DemoGateway, subject: str, *, important: bool) -> None:
    """An announcement to the guardians of 3.A, as the teacher."""
    me = gateway.api("GET", "/v1/me", gateway.token("teacher"))
    group = next(g["id"] for g in me["groups"] if g["kind"] == "class")
    gateway.api(
        "POST",
        "/v1/announcements",
        gateway.token("teacher"),
        {
            "subject": subject,
            "body": "Husk **madpakke** og drikkedunk.",
            "important": important,
            "audience": {"targets": [{"type": "group", "group": group, "roles": ["guardians"]}]},
        },
    )


async def tab_until(
    page: Page,
    check: Callable[[dict[str, Any]], bool],
    *,
    back: bool = False,
    limit: int = 40,
) -> dict[str, Any]:
    """Press Tab (or Shift+Tab) until the focused element inside the component passes ``check``."""
    for _ in range(limit):
        await page.keyboard.press("Shift+Tab" if back else "Tab")
        info = await active(page)
        if info is not None and check(info):
            return info
    raise AssertionError(f"focus never reached the element; last: {await active(page)}")


def has_visible_focus(info: dict[str, Any]) -> bool:
    return bool(
        info["outlineStyle"] == "solid"
        and info["outlineWidth"] == "3px"
        and info["outlineColor"] == FOCUS_YELLOW
    )


async def test_keyboard_only_from_the_nav_to_a_reply_and_back(
    browsing: Factory, demo_gateway: DemoGateway
) -> None:
    subject = unique("Klassens time")
    thread_id = send_to_class(demo_gateway, subject, "Vi ses i klassen kl. 17.")["thread_id"]
    side = await browsing()
    page = await side.open_as("guardian")
    await ready(page)
    await thread_item(page, thread_id).wait_for()

    # Tab from the top of the page into the component's navigation.
    nav = await tab_until(page, lambda i: i["view"] == "threads")
    assert nav["tag"] == "button"
    assert has_visible_focus(nav), nav
    await side.screenshot(page, "1-focus-on-nav")

    # On through the nav and the child filter to the newest thread, and open it.
    item = await tab_until(page, lambda i: i["thread"] is not None)
    assert item["thread"] == thread_id
    assert has_visible_focus(item), item
    await side.screenshot(page, "2-focus-on-thread")
    await page.keyboard.press("Enter")
    await page.locator(f"{INBOX} [data-view=thread] h2").wait_for()
    await wait_until(lambda: _focused_is(page, lambda i: i["tag"] == "h2" and i["text"] == subject))
    await side.screenshot(page, "3-thread-opened")

    # To the reply field; type and send with the keyboard; focus returns to the field.
    await tab_until(page, lambda i: i["tag"] == "textarea", limit=15)
    await page.keyboard.type("Tak, vi kommer begge to.")
    send = await tab_until(
        page, lambda i: i["tag"] == "button" and i["text"] == "Send svar", limit=3
    )
    assert has_visible_focus(send), send
    await page.keyboard.press("Enter")
    await page.locator(f"{INBOX} .message.own", has_text="Tak, vi kommer begge to.").wait_for()
    await wait_until(lambda: _focused_is(page, lambda i: i["tag"] == "textarea"))
    await side.screenshot(page, "4-replied")

    # Escape goes back to the list, with the focus on the thread we came from.
    await page.keyboard.press("Escape")
    await page.locator(f"{INBOX} [data-view=threads] .thread-link").first.wait_for()
    await wait_until(lambda: _focused_is(page, lambda i: i["thread"] == thread_id))
    back = await active(page)
    assert back is not None and has_visible_focus(back), back
    await side.screenshot(page, "5-back-on-the-list")

    # Shift+Tab leaves the list backwards: the child filter, then the last nav button.
    await page.keyboard.press("Shift+Tab")
    select = await active(page)
    assert select is not None and select["tag"] == "select", select
    assert has_visible_focus(select), select
    await page.keyboard.press("Shift+Tab")
    last = await active(page)
    assert last is not None and last["view"] == "settings", last

    # Enter on a nav button switches the view and keeps the focus on that button.
    await tab_until(page, lambda i: i["view"] == "announcements", back=True, limit=8)
    await page.keyboard.press("Enter")
    await page.locator(f"{INBOX} [data-view=announcements] h2").wait_for()
    current = page.locator(f'{INBOX} .nav-item[data-view="announcements"]')
    assert await current.get_attribute("aria-current") == "page"
    focused = await active(page)
    assert focused is not None and focused["view"] == "announcements"


@pytest.mark.parametrize("locale", ["da", "ar"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_axe_rtl_and_phone_width(
    browsing: Factory, demo_gateway: DemoGateway, axe: str, locale: str, viewport: dict[str, int]
) -> None:
    subject = unique("Skolefoto" if locale == "da" else "Skolefoto (ar)")
    thread_id = send_to_class(demo_gateway, subject, "Fotografen kommer **tirsdag**.")["thread_id"]
    announce_to_class(demo_gateway, unique("Vigtigt: Juleafslutning"), important=True)
    announce_to_class(demo_gateway, unique("Juleklip"), important=False)
    side = await browsing(viewport=viewport)
    page = await side.open_as("guardian")
    await ready(page)
    if locale != "da":
        await page.evaluate(f"document.querySelector('{INBOX}').setAttribute('locale', '{locale}')")
        await ready(page)
    root = page.locator(f"{INBOX} .root")
    await wait_until(lambda: _attribute(root, "lang", locale))
    assert await root.get_attribute("dir") == ("rtl" if locale == "ar" else "ltr")
    item = thread_item(page, thread_id)
    await item.wait_for()
    name = f"{locale}-{'phone' if viewport == PHONE else 'desktop'}"

    # The thread list: axe, no sideways scroll, and the badge on the reading side's end.
    assert await axe_violations(page, axe) == []
    assert await no_horizontal_scroll(page)
    subject_box = await item.locator(".thread-subject").bounding_box()
    badge_box = await item.locator(".badge").bounding_box()
    assert subject_box is not None and badge_box is not None
    if locale == "ar":
        assert badge_box["x"] + badge_box["width"] <= subject_box["x"] + 1, (badge_box, subject_box)
    else:
        assert badge_box["x"] >= subject_box["x"] + subject_box["width"] - 1, (
            badge_box,
            subject_box,
        )
    await side.screenshot(page, f"{name}-1-threads")

    # A thread.
    await item.click()
    await page.locator(f"{INBOX} .message-body", has_text="Fotografen kommer").wait_for()
    assert await axe_violations(page, axe) == []
    assert await no_horizontal_scroll(page)
    back = await page.locator(f"{INBOX} .back").bounding_box()
    heading = await page.locator(f"{INBOX} [data-view=thread] h2").bounding_box()
    assert back is not None and heading is not None
    if locale == "ar":  # the back button starts at the right edge, like the heading
        assert abs((back["x"] + back["width"]) - (heading["x"] + heading["width"])) < 12
    else:
        assert abs(back["x"] - heading["x"]) < 12
    await side.screenshot(page, f"{name}-2-thread")

    # The announcements, important ones first; one opened (and so marked read).
    await page.locator(f'{INBOX} .nav-item[data-view="announcements"]').click()
    first = page.locator(f"{INBOX} li.announcement").first
    await first.wait_for()
    assert "important" in (await first.get_attribute("class") or "")
    toggle = first.locator(".announcement-toggle")
    await toggle.click()
    assert await toggle.get_attribute("aria-expanded") == "true"
    await first.locator(".message-body strong").wait_for()
    assert await axe_violations(page, axe) == []
    assert await no_horizontal_scroll(page)
    await side.screenshot(page, f"{name}-3-announcements")


async def no_horizontal_scroll(page: Page) -> bool:
    result: bool = await page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    return result


async def _attribute(locator: Any, name: str, expected: str) -> bool:
    return bool(await locator.get_attribute(name) == expected)


async def _focused_is(page: Page, check: Callable[[dict[str, Any]], bool]) -> bool:
    info = await active(page)
    return info is not None and check(info)


async def test_reduced_motion_turns_off_the_arrival_highlight(
    browsing: Factory, demo_gateway: DemoGateway
) -> None:
    accepted = send_to_class(demo_gateway, unique("Bevægelse"), "Ingen animation, tak.")
    for motion, expected in (("no-preference", "bs-arrive"), ("reduce", "none")):
        side = await browsing(reduced_motion=motion)
        page = await side.open_as("guardian", f"/demo?thread={accepted['thread_id']}")
        await ready(page)
        message = page.locator(f"{INBOX} .message").first
        await message.wait_for()
        name = await message.evaluate(
            "m => { m.classList.add('fresh'); return getComputedStyle(m).animationName; }"
        )
        assert name == expected, (motion, name)
