#!/usr/bin/env python3
"""Budstikke in two commands, on a machine that has nothing but Python 3.11+.

    python3 dev.py run     # the gateway with demo data, embedded SQLite and Redis
    python3 dev.py test    # the whole test suite

Each creates ``.venv`` beside this file on first use and installs the project into it
(again whenever ``pyproject.toml`` changes), then runs ``budstikke run`` or ``pytest``.
Only the standard library is used here, since nothing else is installed yet.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".budstikke-installed"


def _python() -> Path:
    return BIN / ("python.exe" if os.name == "nt" else "python")


def _wanted_stamp() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def ensure_environment() -> None:
    """Create the virtual environment and install the project with its test tools."""
    if sys.version_info < (3, 11):
        raise SystemExit(f"Budstikke needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not _python().exists():
        print(f"creating {VENV} …", flush=True)
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    if STAMP.exists() and STAMP.read_text() == _wanted_stamp():
        return
    print("installing Budstikke and its dependencies (first run takes a minute) …", flush=True)
    pip = [str(_python()), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "--quiet", "--upgrade", "pip"], check=True)  # noqa: S603
    subprocess.run(  # noqa: S603
        [*pip, "install", "--quiet", "--editable", f"{ROOT}[test]"], check=True, cwd=ROOT
    )
    STAMP.write_text(_wanted_stamp())


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test", "shell"}:
        print(__doc__)
        return 2
    ensure_environment()
    command, rest = argv[0], argv[1:]
    os.chdir(ROOT)
    if command == "run":
        program = [str(BIN / "budstikke"), "run", *rest]
    elif command == "test":
        program = [str(_python()), "-m", "pytest", *rest]
    else:
        program = [str(_python()), *rest]
    # Ctrl-C reaches the child too (same process group); it shuts down what it started,
    # so wait for it instead of killing it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    child = subprocess.Popen(program, preexec_fn=_default_sigint)  # noqa: S603, PLW1509
    return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
