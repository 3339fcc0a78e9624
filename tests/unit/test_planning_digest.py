"""When a digest goes: after the push had its chance, and within the person's hours."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

from channels.vapid import generate_key_pair
from gateway.config import load_settings
from gateway.delivery import planning
from gateway.preferences.models import Mode

ZONE = ZoneInfo("Europe/Copenhagen")
# A Monday morning, 09:00 in Copenhagen.
MONDAY_9 = dt.datetime(2026, 12, 7, 9, 0, tzinfo=ZONE).astimezone(dt.UTC)


def _ctx(tmp_path: Path) -> planning.Context:
    settings = load_settings(
        {
            "BUDSTIKKE_DATA_DIR": str(tmp_path),
            "BUDSTIKKE_SMTP_HOST": "127.0.0.1",
            "BUDSTIKKE_SMTP_FROM": "Skolen <no-reply@example.dk>",
            "BUDSTIKKE_VAPID_PRIVATE_KEY": generate_key_pair().private_b64,
            "BUDSTIKKE_VAPID_SUBJECT": "mailto:drift@example.dk",
            "BUDSTIKKE_QUIET_HOURS": "21:00-07:00",
            "BUDSTIKKE_WORKING_HOURS": "mon-fri 07:30-16:30",
        }
    )
    return planning.Context(
        settings=settings,
        now=MONDAY_9,
        base=MONDAY_9,
        category="message",
        urgent=False,
        zone="Europe/Copenhagen",
        defaults=None,
        channels=planning.configured_channels(settings),
    )


def _person(*, staff: bool = False, has_push: bool) -> planning.Recipient:
    return planning.Recipient(
        person_id=uuid.uuid4(),
        staff=staff,
        chosen={"webpush": None, "email": None},
        has_email=True,
        has_push=has_push,
        quiet=None,
        digest_time=None,
    )


def _email(ctx: planning.Context, person: planning.Recipient, push: Mode) -> dt.datetime:
    found = planning._plan_one(ctx, person, "email", {"email": Mode.DIGEST, "webpush": push})
    assert found is not None and found[0] == "digest"
    return found[1].astimezone(ZONE)


def test_behind_an_instant_push_the_digest_waits_for_the_escalation_delay(
    tmp_path: Path,
) -> None:
    ctx = _ctx(tmp_path)
    digest = ctx.settings.digest_time  # minutes after midnight
    at_digest = dt.time(digest // 60, digest % 60)
    # Without push (or with push off) the digest is today's.
    assert _email(ctx, _person(has_push=False), Mode.INSTANT).date() == dt.date(2026, 12, 7)
    assert _email(ctx, _person(has_push=True), Mode.OFF).date() == dt.date(2026, 12, 7)
    # Behind an instant push, the first digest a day (the escalation delay) later.
    later = _email(ctx, _person(has_push=True), Mode.INSTANT)
    assert ctx.settings.escalate_email_after_seconds == 86_400
    assert later.date() == dt.date(2026, 12, 8) and later.time() == at_digest


def test_a_staff_digest_waits_for_working_hours(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    # The 17:00 digest falls after work (16:30): the next working morning.
    at = _email(ctx, _person(staff=True, has_push=False), Mode.INSTANT)
    assert (at.date(), at.time()) == (dt.date(2026, 12, 8), dt.time(7, 30))
