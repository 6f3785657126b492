"""Waiting and process control for the tests: bounded waits, stopping a process for sure, finding leftovers.

Every wait here is bounded: each external command runs with a timeout and every poll has a deadline. Nothing here
imports pytest (``scripts/bench.py`` uses the stream server, which uses these).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

#: Timeout for one short external command (xdotool, xwininfo, import, xdpyinfo).
COMMAND_TIMEOUT_S = 10.0


def wait_until(
    predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.05, message: str | None = None
) -> T:
    """Call ``predicate`` until it returns something truthy and return that value.

    Raises :class:`TimeoutError` (with ``message`` and the last value) after ``timeout`` seconds. The predicate is
    always tried at least once, and once more right at the deadline.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"{message or 'condition not met'} within {timeout:.1f} s (last value: {value!r})")
        time.sleep(min(interval, remaining))


def stop_process(proc: subprocess.Popen, timeout: float = 5.0) -> int | None:
    """Stop ``proc`` for sure: SIGCONT (in case it is stopped), SIGTERM, then SIGKILL after ``timeout`` s.

    Always reaps the process (no zombie) and returns its exit status (None only if it could not be reaped).
    """
    if proc.poll() is not None:
        return proc.returncode
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGCONT)  # a SIGSTOPped process would hold SIGTERM pending forever
        proc.terminate()
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None


# Processes of the session's shared X display (Xvfb and its window manager), which outlive single tests.
SESSION_PIDS: set[int] = set()


def child_processes(pid: int | None = None) -> list[str]:
    """Direct children of ``pid`` (default: this process) as ``"PID command line"`` strings, zombies included.

    Used by the suite to prove that no Xvfb, ffmpeg or app process is left behind.
    """
    result = subprocess.run(
        ["pgrep", "-a", "-P", str(pid or os.getpid())],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    return [line for line in result.stdout.splitlines() if line.strip()]


def run_command(args: Sequence[str], display: str | None = None, timeout: float = COMMAND_TIMEOUT_S, **kwargs):
    """Run a short external command with ``DISPLAY`` set, captured output and a hard timeout."""
    env = dict(os.environ)
    if display is not None:
        env["DISPLAY"] = display
    return subprocess.run(
        list(args), env=env, capture_output=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL, **kwargs
    )


def display_env(display: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of ``base`` (default ``os.environ``) with ``DISPLAY`` set, for starting a GUI app on ``display``."""
    env = dict(os.environ if base is None else base)
    env["DISPLAY"] = display
    return env


@contextlib.contextmanager
def running(args: Sequence[str], display: str | None = None, **popen_kwargs) -> Iterator[subprocess.Popen]:
    """Start a program (with ``DISPLAY`` set if given) and stop it for sure when the block ends."""
    env = popen_kwargs.pop("env", None)
    if display is not None:
        env = display_env(display, env)
    proc = subprocess.Popen(list(args), env=env, stdin=subprocess.DEVNULL, **popen_kwargs)
    try:
        yield proc
    finally:
        stop_process(proc)
