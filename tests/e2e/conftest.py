"""Browser tests: the demo gateway as ``budstikke run`` starts it, and Debian's Chromium.

One gateway serves the whole session (starting it loads the demo municipality, which
takes a while); tests create their own threads with unique subjects, so they do not
depend on each other. Each test gets a fresh browser context. Every page's JavaScript
errors, failed console assertions and Content Security Policy violations fail the
test that caused them. Screenshots go to ``test-output/screenshots/<test>/``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.e2e.browser import CHROMIUM_ARGS, axe_source, ensure_chromium
from tests.e2e.embedded_process import free_port, start_run

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@dataclass
class DemoGateway:
    """A running ``budstikke run``: its URL, data folder and what it printed."""

    base_url: str
    data_dir: Path
    output: list[str]
    people: dict[str, str] = field(default_factory=dict)  # demo key -> source id

    def api(self, method: str, path: str, token: str | None = None, body: Any = None) -> Any:
        """A JSON call to the gateway, as a test's own client (not through the page)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("content-type", "application/json")
        if token:
            request.add_header("authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{method} {path}: {error.code} {error.read()[:500]!r}") from error
        return json.loads(raw) if raw else None

    def token(self, person: str, acr: str = "substantial") -> str:
        """A token for a person (a demo key such as ``teacher``, or a roster source id)."""
        source_id = self.people.get(person, person)
        result = self.api("POST", "/demo-api/token", body={"person": source_id, "acr": acr})
        token: str = result["token"]
        return token


def _calm_hours_away_from_now() -> dict[str, str]:
    """Quiet hours far from now and working hours all day, so push goes out at once
    whatever the time of the run (the calm rules have their own tests)."""
    now = dt.datetime.now(ZoneInfo("Europe/Copenhagen"))
    start = (now + dt.timedelta(hours=12)).strftime("%H:00")
    end = (now + dt.timedelta(hours=13)).strftime("%H:00")
    return {
        "BUDSTIKKE_QUIET_HOURS": f"{start}-{end}",
        "BUDSTIKKE_WORKING_HOURS": "mon-sun 00:00-23:59",
    }


@pytest.fixture(scope="session")
def demo_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoGateway]:
    """``budstikke run`` with the demo municipality, on free ports, in its own folder."""
    data_dir = tmp_path_factory.mktemp("demo-gateway") / "var"
    port = free_port()
    process, output = start_run(
        data_dir,
        {
            "BUDSTIKKE_PORT": str(port),
            "BUDSTIKKE_INBOUND_SMTP_PORT": str(free_port()),
            **_calm_hours_away_from_now(),
        },
    )
    try:
        assert "Budstikke is running." in "".join(output), "".join(output)
        # Keep reading its output, or the pipe fills and the gateway blocks.
        threading.Thread(target=lambda: output.extend(process.stdout or []), daemon=True).start()
        gateway = DemoGateway(f"http://127.0.0.1:{port}", data_dir, output)
        gateway.people = {
            p["key"]: p["person"] for p in gateway.api("GET", "/demo-api/people")["people"]
        }
        yield gateway
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    return ensure_chromium()


@pytest.fixture(scope="session")
def axe() -> str:
    return axe_source()


@pytest.fixture(scope="session")
async def browser(chromium_path: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium_path), args=list(CHROMIUM_ARGS), headless=True
        )
        yield launched
        await launched.close()


class PageProblems:
    """JavaScript errors and CSP violations seen on a context's pages."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page: Page) -> None:
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on(
            "console",
            lambda message: (
                self.errors.append(f"console {message.type}: {message.text}")
                if message.type == "error" and _counts(message.text)
                else None
            ),
        )


def _counts(text: str) -> bool:
    # A failed request the test provoked on purpose is logged by Chromium as a console
    # error ("Failed to load resource: … 403"); those are the test's business. Everything
    # else — exceptions, CSP refusals, our own console.error — fails the test.
    return not re.match(
        r"Failed to load resource: the server responded with a status of 4\d\d", text
    )


@dataclass
class Browsing:
    """A test's browser context and how to open pages in it."""

    context: BrowserContext
    problems: PageProblems
    gateway: DemoGateway
    shots: Path

    async def page(self) -> Page:
        page = await self.context.new_page()
        self.problems.watch(page)
        return page

    async def open_as(self, person: str, path: str = "/demo") -> Page:
        """The demo portal as a person (demo key or source id): ``/demo?as=<source id>``."""
        page = await self.page()
        source_id = self.gateway.people.get(person, person)
        separator = "&" if "?" in path else "?"
        await page.goto(f"{self.gateway.base_url}{path}{separator}as={source_id}")
        return page

    async def screenshot(self, page: Page, name: str) -> Path:
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        return path


async def _new_context(browser: Browser, gateway: DemoGateway, **options: Any) -> BrowserContext:
    context = await browser.new_context(
        locale=options.pop("locale", "da-DK"),
        viewport=options.pop("viewport", DESKTOP),
        service_workers="allow",
        **options,
    )
    await context.grant_permissions(["notifications"], origin=gateway.base_url)
    return context


@pytest.fixture
async def browsing(
    request: pytest.FixtureRequest, browser: Browser, demo_gateway: DemoGateway
) -> AsyncIterator[Callable[..., Awaitable[Browsing]]]:
    """``await browsing(locale=…, viewport=…)``: a fresh context for this test."""
    made: list[Browsing] = []
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)

    async def make(**options: Any) -> Browsing:
        context = await _new_context(browser, demo_gateway, **options)
        shots = SCREENSHOTS / (name if not made else f"{name}-{len(made)}")
        item = Browsing(context, PageProblems(), demo_gateway, shots)
        made.append(item)
        return item

    yield make
    problems = [error for item in made for error in item.problems.errors]
    for item in made:
        await item.context.close()
    assert problems == [], "\n".join(problems)


async def axe_violations(
    page: Page, source: str, *, impacts: tuple[str, ...] = ("serious", "critical")
) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations of the given impacts on the page, as text.

    It scans the page once nothing on it is busy: a region that is loading is dimmed
    (the composer's preview while its counts are fetched), and its passing contrast
    would depend on how fast the server answered.
    """
    await expect(page.locator('[aria-busy="true"]')).to_have_count(0)
    await page.evaluate(source)  # evaluated by DevTools, so the page's CSP does not block it
    result = await page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag',
                values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(
                    n => n.target.join(' ') + ': ' + n.failureSummary)}));
        }"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["nodes"])
        for v in result
        if v["impact"] in impacts
    ]


async def wait_until(check: Callable[[], Awaitable[bool]], within: float = 20.0) -> None:
    """Poll an async check until it holds; fail after ``within`` seconds otherwise."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {within} s")
        await asyncio.sleep(0.2)
