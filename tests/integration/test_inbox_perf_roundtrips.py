"""The inbox's hot reads stay few statements, outside any transaction.

Each database round trip costs more than the Python around it (bench/inbox_api.py), so
the statements one request runs are counted here on the app's own engine: a regression
that adds a query, or wraps the reads in BEGIN … COMMIT again, fails this test.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from tests.integration import messaging_world
from tests.integration.messaging_world import World

world = messaging_world.world  # the fixture

GUARDIAN = "guardian_two_children"


@contextmanager
def statements(w: World) -> Iterator[list[tuple[str, str | None]]]:
    """Each statement the app's engine runs meanwhile, with its isolation level option."""
    engine = w.client.app.state.resources.engine.sync_engine
    seen: list[tuple[str, str | None]] = []

    def record(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(
            (statement.split(maxsplit=1)[0], conn.get_execution_options().get("isolation_level"))
        )

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_unread_counts_are_one_statement_after_the_token_is_known(world: World) -> None:
    w = world
    await w.send_to_class(subject="Ugebrev")
    headers = w.headers(w.summary.guardian_two_children)
    assert (await w.client.get("/v1/inbox/unread", headers=headers)).status_code == 200
    with statements(w) as seen:
        response = await w.client.get("/v1/inbox/unread", headers=headers)
    assert response.status_code == 200
    assert response.json()["total"] >= 1
    # The person behind the token (checked every time), then the grouped count.
    assert seen == [("SELECT", "AUTOCOMMIT"), ("SELECT", "AUTOCOMMIT")]


async def test_a_page_of_threads_is_two_statements_outside_a_transaction(world: World) -> None:
    w = world
    await w.send_to_class(subject="Ugebrev")
    headers = w.headers(w.summary.guardian_two_children)
    with statements(w) as seen:
        response = await w.client.get("/v1/inbox/threads", headers=headers)
    assert response.status_code == 200
    assert response.json()["items"][0]["sender"] is not None
    # The person, the page, the senders' names.
    assert seen == [("SELECT", "AUTOCOMMIT")] * 3
