"""The web component's UI text: Babel catalogs, served as JSON to the browser.

The component's strings are English message ids (``t("Reply")``); their translations
live beside the mail catalogs as ``templates/locale/<lang>/LC_MESSAGES/web-*.po`` (one
file per part of the UI). ``GET /web/i18n/<lang>.json`` merges them into one object.
As on the server, Danish is the default and the fallback: a locale missing an entry
gets the Danish text, and English needs no translations (its ids are the text).

Plural entries become a list of forms in the catalog's order, which for the supported
languages is the order of CLDR's plural categories (``zero one two few many other``,
those the language has), so ``Intl.PluralRules`` picks the form in the browser.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

from babel.messages.pofile import read_po

from gateway.i18n import DEFAULT_LOCALE, TEMPLATES_PACKAGE, direction, supported

Entry = str | list[str]


def _own_entries(locale: str) -> dict[str, Entry]:
    folder = resources.files(TEMPLATES_PACKAGE) / "locale" / locale / "LC_MESSAGES"
    entries: dict[str, Entry] = {}
    for item in sorted(folder.iterdir(), key=lambda item: item.name):
        if not (item.name.startswith("web-") and item.name.endswith(".po")):
            continue
        with item.open("rb") as po:
            catalog = read_po(po, locale=locale)
        for message in catalog:
            if not message.id or message.fuzzy:
                continue
            if isinstance(message.id, tuple):
                strings = message.string if isinstance(message.string, tuple | list) else ()
                forms = [str(form) for form in strings if form]
                if forms and len(forms) == len(strings):
                    entries[str(message.id[0])] = forms
            elif message.string:
                entries[str(message.id)] = str(message.string)
    return entries


@functools.cache
def ui_catalog(locale: str) -> dict[str, Any]:
    """``{locale, dir, messages}`` for a supported locale (Danish when none fits)."""
    locale = supported(locale)
    messages = {} if locale == "en" else dict(_own_entries(DEFAULT_LOCALE))
    if locale not in ("en", DEFAULT_LOCALE):
        messages.update(_own_entries(locale))
    return {"locale": locale, "dir": direction(locale), "messages": messages}
