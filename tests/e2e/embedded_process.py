"""``budstikke run`` as a child process, the way a new user starts it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

READY_LINE = "Press Ctrl-C to stop."


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_run(
    data_dir: Path, env: dict[str, str], *, within: float = 240
) -> tuple[subprocess.Popen[str], list[str]]:
    """``python -m gateway run`` with a data folder and only the given ``BUDSTIKKE_*``
    variables (in its own session, so a test can signal everything it starts), and its
    output up to the line that says it is ready, or as far as it got in ``within`` s."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("BUDSTIKKE_")}
    environ.update(env, BUDSTIKKE_DATA_DIR=str(data_dir))
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "run"],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    assert process.stdout is not None
    deadline = time.monotonic() + within
    for line in process.stdout:
        output.append(line)
        if READY_LINE in line or time.monotonic() > deadline:
            break
    return process, output
