"""API keys on both engines: shown once, stored hashed, verified, listed, revoked; the CLI."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.auth.apikeys import (
    create_api_key,
    list_api_keys,
    revoke_api_key,
    verify_api_key,
)
from gateway.auth.models import ApiKey
from gateway.auth.principals import Permission
from gateway.cli import main
from gateway.db import create_engine, session_factory
from gateway.errors import InvalidInput, NotFound, Unauthorized
from gateway.roster.models import Institution, Municipality


async def seed(engine: AsyncEngine) -> dict[str, str]:
    """Two municipalities; the first has two schools. Their institution UUIDs by source id."""
    async with session_factory(engine)() as session, session.begin():
        first = Municipality(code="0101", name="Nordby", settings={})
        other = Municipality(code="0202", name="Sydby", settings={})
        session.add_all([first, other])
        await session.flush()
        schools = [
            Institution(
                municipality_id=first.id, source_id=source_id, kind="school", name=source_id
            )
            for source_id in ("school-a", "school-b")
        ]
        session.add_all(schools)
        await session.flush()
        return {school.source_id: str(school.id) for school in schools}


async def test_a_key_is_shown_once_and_stored_as_a_hash(engine: AsyncEngine) -> None:
    await seed(engine)
    async with session_factory(engine)() as session, session.begin():
        created = await create_api_key(
            session, municipality_code="0101", name="Skoleadmin", permissions=["roster", "send"]
        )
    scheme, prefix, secret = created.key.split("_", 2)
    assert scheme == "bsk"
    assert prefix == created.info.prefix
    assert len(prefix) == 8
    assert len(secret) >= 43  # 32 random bytes, base64url
    async with session_factory(engine)() as session:
        row = (await session.scalars(select(ApiKey))).one()
    stored = [str(getattr(row, column.key)) for column in ApiKey.__table__.columns]
    assert not any(secret in value or created.key in value for value in stored)
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert row.permissions == ["roster", "send"]
    assert row.institution_ids == []


async def test_verify_gives_the_principal(engine: AsyncEngine) -> None:
    schools = await seed(engine)
    async with session_factory(engine)() as session, session.begin():
        created = await create_api_key(
            session,
            municipality_code="0101",
            name="Skole A",
            permissions=["roster"],
            institutions=["school-a"],
        )
    async with session_factory(engine)() as session, session.begin():
        principal = await verify_api_key(session, created.key)
    assert principal.municipality_code == "0101"
    assert principal.permissions == frozenset({Permission.ROSTER})
    assert {str(i) for i in principal.institution_ids} == {schools["school-a"]}
    assert not principal.municipality_wide
    assert principal.source == f"api:{created.info.prefix}"
    assert created.info.institutions == ("school-a",)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda key: key[:-1] + ("A" if key[-1] != "A" else "B"),  # wrong secret
        lambda key: key.replace("bsk_", "bsx_", 1),
        lambda key: key.split("_", 2)[0] + "_" + key.split("_", 2)[1],  # no secret
        lambda key: "bsk_zzzzzzzz_" + key.split("_", 2)[2],  # unknown prefix
        lambda key: key + "x" * 200,
    ],
)
async def test_a_wrong_key_is_unauthorized(engine: AsyncEngine, mangle: object) -> None:
    await seed(engine)
    async with session_factory(engine)() as session, session.begin():
        created = await create_api_key(
            session, municipality_code="0101", name="x", permissions=["send"]
        )
    async with session_factory(engine)() as session, session.begin():
        with pytest.raises(Unauthorized):
            await verify_api_key(session, mangle(created.key))  # type: ignore[operator]


async def test_last_used_is_written_at_most_once_a_minute(engine: AsyncEngine) -> None:
    await seed(engine)
    async with session_factory(engine)() as session, session.begin():
        created = await create_api_key(
            session, municipality_code="0101", name="x", permissions=["send"]
        )
    start = dt.datetime(2026, 12, 3, 8, 0, tzinfo=dt.UTC)

    async def use(at: dt.datetime) -> tuple[dt.datetime | None, dt.datetime]:
        async with session_factory(engine)() as session, session.begin():
            await verify_api_key(session, created.key, now=at)
        async with session_factory(engine)() as session:
            row = (await session.scalars(select(ApiKey))).one()
            return row.last_used_at, row.updated_at

    first, updated_before = await use(start)
    assert first == start
    assert (await use(start + dt.timedelta(seconds=59)))[0] == start
    later, updated_after = await use(start + dt.timedelta(seconds=61))
    assert later == start + dt.timedelta(seconds=61)
    assert updated_after == updated_before  # using a key does not modify it


async def test_list_and_revoke(engine: AsyncEngine) -> None:
    await seed(engine)
    async with session_factory(engine)() as session, session.begin():
        first = await create_api_key(
            session,
            municipality_code="0101",
            name="Skole B",
            permissions=["roster"],
            institutions=["school-b"],
        )
        await create_api_key(session, municipality_code="0202", name="Syd", permissions=["send"])
    async with session_factory(engine)() as session, session.begin():
        listed = await list_api_keys(session, municipality_code="0101")
        everything = await list_api_keys(session)
    assert [(k.name, k.institutions, k.revoked_at) for k in listed] == [
        ("Skole B", ("school-b",), None)
    ]
    assert {k.municipality_code for k in everything} == {"0101", "0202"}
    moment = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)
    async with session_factory(engine)() as session, session.begin():
        revoked = await revoke_api_key(session, first.info.prefix, now=moment)
        again = await revoke_api_key(session, first.info.prefix)
    assert revoked.revoked_at == moment
    assert again.revoked_at == moment  # the first revocation stands
    async with session_factory(engine)() as session, session.begin():
        with pytest.raises(Unauthorized, match="revoked"):
            await verify_api_key(session, first.key)
        with pytest.raises(NotFound):
            await revoke_api_key(session, "nosuchpx")


async def test_bad_requests_for_a_key_say_what_is_wrong(engine: AsyncEngine) -> None:
    await seed(engine)
    async with session_factory(engine)() as session, session.begin():
        with pytest.raises(NotFound, match="'9999'"):
            await create_api_key(session, municipality_code="9999", name="x", permissions=["send"])
        with pytest.raises(InvalidInput, match="unknown permission superuser"):
            await create_api_key(
                session, municipality_code="0101", name="x", permissions=["superuser"]
            )
        with pytest.raises(InvalidInput, match="at least one permission"):
            await create_api_key(session, municipality_code="0101", name="x", permissions=[""])
        with pytest.raises(InvalidInput, match="'school-z'"):
            await create_api_key(
                session,
                municipality_code="0101",
                name="x",
                permissions=["roster"],
                institutions=["school-a", "school-z"],
            )
    async with session_factory(engine)() as session:
        assert (await session.scalars(select(ApiKey))).all() == []


def test_cli_creates_lists_and_revokes(sqlite_url: str, tmp_path: Path) -> None:
    async def prepare() -> None:
        engine = create_engine(sqlite_url)
        try:
            await seed(engine)
        finally:
            await engine.dispose()

    asyncio.run(prepare())
    env = {"BUDSTIKKE_DATABASE_URL": sqlite_url, "BUDSTIKKE_DATA_DIR": str(tmp_path / "data")}
    runner = CliRunner()
    created = runner.invoke(
        main,
        [
            "api-key",
            "create",
            "--municipality",
            "0101",
            "--name",
            "Skoleadmin A",
            "--permissions",
            "roster,send",
            "--institution",
            "school-a",
        ],
        env=env,
    )
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    assert key.startswith("bsk_")
    assert "cannot be shown again" in created.stderr
    prefix = key.split("_")[1]

    listed = runner.invoke(main, ["api-key", "list", "--municipality", "0101"], env=env)
    assert listed.exit_code == 0, listed.output
    line = next(row for row in listed.stdout.splitlines() if row.startswith(prefix))
    assert "Skoleadmin A" in line
    assert "roster,send" in line
    assert "school-a" in line
    assert key.split("_", 2)[2] not in listed.stdout

    revoked = runner.invoke(main, ["api-key", "revoke", prefix], env=env)
    assert revoked.exit_code == 0, revoked.output
    relisted = runner.invoke(main, ["api-key", "list"], env=env)
    line = next(row for row in relisted.stdout.splitlines() if row.startswith(prefix))
    assert line.rstrip().endswith("UTC")  # the REVOKED column is filled

    unknown = runner.invoke(main, ["api-key", "revoke", "nosuchpx"], env=env)
    assert unknown.exit_code == 1
    assert "no API key with prefix 'nosuchpx'" in unknown.stderr
    bad = runner.invoke(
        main,
        ["api-key", "create", "--municipality", "0101", "--name", "x", "--permissions", "root"],
        env=env,
    )
    assert bad.exit_code == 2
    assert "unknown permission root" in bad.stderr
    elsewhere = runner.invoke(
        main,
        ["api-key", "create", "--municipality", "4242", "--name", "x", "--permissions", "send"],
        env=env,
    )
    assert elsewhere.exit_code == 1
    assert "no municipality with code '4242'" in elsewhere.stderr
