#!/usr/bin/env python3
"""The inbox benchmark's baseline: a bare Litestar app, one asyncpg query per request.

    .venv/bin/python bench/baseline_app.py --database-url postgresql://… --port 8001

It answers the same two paths as the gateway, ``GET /v1/inbox/unread`` and
``GET /v1/inbox/threads``, for the person whose id the bearer token *is* (no
signature, no roster lookup, no rate limit, no session, no ORM): one pooled asyncpg
query each, shaped like the gateway's (the grouped unread sum; a page of threads with
the sender's name joined in), encoded by msgspec. It runs under uvicorn exactly as
``budstikke serve`` does (same loop, HTTP parser and worker count), so the difference
between the two is the gateway's own work per request. A benchmark aid, not part of
the product.
"""

from __future__ import annotations

import argparse
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import uvicorn
from litestar import Litestar, Request, get
from litestar.exceptions import NotAuthorizedException

# The gateway's pool: ``gateway.db.create_engine`` gives PostgreSQL ``pool_size=10``.
POOL_SIZE = 10

UNREAD = """
SELECT institution_id, regarding, sum(unread_count) AS unread
FROM thread_participants
WHERE person_id = $1 AND kind = 'message' AND unread_count > 0
GROUP BY institution_id, regarding
"""

THREADS = """
SELECT t.id, t.kind, t.subject, t.sensitive, t.institution_id, t.category, t.urgent,
       t.last_message_at, p.regarding, p.unread_count, p.archived, p.muted, p.marked,
       s.id AS sender_id, s.given_name, s.family_name, s.kind AS sender_kind
FROM thread_participants p
JOIN threads t ON t.id = p.thread_id
JOIN people s ON s.id = t.created_by
WHERE p.person_id = $1 AND p.kind = 'message' AND NOT p.archived
ORDER BY t.last_message_at DESC, t.id DESC
LIMIT 26
"""


def _person(request: Request[Any, Any, Any]) -> uuid.UUID:
    token = request.headers.get("authorization", "").partition(" ")[2]
    try:
        return uuid.UUID(token)
    except ValueError as exc:
        raise NotAuthorizedException("Bearer <person id>") from exc


def _pool(request: Request[Any, Any, Any]) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


@get("/v1/inbox/unread")
async def unread(request: Request[Any, Any, Any]) -> dict[str, Any]:
    rows = await _pool(request).fetch(UNREAD, _person(request))
    total = 0
    institutions: dict[str, int] = {}
    children: dict[str, int] = {}
    for row in rows:
        count = int(row["unread"])
        total += count
        if row["institution_id"] is not None:
            key = str(row["institution_id"])
            institutions[key] = institutions.get(key, 0) + count
        # JSONB arrives as text without a type codec.
        for child in _ids(row["regarding"]):
            children[child] = children.get(child, 0) + count
    return {
        "total": total,
        "institutions": [{"id": k, "unread": v} for k, v in sorted(institutions.items())],
        "children": [{"id": k, "unread": v} for k, v in sorted(children.items())],
    }


@get("/v1/inbox/threads")
async def threads(request: Request[Any, Any, Any]) -> dict[str, Any]:
    rows = await _pool(request).fetch(THREADS, _person(request))
    items = [
        {
            "id": r["id"],
            "kind": r["kind"],
            "subject": None if r["sensitive"] else r["subject"],
            "sensitive": r["sensitive"],
            "sender": None
            if r["sensitive"]
            else {
                "id": r["sender_id"],
                "name": f"{r['given_name']} {r['family_name']}",
                "kind": r["sender_kind"],
            },
            "institution_id": r["institution_id"],
            "category": r["category"],
            "urgent": r["urgent"],
            "regarding": _ids(r["regarding"]),
            "last_message_at": r["last_message_at"],
            "unread_count": r["unread_count"],
            "archived": r["archived"],
            "muted": r["muted"],
            "marked": r["marked"],
        }
        for r in rows[:25]
    ]
    return {"items": items, "next_cursor": None}


def _ids(regarding: str | None) -> list[str]:
    # '["a", "b"]' → ['a', 'b'] without a JSON parse per row: the ids are plain UUIDs.
    if not regarding or regarding == "[]":
        return []
    return [part.strip(' "') for part in regarding.strip("[]").split(",")]


def create(database_url: str) -> Litestar:
    """The bare app; the pool opens at startup."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(
            database_url, min_size=POOL_SIZE, max_size=POOL_SIZE
        )
        try:
            yield
        finally:
            await app.state.pool.close()

    return Litestar([unread, threads], lifespan=[lifespan], logging_config=None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="postgresql://… (libpq style)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    # As `budstikke serve` runs uvicorn (gateway/cli.py), with one process.
    uvicorn.run(
        create(args.database_url),
        host=args.host,
        port=args.port,
        log_config=None,
        log_level="warning",
        proxy_headers=True,
        server_header=False,
    )


if __name__ == "__main__":
    main()
