"""How an institution's mail looks: its name, a header colour with readable text, a logo.

Branding comes from ``institutions.settings["branding"]`` (``{name, colour, logo_url}``)
through the Notice. Nothing in it is trusted: a colour that is not ``#rgb``/``#rrggbb``
becomes the default (it is written into inline CSS), a logo that is not ``https://`` is
left out (mail clients warn about mixed content), and the text on the colour bar is
white or dark, whichever contrasts more (WCAG relative luminance).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.delivery.notice import Branding

DEFAULT_COLOUR = "#1f4e5f"
MAX_NAME_CHARS = 200
_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")
_DARK_TEXT = "#1f2328"


@dataclass(frozen=True, slots=True)
class Brand:
    """An institution's branding as the templates use it."""

    name: str
    colour: str
    on_colour: str  # text on the colour: white or dark, whichever reads better
    logo_url: str | None


def _luminance(colour: str) -> float:
    digits = colour[1:]
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def brand_of(branding: Branding) -> Brand:
    """The branding with a valid colour, readable text on it, and an https logo or none."""
    colour = branding.colour if branding.colour and _COLOUR.fullmatch(branding.colour) else None
    colour = colour or DEFAULT_COLOUR
    lum = _luminance(colour)
    # WCAG contrast ratios against white and against the dark text colour.
    on_white = 1.05 / (lum + 0.05)
    on_dark = (lum + 0.05) / (_luminance(_DARK_TEXT) + 0.05)
    logo = branding.logo_url
    return Brand(
        name=" ".join(branding.name.split())[:MAX_NAME_CHARS] or "Budstikke",
        colour=colour,
        on_colour="#ffffff" if on_white >= on_dark else _DARK_TEXT,
        logo_url=logo if logo and logo.startswith("https://") and '"' not in logo else None,
    )
