"""Turning a :class:`~gateway.delivery.notice.Notice` into channel envelopes.

One :class:`Renderer` per worker renders the notification mail (HTML + plain text),
the web push payload and the digest mail, in the recipient's language
(:mod:`gateway.i18n`) and the institution's time zone.

What a mail carries:

- ``Message-ID``/``In-Reply-To``/``References`` from :func:`channels.headers.threading_headers`,
  so every mail of a thread groups under the thread's root id in mail clients;
- ``Reply-To: r-<token>@<mail domain>`` for a message thread, where the token
  (purpose ``REPLY``) names the delivery and ``budstikke inbound-smtp`` turns the reply
  into a reply in the thread. Announcements take no replies; a sensitive thread takes
  none by email either, so its content never travels by mail in either direction;
- ``List-Unsubscribe`` + ``List-Unsubscribe-Post`` (RFC 8058) for the notice's category,
  except on urgent mail, which cannot be turned off (:mod:`gateway.delivery.unsubscribe`).

Privacy (DESIGN): the sender name is the Notice's ``sender_name`` as given (already the
alias of a protected sender); for a sensitive thread neither the subject, the body nor
the sender name reaches the templates at all, so no template change can leak them.
"""

from __future__ import annotations

import datetime as dt
import functools
import unicodedata
import uuid
from collections.abc import Callable
from typing import Any, Literal

import structlog
from babel.support import Translations
from markupsafe import Markup

from channels.base import Envelope
from channels.headers import HeaderError, message_id, threading_headers, unsubscribe_headers
from channels.webpush import MAX_PAYLOAD_BYTES
from gateway.auth.links import LinkSigner, Purpose
from gateway.config import Settings
from gateway.delivery import addresses
from gateway.delivery.branding import Brand, brand_of
from gateway.delivery.models import DeliveryKind
from gateway.delivery.notice import Digest, Notice, PushTarget
from gateway.delivery.pushpayload import fit_payload, preview_text
from gateway.delivery.unsubscribe import DIGEST, unsubscribe_token
from gateway.i18n import format_when, render, supported, translations
from gateway.preferences.models import Category

log = structlog.get_logger(__name__)

#: Babel's date formatting took a sixth of a notification mail's render; a chunk renders
#: the same message's time for hundreds of recipients, so each answer is kept a while.
_when = functools.lru_cache(maxsize=1024)(format_when)

FALLBACK_DOMAIN = "budstikke.localhost"
MAX_SUBJECT_CHARS = 200
DIGEST_MAX_ITEMS = 50  # a longer digest lists these and says how many more wait
PUSH_TTL_SECONDS = 4 * 86_400
URGENT_PUSH_TTL_SECONDS = 86_400  # an old emergency alert helps nobody
Urgency = Literal["very-low", "low", "normal", "high"]
# Bidirectional overrides and isolates can make a subject display as something else.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def N_(message: str) -> str:
    """Mark a message id for extraction; it is translated where it is used."""
    return message


REASONS = {
    Category.MESSAGE: N_(
        "You get this email because email notifications about messages from "
        "%(institution)s are on for you."
    ),
    Category.ANNOUNCEMENT: N_(
        "You get this email because email notifications about announcements from "
        "%(institution)s are on for you."
    ),
    Category.CONSENT: N_(
        "You get this email because email notifications about consent requests from "
        "%(institution)s are on for you."
    ),
    Category.REMINDER: N_(
        "You get this email because email notifications about reminders from "
        "%(institution)s are on for you."
    ),
    Category.URGENT: N_(
        "You get this email because urgent messages from %(institution)s are always sent by email."
    ),
}
DIGEST_REASON = N_(
    "You get this overview because you chose one summary a day instead of separate emails."
)


def mail_domain(settings: Settings) -> str:
    """The domain of reply addresses and Message-IDs: mail domain, else the sender's."""
    return addresses.mail_domain(settings) or FALLBACK_DOMAIN


def one_line(text: str, limit: int = MAX_SUBJECT_CHARS) -> str:
    """``text`` safe for a header or a title: no control characters, one line, bounded."""
    kept = "".join(
        " " if unicodedata.category(char) in {"Cc", "Zl", "Zp"} else char
        for char in text
        if char not in _BIDI_CONTROLS
    )
    single = " ".join(kept.split())
    return single if len(single) <= limit else single[: limit - 1].rstrip() + "…"


def _utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


