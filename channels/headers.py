"""Email header rules: injection checks, threading ids, and RFC 8058 one-click unsubscribe.

One-click unsubscribe needs an ``https://`` URI; plain ``http://`` passes only for a
loopback host (the embedded default serves ``http://127.0.0.1:8000``).

The renderer builds an envelope's headers with :func:`threading_headers` and
:func:`unsubscribe_headers`; the email channel checks them again with
:func:`validate_headers` just before sending, because an envelope may have been stored and
loaded in between. Urgent mail is signalled by the absence of ``List-Unsubscribe``:
``unsubscribe_headers(..., urgent=True)`` returns nothing, and the channel adds no
unsubscribe headers of its own (urgent notifications cannot be turned off).
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

LIST_UNSUBSCRIBE = "List-Unsubscribe"
LIST_UNSUBSCRIBE_POST = "List-Unsubscribe-Post"
ONE_CLICK = "List-Unsubscribe=One-Click"

# Headers the channel writes itself. An envelope that carries one would change who receives
# the mail (Bcc/Cc would leak addresses) or break the MIME structure.
RESERVED = frozenset(
    name.lower()
    for name in (
        "From",
        "To",
        "Cc",
        "Bcc",
        "Sender",
        "Subject",
        "Date",
        "MIME-Version",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Content-Disposition",
        "Return-Path",
        "Received",
    )
)

_FIELD_NAME = re.compile(r"^[!-9;-~]{1,76}$")  # RFC 5322 ftext: printable ASCII but ":"
_MSG_ID = re.compile(r"^<[^<>@\s]+@[^<>@\s]+>$")
_FORBIDDEN_CHARS = ("\r", "\n", "\0")
MAX_REFERENCES = 10  # root + the newest parents; long threads would grow the header forever
MAX_VALUE_LENGTH = 998  # RFC 5322 line limit
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_NEEDS_HTTPS = "needs an https:// URI (http:// only on localhost)"


class HeaderError(ValueError):
    """A header name or value is unsafe or malformed; the message says which."""


def check_text(name: str, value: str) -> None:
    """Raise HeaderError when ``value`` could inject a header (CR, LF or NUL) or is too long."""
    if any(char in value for char in _FORBIDDEN_CHARS):
        raise HeaderError(f"invalid header {name}: contains CR, LF or NUL")
    if len(value) > MAX_VALUE_LENGTH:
        raise HeaderError(f"invalid header {name}: longer than {MAX_VALUE_LENGTH} characters")


def _check_msg_ids(name: str, value: str, *, single: bool) -> None:
    ids = value.split()
    if not ids or (single and len(ids) != 1) or not all(_MSG_ID.match(i) for i in ids):
        raise HeaderError(f"invalid header {name}: not a list of <id@domain> message ids")


def _check_unsubscribe(headers: Mapping[str, str]) -> None:
    value = headers[LIST_UNSUBSCRIBE]
    uris = [part.strip() for part in value.split(",")]
    if not all(uri.startswith("<") and uri.endswith(">") for uri in uris):
        raise HeaderError(f"invalid header {LIST_UNSUBSCRIBE}: each URI must be in <>")
    if not any(one_click_uri(uri[1:-1]) for uri in uris):
        raise HeaderError(f"invalid header {LIST_UNSUBSCRIBE}: {_NEEDS_HTTPS}")


def one_click_uri(url: str) -> bool:
    """Whether a mail client may POST to ``url`` for one-click unsubscribe.

    RFC 8058 section 3.1 asks for HTTPS. Plain HTTP is accepted only for a loopback host,
    because the embedded default (``budstikke run``) serves ``http://127.0.0.1:8000``, and
    a request to a loopback address never crosses a network.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    if not host:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK_HOSTS)


