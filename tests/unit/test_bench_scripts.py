"""Every benchmark script starts: its imports resolve as ``python bench/<script>.py``.

A benchmark runs with ``bench/`` first on ``sys.path``, so a file there named like a
standard-library module (``email.py`` once) breaks every other script; and a script
that is never run rots. The figures themselves come from ``bench/run-all``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
SCRIPTS = sorted(
    path
    for path in [*BENCH.glob("*.py"), BENCH / "run-all"]
    if "__main__" in path.read_text(encoding="utf-8")
)


def test_the_suite_lists_every_script() -> None:
    suite = (BENCH / "run-all").read_text(encoding="utf-8")
    listed = {p.name for p in SCRIPTS if f'"{p.name}"' in suite}
    assert {p.name for p in SCRIPTS} - listed == {"run-all", "baseline_app.py"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_a_benchmark_script_starts(script: Path) -> None:
    shadowing = {p.stem for p in BENCH.glob("*.py")} & set(sys.stdlib_module_names)
    assert not shadowing, f"bench/ hides the standard library's {shadowing}"
    done = subprocess.run(
        [sys.executable, str(script), "--help"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout
