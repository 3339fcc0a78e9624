"""`budstikke import oneroster` end to end on both engines, with the demo municipality."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.cli import main
from gateway.errors import ImportFailed
from gateway.roster.demo import DemoSummary, write_demo_data
from gateway.roster.importer import ImportReport, import_oneroster
from gateway.roster.models import Guardianship, ImportRun, Municipality, Person

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "oneroster"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoSummary]:
    folder = tmp_path_factory.mktemp("demo")
    return folder, write_demo_data(folder, children=300, seed=7)


async def run(engine: AsyncEngine, path: Path, *, dry_run: bool = False) -> ImportReport:
    return await import_oneroster(
        engine,
        path,
        municipality_code=None,
        dry_run=dry_run,
        max_file_bytes=1 << 30,
        default_time_zone="Europe/Copenhagen",
    )


async def people(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(Person)) or 0)


async def test_demo_imports_cleanly_and_again_changes_nothing(
    engine: AsyncEngine, demo: tuple[Path, DemoSummary]
) -> None:
    folder, summary = demo
    first = await run(engine, folder)
    assert first.rejected == []
    assert first.sync.counts["people"].created == summary.rows["users.csv"]
    second = await run(engine, folder)
    assert second.rejected == []
    for kind, counts in second.sync.counts.items():
        assert (counts.created, counts.updated, counts.deactivated) == (0, 0, 0), kind
    async with engine.connect() as conn:
        code = await conn.scalar(select(Municipality.code))
        runs = await conn.scalar(select(func.count()).select_from(ImportRun))
        non_custodial = await conn.scalar(
            select(func.count()).select_from(Guardianship).where(Guardianship.custody.is_(False))
        )
    assert code == summary.municipality_code
    assert runs == 2
    assert non_custodial and non_custodial > 0


async def test_dry_run_keeps_nothing(engine: AsyncEngine, demo: tuple[Path, DemoSummary]) -> None:
    report = await run(engine, demo[0], dry_run=True)
    assert report.sync.dry_run and report.sync.counts["people"].created > 0
    assert await people(engine) == 0


async def test_a_fatal_error_changes_nothing(
    engine: AsyncEngine, demo: tuple[Path, DemoSummary], tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(demo[0], broken)
    (broken / "orgs.csv").unlink()
    with pytest.raises(ImportFailed, match=r"orgs\.csv"):
        await run(engine, broken)
    assert await people(engine) == 0


async def test_a_zip_of_the_spec_example_imports(engine: AsyncEngine, tmp_path: Path) -> None:
    archive = shutil.make_archive(str(tmp_path / "set"), "zip", FIXTURES / "spec-example-1.2")
    report = await run(engine, Path(archive))
    assert report.version == "1.2"
    assert report.sync.counts["people"].created > 0
    assert await people(engine) == report.sync.counts["people"].created


def test_cli_import_prints_counts_and_rejected_rows(sqlite_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"BUDSTIKKE_DATABASE_URL": sqlite_url, "BUDSTIKKE_DATA_DIR": str(tmp_path)}
    bad = tmp_path / "bad"
    shutil.copytree(FIXTURES / "v1p2-dk", bad)
    with (bad / "enrollments.csv").open("a", encoding="utf-8", newline="") as file:
        file.write(
            "en-bad,active,2024-08-01T00:00:00Z,no-such-class,org-s1,u-c1,student,false,,\r\n"
        )
    result = runner.invoke(main, ["import", "oneroster", str(bad)], env=env)
    assert result.exit_code == 0, result.output
    assert "people" in result.output and "created" in result.output
    assert "enrollments.csv:" in result.output and "no-such-class" in result.output
    missing = runner.invoke(main, ["import", "oneroster", str(tmp_path / "nowhere")], env=env)
    assert missing.exit_code != 0
