"""``budstikke backup`` and ``budstikke restore``: one archive of the database and attachments."""

from __future__ import annotations

import os
from pathlib import Path

import click
from rich.console import Console

from gateway.config import load_settings
from gateway.errors import ConfigError, GatewayError, InvalidInput

# soft_wrap: paths and messages stay on one line, for logs and for scripts that grep them.
console = Console(stderr=True, soft_wrap=True)


def _fail(exc: GatewayError) -> click.ClickException:
    reasons = exc.errors if isinstance(exc, InvalidInput) else []
    return click.ClickException("\n  ".join([exc.detail, *reasons]))


@click.command(name="backup")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The archive to write (.tar.gz); it must not exist yet.",
)
@click.option(
    "--include-keys",
    is_flag=True,
    help="Also put secret.key, the VAPID key and the dev signing key in the archive.",
)
def backup(out: Path, include_keys: bool) -> None:
    """Back up the configured database and attachment folder, safely while the gateway runs."""
    from gateway import backup as backups  # noqa: PLC0415 - keep `--help` fast

    try:
        manifest = backups.backup(load_settings(os.environ), out, include_keys=include_keys)
    except GatewayError as exc:
        raise _fail(exc) from exc
    files = sum(1 for m in manifest.members if m.name.startswith(backups.ATTACHMENTS))
    size = out.stat().st_size
    console.print(
        f"[green]backup written[/green] to {out}: {manifest.engine} at revision "
        f"{manifest.alembic_revision}, attachment files: {files}, {size} bytes"
    )
    if not include_keys:
        console.print("keys are not in the archive: keep them separately (docs/operations.md)")


@click.command(name="restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--into",
    "database_url",
    help="The empty database to restore into (default: BUDSTIKKE_DATABASE_URL).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The data folder the attachments go to (default: BUDSTIKKE_DATA_DIR).",
)
def restore(archive: Path, database_url: str | None, data_dir: Path | None) -> None:
    """Check ARCHIVE, restore it into an empty database, and migrate it to the newest schema."""
    from gateway import backup as backups  # noqa: PLC0415 - keep `--help` fast

    try:
        settings = load_settings(os.environ)
        report = backups.restore(
            archive, database_url or settings.database_url, data_dir or settings.data_dir
        )
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc.detail}") from exc
    except GatewayError as exc:
        raise _fail(exc) from exc
    console.print(
        f"[green]restored[/green] {report.manifest.engine} backup of "
        f"{report.manifest.created_at:%Y-%m-%d %H:%M} UTC (revision "
        f"{report.manifest.alembic_revision}, now {report.revision}); "
        f"attachment files: {report.attachments}"
    )
    if report.keys:
        console.print(f"keys restored: {', '.join(report.keys)}")
    if report.kept_keys:
        console.print(f"keys already in the data folder were kept: {', '.join(report.kept_keys)}")
