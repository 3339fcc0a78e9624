"""The README is part of the product: its table and commands must stay true."""

from __future__ import annotations

from pathlib import Path

from gateway.config import markdown_table

ROOT = Path(__file__).resolve().parents[2]


def test_readme_configuration_table_matches_the_settings() -> None:
    assert markdown_table() in (ROOT / "README.md").read_text()


def test_ci_runs_the_readmes_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "python3 dev.py test" in readme
    assert "python3 dev.py run" in readme
    assert "python3 dev.py test" in (ROOT / ".ci" / "run").read_text()
