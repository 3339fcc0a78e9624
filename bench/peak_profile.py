"""Where the API's and the worker's time goes during the peak: py-spy, summarised.

``py-spy record --format raw`` samples each process at 100 Hz from the load's start
until its backlog drained, and writes collapsed stacks. Idle samples (waiting in
``epoll``) are left out, so a sample is time the process was running *or runnable*: on
a saturated machine that includes waiting for a core, which is why the CPU seconds
(``cpu_seconds``) are reported beside it. The summary lists, per process, the
project's functions with the most samples on the stack (inclusive) and the frames
where the samples actually were (self, any code). The raw files stay in the work
folder with ``BUDSTIKKE_BENCH_KEEP=1``; ``speedscope`` or ``flamegraph.pl`` read them.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import harness

TOP = 12
OWN = ("gateway/", "channels/", "workers/")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux ``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[float, float]:
    """The whole machine's busy and total CPU seconds so far (``/proc/stat``, all cores)."""
    ticks = [
        int(x) for x in Path("/proc/stat").read_text(encoding="ascii").split("\n")[0].split()[1:]
    ]
    total = sum(ticks[:8])  # user nice system idle iowait irq softirq steal
    idle = ticks[3] + ticks[4]
    clock = os.sysconf("SC_CLK_TCK")
    return (total - idle) / clock, total / clock


def _py_spy() -> str:
    found = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if found is None:
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    return found


class Profiler:
    """``start()`` records every child at once until ``stop()``; ``summarise()`` prints."""

    def __init__(self, work: Path, children: dict[str, subprocess.Popen[bytes]]) -> None:
        self._work = work
        self._pids = {name: child.pid for name, child in children.items()}
        self._running: dict[str, subprocess.Popen[bytes]] = {}
        self.summary: dict[str, dict[str, list[tuple[str, float]]]] = {}

    def _file(self, name: str) -> Path:
        return self._work / f"profile-{name}.txt"

    def start(self) -> None:
        for name, pid in self._pids.items():
            self._running[name] = subprocess.Popen(  # noqa: S603
                [
                    _py_spy(),
                    "record",
                    "--pid",
                    str(pid),
                    "--rate",
                    "100",
                    "--format",
                    "raw",
                    "--nonblocking",
                    "--output",
                    str(self._file(name)),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

    def stop(self) -> None:
        """Stop recording (py-spy writes its file on SIGINT)."""
        for process in self._running.values():
            process.send_signal(signal.SIGINT)
        for process in self._running.values():
            process.wait(60)

    def summarise(self) -> None:
        for name, process in self._running.items():
            path = self._file(name)
            if not path.exists():
                print(f"  profile {name}: py-spy wrote nothing (exit {process.returncode})")
                continue
            inclusive, own_self, total = _tally(path)
            self.summary[name] = {
                "inclusive": [(f, n / total) for f, n in inclusive.most_common(TOP)],
                "self": [(f, n / total) for f, n in own_self.most_common(TOP)],
            }
            print(f"  profile {name}: {total:,} samples (100 Hz, not idle)")
            print("    most time on the stack (project code):")
            for frame, share in self.summary[name]["inclusive"]:
                print(f"      {share:6.1%}  {frame}")
            print("    where the samples were (self):")
            for frame, share in self.summary[name]["self"]:
                print(f"      {share:6.1%}  {frame}")


def _tally(path: Path) -> tuple[Counter[str], Counter[str], int]:
    """Inclusive counts of the project's frames, self counts of all frames, the total."""
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_short(f) for f in stack.split(";")]
        leaf[frames[-1]] += n
        for frame in set(frames):
            if any(part in frame for part in OWN):
                inclusive[frame] += n
    return inclusive, leaf, max(total, 1)


def _short(frame: str) -> str:
    """``function (path/to/file.py:line)`` with the path from the package on."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    for marker in ("site-packages/", f"{harness.ROOT}/", "lib/python3.11/"):
        if marker in where:
            where = where.split(marker, 1)[1]
            break
    where = where.rsplit(":", 1)[0]  # one line per function, not per line
    return f"{name} ({where})"