def validate_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Check an envelope's extra headers; return them with canonical names and one-click added.

    Raises HeaderError for a CR/LF/NUL in a name or value, a reserved or malformed name, a
    malformed Message-ID/In-Reply-To/References, or a List-Unsubscribe without an https URI
    (see :func:`one_click_uri`).
    """
    checked: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in headers.items():
        check_text("name", name)
        if not _FIELD_NAME.match(name):
            raise HeaderError(f"invalid header name {name!r}")
        lowered = name.lower()
        if lowered in RESERVED:
            raise HeaderError(f"invalid header {name}: set by the channel, not the envelope")
        if lowered in seen:
            raise HeaderError(f"invalid header {name}: given twice")
        seen.add(lowered)
        check_text(name, value)
        checked[_canonical(name)] = value
    if "Message-ID" in checked:
        _check_msg_ids("Message-ID", checked["Message-ID"], single=True)
    if "In-Reply-To" in checked:
        _check_msg_ids("In-Reply-To", checked["In-Reply-To"], single=True)
    if "References" in checked:
        _check_msg_ids("References", checked["References"], single=False)
    if LIST_UNSUBSCRIBE in checked:
        _check_unsubscribe(checked)
        checked[LIST_UNSUBSCRIBE_POST] = ONE_CLICK
    elif LIST_UNSUBSCRIBE_POST in checked:
        raise HeaderError(f"invalid header {LIST_UNSUBSCRIBE_POST}: without {LIST_UNSUBSCRIBE}")
    return checked


_CANONICAL = {
    name.lower(): name
    for name in ("Message-ID", "In-Reply-To", "References", LIST_UNSUBSCRIBE, LIST_UNSUBSCRIBE_POST)
}


def _canonical(name: str) -> str:
    return _CANONICAL.get(name.lower(), name)


def message_id(key: uuid.UUID | str, domain: str) -> str:
    """A Message-ID for one delivery (or thread root); stable, so a resend keeps it."""
    check_text("domain", domain)
    if not domain or any(char in domain for char in "<>@ \t"):
        raise HeaderError(f"invalid domain {domain!r} for a Message-ID")
    return f"<{key}@{domain}>"


def thread_root_id(thread_id: uuid.UUID, domain: str) -> str:
    """The Message-ID every mail of a thread refers to, so mail clients group them."""
    return message_id(f"thread.{thread_id}", domain)


def threading_headers(
    delivery_id: uuid.UUID,
    thread_id: uuid.UUID,
    domain: str,
    parents: Sequence[str] = (),
) -> dict[str, str]:
    """Message-ID for this delivery; In-Reply-To and References pointing at the thread.

    ``parents`` are the Message-IDs of earlier mails of the thread to this person, oldest
    first; the thread root always leads ``References`` (RFC 5322 section 3.6.4).
    """
    root = thread_root_id(thread_id, domain)
    chain = [root, *(p for p in parents if p != root)]
    if len(chain) > MAX_REFERENCES:
        chain = [root, *chain[-(MAX_REFERENCES - 1) :]]
    return {
        "Message-ID": message_id(delivery_id, domain),
        "In-Reply-To": chain[-1],
        "References": " ".join(chain),
    }


def unsubscribe_headers(url: str, *, urgent: bool) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe headers for ``url``; none for urgent mail."""
    if urgent:
        return {}
    check_text(LIST_UNSUBSCRIBE, url)
    if not one_click_uri(url):
        raise HeaderError(f"invalid header {LIST_UNSUBSCRIBE}: {_NEEDS_HTTPS}")
    return {LIST_UNSUBSCRIBE: f"<{url}>", LIST_UNSUBSCRIBE_POST: ONE_CLICK}


#: The longest line a folded header aims for (RFC 5322 §2.1.1: SHOULD be at most 78).
FOLD_AT = 78
# UTF-8 bytes per RFC 2047 encoded-word: base64 of 39 bytes is 52 characters, so a word
# is 64 characters and ``Subject: `` plus one word still fits a 78-character line.
_WORD_BYTES = 39


def encoded_words(value: str) -> str:
    """An unstructured header value with its non-ASCII words as RFC 2047 ``B`` encoded-words.

    ASCII words stay readable (``Tur i skoven =?utf-8?b?cMOl?= fredag``); a run of
    non-ASCII words is encoded together, spaces included, since a reader drops the
    space between two encoded-words (§6.2). A word that looks like an encoded-word
    is encoded too, so it is not read as one.
    """
    if value.isascii() and "=?" not in value:
        return value
    out: list[str] = []
    run: list[str] = []
    for token in value.split(" "):
        if token.isascii() and "=?" not in token:
            if run:
                out.append(_words(" ".join(run)))
                run = []
            out.append(token)
        else:
            run.append(token)
    if run:
        out.append(_words(" ".join(run)))
    return " ".join(out)


def _words(text: str) -> str:
    """``text`` as encoded-words split on character boundaries (no half UTF-8 sequence)."""
    words: list[str] = []
    current = b""
    for char in text:
        encoded = char.encode("utf-8")
        if len(current) + len(encoded) > _WORD_BYTES:
            words.append(_word(current))
            current = b""
        current += encoded
    words.append(_word(current))
    return " ".join(words)


def _word(data: bytes) -> str:
    return f"=?utf-8?b?{base64.b64encode(data).decode('ascii')}?="


def fold(name: str, value: str) -> str:
    """``Name: value``, folded at spaces into lines of at most 78 characters where it can be.

    A run without spaces longer than a line stays whole (it is at most 998 characters:
    :func:`check_text` refused longer values).
    """
    tokens = value.split(" ")
    lines: list[str] = []
    current = f"{name}: {tokens[0]}"
    for token in tokens[1:]:
        if len(current) + 1 + len(token) > FOLD_AT and current.strip():
            lines.append(current)
            current = " " + token
        else:
            current += " " + token
    lines.append(current)
    return "\r\n".join(lines)
