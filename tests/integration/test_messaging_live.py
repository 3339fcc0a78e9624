"""Live events over SSE, and out-of-office auto-replies."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import httpx
import uvicorn

from gateway.api.app import create_app
from tests.integration import messaging_world
from tests.integration.messaging_world import World

world = messaging_world.world  # the fixture


async def _serve(w: World) -> tuple[uvicorn.Server, asyncio.Task[Any], str]:
    config = uvicorn.Config(
        create_app(w.settings), host="127.0.0.1", port=0, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, f"http://127.0.0.1:{port}"


async def test_sse_delivers_a_new_message_event(world: World) -> None:
    # A real server: the event comes from another process's point of view, through Redis.
    w = world
    server, task, base = await _serve(w)
    guardian = w.summary.guardian_two_children
    try:
        async with (
            httpx.AsyncClient(base_url=base, timeout=10) as http,
            http.stream("GET", "/v1/events", headers=w.headers(guardian)) as stream,
        ):
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.aiter_lines()
            first = await asyncio.wait_for(anext(lines), 5)
            assert first.startswith(":")  # the connected comment: subscribed now
            sent = await w.send_to_class()

            async def event() -> dict[str, Any]:
                async for line in lines:
                    if line.startswith("data:"):
                        return dict(json.loads(line.removeprefix("data:").strip()))
                raise AssertionError("stream ended")

            data = await asyncio.wait_for(event(), 5)
            assert data == {
                "type": "message",
                "thread_id": sent["thread_id"],
                "message_id": sent["message_id"],
            }
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def test_auto_reply_answers_once_per_thread(world: World) -> None:
    w = world
    now = dt.datetime.now(dt.UTC)
    teacher = w.summary.teacher
    guardian = w.summary.guardian_two_children
    put = await w.client.put(
        "/v1/me/auto-reply",
        json={
            "starts_at": (now - dt.timedelta(hours=1)).isoformat(),
            "ends_at": (now + dt.timedelta(days=1)).isoformat(),
            "body": "Jeg er på kursus til mandag.",
        },
        headers=w.headers(teacher),
    )
    assert put.status_code == 200, put.text
    refused = await w.client.put(
        "/v1/me/auto-reply",
        json={"starts_at": now.isoformat(), "ends_at": now.isoformat(), "body": "x"},
        headers=w.headers(guardian),
    )
    assert refused.status_code == 403
    body = {
        "subject": "Spørgsmål",
        "body": "Hvornår er turen?",
        "audience": {"targets": [{"type": "people", "people": [await w.id_of(teacher)]}]},
    }
    sent = await w.post("/v1/messages", guardian, body)
    assert sent.status_code == 202, sent.text
    thread = sent.json()["thread_id"]
    await w.post(f"/v1/threads/{thread}/messages", guardian, {"body": "Og hvad skal vi have med?"})
    view = (await w.get(f"/v1/inbox/threads/{thread}", guardian)).json()
    autos = [m for m in view["messages"] if m["auto_reply"]]
    assert len(autos) == 1
    assert autos[0]["body"] == "Jeg er på kursus til mandag."
    assert len(view["messages"]) == 3
