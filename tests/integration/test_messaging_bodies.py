"""Message bodies: the Markdown subset renders, and nothing unsafe survives."""

from __future__ import annotations

import re

import pytest

from gateway.errors import InvalidInput, LimitExceeded
from gateway.messaging.posting import body_of


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "[klik](javascript:alert(1))",
        '<img src=x onerror="alert(1)">',
        "![pixel](https://tracker.example/p.gif)",
        '<a href="https://x" style="color:red" onclick="x()">x</a>',
        "[data](data:text/html;base64,PHNjcmlwdD4=)",
    ],
)
def test_nothing_executable_or_tracking_survives(source: str) -> None:
    _, html = body_of(source)
    # Text may mention anything once escaped; what counts is the tags that are left.
    for tag in re.findall(r"<[^>]+>", html.lower()):
        assert re.match(r"</?(p|br|strong|em|ul|ol|li|a|code|pre|blockquote)\b", tag), tag
        assert not re.search(r"\son\w+=|style=|src=", tag), tag
        assert 'href="javascript' not in tag and 'href="data' not in tag, tag


def test_the_subset_renders() -> None:
    stored, html = body_of(
        "Hej **alle**\r\n\n- madpakke\n- *regntøj*\n\n[Plan](https://skole.dk/plan)"
    )
    assert "\r" not in stored
    assert "<strong>alle</strong>" in html
    assert "<li><em>regntøj</em></li>" in html
    assert 'href="https://skole.dk/plan"' in html
    assert 'rel="noopener noreferrer nofollow"' in html


def test_empty_and_oversize_bodies_are_refused() -> None:
    with pytest.raises(InvalidInput):
        body_of("\x00\x01  \n")
    with pytest.raises(LimitExceeded) as raised:
        body_of("x" * 20_001)
    assert raised.value.limit == "body_max_chars"
