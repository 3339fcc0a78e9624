"""The web push payload: JSON that fits one aes128gcm record, and a message's text preview.

A push message is one record of at most 4,096 bytes, so its plaintext holds at most
3,993 bytes (RFC 8291 §4, :data:`channels.webpush.MAX_PAYLOAD_BYTES`). A long message
is shortened here, by characters — never inside a UTF-8 sequence, nor between a letter
and its combining accent or inside an emoji sequence — and ends with "…".
"""

from __future__ import annotations

import functools
import json
import unicodedata
from collections.abc import Mapping, Sequence
from html.parser import HTMLParser
from typing import Any

ELLIPSIS = "…"
# Elements after which a preview needs a space, or "Hej<p>Husk" reads "HejHusk".
_BREAKS = frozenset(
    {
        "p",
        "br",
        "div",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "td",
        "blockquote",
        "pre",
        "hr",
    }
)
_JOINERS = frozenset({"\u200d", "\ufe0e", "\ufe0f"})  # ZWJ, text/emoji variation selectors


class _Text(HTMLParser):
    """Collects the text of an HTML fragment, with a space at each block boundary."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BREAKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BREAKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


@functools.lru_cache(maxsize=256)
def preview_text(html: str) -> str:
    """The words of a message's (already sanitised) HTML on one line.

    Cached: a chunk renders the same message for hundreds of recipients, and parsing
    its HTML again for each was a visible share of a push delivery's CPU.
    """
    parser = _Text()
    parser.feed(html)
    parser.close()
    return " ".join("".join(parser.parts).split())


def encode(fields: Mapping[str, Any]) -> str:
    """Compact JSON; non-ASCII kept as UTF-8, which is shorter than ``\\u`` escapes."""
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def _size(fields: Mapping[str, Any]) -> int:
    return len(encode(fields).encode("utf-8"))


def _safe_cut(text: str, cut: int) -> int:
    """Move ``cut`` back so it does not split a character from its marks or an emoji."""
    while 0 < cut < len(text) and (
        unicodedata.combining(text[cut]) or text[cut] in _JOINERS or text[cut - 1] in _JOINERS
    ):
        cut -= 1
    return cut


def _shortened(fields: dict[str, Any], key: str, limit: int) -> dict[str, Any]:
    """``fields`` with the longest prefix of ``fields[key]`` (plus "…") that fits, if any."""
    value: str = fields[key]
    low, high = 0, len(value)
    while low < high:  # the longest prefix whose payload fits
        middle = (low + high + 1) // 2
        if _size({**fields, key: value[:middle] + ELLIPSIS}) <= limit:
            low = middle
        else:
            high = middle - 1
    cut = _safe_cut(value, low)
    return {**fields, key: (value[:cut].rstrip() + ELLIPSIS) if cut else ""}


def fit_payload(fields: Mapping[str, Any], *, shrink: Sequence[str], limit: int) -> str:
    """The JSON of ``fields`` in at most ``limit`` UTF-8 bytes, shortening ``shrink`` in order.

    Raises ValueError when even empty ``shrink`` fields do not fit (the other fields
    are bounded, so that is a programming error, not a recipient's).
    """
    current = dict(fields)
    for key in shrink:
        if _size(current) <= limit:
            break
        current = _shortened(current, key, limit)
        if _size(current) > limit:
            current[key] = ""
    if _size(current) > limit:
        raise ValueError(f"push payload does not fit in {limit} bytes")
    return encode(current)
