"""A video file shown in a window plays at its own rate, as in a player; with --output it runs as fast as it can.

Real windows under Xvfb (the ``xdisplay`` fixture): the run's own ``--stats`` give the time from the first frame
to the last and the stage medians, which must stay processing times (the waits are not counted).
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import cv2
import pytest
from harness import processes, windows

from bgblur.sinks.overlays import FpsMeter
from tests.util import start_bgblur

FPS = 30
FRAMES = 120  # 4 s
TOLERANCE = 0.15


@pytest.fixture(scope="module")
def clip(testdata: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 s of the talking head at exactly 30 fps, 640x360, no sound."""
    path = tmp_path_factory.mktemp("playback") / "talk30.mp4"
    source = testdata / "videos" / "talking_head_bookshelf.mp4"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-i", str(source), "-vf",
         f"scale=640:360,fps={FPS}", "-frames:v", str(FRAMES), "-an", "-c:v", "libx264", "-preset", "ultrafast",
         "-pix_fmt", "yuv420p", str(path)],
        check=True,
        timeout=60,
    )  # fmt: skip
    capture = cv2.VideoCapture(str(path))
    assert round(capture.get(cv2.CAP_PROP_FPS)) == FPS and int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == FRAMES
    capture.release()
    return path


def run_in_window(display: str, *args: str | Path, cwd: Path) -> tuple[float, str]:
    """Run bgblur in a window on ``display`` to the end of the video; returns the time from its window's appearing
    (the first frame shown) to its exit, and its stderr."""
    app = start_bgblur("--quiet", "--no-config", "--stats", *args, display=display, cwd=cwd)
    try:
        windows.find_window("^bgblur$", display, timeout=30, proc=app)
        start = time.monotonic()
        _, stderr = app.communicate(timeout=90)
        seen = time.monotonic() - start
    finally:
        processes.stop_process(app)
    assert app.returncode == 0, stderr
    return seen, stderr


def shown(stats: str) -> tuple[int, float]:
    """Frames shown and the seconds from the first to the last, from --stats."""
    found = re.search(r"^frames shown: (\d+) \(([\d.]+)/s over ([\d.]+) s\)$", stats, re.MULTILINE)
    assert found, stats
    return int(found.group(1)), float(found.group(3))


def median_ms(stats: str, stage: str) -> float:
    found = re.search(rf"^{stage}\s+\d+\s+([\d.]+)\s", stats, re.MULTILINE)
    assert found, stats
    return float(found.group(1))


@pytest.mark.e2e
def test_a_video_in_a_window_plays_at_its_own_rate(xdisplay: str, clip: Path, tmp_path: Path) -> None:
    seen, stats = run_in_window(xdisplay, "--source", clip, cwd=tmp_path)
    frames, seconds = shown(stats)
    duration = FRAMES / FPS
    assert frames == FRAMES  # every frame shown, none skipped
    # From the window's first frame to the end: the clip's own duration (the run's own count from the start of
    # the loop also includes the wait for the first frame: model warm-up, window creation).
    assert abs(seen - duration) <= TOLERANCE * duration, f"played in {seen:.2f} s, the clip lasts {duration} s"
    assert seconds >= (1 - TOLERANCE) * duration, stats
    # The stage times are the processing: a frame is made and shown in far less than its 33 ms interval.
    processing = sum(median_ms(stats, stage) for stage in ("composite", "output", "display"))
    assert processing < 0.75 * 1000 / FPS, stats


@pytest.mark.e2e
def test_with_output_the_window_is_a_preview_and_the_run_is_as_fast_as_it_can(
    xdisplay: str, clip: Path, tmp_path: Path
) -> None:
    seen, stats = run_in_window(xdisplay, "--source", clip, "--output", tmp_path / "out.mp4", cwd=tmp_path)
    frames, seconds = shown(stats)
    assert frames == FRAMES
    assert seconds < (1 - TOLERANCE) * FRAMES / FPS, f"{seconds} s: paced although --output was given"
    assert seen < (1 - TOLERANCE) * FRAMES / FPS, f"{seen:.2f} s on screen: paced although --output was given"
    assert int(cv2.VideoCapture(str(tmp_path / "out.mp4")).get(cv2.CAP_PROP_FRAME_COUNT)) == FRAMES


def test_the_fps_meter_leaves_out_the_waits() -> None:
    """The window's frames/s (key f) is the processing speed: 10 ms per frame, then 23 ms waited each time."""
    meter = FpsMeter()
    now = 100.0
    for _ in range(30):
        now += 0.010
        meter.tick(now)
        now += 0.023
        meter.idle(0.023)
    assert meter.fps == pytest.approx(100.0, rel=0.01)
