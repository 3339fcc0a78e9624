"""Translations and templates: Babel catalogs compiled in memory, one Jinja2 environment per locale.

The catalogs are ``templates/locale/<lang>/LC_MESSAGES/messages.po``. They are read and
compiled to a ``.mo`` image in memory the first time a locale is used (no build step,
no compiled files to keep in sync), then cached for the life of the process. Message
ids are English; Danish is the default and the fallback: an unknown locale gets Danish,
and a catalog missing an entry falls back to the Danish one.

Each locale has its own Jinja2 environment with ``jinja2.ext.i18n`` installed
(new-style gettext, so ``_("Hello %(name)s", name=...)`` escapes ``name`` in HTML),
which keeps rendering free of shared mutable state. HTML templates autoescape; plain
text templates do not. Dates are formatted by Babel in the institution's time zone.
"""

from __future__ import annotations

import datetime as dt
import functools
from importlib import resources
from io import BytesIO
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from babel.dates import format_skeleton, format_time, get_datetime_format
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

DEFAULT_LOCALE = "da"
LOCALES = ("da", "en", "ar")
# Scripts written right to left; a locale in this set renders with ``dir="rtl"``.
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur"})
CATALOG_DOMAIN = "messages"
TEMPLATES_PACKAGE = "templates"
# Institutions carry a validated zone; this only guards a row written by hand.
FALLBACK_TIME_ZONE = "Europe/Copenhagen"

Direction = Literal["ltr", "rtl"]


def supported(locale: str | None) -> str:
    """The catalog for a person's locale (``da-DK``, ``en_GB``, ``EN``); Danish when none fits."""
    language = (locale or "").replace("_", "-").split("-", 1)[0].strip().lower()
    return language if language in LOCALES else DEFAULT_LOCALE


def direction(locale: str) -> Direction:
    """``rtl`` for right-to-left languages, else ``ltr``."""
    return "rtl" if supported(locale) in RTL_LANGUAGES else "ltr"


def catalog_path(locale: str) -> resources.abc.Traversable:
    """Where the ``.po`` file of a locale lives inside the ``templates`` package."""
    return (
        resources.files(TEMPLATES_PACKAGE)
        / "locale"
        / locale
        / "LC_MESSAGES"
        / f"{CATALOG_DOMAIN}.po"
    )


@functools.cache
def translations(locale: str) -> Translations:
    """The compiled catalog of a supported locale (see :func:`supported`), cached."""
    locale = supported(locale)
    with catalog_path(locale).open("rb") as po:
        catalog = read_po(po, locale=locale, domain=CATALOG_DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    loaded = Translations(compiled, domain=CATALOG_DOMAIN)
    if locale != DEFAULT_LOCALE:
        loaded.add_fallback(translations(DEFAULT_LOCALE))
    return loaded


@functools.cache
def environment(locale: str) -> jinja2.Environment:
    """The Jinja2 environment of a supported locale, its gettext installed, cached."""
    locale = supported(locale)
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(TEMPLATES_PACKAGE, "."),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",)),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,  # a typo in a template fails the tests, not a mail
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    return env


def render(template: str, locale: str, **context: Any) -> str:
    """Render ``template`` (e.g. ``email/notification.html``) in ``locale``.

    ``lang`` and ``dir`` are added to the context for the ``<html>`` element, and
    ``start``/``end`` (``left``/``right``, swapped for right-to-left) for inline CSS,
    which mail clients read without logical properties like ``margin-inline-start``.
    """
    chosen = supported(locale)
    rtl = direction(chosen) == "rtl"
    return (
        environment(chosen)
        .get_template(template)
        .render(
            lang=chosen,
            dir=direction(chosen),
            start="right" if rtl else "left",
            end="left" if rtl else "right",
            **context,
        )
    )


def format_when(moment: dt.datetime, locale: str, time_zone: str) -> str:
    """A date and time for people, e.g. ``fre. 14. marts 2025 14.05``, in ``time_zone``."""
    chosen = supported(locale)
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo(FALLBACK_TIME_ZONE)
    if moment.tzinfo is None:  # stored times are UTC (DESIGN: time)
        moment = moment.replace(tzinfo=dt.UTC)
    day = format_skeleton("yMMMMEd", moment, tzinfo=zone, locale=chosen)
    clock = format_time(moment, "short", tzinfo=zone, locale=chosen)
    return str(get_datetime_format("medium", locale=chosen)).format(clock, day)
