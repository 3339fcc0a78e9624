"""The Babel catalogs: every text the code and templates use is translated, and nothing is empty."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract

from gateway.i18n import LOCALES, catalog_path, direction, supported, translations

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")

MsgId = str | tuple[str, ...]


@functools.cache
def used_ids() -> dict[str, str]:
    """Every message id in templates and code (singular form), with where it is used."""
    found: dict[str, str] = {}
    templates = ROOT / "templates"
    for path in sorted([*templates.rglob("*.html"), *templates.rglob("*.txt")]):
        for line, message, _, _ in extract_from_file(
            babel_extract, str(path), keywords=KEYWORDS, options=JINJA_OPTIONS
        ):
            found.setdefault(_singular(message), f"{path.relative_to(ROOT)}:{line}")
    for folder in ("gateway", "channels"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for line, message, _, _ in extract_from_file("python", str(path), keywords=KEYWORDS):
                found.setdefault(_singular(message), f"{path.relative_to(ROOT)}:{line}")
    return found


def _singular(message: MsgId) -> str:
    return message if isinstance(message, str) else message[0]


def catalog(locale: str) -> Catalog:
    with catalog_path(locale).open("rb") as po:
        return read_po(po, locale=locale)


def test_the_code_uses_texts_at_all() -> None:
    # Guards the extraction itself: a broken extractor would make the next test pass.
    ids = used_ids()
    assert "Read and reply in the portal" in ids
    assert "[Urgent] %(subject)s" in ids  # from Python
    assert "Do you want to stop getting emails about messages?" in ids  # marked with N_


@pytest.mark.parametrize("locale", LOCALES)
def test_every_used_text_is_in_the_catalog(locale: str) -> None:
    entries = {
        message.id if isinstance(message.id, str) else message.id[0]
        for message in catalog(locale)
        if message.id
    }
    missing = {text: where for text, where in used_ids().items() if text not in entries}
    assert not missing, f"add to templates/locale/{locale}: {missing}"


@pytest.mark.parametrize("locale", LOCALES)
def test_no_entry_is_empty_fuzzy_or_unused(locale: str) -> None:
    used = used_ids()
    loaded = catalog(locale)
    for message in loaded:
        if not message.id:
            continue  # the header
        singular = _singular(message.id)
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(form.strip() for form in forms), f"{locale}: empty translation of {singular!r}"
        if isinstance(message.id, tuple):
            assert len(forms) == loaded.num_plurals, f"{locale}: plural forms of {singular!r}"
        assert not message.fuzzy, f"{locale}: fuzzy {singular!r}"
        assert singular in used, f"{locale}: {singular!r} is not used any more; remove it"


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_the_placeholders(locale: str) -> None:
    for message in catalog(locale):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = set().union(*(PLACEHOLDER.findall(i) for i in ids))
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        for form in forms:
            assert set(PLACEHOLDER.findall(form)) <= wanted, (locale, message.id, form)
            # Every form but a count-free singular must name what the text is about.
            assert wanted - {"num"} <= set(PLACEHOLDER.findall(form)), (locale, message.id, form)


def test_danish_is_the_default_and_translates() -> None:
    assert translations("da").gettext("Read and reply in the portal") == "Læs og svar i portalen"
    assert (
        translations("en").gettext("Read and reply in the portal") == "Read and reply in the portal"
    )
    assert translations("xx").gettext("Stop emails") == "Afmeld e-mails"
    assert (
        translations("da").ngettext(
            "%(num)d unread item from %(institution)s",
            "%(num)d unread items from %(institution)s",
            3,
        )
        == "%(num)d ulæste fra %(institution)s"
    )


@pytest.mark.parametrize(
    ("given", "locale", "writing"),
    [
        ("da", "da", "ltr"),
        ("da-DK", "da", "ltr"),
        ("en_GB", "en", "ltr"),
        ("EN", "en", "ltr"),
        ("ar", "ar", "rtl"),
        ("ar-SA", "ar", "rtl"),
        ("", "da", "ltr"),
        ("fa", "da", "ltr"),
    ],
)
def test_locales_resolve_to_a_catalog_and_a_direction(
    given: str, locale: str, writing: str
) -> None:
    # Persian has no catalog yet: it gets Danish text, so left to right.
    assert supported(given) == locale
    assert direction(given) == writing
