"""How a person is reached and recognised: e-mail addresses, UNI-Login, language.

These cells are checked lightly. A bad value here drops that value, not the person: a
parent with a typo in their address must still get their child's messages in the inbox.
"""

from __future__ import annotations

import re
from functools import lru_cache

_EMAIL_SPLIT = re.compile(r"[,;\s]+")
_USER_ID = re.compile(r"\{\s*([^{}:]+?)\s*:\s*([^{}]*?)\s*\}")
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")
_UNI_LOGIN_TYPES = frozenset({"unilogin", "uni"})
MAX_EMAIL = 320
MAX_UNI_LOGIN = 64
DEFAULT_LOCALE = "da"


def emails(raw: str) -> tuple[tuple[str, ...], list[str]]:
    """The addresses in a cell (domain lower-cased, duplicates dropped) and the refused ones."""
    kept: list[str] = []
    refused: list[str] = []
    if not raw:
        return (), refused
    for candidate in _EMAIL_SPLIT.split(raw.strip()):
        if not candidate:
            continue
        address = _email(candidate)
        if address is None:
            refused.append(candidate)
        elif address not in kept:
            kept.append(address)
    return tuple(kept), refused


def _email(candidate: str) -> str | None:
    local, at, domain = candidate.strip("<>").rpartition("@")
    labels = domain.split(".")
    if (
        not at
        or not local
        or "@" in local
        or len(labels) < 2
        or not all(labels)
        or len(candidate) > MAX_EMAIL
    ):
        return None
    # The local part may be case-sensitive (RFC 5321); the domain never is.
    return f"{local}@{domain.lower()}"


def uni_login(raw: str) -> str | None:
    """The UNI-Login user id from ``userIds`` (``{UNI-Login:abcd1234},{LDAP:…}``)."""
    if not raw:
        return None
    pairs = _USER_ID.findall(raw)
    if not pairs and ":" in raw:
        # Some exports drop the braces: ``UNI-Login:abcd1234,LDAP:x``.
        pairs = [tuple(part.split(":", 1)) for part in raw.split(",") if ":" in part]
    for kind, value in pairs:
        key = re.sub(r"[\s_-]", "", kind).lower()
        if key in _UNI_LOGIN_TYPES and value.strip():
            return str(value).strip()[:MAX_UNI_LOGIN]
    return None


@lru_cache(maxsize=256)  # a set has a handful of distinct values, each on thousands of rows
def locale(raw: str) -> str | None:
    """A BCP 47 language tag tidied (``da_dk`` → ``da-DK``); ``None`` when it is not one."""
    if not raw:
        return DEFAULT_LOCALE
    tag = raw.strip().replace("_", "-")
    if not _LANGUAGE_TAG.fullmatch(tag) or len(tag) > 16:
        return None
    language, *rest = tag.split("-")
    subtags = [part.upper() if len(part) == 2 else part for part in rest]
    return "-".join([language.lower(), *subtags])
