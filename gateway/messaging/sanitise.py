"""Message bodies: plain text with a small Markdown subset, rendered to safe HTML.

Markdown is parsed with markdown-it-py with raw HTML off and only a few rules on
(paragraphs, line breaks, emphasis, lists, quotes, code, links); its output then goes
through nh3 (ammonia) with an allow-list, so that even a parser bug cannot let a script,
an image beacon or an inline style through to a reader's browser.
"""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt

_RULES = ["emphasis", "list", "link", "newline", "paragraph", "backticks", "blockquote", "fence"]
_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "a", "code", "pre", "blockquote"}
_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}
_SCHEMES = {"http", "https", "mailto"}
# Control characters other than tab and newline: PostgreSQL refuses NUL in text, and the
# others only ever arrive by accident or to confuse a reader.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _parser() -> MarkdownIt:
    return MarkdownIt("zero", {"html": False, "breaks": True}).enable(_RULES)


_MARKDOWN = _parser()


def clean_source(text: str) -> str:
    """The body as stored: line ends normalised, control characters removed, trimmed."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


def render(source: str) -> str:
    """Safe HTML for a cleaned Markdown source."""
    html = _MARKDOWN.render(source)
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    ).strip()