class Renderer:
    """Renders notices and digests into envelopes; built once per worker."""

    def __init__(
        self,
        settings: Settings,
        signer: LinkSigner,
        *,
        today: Callable[[], dt.date] = _utc_today,
    ) -> None:
        self._settings = settings
        self._signer = signer
        self._today = today
        self._domain = mail_domain(settings)
        self._base_url = settings.base_url

    @property
    def domain(self) -> str:
        """The domain of Message-IDs and reply addresses."""
        return self._domain

    def reply_address(self, delivery_id: uuid.UUID) -> str:
        """``r-<token>@<domain>``: a reply to it becomes a reply in the delivery's thread."""
        expires = self._today() + dt.timedelta(days=self._settings.reply_token_days)
        token = self._signer.issue_ids(Purpose.REPLY, (delivery_id,), expires)
        return f"r-{token}@{self._domain}"

    def unsubscribe_url(self, person_id: uuid.UUID, scope: str) -> str:
        """The one-click link that turns email off for a category (or the digest)."""
        expires = self._today() + dt.timedelta(days=self._settings.reply_token_days)
        token = unsubscribe_token(self._signer, person_id, scope, expires)
        return f"{self._base_url}/v1/unsubscribe/{token}"

    def email(self, notice: Notice, address: str) -> Envelope:
        """The notification mail of one notice to one address."""
        locale = supported(notice.locale)
        t = translations(locale)
        urgent = _urgent(notice)
        brand = brand_of(notice.branding)
        subject = self._subject(notice, t, brand)
        reply = notice.thread_kind == "message" and not notice.sensitive
        unsubscribe = None if urgent else self.unsubscribe_url(notice.person_id, notice.category)
        context: dict[str, Any] = {
            "title": subject,
            "preheader": subject,
            "brand": brand,
            "urgent": urgent,
            "sensitive": notice.sensitive,
            "announcement": notice.thread_kind == "announcement",
            "thread_url": notice.thread_url,
            "reply_by_email": reply,
            "reason": self._reason(t, notice.category, urgent) % {"institution": brand.name},
            "unsubscribe_url": unsubscribe,
            **_consent_context(notice, locale),
        }
        if not notice.sensitive:
            context.update(
                subject=one_line(notice.subject) or "…",
                sender_name=one_line(notice.sender_name),
                sent_at=_when(notice.created_at, locale, notice.time_zone),
                # Sanitised when the message was stored (gateway.messaging.sanitise).
                body_html=Markup(notice.body_html),  # noqa: S704
                body_text=notice.body_text,
                attachments=notice.attachments,
            )
            context["preheader"] = preview_text(notice.body_html)[:140]
        headers = threading_headers(
            notice.delivery_id, notice.thread_id, self._domain, notice.parents
        )
        if reply:
            headers["Reply-To"] = self.reply_address(notice.delivery_id)
        headers.update(self._unsubscribe_headers(unsubscribe))
        return Envelope(
            delivery_id=notice.delivery_id,
            address=address,
            subject=subject,
            text=render("email/notification.txt", locale, **context),
            html=render("email/notification.html", locale, **context),
            headers=headers,
        )

    def push(self, notice: Notice, target: PushTarget) -> Envelope:
        """The web push message of one notice to one browser subscription.

        The payload is ``{title, body, thread_id, message_id, url, tag, sensitive,
        urgent, kind}`` (``kind``: ``message`` or ``announcement``); ``tag`` lets the
        service worker replace the thread's earlier notification.
        """
        locale = supported(notice.locale)
        t = translations(locale)
        urgent = _urgent(notice)
        if notice.sensitive:
            title = _marked(t, t.gettext("New sensitive message"), urgent)
            body = t.gettext("Open the portal to read it.")
        else:
            title = self._subject(notice, t, brand_of(notice.branding))
            body = f"{one_line(notice.sender_name)}: {preview_text(notice.body_html)}"
        payload = {
            "title": title,
            "body": body,
            "thread_id": str(notice.thread_id),
            "message_id": str(notice.message_id),
            "url": notice.thread_url,
            "tag": f"thread-{notice.thread_id}",
            "sensitive": notice.sensitive,
            "urgent": urgent,
            "kind": notice.thread_kind,
        }
        urgency: Urgency = "normal"
        if urgent:
            urgency = "high"
        elif notice.thread_kind == "announcement":
            urgency = "low"
        return Envelope(
            delivery_id=notice.delivery_id,
            address=target.endpoint,
            subject=title,
            text=fit_payload(payload, shrink=("body", "title"), limit=MAX_PAYLOAD_BYTES),
            keys={"p256dh": target.p256dh, "auth": target.auth},
            topic=str(notice.thread_id),
            urgency=urgency,
            ttl_seconds=URGENT_PUSH_TTL_SECONDS if urgent else PUSH_TTL_SECONDS,
        )

    def digest(self, digest: Digest, address: str) -> Envelope:
        """The digest mail: the unread items (sensitive ones without subject or sender)."""
        locale = supported(digest.locale)
        t = translations(locale)
        brand = brand_of(digest.branding)
        total = len(digest.items)
        items: list[dict[str, Any]] = []
        for item in digest.items[:DIGEST_MAX_ITEMS]:
            line: dict[str, Any] = {
                "sensitive": item.sensitive,
                "when": _when(item.created_at, locale, digest.time_zone),
            }
            if not item.sensitive:
                line.update(
                    subject=one_line(item.subject) or "…",
                    sender_name=one_line(item.sender_name),
                )
            items.append(line)
        subject = one_line(
            t.ngettext(
                "%(num)d unread item from %(institution)s",
                "%(num)d unread items from %(institution)s",
                total,
            )
            % {"num": total, "institution": brand.name}
        )
        unsubscribe = self.unsubscribe_url(digest.person_id, DIGEST)
        context: dict[str, Any] = {
            "title": subject,
            "preheader": subject,
            "brand": brand,
            "items": items,
            "total": total,
            "more": total - len(items),
            "inbox_url": digest.inbox_url,
            "reason": t.gettext(DIGEST_REASON),
            "unsubscribe_url": unsubscribe,
        }
        headers = {"Message-ID": message_id(digest.key, self._domain)}
        headers.update(self._unsubscribe_headers(unsubscribe))
        return Envelope(
            delivery_id=digest.key,
            address=address,
            subject=subject,
            text=render("email/digest.txt", locale, **context),
            html=render("email/digest.html", locale, **context),
            headers=headers,
        )

    def _subject(self, notice: Notice, t: Translations, brand: Brand) -> str:
        if notice.sensitive:
            text = t.gettext("New sensitive message from %(institution)s") % {
                "institution": brand.name
            }
        else:
            text = one_line(notice.subject) or "…"
        if notice.kind == DeliveryKind.REMINDER:
            text = t.gettext("Reminder: %(subject)s") % {"subject": text}
        return one_line(_marked(t, text, _urgent(notice)))

    @staticmethod
    def _reason(t: Translations, category: str, urgent: bool) -> str:
        if urgent:
            return t.gettext(REASONS[Category.URGENT])
        known = category if category in set(Category) else Category.MESSAGE
        return t.gettext(REASONS[Category(known)])

    def _unsubscribe_headers(self, url: str | None) -> dict[str, str]:
        if url is None:
            return {}
        try:
            return unsubscribe_headers(url, urgent=False)
        except HeaderError as exc:
            # e.g. BUDSTIKKE_PUBLIC_URL unset on a host other than loopback: the link in
            # the body still works; mail clients just do not offer their own button.
            log.warning("no List-Unsubscribe header", reason=str(exc))
            return {}


