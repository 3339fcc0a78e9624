"""`budstikke run` as a new user runs it: ready with demo data, and Ctrl-C leaves nothing."""

from __future__ import annotations

import json
import os
import signal
import smtplib
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.e2e.embedded_process import free_port, start_run

pytestmark = pytest.mark.slow


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_run_starts_everything_with_demo_data_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    port, inbound_port = free_port(), free_port()
    process, output = start_run(
        tmp_path / "var",
        {"BUDSTIKKE_PORT": str(port), "BUDSTIKKE_INBOUND_SMTP_PORT": str(inbound_port)},
        within=180,
    )
    try:
        assert "Budstikke is running." in "".join(output), "".join(output)
        status, body = _get(f"http://127.0.0.1:{port}/readyz")
        assert (status, body["status"]) == (200, "ready")
        assert "0 rejected" in "".join(output)
        assert (tmp_path / "var" / "budstikke.db").exists()
        started = psutil.Process(process.pid).children(recursive=True)
        socket_line = next(line for line in output if "embedded Redis: unix://" in line)
        redis_socket = socket_line.split("unix://", 1)[1].strip()
        redis = [
            p
            for p in psutil.process_iter(["cmdline"])
            if redis_socket in " ".join(p.info["cmdline"] or [])
        ]
        assert len(redis) == 1
        names = " ".join(" ".join(p.cmdline()) for p in started)
        assert "serve" in names and "worker" in names and "inbound-smtp" in names
        # No SMTP host given: the dev mail catcher takes the demo's mail, shown at /dev/mail.
        catcher_line = next(line for line in output if "dev mail catcher: 127.0.0.1:" in line)
        catcher_port = int(catcher_line.split("127.0.0.1:", 1)[1].split()[0])
        assert f"http://127.0.0.1:{port}/dev/mail" in "".join(output)
        assert f"127.0.0.1:{inbound_port}" in "".join(output)
        for smtp_port in (catcher_port, inbound_port):
            with smtplib.SMTP("127.0.0.1", smtp_port, timeout=5) as smtp:
                assert smtp.noop()[0] == 250
        status, body = _get(f"http://127.0.0.1:{port}/dev/mail.json")
        assert status == 200 and isinstance(body["items"], list)
        process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        process.wait(timeout=60)
        assert process.returncode == 0
        time.sleep(0.5)
        left = [p for p in [*started, *redis] if p.is_running() and p.status() != "zombie"]
        assert left == []
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
        for smtp_port in (catcher_port, inbound_port):
            with pytest.raises(OSError):
                smtplib.SMTP("127.0.0.1", smtp_port, timeout=2)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
