"""The web component's UI text: every string it shows is translated, and served right."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_javascript

from gateway.web_catalog import ui_catalog

WEB = Path(__file__).resolve().parents[2] / "gateway" / "web"
KEYWORDS = {"t": None, "tn": (1, 2)}


def _scripts() -> list[Path]:
    return sorted(WEB.rglob("*.js"))


def _ids() -> tuple[set[str], set[str]]:
    """The literal message ids of ``t("…")`` and the singulars of ``tn("…", "…", n)``."""
    singles: set[str] = set()
    plurals: set[str] = set()
    for script in _scripts():
        with script.open("rb") as source:
            for _, function, message, _ in extract_javascript(source, KEYWORDS, [], {}):
                # A call with more arguments than strings comes back as a tuple.
                first = message[0] if isinstance(message, tuple) else message
                if not first:
                    continue
                (plurals if function == "tn" else singles).add(str(first))
    return singles, plurals


def test_the_component_has_text_to_translate() -> None:
    singles, plurals = _ids()
    assert len(singles) > 50, sorted(singles)
    assert plurals, "counts (unread, recipients) use tn() for their plural forms"


@pytest.mark.parametrize("locale", ["da", "ar"])
def test_every_string_the_browser_shows_is_translated(locale: str) -> None:
    singles, plurals = _ids()
    messages = ui_catalog(locale)["messages"]
    missing = sorted(m for m in singles | plurals if m not in messages)
    assert missing == [], f"{locale}: add to templates/locale/{locale}/LC_MESSAGES/web-*.po"


@pytest.mark.parametrize(("locale", "forms"), [("da", 2), ("ar", 6)])
def test_plural_entries_carry_every_form_of_the_language(locale: str, forms: int) -> None:
    _, plurals = _ids()
    messages = ui_catalog(locale)["messages"]
    wrong = {m: messages.get(m) for m in plurals if not isinstance(messages.get(m), list)}
    assert wrong == {}
    assert {len(messages[m]) for m in plurals} == {forms}


def test_english_needs_no_catalog_and_arabic_reads_right_to_left() -> None:
    assert ui_catalog("en") == {"locale": "en", "dir": "ltr", "messages": {}}
    assert ui_catalog("ar")["dir"] == "rtl"
    assert ui_catalog("da")["dir"] == "ltr"
    assert ui_catalog("xx-YY")["locale"] == "da"  # an unknown locale gets Danish


def test_danish_fills_what_arabic_lacks() -> None:
    danish, arabic = ui_catalog("da")["messages"], ui_catalog("ar")["messages"]
    assert set(danish) <= set(arabic)


def test_no_page_or_module_relies_on_inline_script() -> None:
    """The pages' CSP allows script from the gateway's files only."""
    for page in WEB.rglob("*.html"):
        text = page.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), page
        assert not re.search(r"\son[a-z]+\s*=", text), page
    for script in _scripts():
        text = script.read_text()
        assert not re.search(r"\beval\s*\(|new Function\s*\(", text), script
        assert 'setAttribute("on' not in text and "setAttribute('on" not in text, script


def test_catalogs_hold_no_text_the_browser_no_longer_shows() -> None:
    singles, plurals = _ids()
    used = singles | plurals
    for locale in ("da", "ar"):
        stale = sorted(set(ui_catalog(locale)["messages"]) - used)
        assert stale == [], f"{locale}: remove from web-*.po"
