"""The daycare-notice and preference panels in the browser, against the real gateway.

A guardian reports a daycare child sick in the inbox (``/demo``, Sygemelding); the
pedagogue acknowledges it in the day list and the guardian's page shows it as seen,
live (the notices view shows guardians of daycare children their form, and daycare
staff their day list).
Preferences are changed in the inbox's settings view and checked after a reload and
through the API; a rule the API refuses (quiet hours that start and end at once) is
shown next to the field.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Awaitable, Callable

from playwright.async_api import Page, expect

from tests.e2e.conftest import PHONE, Browsing, DemoGateway, axe_violations

Make = Callable[..., Awaitable[Browsing]]


def _demo_name(gateway: DemoGateway, key: str) -> str:
    people = gateway.api("GET", "/demo-api/people")["people"]
    name: str = next(p["name"] for p in people if p["key"] == key)
    return name


def _untouched_guardian(gateway: DemoGateway) -> str:
    """A guardian no other browser test uses (the last custodial one of the roster),
    so changing their notifications cannot delay anyone else's mail or push."""
    roster = gateway.data_dir / "demo-roster" / "users.csv"
    with roster.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    taken = set(gateway.people.values())
    source: str = next(
        row["sourcedId"]
        for row in reversed(rows)
        if row["sourcedId"].startswith("guardian-")
        and row["sourcedId"] not in taken
        and row["status"] == "active"
        and row["metadata.dk.protected"] == "false"
        and row["metadata.dk.custody"] == "true"
    )
    return source


async def _open_view(page: Page, view: str) -> None:
    await page.locator(f"budstikke-inbox button[data-view={view}]").click()


async def test_a_sick_notice_is_acknowledged_by_the_pedagogue_and_shown_live(
    browsing: Make, demo_gateway: DemoGateway, axe: str
) -> None:
    gateway = demo_gateway
    me = gateway.api("GET", "/v1/me", gateway.token("guardian"))
    daycare = {i["id"] for i in me["institutions"] if i["kind"] == "daycare"}
    child = next(c for c in me["children"] if daycare & set(c["institution_ids"]))
    name = child["display_name"]
    pedagogue = _demo_name(gateway, "pedagogue")
    note = f"Feber i nat, vi ringer i morgen ({uuid.uuid4().hex[:6]})"

    b = await browsing(timezone_id="Europe/Copenhagen")
    page = await b.open_as("guardian")
    await _open_view(page, "notices")
    form = page.get_by_role("form", name="Giv besked til institutionen")
    await expect(form.get_by_text(f"Om {name}")).to_be_visible()
    await expect(form.get_by_role("radio", name="Syg")).to_be_checked()
    await form.get_by_label("Besked til personalet (valgfri)").fill(note)
    await b.screenshot(page, "guardian-form")
    assert await axe_violations(page, axe) == []
    await form.get_by_role("button", name="Send til institutionen").click()
    await expect(form.get_by_text(f"Sendt: {name} er syg")).to_be_visible()
    mine = page.locator("li[data-notice]").filter(has_text=note)
    await expect(mine).to_contain_text(f"{name} er syg")
    await expect(mine).to_contain_text("Ikke set endnu")

    # The pedagogue of the daycare sees it in today's list and marks it as seen.
    b2 = await browsing(timezone_id="Europe/Copenhagen")
    staff = await b2.open_as("pedagogue")
    await _open_view(staff, "notices")
    line = staff.locator("li[data-notice]").filter(has_text=note)
    await expect(line).to_contain_text(f"{name} er syg")
    await expect(line).to_contain_text(f"Sendt af {me['display_name']}")
    await b2.screenshot(staff, "day-list")
    assert await axe_violations(staff, axe) == []
    await line.get_by_role("button", name="Markér som set").click()
    await expect(line).to_contain_text(f"Set af {pedagogue}")
    await expect(line.get_by_role("button", name="Markér som set")).to_have_count(0)
    await b2.screenshot(staff, "day-list-acknowledged")

    # The guardian's open page shows it, without a reload (the live daycare_notice event).
    await expect(mine).to_contain_text(f"Set af {pedagogue}", timeout=15_000)
    await expect(mine).not_to_contain_text("Ikke set endnu")
    await b.screenshot(page, "guardian-seen")
    notices = gateway.api("GET", "/v1/notices", gateway.token("guardian"))["items"]
    stored = [n for n in notices if n["note"] == note]
    assert len(stored) == 1
    assert stored[0]["kind"] == "sick" and stored[0]["child"]["id"] == child["id"]
    assert stored[0]["acknowledged"]["by"]["name"] == pedagogue

    # Arabic at phone width: right to left, no sideways scrolling, no serious violations.
    b3 = await browsing(locale="ar", viewport=PHONE, timezone_id="Europe/Copenhagen")
    phone = await b3.open_as("guardian", "/demo?lang=ar")
    await _open_view(phone, "notices")
    arabic = phone.locator("li[data-notice]").filter(has_text=note)
    await expect(arabic).to_contain_text(f"اطّلع عليه {pedagogue}")
    assert (
        await phone.locator("budstikke-inbox .bsp-notices").evaluate(
            "node => getComputedStyle(node).direction"
        )
        == "rtl"
    )
    assert await phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    outside = await phone.locator("budstikke-inbox .bsp-notices").evaluate(
        """panel => {
            const box = panel.getBoundingClientRect();
            return [...panel.querySelectorAll("*:not(.bsp-vh)")].filter((node) => {
                const r = node.getBoundingClientRect();
                return r.width > 0 && (r.left < box.left - 1 || r.right > box.right + 1);
            }).map((node) => node.tagName + "." + node.className);
        }"""
    )
    assert outside == [], "nothing sticks out of the panel at phone width"
    await b3.screenshot(phone, "guardian-arabic-phone")
    assert await axe_violations(phone, axe) == []


