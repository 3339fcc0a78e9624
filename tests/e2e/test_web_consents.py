"""Consent requests in the browser: a custodial guardian answers for each of two children,
a parent without custody sees the request but cannot answer, and the staff member who
asked reads the results, the record and the CSV.

The people come from the demo roster the gateway loaded (its OneRoster ``users.csv``):
the demo's guardian with two children has one in school and one in daycare, and a
request is asked by one institution, so the test looks for a family at the demo
leader's school instead. The request is posted through the API, as a school system
would; the answers are given in the page and checked through the API.

The consent view of the inbox (``/demo``, Samtykker) opens a request through
``renderConsent`` by the ``consent_id`` the announcement feed names.
"""

from __future__ import annotations

import csv
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from playwright.async_api import Page, expect

from tests.e2e.conftest import Browsing, DemoGateway, axe_violations

Make = Callable[..., Awaitable[Browsing]]


@dataclass(frozen=True)
class Family:
    guardian: str  # roster source id
    children: list[dict[str, Any]]  # the guardian's children at the school, from GET /v1/me


def _users(gateway: DemoGateway) -> list[dict[str, str]]:
    roster = gateway.data_dir / "demo-roster" / "users.csv"
    with roster.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def _families(gateway: DemoGateway) -> tuple[str, str]:
    """(a guardian with custody of two pupils at the leader's school, a guardian of two
    pupils there with custody of one only), as roster source ids."""
    users = _users(gateway)
    by_id = {row["sourcedId"]: row for row in users}
    school = by_id[gateway.people["leader"]]["primaryOrgSourcedId"]
    taken = set(gateway.people.values())

    def pupil_here(child: str) -> bool:
        row = by_id.get(child)
        return (
            row is not None
            and row["status"] == "active"
            and row["primaryOrgSourcedId"] == school
            and row["metadata.dk.protected"] == "false"
        )

    both = partial = None
    for row in users:
        source = row["sourcedId"]
        if not source.startswith("guardian-") or source in taken or row["status"] != "active":
            continue
        if row["metadata.dk.protected"] != "false":
            continue
        children = [c for c in row["agentSourcedIds"].split(",") if c]
        if len(children) != 2 or not all(pupil_here(c) for c in children):
            continue
        custody = row["metadata.dk.custody"]
        if custody == "true" and both is None:
            both = source
        elif custody not in ("true", "false") and partial is None:
            listed = set(custody.split(","))
            if len(listed & set(children)) == 1:
                partial = source
    assert both and partial, "the demo roster has the families this test needs"
    return both, partial


def _family(gateway: DemoGateway, guardian: str, institution: str) -> Family:
    me = gateway.api("GET", "/v1/me", gateway.token(guardian))
    children = [c for c in me["children"] if institution in c["institution_ids"]]
    return Family(guardian, children)


def _post_consent(gateway: DemoGateway, children: list[str], title: str) -> dict[str, Any]:
    deadline = (dt.datetime.now(dt.UTC) + dt.timedelta(days=7)).replace(microsecond=0)
    body = {
        "title": title,
        "question": "Må vi vise **billeder** af dit barn fra skolens arrangementer på hjemmesiden?",
        "kind": "consent",
        "audience": {"targets": [{"type": "people", "people": children}]},
        "deadline": deadline.isoformat(),
    }
    accepted: dict[str, Any] = gateway.api("POST", "/v1/consents", gateway.token("leader"), body)
    return accepted


async def _open_consent(b: Browsing, person: str, consent: dict[str, Any]) -> Page:
    """The consent panel as `person`, opened from the inbox's consent view."""
    gateway = b.gateway
    feed = gateway.api("GET", "/v1/inbox/announcements", gateway.token(person))
    item = next(i for i in feed["items"] if i["id"] == consent["thread_id"])
    assert item["consent_id"] == consent["consent_id"]
    page = await b.open_as(person)
    await page.locator("budstikke-inbox button[data-view=consents]").click()
    await page.locator(f"budstikke-inbox [data-consent='{consent['thread_id']}']").click()
    await expect(page.locator(".bsp-consent h2")).to_be_visible()
    return page


