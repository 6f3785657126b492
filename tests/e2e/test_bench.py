"""The measuring scripts run and print their tables (their numbers are reported on issues, never asserted)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from util import REPO, bgblur_env

pytestmark = pytest.mark.e2e  # slow, end to end: real processes, windows, streams

# A stand-in for mediapipe (SelfieSegmentation's interface; a centred ellipse is the person): lets the suite run
# scripts/peer_mediapipe.py and bench.py's peer rows without the 1 GB wheel.
FAKE_MEDIAPIPE = """
import types

import cv2
import numpy as np

__version__ = "0.0+fake"


class SelfieSegmentation:
    def __init__(self, model_selection=0):
        self.model_selection = model_selection

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def process(self, rgb):
        h, w = rgb.shape[:2]
        mask = np.zeros((h, w), np.float32)
        cv2.ellipse(mask, (w // 2, h // 2), (w // 5, h // 3), 0, 0, 360, 1.0, -1)
        return types.SimpleNamespace(segmentation_mask=mask)


solutions = types.SimpleNamespace(selfie_segmentation=types.SimpleNamespace(SelfieSegmentation=SelfieSegmentation))
"""


def fake_peer_python(folder: Path) -> Path:
    """An interpreter that imports the fake mediapipe, as --peer-python takes it."""
    (folder / "mediapipe").mkdir()
    (folder / "mediapipe" / "__init__.py").write_text(FAKE_MEDIAPIPE)
    wrapper = folder / "python"
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH="{folder}" exec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


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
    out = run_script("--models", "selfie", "--frames", "6", "--rounds", "1")
    table = [line.split("|")[2].strip() for line in out.splitlines() if line.startswith("| selfie")]
    assert "bgblur" in table and "naive" in table and "x naive" in out
    assert "| codec floor" in out and re.search(r"file fps / codec floor fps: \d", out), out
    assert "MediaPipe-runtime peer: skipped (no --peer-python" in out, out


def test_bench_runs_the_peer_loop_from_its_own_interpreter(tmp_path: Path) -> None:
    peer = fake_peer_python(tmp_path)
    out = run_script("--models", "selfie", "--frames", "6", "--rounds", "1", "--no-naive", "--peer-python", str(peer))
    assert "| MediaPipe-runtime peer" in out and "mediapipe 0.0+fake" in out, out
    for ratio in ("peer file fps / codec floor fps", "file fps / peer file fps"):
        assert re.search(ratio + r": \d", out), out


def test_bench_live_compares_cpu_per_shown_frame_on_a_stream(tmp_path: Path) -> None:
    peer = fake_peer_python(tmp_path)
    args = ("--live", "--models", "selfie", "--seconds", "1", "--no-naive", "--peer-python", str(peer))
    out = run_script(*args, "--stream-seconds", "2", "--stream-warm", "2", "--rounds", "2", "--max-cpu")
    rows = {line.split("|")[1].strip(): line for line in out.splitlines() if line.startswith("| ")}
    assert "bgblur --model selfie" in rows and "MediaPipe-runtime peer" in rows, out
    assert "median of 2 runs" in out, out
    assert re.search(r"CPU per shown frame / peer CPU per shown frame: \d", out), out
    assert re.search(r"round by round: \d+\.\d\d \d+\.\d\d\n", out), out  # the two paired ratios
    spread = rows["MediaPipe-runtime peer"].split("|")[6].strip()  # the peer's CPU range over its two runs
    low, high = (float(x) for x in spread.split("-"))
    assert 0 < low <= high, out


def test_peer_script_prints_one_json_line(tmp_path: Path, testdata: Path) -> None:
    peer = fake_peer_python(tmp_path)
    clip = testdata / "videos" / "talking_head_bookshelf.mp4"
    script = REPO / "scripts" / "peer_mediapipe.py"
    args = ["--source", str(clip), "--output", str(tmp_path / "out.mp4"), "--frames", "5"]
    result = subprocess.run([str(peer), str(script), *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["frames"] == 5 and report["cpu_seconds"] > 0 and report["peak_rss_mb"] > 0
    assert (tmp_path / "out.mp4").stat().st_size > 0


def test_bench_soak_reports_resources_before_and_after() -> None:
    out = run_script("--soak", "60")
    for row in ("| resident MB", "| threads", "| open fds"):
        assert any(line.startswith(row) for line in out.splitlines()), out
