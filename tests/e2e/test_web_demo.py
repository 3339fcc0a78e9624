"""The demo portal (/demo): a new user's first minute, the staff page, reports and results.

Real gateway (``budstikke run``), real Chromium. The pages are Danish by default, so the
test clicks what a Danish user reads. Screenshots of every screen go to
``test-output/screenshots/<test>/``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from playwright.async_api import Page, expect

from tests.e2e.conftest import PHONE, Browsing, DemoGateway, axe_violations, wait_until

Browse = Callable[..., Awaitable[Browsing]]
PERSON_KEY = "budstikke-demo-person"
# The worker sends email at once in the test gateway; the report page refreshes every 3 s.
DELIVERY_TIMEOUT = 60.0


def _query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


async def _stored_person(page: Page) -> Any:
    return await page.evaluate(f"sessionStorage.getItem({PERSON_KEY!r})")


async def _no_horizontal_scroll(page: Page) -> None:
    widths = await page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"horizontal scroll on {page.url}: {widths}"


async def _int(page: Page, selector: str) -> int:
    text = (await page.locator(selector).first.inner_text()).strip()
    return int(re.sub(r"\D", "", text) or "0")


def _class_id(gateway: DemoGateway, teacher: str) -> str:
    me = gateway.api("GET", "/v1/me", teacher)
    group: str = next(g["id"] for g in me["groups"] if g["name"] == "3.A")
    return group


def _send_as_teacher(gateway: DemoGateway, subject: str, **extra: Any) -> dict[str, Any]:
    teacher = gateway.token("teacher")
    body = {
        "subject": subject,
        "body": "Husk **regntøj**.",
        "audience": {
            "targets": [
                {"type": "group", "group": _class_id(gateway, teacher), "roles": ["guardians"]}
            ]
        },
        **extra,
    }
    accepted: dict[str, Any] = gateway.api("POST", "/v1/messages", teacher, body)
    return accepted


def _ask_consent_as_teacher(gateway: DemoGateway, title: str) -> dict[str, Any]:
    teacher = gateway.token("teacher")
    deadline = dt.datetime.now(dt.UTC) + dt.timedelta(days=7)
    body = {
        "title": title,
        "question": "Må vi?",
        "kind": "permission",
        "deadline": deadline.isoformat(),
        "audience": {
            "targets": [
                {"type": "group", "group": _class_id(gateway, teacher), "roles": ["children"]}
            ]
        },
    }
    accepted: dict[str, Any] = gateway.api("POST", "/v1/consents", teacher, body)
    return accepted


async def _inbox_loaded(page: Page) -> None:
    """The component shows its thread list (its heading, and nothing still loading)."""
    inbox = page.locator("budstikke-inbox")
    await expect(inbox.get_by_role("heading", name="Beskeder")).to_be_visible()
    await expect(inbox.locator("[aria-busy=true]")).to_have_count(0)


async def _report_settled(page: Page) -> bool:
    """The report shows email as sent, and nothing queued or waiting."""
    sent = page.locator("tr[data-channel=email] td[data-state=sent]")
    if not await sent.count() or int(await sent.inner_text()) == 0:
        return False
    for cell in await page.locator("td[data-state=queued], td[data-state=deferred]").all():
        if int(await cell.inner_text()) != 0:
            return False
    return True


async def _wait_for_deliveries(b: Browsing, page: Page) -> None:
    """Wait until the report page shows every email sent; a screenshot if it never does."""
    try:
        await wait_until(lambda: _report_settled(page), DELIVERY_TIMEOUT)
    except AssertionError:
        await b.screenshot(page, "failed-report")
        raise


async def test_first_minute_teacher_sends_and_guardian_reads(
    browsing: Browse, demo_gateway: DemoGateway, axe: str
) -> None:
    b = await browsing()
    page = await b.page()
    await page.goto(f"{demo_gateway.base_url}/demo")

    # The picker: one card per demo person, each a real link.
    await expect(page.get_by_role("heading", name="Vælg en person")).to_be_visible()
    await expect(page.locator("a.person-card")).to_have_count(len(demo_gateway.people))
    await expect(page.get_by_text("Budstikke Kommune (demo)")).to_be_visible()
    await expect(page.get_by_text("Lærer i 3.A — skriv til klassens forældre")).to_be_visible()
    await expect(page.get_by_text("Mor til Lærke (3.A) og Otto (børnehave)")).to_be_visible()
    await b.screenshot(page, "01-picker")
    assert await axe_violations(page, axe) == []
    assert await page.evaluate("document.title") == "Budstikke demo"

    # Choose the teacher by clicking her card.
    await page.get_by_role("link", name=re.compile("Sara Eriksen")).click()
    await expect(page.get_by_role("heading", name="Indbakke for Sara Eriksen")).to_be_visible()
    assert await _stored_person(page) == demo_gateway.people["teacher"]
    await expect(page.locator("budstikke-inbox")).to_have_attribute("locale", "da")
    mail = page.get_by_role("link", name=re.compile("^Mail"))
    await expect(mail).to_have_attribute("href", "/dev/mail")
    await expect(mail).to_have_attribute("target", "_blank")
    await expect(page.get_by_role("link", name=re.compile("^API-dokumentation"))).to_have_attribute(
        "href", "/schema"
    )
    await _inbox_loaded(page)
    await b.screenshot(page, "02-teacher-inbox")

    # The staff page: 3.A's guardians, the preview count, subject and body, send.
    await page.get_by_role("link", name="Skriv besked").first.click()
    await expect(page.get_by_role("heading", name="Skriv besked")).to_be_visible()
    await page.get_by_label("3.A").check()
    await page.get_by_label("Forældre", exact=True).check()
    count = page.locator("#preview .preview-count")
    await expect(count).to_contain_text("forældre")
    await expect(page.locator("#preview")).not_to_have_attribute("aria-busy", "true")
    previewed = int(await count.get_attribute("data-total") or "0")
    assert previewed > 0
    teacher = demo_gateway.token("teacher")
    expected = demo_gateway.api(
        "POST",
        "/v1/audiences/preview",
        teacher,
        {
            "targets": [
                {"type": "group", "group": _class_id(demo_gateway, teacher), "roles": ["guardians"]}
            ]
        },
    )
    assert previewed == expected["counts"]["total"]
    await expect(count).to_have_text(f"{previewed} forældre")
    await b.screenshot(page, "03-staff-preview")
    assert await axe_violations(page, axe) == []

    subject = f"Tur til skoven {uuid.uuid4().hex[:8]}"
    await page.get_by_label("Emne").fill(subject)
    await page.get_by_label("Tekst").fill("Husk **regntøj** og madpakke.")
    await page.get_by_role("button", name="Send besked").click()
    await expect(page.locator("#send-status")).to_have_text(f"Sendt til {previewed} modtagere.")
    await expect(page.locator("#aside")).to_contain_text(subject)
    await b.screenshot(page, "04-sent")

    # The delivery report: email moves to sent (the worker sends to the mail catcher).
    await page.locator("#result").get_by_role("link", name="Se leveringsrapport").click()
    await expect(page.locator(".eyebrow")).to_contain_text("Leveringsrapport")
    await expect(page.locator("#report-subject")).to_have_text(subject)
    await expect(page.locator("#stats")).to_be_visible()
    await _wait_for_deliveries(b, page)
    message_id = _query(page)["message"][0]
    report = demo_gateway.api("GET", f"/v1/messages/{message_id}/report", teacher)
    assert report["channels"]["email"]["sent"] == await _int(
        page, "tr[data-channel=email] td[data-state=sent]"
    )
    assert (
        await _int(page, "#stats .stat:first-child .stat-value")
        == report["recipients"]
        == previewed
    )
    if report["unreached_count"]:
        await expect(page.locator("#unreached tbody tr")).to_have_count(len(report["unreached"]))
    await expect(page.locator("#report-status")).to_contain_text("0 venter")
    await b.screenshot(page, "05-report")
    assert await axe_violations(page, axe) == []

    # The mail catcher holds the mail; the local mail view lists it.
    mails = demo_gateway.api("GET", "/dev/mail.json")["items"]
    ours = [m for m in mails if subject in m["subject"]]
    assert len(ours) == report["channels"]["email"]["sent"] > 0
    mail_page = await b.page()
    await mail_page.goto(f"{demo_gateway.base_url}/dev/mail")
    await expect(mail_page.get_by_role("link", name=subject).first).to_be_visible()
    await b.screenshot(mail_page, "06-dev-mail")
    await mail_page.close()

    # "Skift person" → the guardian, whose inbox has the message.
    thread_id = report["thread_id"]
    await page.get_by_role("button", name="Skift person").click()
    await expect(page.get_by_role("heading", name="Vælg en person")).to_be_visible()
    assert await _stored_person(page) is None
    await page.get_by_role("link", name=re.compile("Anne Holm")).click()
    await expect(page.get_by_role("heading", name="Indbakke for Anne Holm")).to_be_visible()
    assert await _stored_person(page) == demo_gateway.people["guardian"]
    inbox = page.locator("budstikke-inbox")
    item = inbox.get_by_role("button", name=re.compile(re.escape(subject)))
    await expect(item).to_be_visible(timeout=15_000)
    await b.screenshot(page, "07-guardian-inbox")
    await item.click()
    await expect(inbox.get_by_text("Husk regntøj og madpakke.").first).to_be_visible()
    await wait_until(lambda: _thread_in_url(page, thread_id))
    await b.screenshot(page, "08-guardian-thread")

    # ?thread= opens it again on a fresh load (the URL the portal kept in step).
    await page.reload()
    await expect(inbox).to_have_attribute("thread", thread_id)
    await expect(inbox.get_by_text("Husk regntøj og madpakke.").first).to_be_visible()


async def _thread_in_url(page: Page, thread_id: str) -> bool:
    return _query(page).get("thread") == [thread_id]


async def test_consent_request_from_the_staff_page_and_its_results(
    browsing: Browse, demo_gateway: DemoGateway, axe: str
) -> None:
    b = await browsing()
    page = await b.open_as("teacher", "/demo/staff")
    await page.locator(".kind-picker").get_by_label("Samtykke").check()
    await page.get_by_label("3.A").check()
    count = page.locator("#preview .preview-count")
    await expect(count).to_contain_text(re.compile(r"Spørger om \d+ børn"))
    children = int(await count.get_attribute("data-total") or "0")
    assert children > 0
    title = f"Fotos på hjemmesiden {uuid.uuid4().hex[:8]}"
    await page.get_by_label("Titel").fill(title)
    await page.get_by_label("Spørgsmål").fill("Må vi vise **billeder** af dit barn?")
    await b.screenshot(page, "01-consent-form")
    await page.get_by_role("button", name="Bed om samtykke").click()
    await expect(page.locator("#send-status")).to_have_text(f"Sendt: spørger om {children} børn.")
    await b.screenshot(page, "02-consent-sent")

    # The results page: every child pending.
    await page.locator("#result").get_by_role("link", name="Se svarene").click()
    await expect(page.get_by_role("heading", name=title)).to_be_visible()
    await expect(page.locator("#children tbody tr")).to_have_count(children)
    assert await _int(page, "[data-count=pending] .stat-value") == children
    row = page.locator("#children tbody tr", has_text="Lærke Holm")
    await expect(row.locator("[data-status]")).to_have_attribute("data-status", "pending")
    await b.screenshot(page, "03-results-pending")
    assert await axe_violations(page, axe) == []
    consent_id = _query(page)["consent"][0]

    # It reached the class's guardians: Anne Holm is asked about Lærke and answers yes.
    guardian = demo_gateway.token("guardian")
    asked = demo_gateway.api("GET", f"/v1/consents/{consent_id}", guardian)
    child = next(c for c in asked["children"] if c["child"]["name"] == "Lærke Holm")
    assert child["can_answer"] is True
    assert child["status"] == "pending"
    threads = demo_gateway.api("GET", "/v1/inbox/announcements", guardian)
    assert any(item.get("subject") == title for item in threads["items"])
    recorded = demo_gateway.api(
        "POST",
        f"/v1/consents/{consent_id}/answers",
        guardian,
        {"answers": [{"child_id": child["child"]["id"], "option": "yes"}]},
    )
    assert recorded["recorded"] == 1

    # The results page shows it (it refreshes by itself every few seconds).
    await expect(row.locator("[data-status]")).to_have_attribute(
        "data-status", "yes", timeout=20_000
    )
    await expect(row).to_contain_text("Anne Holm (forælder): Ja")
    await expect(page.locator("[data-count=yes] .stat-value")).to_have_text("1")
    await expect(page.locator("[data-count=pending] .stat-value")).to_have_text(str(children - 1))
    await b.screenshot(page, "04-results-answered")

    # The CSV, fetched with the token and handed over as a file.
    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Hent som CSV").click()
    download = await download_info.value
    path = Path(await download.path())
    text = await asyncio.to_thread(path.read_text, encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("child,status")
    assert any(line.startswith("Lærke Holm,yes") for line in text.splitlines())
    await expect(page.locator("#csv-status")).to_have_text("CSV-filen er hentet.")


async def test_phone_width_and_accessibility_of_every_demo_page(
    browsing: Browse, demo_gateway: DemoGateway, axe: str
) -> None:
    b = await browsing(viewport=PHONE)
    page = await b.page()
    await page.goto(f"{demo_gateway.base_url}/demo")
    await expect(page.locator("a.person-card")).to_have_count(len(demo_gateway.people))
    await _no_horizontal_scroll(page)
    assert await axe_violations(page, axe) == []
    await b.screenshot(page, "01-picker-phone")

    await page.goto(f"{demo_gateway.base_url}/demo/staff?as={demo_gateway.people['teacher']}")
    await expect(page.locator("#preview .preview-count")).to_be_visible()
    await _no_horizontal_scroll(page)
    assert await axe_violations(page, axe) == []
    await b.screenshot(page, "02-staff-phone")
    # The other kinds show their own fields, and stay accessible.
    await page.locator(".kind-picker").get_by_label("Opslag").check()
    await expect(page.get_by_label("Vigtigt")).to_be_visible()
    await expect(page.get_by_label("Følsom")).to_be_hidden()
    await page.locator(".kind-picker").get_by_label("Samtykke").check()
    await expect(page.get_by_label("Frist", exact=True)).to_be_visible()
    await page.get_by_label("Egne svarmuligheder").check()
    await expect(page.get_by_label("Svarmuligheder", exact=True)).to_be_visible()
    await _no_horizontal_scroll(page)
    assert await axe_violations(page, axe) == []
    await b.screenshot(page, "03-staff-consent-phone")

    accepted = _send_as_teacher(demo_gateway, f"Forældremøde {uuid.uuid4().hex[:8]}")
    await page.goto(f"{demo_gateway.base_url}/demo/report?message={accepted['message_id']}")
    await expect(page.locator("#stats")).to_be_visible()
    await _wait_for_deliveries(b, page)
    await _no_horizontal_scroll(page)
    assert await axe_violations(page, axe) == []
    await b.screenshot(page, "04-report-phone")

    consent = _ask_consent_as_teacher(demo_gateway, f"Svømning torsdag {uuid.uuid4().hex[:8]}")
    await page.goto(f"{demo_gateway.base_url}/demo/results?consent={consent['consent_id']}")
    await expect(page.locator("#children tbody tr")).to_have_count(consent["children"])
    await expect(page.locator(".eyebrow")).to_contain_text("Tilladelse")
    await _no_horizontal_scroll(page)
    assert await axe_violations(page, axe) == []
    await b.screenshot(page, "05-results-phone")

    # The portal with the component, as the guardian.
    await page.goto(f"{demo_gateway.base_url}/demo?as={demo_gateway.people['guardian']}")
    await expect(page.get_by_role("heading", name="Indbakke for Anne Holm")).to_be_visible()
    await _inbox_loaded(page)
    await _no_horizontal_scroll(page)
    await b.screenshot(page, "06-guardian-portal-phone")


async def test_language_switch_sets_lang_dir_and_the_component_locale(
    browsing: Browse, demo_gateway: DemoGateway
) -> None:
    b = await browsing()
    page = await b.open_as("guardian")
    inbox = page.locator("budstikke-inbox")
    await expect(page.get_by_role("button", name="Skift person")).to_be_visible()
    await page.locator("#header").get_by_label("Sprog").select_option("ar")
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await expect(page.locator("html")).to_have_attribute("lang", "ar")
    await expect(inbox).to_have_attribute("locale", "ar")
    await expect(page.get_by_role("button", name="تبديل الشخص")).to_be_visible()
    await b.screenshot(page, "01-guardian-arabic")

    await page.locator("#header").get_by_label("اللغة").select_option("en")
    await expect(page.locator("html")).to_have_attribute("dir", "ltr")
    await expect(inbox).to_have_attribute("locale", "en")
    await expect(page.get_by_role("button", name="Switch person")).to_be_visible()

    # The choice carries to the next page; what is typed survives a switch.
    staff = await b.open_as("teacher", "/demo/staff")
    await expect(staff.get_by_role("heading", name="Write a message")).to_be_visible()
    await staff.get_by_label("Subject").fill("Kept across languages")
    await staff.locator("#header").get_by_label("Language").select_option("da")
    await expect(staff.get_by_role("heading", name="Skriv besked")).to_be_visible()
    await expect(staff.get_by_label("Emne")).to_have_value("Kept across languages")
    await staff.locator("#header").get_by_label("Sprog").select_option("ar")
    await expect(staff.locator("html")).to_have_attribute("dir", "rtl")
    await expect(staff.locator("#preview .preview-count")).to_be_visible()
    await _no_horizontal_scroll(staff)
    await b.screenshot(staff, "02-staff-arabic")


async def test_a_login_too_weak_for_a_sensitive_thread_offers_a_stronger_one(
    browsing: Browse, demo_gateway: DemoGateway
) -> None:
    subject = f"Fortroligt {uuid.uuid4().hex[:8]}"
    accepted = _send_as_teacher(demo_gateway, subject, sensitive=True)
    b = await browsing()
    page = await b.open_as("guardian", f"/demo?acr=low&thread={accepted['thread_id']}")
    await expect(page.locator("budstikke-inbox")).to_have_attribute("thread", accepted["thread_id"])
    await expect(page.get_by_text("Login: lavt sikringsniveau")).to_be_visible()
    stronger = page.get_by_role("button", name="Log ind med højere sikkerhed")
    await expect(stronger).to_be_visible(timeout=15_000)
    await b.screenshot(page, "01-assurance-too-low")
    await stronger.click()
    await page.wait_for_url(re.compile(r"acr=substantial"))
    assert _query(page)["thread"] == [accepted["thread_id"]]
    await expect(page.locator("budstikke-inbox").get_by_text("Husk regntøj.").first).to_be_visible()
    await expect(page.get_by_text("Login: lavt sikringsniveau")).to_have_count(0)
    await b.screenshot(page, "02-stronger-login")


async def test_the_staff_page_is_for_staff_and_api_errors_read_as_text(
    browsing: Browse, demo_gateway: DemoGateway
) -> None:
    b = await browsing()
    page = await b.open_as("guardian", "/demo/staff")
    await expect(
        page.get_by_role("heading", name="Personalesiden er for personale")
    ).to_be_visible()
    await expect(page.get_by_role("link", name="Skriv besked")).to_have_count(0)
    await b.screenshot(page, "01-not-staff")

    # The teacher may preview the whole school but not send to it (the recipient limit).
    staff = await b.open_as("teacher", "/demo/staff")
    await staff.get_by_label("3.A").uncheck()
    await staff.get_by_label("Alle på Søndervangskolen").check()
    teacher = demo_gateway.token("teacher")
    school = demo_gateway.api("GET", "/v1/me", teacher)["institutions"][0]["id"]
    whole = demo_gateway.api(
        "POST",
        "/v1/audiences/preview",
        teacher,
        {"targets": [{"type": "institution", "institution": school, "roles": ["guardians"]}]},
    )
    total = whole["counts"]["total"]
    assert total > 400  # more than the recipient limit
    preview = staff.locator("#preview")
    await expect(preview.locator(".preview-count")).to_have_text(f"{total} forældre")
    await expect(preview).not_to_have_attribute("aria-busy", "true")
    if whole["unreachable_total"]:
        await expect(preview).to_contain_text("hvis forældre ikke kan nås på e-mail")
    await staff.get_by_label("Emne").fill(f"For mange {dt.datetime.now():%H%M%S}")
    await staff.get_by_label("Tekst").fill("Til hele skolen")
    await staff.get_by_role("button", name="Send besked").click()
    await expect(staff.locator("#form-errors")).to_contain_text("For mange modtagere på én gang.")
    await b.screenshot(staff, "02-recipient-limit")
    # Nothing to send without a subject: the form says so, nothing goes out.
    await staff.get_by_label("Emne").fill("")
    await staff.get_by_role("button", name="Send besked").click()
    await expect(staff.locator("#form-errors")).to_contain_text("Skriv et emne.")
