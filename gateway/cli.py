"""The ``budstikke`` command: run, serve, work, migrate, import and generate demo data."""

from __future__ import annotations

import os
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from gateway.audit.cli import audit
from gateway.auth.cli import api_key, token
from gateway.backup_cli import backup, restore
from gateway.config import Settings, load_settings, markdown_table
from gateway.errors import ConfigError, GatewayError
from gateway.people.cli_data import erase_person_command, export_person_command
from gateway.retention.cli import retention
from gateway.vapid_cli import vapid_keys

console = Console(stderr=True)
# Settings whose values `budstikke config` must not print.
SECRET_WORDS = ("password", "private_key", "secret")


def _settings() -> Settings:
    try:
        return load_settings(os.environ)
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc.detail}") from exc


@click.group()
@click.version_option(package_name="budstikke")
def main() -> None:
    """Budstikke: the open school–home messaging gateway."""


@main.command()
def run() -> None:
    """Everything on one machine: migrate, demo data, Redis, API and worker (Ctrl-C stops)."""
    from gateway.embedded import run_embedded  # noqa: PLC0415 - keep `--help` fast
    from gateway.logging import configure_logging  # noqa: PLC0415

    os.environ.setdefault("BUDSTIKKE_DEMO", "true")
    settings = _settings()
    configure_logging(settings)
    run_embedded(settings, console)


@main.command()
def serve() -> None:
    """Run the API server (uvicorn) for production."""
    import uvicorn  # noqa: PLC0415

    from gateway.logging import configure_logging  # noqa: PLC0415

    settings = _settings()
    configure_logging(settings)
    uvicorn.run(
        "gateway.api.asgi:create_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.api_processes,
        log_config=None,
        proxy_headers=True,
        server_header=False,
    )


@main.command()
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker(burst: bool) -> None:
    """Run an arq worker for background jobs."""
    import asyncio  # noqa: PLC0415

    import uvloop  # noqa: PLC0415
    from arq.worker import run_worker  # noqa: PLC0415

    from gateway.logging import configure_logging  # noqa: PLC0415
    from workers.settings import WorkerSettings, redis_settings  # noqa: PLC0415

    settings = _settings()
    configure_logging(settings)
    # uvloop (which uvicorn[standard] brings, and `serve` uses): a delivery worker is
    # mostly socket round trips, and its loop costs 10-15 % less CPU per push on it.
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    run_worker(
        WorkerSettings,  # type: ignore[arg-type]
        redis_settings=redis_settings(settings),
        ctx={"settings": settings},
        queue_name=settings.queue_name,
        burst=burst,
    )


@main.command(name="inbound-smtp")
def inbound_smtp() -> None:
    """Run the SMTP listener for replies by email and bounces (Ctrl-C or SIGTERM stops)."""
    import asyncio  # noqa: PLC0415

    from gateway.delivery.addresses import mail_domain  # noqa: PLC0415
    from gateway.inbound_server import serve_until_stopped  # noqa: PLC0415
    from gateway.logging import configure_logging  # noqa: PLC0415

    settings = _settings()
    configure_logging(settings)
    domain = mail_domain(settings)
    if domain is None:
        raise click.ClickException(
            "configuration: set BUDSTIKKE_MAIL_DOMAIN (or BUDSTIKKE_SMTP_FROM): "
            "the listener takes mail for addresses at that domain"
        )
    asyncio.run(
        serve_until_stopped(
            settings, lambda where: console.print(f"inbound SMTP on {where} for @{domain}")
        )
    )


@main.command()
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def migrate(revision: str) -> None:
    """Bring the database schema up to date (Alembic)."""
    from gateway import migrate as migrations  # noqa: PLC0415

    settings = _settings()
    migrations.upgrade(settings.database_url, revision)
    console.print(f"[green]database at {revision}[/green]")


@main.command()
@click.argument("revision")
def downgrade(revision: str) -> None:
    """Take the database schema down to REVISION (``base`` drops every table)."""
    from gateway import migrate as migrations  # noqa: PLC0415

    migrations.downgrade(_settings().database_url, revision)


@main.group(name="import")
def import_group() -> None:
    """Import rosters."""


@import_group.command(name="oneroster")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--municipality", "municipality_code", help="Municipality code (kommunekode).")
@click.option("--dry-run", is_flag=True, help="Check and report, but change nothing.")
def import_oneroster(path: Path, municipality_code: str | None, dry_run: bool) -> None:
    """Import a OneRoster 1.1/1.2 CSV set from a folder or a zip file."""
    from gateway.roster.report import print_import_report, run_import  # noqa: PLC0415

    settings = _settings()
    try:
        report = run_import(settings, path, municipality_code, dry_run, _progress_factory())
    except GatewayError as exc:
        raise click.ClickException(exc.detail) from exc
    print_import_report(console, report)


@main.command(name="demo-data")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--children", default=1000, show_default=True, type=click.IntRange(13, 2_000_000))
@click.option("--seed", default=1, show_default=True, type=int)
def demo_data(out_dir: Path, children: int, seed: int) -> None:
    """Write a fictional municipality as OneRoster 1.2 CSV into OUT_DIR."""
    from gateway.roster.demo import write_demo_data  # noqa: PLC0415

    summary = write_demo_data(out_dir, children=children, seed=seed)
    console.print(f"wrote demo municipality {summary.municipality_code} to {out_dir}")


@main.command(name="config")
@click.option("--markdown", is_flag=True, help="Print the README's configuration table.")
def config(markdown: bool) -> None:
    """Check the configuration and print it (or the table of every variable)."""
    if markdown:
        click.echo(markdown_table())
        return
    settings = _settings()
    for field in settings.__struct_fields__:
        value = getattr(settings, field)
        if value is not None and any(word in field for word in SECRET_WORDS):
            value = "(set, not shown)"
        click.echo(f"{field} = {value}")


main.add_command(api_key)
main.add_command(token)
main.add_command(vapid_keys)
main.add_command(backup)
main.add_command(restore)
main.add_command(export_person_command)
main.add_command(erase_person_command)
main.add_command(audit)
main.add_command(retention)


class _RichProgress:
    """A progress bar on a terminal; silent otherwise (logs and CI stay clean)."""

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        task = self.tasks.get(stage)
        if task is None:
            task = self.tasks[stage] = self.progress.add_task(stage, total=total)
        self.progress.update(task, completed=done, total=total)

    def __enter__(self) -> _RichProgress:
        self.progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.progress.stop()


def _progress_factory() -> _RichProgress | None:
    return _RichProgress() if console.is_terminal else None
