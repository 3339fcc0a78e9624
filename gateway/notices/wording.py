"""The words of a notice's thread: a Danish subject and body the room's staff read.

The thread is stored once for all its participants (the room's staff and the guardian
who sent it), so its text is written in the institution's language, Danish, with dates
formatted by Babel ("fredag 6. marts"). The note is the guardian's plain text: it goes
into the body as it is and into the HTML escaped, never read as Markdown.
"""

from __future__ import annotations

import datetime as dt
import html

from babel.dates import format_date

from gateway.messaging.schemas import MAX_SUBJECT
from gateway.notices.models import NoticeKind
from gateway.notices.rules import Draft

LOCALE = "da"


def subject(child: str, draft: Draft, today: dt.date) -> str:
    """E.g. "Ida Holm er syg i dag", "… holder fri 3.–7. marts", "… hentes af Morfar kl. 15:00"."""
    match draft.kind:
        case NoticeKind.SICK:
            text = f"{child} er syg {_day(draft.from_date, today)}"
        case NoticeKind.OFF:
            text = f"{child} holder fri {_span(draft.from_date, draft.to_date, today)}"
        case NoticeKind.PICKED_UP_BY:
            # Today goes without saying for a pick-up: "hentes af Morfar kl. 15:00".
            day = "" if draft.from_date == today else f" {_day(draft.from_date, today)}"
            text = f"{child} hentes af {draft.picked_up_by}{day} kl. {draft.pickup_time}"
    return _cut(text, MAX_SUBJECT)


def body(child: str, draft: Draft) -> str:
    """The message: what the notice says in full, with dates, then the guardian's note."""
    first = _long(draft.from_date)
    match draft.kind:
        case NoticeKind.SICK:
            summary = f"{child} er syg {first}."
        case NoticeKind.OFF if draft.to_date == draft.from_date:
            summary = f"{child} holder fri {first}."
        case NoticeKind.OFF:
            days = (draft.to_date - draft.from_date).days + 1
            summary = f"{child} holder fri fra {first} til {_long(draft.to_date)} ({days} dage)."
        case NoticeKind.PICKED_UP_BY:
            summary = f"{child} hentes {first} kl. {draft.pickup_time} af {draft.picked_up_by}."
    if draft.note:
        return f"{summary}\n\nBesked:\n{draft.note}"
    return summary


def withdrawn(subject_text: str) -> str:
    """The message that tells the staff a notice no longer holds."""
    return f"Beskeden er trukket tilbage og gælder ikke længere: {subject_text}"


def as_html(text: str) -> str:
    """Plain text as safe HTML: escaped, blank lines part paragraphs, line breaks kept."""
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    return "\n".join(
        "<p>" + "<br>\n".join(html.escape(line) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )


def _day(day: dt.date, today: dt.date) -> str:
    if day == today:
        return "i dag"
    if day == today + dt.timedelta(days=1):
        return "i morgen"
    pattern = "EEEE d. MMMM" if day.year == today.year else "EEEE d. MMMM y"
    return format_date(day, pattern, locale=LOCALE)


def _span(first: dt.date, last: dt.date, today: dt.date) -> str:
    """ "i dag", "3.–7. marts", "28. februar–3. marts", "30. december 2026–2. januar 2027"."""
    if first == last:
        return _day(first, today)
    year = "" if first.year == last.year == today.year else " y"
    if first.year != last.year:
        return (
            f"{format_date(first, 'd. MMMM y', locale=LOCALE)}–"
            f"{format_date(last, 'd. MMMM y', locale=LOCALE)}"
        )
    if first.month == last.month:
        return f"{first.day}.–{format_date(last, 'd. MMMM' + year, locale=LOCALE)}"
    return (
        f"{format_date(first, 'd. MMMM', locale=LOCALE)}–"
        f"{format_date(last, 'd. MMMM' + year, locale=LOCALE)}"
    )


def _long(day: dt.date) -> str:
    return format_date(day, "EEEE d. MMMM y", locale=LOCALE)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