def _consent_context(notice: Notice, locale: str) -> dict[str, Any]:
    """A consent mail's extras: reminder or not, the deadline, answer links per child.

    The links (``gateway.consents.links``) are only filled for non-sensitive consent
    threads, and dropped here for a sensitive one whatever the notice carries.
    """
    groups: dict[uuid.UUID, dict[str, Any]] = {}
    for link in notice.answer_links:
        group = groups.setdefault(
            link.child_id, {"child_name": one_line(link.child_name), "options": []}
        )
        group["options"].append({"label": one_line(link.option_label, 60), "url": link.url})
    consent = notice.category in {Category.CONSENT, Category.REMINDER}
    return {
        "consent": consent,
        "reminder": notice.kind == DeliveryKind.REMINDER,
        "answer_groups": list(groups.values()) if not notice.sensitive else [],
        "answer_by": (
            _when(notice.answer_by, locale, notice.time_zone)
            if consent and notice.answer_by is not None
            else None
        ),
    }


def _urgent(notice: Notice) -> bool:
    return notice.urgent or notice.category == Category.URGENT


def _marked(t: Translations, text: str, urgent: bool) -> str:
    """``text`` with the urgent marker (``[Vigtigt] …``) when urgent."""
    return t.gettext("[Urgent] %(subject)s") % {"subject": text} if urgent else text
