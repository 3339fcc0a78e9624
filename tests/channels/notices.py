"""Notices, digests and a renderer for the rendering, DKIM and push tests."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

from gateway.auth.links import LinkSigner
from gateway.config import Settings, load_settings
from gateway.delivery.notice import Branding, Digest, DigestItem, Notice
from gateway.delivery.render import Renderer

KEY = b"k" * 32
TODAY = dt.date(2025, 3, 14)
SENT = dt.datetime(2025, 3, 14, 13, 5, tzinfo=dt.UTC)  # 14.05 in Copenhagen
THREAD = uuid.UUID("0b6d3f4e-8c1a-4a53-9d0e-5f7c2a1b9e01")
BRANDING = Branding(
    name="Skovbakke Skole", colour="#1b5e20", logo_url="https://cdn.example.dk/logo.png"
)


def signer() -> LinkSigner:
    return LinkSigner(KEY)


def renderer(settings: Settings) -> Renderer:
    """A renderer whose 'today' is fixed, so token expiry can be asserted."""
    return Renderer(settings, signer(), today=lambda: TODAY)


def plain_settings(tmp_path: Path, **extra: str) -> Settings:
    environ = {
        "BUDSTIKKE_DATA_DIR": str(tmp_path),
        "BUDSTIKKE_SMTP_FROM": "Budstikke <no-reply@skole.example.dk>",
        "BUDSTIKKE_PUBLIC_URL": "https://besked.kommune.dk",
    }
    environ.update({f"BUDSTIKKE_{key.upper()}": value for key, value in extra.items()})
    # An empty value stands for "not set".
    return load_settings({key: value for key, value in environ.items() if value})


def notice(**changes: Any) -> Notice:
    fields: dict[str, Any] = {
        "delivery_id": uuid.uuid4(),
        "municipality_id": uuid.uuid4(),
        "person_id": uuid.uuid4(),
        "thread_id": THREAD,
        "message_id": uuid.uuid4(),
        "channel": "email",
        "kind": "instant",
        "category": "message",
        "urgent": False,
        "sensitive": False,
        "thread_kind": "message",
        "locale": "da",
        "time_zone": "Europe/Copenhagen",
        "recipient_name": "Mette Modtager",
        "sender_name": "Anna Andersen",
        "subject": "Tur i skoven på fredag",
        "body_text": "Husk **madpakke** og regntøj.",
        "body_html": "<p>Husk <strong>madpakke</strong> og regntøj.</p>",
        "created_at": SENT,
        "attachments": 0,
        "branding": BRANDING,
        "thread_url": f"https://besked.kommune.dk/threads/{THREAD}",
        **changes,
    }
    return Notice(**fields)


def digest_item(**changes: Any) -> DigestItem:
    fields: dict[str, Any] = {
        "thread_id": uuid.uuid4(),
        "sensitive": False,
        "subject": "Forældremøde i 3.B",
        "sender_name": "Anna Andersen",
        "created_at": SENT,
        "thread_url": "https://besked.kommune.dk/threads/x",
        **changes,
    }
    return DigestItem(**fields)


def digest(*items: DigestItem, **changes: Any) -> Digest:
    fields: dict[str, Any] = {
        "key": uuid.uuid4(),
        "municipality_id": uuid.uuid4(),
        "person_id": uuid.uuid4(),
        "locale": "da",
        "time_zone": "Europe/Copenhagen",
        "recipient_name": "Mette Modtager",
        "branding": BRANDING,
        "items": items or (digest_item(),),
        "inbox_url": "https://besked.kommune.dk/inbox",
        **changes,
    }
    return Digest(**fields)
