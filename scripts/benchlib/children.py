"""Child processes for scripts/bench.py: a live stream served by ffmpeg on 127.0.0.1 (the tests' harness), and a
loop run as a child process whose CPU (all threads) and peak memory are read from /proc while it runs."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
TESTS = Path(__file__).resolve().parents[2] / "tests"  # the tests' harness serves the live streams


def served_stream(clip: Path):
    """ffmpeg serving ``clip`` in a loop, in real time, as MPEG-TS on a loopback TCP port (a camera stand-in; one
    client each): the tests' own stream server, ``with served_stream(clip) as camera: camera.url``."""
    if shutil.which("ffmpeg") is None:
        raise SystemExit("bench.py: error: a live stream needs ffmpeg on PATH (Debian: apt-get install ffmpeg)")
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    from harness.streams import LiveStream

    return LiveStream(clip)


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system, all threads) of a live process, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14 and 15 of stat(5))


def peak_resident_mb(pid: int) -> float | None:
    """A live process's peak resident memory so far (VmHWM, MB). (wait4's ru_maxrss would not do: a child keeps
    the high-water mark of the parent it was forked from.)"""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return None


@dataclass
class Child:
    """A finished child process: exit code, output, wall seconds, CPU over its whole life and over the
    steady window (when one was asked for), peak resident MB (sampled every 20 ms)."""

    returncode: int
    stdout: str
    stderr: str
    wall: float
    cpu: float
    peak_mb: float
    window_seconds: float = float("nan")
    window_cpu: float = float("nan")

    @property
    def window_cores(self) -> float:
        return self.window_cpu / self.window_seconds if self.window_seconds > 0 else float("nan")


def run_child(
    argv: list[str],
    timeout: float,
    warm: float | None = None,
    stop_after: float | None = None,
    env: dict[str, str] | None = None,
) -> Child:
    """Run ``argv`` to its end (or SIGINT it ``stop_after`` seconds after start); with ``warm``, also sample its
    CPU from ``warm`` seconds after start until it is stopped (the steady window)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        env=env,
    )
    output: dict[str, str] = {}
    readers = [
        threading.Thread(target=lambda name=name, pipe=pipe: output.__setitem__(name, pipe.read()), daemon=True)
        for name, pipe in (("stdout", process.stdout), ("stderr", process.stderr))
    ]
    for reader in readers:
        reader.start()
    window_start = window_cpu_start = None
    window_seconds = window_cpu = float("nan")
    deadline = start + timeout
    status = rusage = None
    peak = float("nan")
    while status is None:
        now = time.perf_counter()
        peak = peak_resident_mb(process.pid) or peak  # a high-water mark: the last sample is the peak
        if warm is not None and window_start is None and now - start >= warm:
            window_cpu_start, window_start = process_cpu(process.pid), time.perf_counter()
        if stop_after is not None and now - start >= stop_after:
            if window_start is not None and window_cpu_start is not None:
                cpu_now = process_cpu(process.pid)
                if cpu_now is not None:
                    window_seconds, window_cpu = time.perf_counter() - window_start, cpu_now - window_cpu_start
            process.send_signal(signal.SIGINT)
            stop_after = None
            deadline = min(deadline, now + 30)
        if now > deadline:
            process.kill()
        pid, code, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            status, rusage = code, usage
        else:
            time.sleep(0.02)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    for reader in readers:
        reader.join(5)
    return Child(
        process.returncode,
        output.get("stdout", ""),
        output.get("stderr", ""),
        wall,
        rusage.ru_utime + rusage.ru_stime,
        peak,
        window_seconds,
        window_cpu,
    )
