"""The measuring scripts run and print their tables (their numbers are reported on issues, never asserted)."""

from __future__ import annotations

import subprocess
import sys

from util import REPO, bgblur_env


def run_script(*args: str, timeout: float = 300) -> str:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=bgblur_env(),
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_bench_file_mode_prints_both_loops_and_the_ratio() -> None:
    out = run_script("--models", "selfie", "--frames", "6")
    table = [line.split("|")[2].strip() for line in out.splitlines() if line.startswith("| selfie")]
    assert "bgblur" in table and "naive" in table and "x naive" in out


def test_bench_soak_reports_resources_before_and_after() -> None:
    out = run_script("--soak", "60")
    for row in ("| resident MB", "| threads", "| open fds"):
        assert any(line.startswith(row) for line in out.splitlines()), out