async def test_preferences_persist_and_an_api_refusal_is_shown_at_the_field(
    browsing: Make, demo_gateway: DemoGateway, axe: str
) -> None:
    gateway = demo_gateway
    person = _untouched_guardian(gateway)
    token = gateway.token(person)
    before = gateway.api("GET", "/v1/me/preferences", token)
    assert before["categories"]["announcement"]["email"]["source"] == "default"

    b = await browsing()
    page = await b.open_as(person)
    await _open_view(page, "settings")
    await page.get_by_label("Opslag – E-mail", exact=True).select_option("digest")
    await page.get_by_label("Stille fra", exact=True).fill("21:30")
    await page.get_by_label("Stille til", exact=True).fill("06:45")
    await b.screenshot(page, "preferences-changed")
    assert await axe_violations(page, axe) == []
    await page.get_by_role("button", name="Gem indstillinger").click()
    await expect(page.get_by_text("Dine indstillinger er gemt.")).to_be_visible()

    saved = gateway.api("GET", "/v1/me/preferences", token)
    assert saved["categories"]["announcement"]["email"] == {
        "mode": "digest",
        "source": "own",
        "default": "instant",
    }
    # Only what was changed became the person's own choice.
    assert saved["categories"]["announcement"]["push"]["source"] == "default"
    assert saved["categories"]["message"]["email"]["source"] == "default"
    assert saved["quiet_hours"] == {"start": "21:30", "end": "06:45", "source": "own"}

    await page.reload()
    await _open_view(page, "settings")
    await expect(page.get_by_label("Opslag – E-mail", exact=True)).to_have_value("digest")
    await expect(page.get_by_label("Opslag – Push", exact=True)).to_have_value("instant")
    await expect(page.get_by_label("Stille fra", exact=True)).to_have_value("21:30")
    await expect(page.get_by_label("Stille til", exact=True)).to_have_value("06:45")

    # Quiet hours that start and end at the same time: the API's 422, shown at the field.
    await page.get_by_label("Stille til", exact=True).fill("21:30")
    await page.get_by_role("button", name="Gem indstillinger").click()
    alert = page.get_by_role("alert").filter(has_text="Dine indstillinger blev ikke gemt")
    await expect(alert).to_contain_text(
        "De stille timer skal starte og slutte på forskellige tidspunkter."
    )
    start = page.get_by_label("Stille fra", exact=True)
    await expect(start).to_have_attribute("aria-invalid", "true")
    await b.screenshot(page, "preferences-refused")
    assert await axe_violations(page, axe) == []
    unchanged = gateway.api("GET", "/v1/me/preferences", token)
    assert unchanged["quiet_hours"] == saved["quiet_hours"]

    # Clean up: back to the defaults (null), as the API allows.
    gateway.api(
        "PUT",
        "/v1/me/preferences",
        token,
        {"categories": {"announcement": {"email": None}}, "quiet_hours": None},
    )
