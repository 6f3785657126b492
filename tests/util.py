"""Helpers for running bgblur as a user would and reading back what it wrote."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]


def bgblur_env(**extra: str) -> dict[str, str]:
    """Environment for a bgblur subprocess that imports this checkout's package."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(extra)
    return env


def run_bgblur(
    *args: str | Path, timeout: float = 300, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """Run ``python -m bgblur ARGS`` to completion (from ``cwd``); text output captured."""
    return subprocess.run(
        [sys.executable, "-m", "bgblur", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or bgblur_env(),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


def start_bgblur(*args: str | Path, display: str | None = None, cwd: Path | None = None) -> subprocess.Popen:
    """Start ``python -m bgblur ARGS`` (on X display ``display`` when given) and return at once; its stderr is
    captured as text, stdin and stdout are closed. The caller stops it (``harness.processes.stop_process``)."""
    env = bgblur_env()
    if display is not None:
        env["DISPLAY"] = display
    return subprocess.Popen(
        [sys.executable, "-m", "bgblur", *map(str, args)],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_bgblur_in_terminal(*args: str | Path, timeout: float = 120) -> tuple[int, str]:
    """Run ``python -m bgblur ARGS`` with stderr on a terminal (a pty: tqdm hides itself otherwise); returns the exit
    status and everything it drew there."""
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    # A pty starts 0 columns wide, and tqdm draws nothing in no room: give it a real terminal's size.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "bgblur", *map(str, args)],
        stdout=subprocess.DEVNULL,
        stderr=follower,
        stdin=subprocess.DEVNULL,
        env=bgblur_env(),
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return process.wait(timeout=timeout), b"".join(chunks).decode(errors="replace")


def assert_error(result: subprocess.CompletedProcess, status: int, *fragments: str) -> str:
    """The run failed the bgblur way: the given status, one ``bgblur: error:`` line, no traceback."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in lines if line.startswith("bgblur: error: ")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment.lower() in errors[0].lower(), errors[0]
    return errors[0]


def read_video(path: Path) -> list[np.ndarray]:
    """Every frame of a video file, decoded."""
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened(), f"cannot open {path}"
    return read_frames(capture)


def talking_head_720p(testdata: Path) -> np.ndarray:
    """The 40th frame of the 1280x720 talking-head clip: into the clip, the person has moved, an arm is up."""
    capture = cv2.VideoCapture(str(testdata / "videos" / "talking_head_bookshelf.mp4"))
    for _ in range(40):
        ok, image = capture.read()
    capture.release()
    assert ok and image.shape == (720, 1280, 3)
    return image


def read_frames(capture: cv2.VideoCapture, seconds: float | None = None) -> list[np.ndarray]:
    """The frames of an open capture until it ends (or ``seconds`` have passed), then released."""
    frames = []
    end = None if seconds is None else time.monotonic() + seconds
    while end is None or time.monotonic() < end:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def sharpness(image: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Variance of the Laplacian (of the grey image) over ``mask``: high when sharp, low when blurred."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    lap = cv2.Laplacian(grey, cv2.CV_64F)
    return float(lap[mask > 0].var() if mask is not None else lap.var())


def person_regions(mask: np.ndarray, margin: int = 15) -> tuple[np.ndarray, np.ndarray]:
    """(inside, outside): the ground-truth person eroded by ``margin`` px, and the background beyond the person
    dilated by ``margin`` px — the two regions where the expected output is unambiguous."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1, 2 * margin + 1))
    person = (mask > 127).astype(np.uint8)
    return cv2.erode(person, kernel), 1 - cv2.dilate(person, kernel)


def assert_blurred_everywhere(image: np.ndarray, output: np.ndarray) -> None:
    """Every tile of ``output`` lost most of the detail ``image`` had there: no part of the room was kept sharp."""
    h, w = image.shape[:2]
    for y in range(0, h - h // 4 + 1, h // 4):
        for x in range(0, w - w // 4 + 1, w // 4):
            tile_in, tile_out = image[y : y + h // 4, x : x + w // 4], output[y : y + h // 4, x : x + w // 4]
            assert sharpness(tile_out) <= 0.3 * sharpness(tile_in) + 1.0, (x, y)


class MemorySink:
    """An output that keeps what a pipeline writes, in order, in memory."""

    def __init__(self) -> None:
        self.images: list[np.ndarray] = []

    def write(self, image: np.ndarray) -> None:
        self.images.append(image.copy())

    def close(self) -> None:
        pass