async def test_a_guardian_answers_for_each_child_and_a_parent_without_custody_cannot(
    browsing: Make, demo_gateway: DemoGateway, axe: str
) -> None:
    gateway = demo_gateway
    leader_me = gateway.api("GET", "/v1/me", gateway.token("leader"))
    school = next(i["id"] for i in leader_me["institutions"] if i["kind"] == "school")
    both_id, partial_id = _families(gateway)
    both = _family(gateway, both_id, school)
    partial = _family(gateway, partial_id, school)
    assert len(both.children) == 2 and all(c["custody"] for c in both.children)
    assert sorted(c["custody"] for c in partial.children) == [False, True]
    # The demo's parent without custody of any child: never asked, so never shown it.
    outsider_me = gateway.api("GET", "/v1/me", gateway.token("non_custodial_parent"))
    outsider_children = [c["id"] for c in outsider_me["children"] if school in c["institution_ids"]]
    assert outsider_children and not any(c["custody"] for c in outsider_me["children"])

    title = f"Fotos på hjemmesiden {uuid.uuid4().hex[:6]}"
    everyone = [c["id"] for c in both.children + partial.children] + outsider_children
    consent = _post_consent(gateway, everyone, title)
    consent_id = consent["consent_id"]

    # The guardian with custody of both answers for each child: yes for one, no for the other.
    b = await browsing()
    page = await _open_consent(b, both.guardian, consent)
    await expect(page.get_by_role("heading", name=title)).to_be_visible()
    await b.screenshot(page, "guardian-before")
    assert await axe_violations(page, axe) == []
    wanted = {both.children[0]["id"]: ("yes", "Ja"), both.children[1]["id"]: ("no", "Nej")}
    for child in both.children:
        name = child["display_name"]
        group = page.get_by_role("group", name=name, exact=True)
        await group.get_by_role("radio", name=wanted[child["id"]][1], exact=True).check()
        # A double click must not store two answers.
        await group.get_by_role("button", name=f"Send svar for {name}").dblclick()
        await expect(group.get_by_text(f"Dit svar for {name} er gemt")).to_be_visible()
        await expect(group.get_by_text("Svaret af dig")).to_be_visible()
        await expect(group.get_by_text(f"Dit svar: {wanted[child['id']][1]}")).to_be_visible()
    await expect(page.get_by_role("button", name="Skift svar for", exact=False)).to_have_count(2)
    await b.screenshot(page, "guardian-answered")
    assert await axe_violations(page, axe) == []

    # Stored exactly once each, by that guardian, with the chosen option.
    leader = gateway.token("leader")
    record = gateway.api("GET", f"/v1/consents/{consent_id}/record?limit=500", leader)["items"]
    mine = [entry for entry in record if entry["child"]["id"] in wanted]
    assert sorted((e["child"]["id"], e["option"]) for e in mine) == sorted(
        (child, option) for child, (option, _) in wanted.items()
    )
    guardian_id = gateway.api("GET", "/v1/me", gateway.token(both.guardian))["id"]
    assert {e["answered_by"]["id"] for e in mine} == {guardian_id}
    results = gateway.api("GET", f"/v1/consents/{consent_id}/results", leader)
    status = {row["child"]["id"]: row["status"] for row in results["children"]}
    assert {child: status[child] for child in wanted} == {c: o for c, (o, _) in wanted.items()}

    # A guardian with custody of one of their two children: one control, and for the
    # other child the reason instead of a control.
    b2 = await browsing()
    page2 = await _open_consent(b2, partial.guardian, consent)
    custodial = next(c for c in partial.children if c["custody"])
    other = next(c for c in partial.children if not c["custody"])
    answerable = page2.get_by_role("group", name=custodial["display_name"], exact=True)
    await expect(answerable.get_by_role("radio")).to_have_count(2)
    refused = page2.get_by_role("group", name=other["display_name"], exact=True)
    why = refused.get_by_text("Kun forældre med forældremyndighed kan svare")
    await expect(why).to_be_visible()
    await expect(refused.get_by_role("radio")).to_have_count(0)
    await expect(refused.get_by_role("button")).to_have_count(0)
    send_other = page2.get_by_role("button", name=f"Send svar for {other['display_name']}")
    await expect(send_other).to_have_count(0)
    await b2.screenshot(page2, "custody-of-one-child")
    assert await axe_violations(page2, axe) == []

    # The parent without custody of any child was not asked: no request, no control.
    b3 = await browsing()
    page3 = await b3.open_as("non_custodial_parent")
    await page3.locator("budstikke-inbox button[data-view=consents]").click()
    await expect(page3.locator("budstikke-inbox h2", has_text="Samtykker")).to_be_visible()
    await expect(page3.locator("budstikke-inbox [aria-busy=true]")).to_have_count(0)  # loaded
    listed = page3.locator("budstikke-inbox [data-consent]")
    shown = page3.locator(f"budstikke-inbox [data-consent='{consent['thread_id']}']")
    empty = page3.locator("budstikke-inbox .empty", has_text="Der er ingen anmodninger")
    assert await listed.count() > 0 or await empty.count() == 1
    await expect(shown).to_have_count(0)
    await expect(page3.get_by_role("radio")).to_have_count(0)
    await b3.screenshot(page3, "parent-without-custody")

    # The leader who asked: counts, results per child, the record and the CSV.
    b4 = await browsing()
    page4 = await _open_consent(b4, "leader", consent)
    await expect(page4.get_by_role("heading", name="Resultater")).to_be_visible()
    table = page4.get_by_role("table", name="Svar pr. barn")
    for child in both.children:
        row = table.get_by_role("row", name=child["display_name"], exact=False)
        await expect(row).to_be_visible()
    await expect(page4.locator(".bsp-record li")).to_have_count(2)
    async with page4.expect_download() as info:
        await page4.get_by_role("button", name="Hent resultater (CSV)").click()
    download = await info.value
    text = (await download.path()).read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("child,status")
    assert all(child["display_name"] in text for child in both.children)
    await b4.screenshot(page4, "leader-results")
    assert await axe_violations(page4, axe) == []
