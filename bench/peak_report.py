"""The morning peak's figures: latencies from the posts, the samples and the receivers.

Every mail and push that arrived is matched back to the post that caused it: a mail by
its ``Message-ID`` (``<delivery id@domain>``; the delivery's row names the message), a
push by its decrypted payload's ``message_id``. A latency is the receive time minus
the time that post's ``202`` arrived at the generator (one machine, one clock).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import harness
from peak_load import CONNECTION_FAILED, SHED, TIMED_OUT, Seen, Sent
from peak_roster import Subscriber
from peak_sinks import Records, decrypt


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def spread(values: list[float]) -> dict[str, Any]:
    """Count, p50, p99 and max, in seconds."""
    return {
        "n": len(values),
        "p50_s": percentile(values, 0.50),
        "p99_s": percentile(values, 0.99),
        "max_s": max(values, default=None),
    }


def posting(sent: list[Sent]) -> dict[str, Any]:
    """Answers by status, lateness of the generator, and request → 202 by kind."""
    accepted = [s for s in sent if s.status == 202 and s.answered is not None]
    lag = [s.sent - s.scheduled for s in sent]
    by_kind = {
        kind: spread([s.answered - s.sent for s in accepted if s.kind == kind])  # type: ignore[operator]
        for kind in sorted({s.kind for s in sent})
    }
    return {
        "posts": len(sent),
        "statuses": dict(Counter(_status(s.status) for s in sent)),
        "late_over_10ms": sum(1 for x in lag if x > 0.010),
        "late_over_100ms": sum(1 for x in lag if x > 0.100),
        "late_max_s": max(lag, default=0.0),
        "sent_to_202": spread([s.answered - s.sent for s in accepted]),  # type: ignore[operator]
        "scheduled_to_202": spread([s.answered - s.scheduled for s in accepted]),  # type: ignore[operator]
        "sent_to_202_by_kind": by_kind,
        "recipients": sum(s.recipients for s in accepted),
    }


def _status(status: int) -> str:
    names = {SHED: "shed", TIMED_OUT: "timed out", CONNECTION_FAILED: "connection failed"}
    return names.get(status, str(status))


def visibility(seen: list[Seen]) -> dict[str, Any]:
    """202 → the recipient's own inbox read shows it, over the sampled posts."""
    shown = [s.after_202 for s in seen if s.after_202 is not None]
    return {
        **spread(shown),
        "sampled": len(seen),
        "never": sum(1 for s in seen if s.after_202 is None),
        "on_first_read": sum(1 for s in seen if s.after_202 is not None and s.tries == 1),
        "by_kind": {
            kind: spread([s.after_202 for s in seen if s.kind == kind and s.after_202 is not None])
            for kind in sorted({s.kind for s in seen})
        },
    }


async def deliveries(database_url: str) -> dict[str, tuple[str, str, str]]:
    """Every delivery: id → (message id, channel, state)."""
    conn = await harness.connect(database_url)
    try:
        rows = await conn.fetch("SELECT id, message_id, channel, state FROM deliveries")
        return {str(r["id"]): (str(r["message_id"]), r["channel"], r["state"]) for r in rows}
    finally:
        await conn.close()


async def stored_at(database_url: str) -> dict[str, float]:
    """Every message's ``created_at`` (set in the API as it builds the row, before commit)."""
    conn = await harness.connect(database_url)
    try:
        rows = await conn.fetch("SELECT id, created_at FROM messages")
        return {str(r["id"]): r["created_at"].timestamp() for r in rows}
    finally:
        await conn.close()


def split(sent: list[Sent], stored: dict[str, float]) -> dict[str, Any]:
    """Request → the message row built (auth, policy, audience: before the insert), and
    the row built → 202 (insert, commit, enqueue, events, the answer going out)."""
    accepted = [s for s in sent if s.status == 202 and s.message_id in stored]
    return {
        "sent_to_row": spread([stored[s.message_id] - s.sent for s in accepted]),  # type: ignore[index]
        "row_to_202": spread([s.answered - stored[s.message_id] for s in accepted]),  # type: ignore[index,operator]
    }


def receipts(
    sent: list[Sent],
    records: Records,
    subscribers: dict[int, Subscriber],
    planned: dict[str, tuple[str, str, str]],
) -> dict[str, Any]:
    """202 → mail received and → push received, duplicates, and what never arrived."""
    answered = {s.message_id: s.answered for s in sent if s.status == 202 and s.message_id}
    mail_keys = Counter(key.split("@", 1)[0] for _, key in records.mails)
    mail_lat = []
    for at, key in records.mails:
        found = planned.get(key.split("@", 1)[0])
        if found and found[0] in answered:
            mail_lat.append(at - answered[found[0]])  # type: ignore[operator]
    push_keys: Counter[tuple[int, str]] = Counter()
    push_lat = []
    for at, n, body in records.pushes:
        sub = subscribers[n]
        message = decrypt(body, sub.private_key, sub.auth)["message_id"]
        push_keys[(n, message)] += 1
        if message in answered:
            push_lat.append(at - answered[message])  # type: ignore[operator]
    measured = {d: v for d, v in planned.items() if v[0] in answered}
    states = Counter(f"{channel}/{state}" for _, channel, state in measured.values())
    expected_mail = {d for d, (_, c, s) in measured.items() if c == "email" and s == "sent"}
    return {
        "email": {
            **spread(mail_lat),
            "received": len(records.mails),
            "duplicates": sum(n - 1 for n in mail_keys.values() if n > 1),
            "sent_not_received": len(expected_mail - set(mail_keys)),
        },
        "push": {
            **spread(push_lat),
            "received": len(records.pushes),
            "duplicates": sum(n - 1 for n in push_keys.values() if n > 1),
            "delivered_in_db": states.get("push/delivered", 0),
        },
        "deliveries_by_channel_state": dict(sorted(states.items())),
    }
