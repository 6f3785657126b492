"""The real window on Xvfb, keys pressed with xdotool, pixels read back from a screenshot: b (blur ↔ replace)
and v (matte beside the output, window only)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from util import bgblur_env, run_bgblur

IMAGE = "images/cihp_two_men_at_computer.jpg"  # 576x313: the side-by-side view (1152 wide) fits the screen
STATUS_ROWS = 30  # the status line at the bottom of the window is not the picture


@pytest.fixture
def display() -> Iterator[str]:
    """A private Xvfb. ``-displayfd`` lets the server pick a free number itself: checking for a free one and then
    starting it races with anyone else doing the same, and the loser's test lands on the winner's screen."""
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1280x720x24", "-nolisten", "tcp", "-noreset"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        pass_fds=(write_end,),
    )
    os.close(write_end)
    try:
        with os.fdopen(read_end) as pipe:
            number = pipe.readline().strip()  # written once the server accepts connections
        assert number.isdigit() and server.poll() is None, "Xvfb did not start"
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _x(display: str, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, env=bgblur_env(DISPLAY=display), timeout=30, check=True)


def _screenshot(display: str, window: str) -> np.ndarray:
    png = _x(display, "import", "-window", window, "png:-").stdout
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)


def _wait_for(
    display: str, window: str, condition: Callable[[np.ndarray], bool], what: str, seconds: float = 15
) -> np.ndarray | None:
    deadline = time.monotonic() + seconds
    while True:
        shot = _screenshot(display, window)
        if condition(shot):
            return shot
        if time.monotonic() > deadline:
            return None
        time.sleep(0.2)


def _press_until(display: str, window: str, key: str, condition: Callable[[np.ndarray], bool], what: str) -> np.ndarray:
    """Press ``key`` until the window shows ``what``. On a loaded machine Qt now and then misses a key sent right
    after focusing, as a person's press can be missed; like a person, press again (5 s apart: no late double)."""
    for _ in range(3):
        _x(display, "xdotool", "windowfocus", "--sync", window)
        _x(display, "xdotool", "key", key)
        shot = _wait_for(display, window, condition, what, seconds=5)
        if shot is not None:
            return shot
    pytest.fail(f"the window never showed {what} after pressing {key} three times")


def test_keys_b_and_v_in_a_real_window(display: str, testdata: Path, tmp_path: Path) -> None:
    source = testdata / IMAGE
    image = cv2.imread(str(source))
    height, width = image.shape[:2]
    matte_file = tmp_path / "matte.png"
    assert run_bgblur("--source", source, "--matte", matte_file, "--no-window").returncode == 0
    matte = cv2.imread(str(matte_file), cv2.IMREAD_GRAYSCALE)
    background = matte == 0
    background[-STATUS_ROWS:] = False
    assert background.sum() > 0.1 * background.size

    app = subprocess.Popen(
        [sys.executable, "-m", "bgblur", "--source", str(source)],
        env=bgblur_env(DISPLAY=display),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        window = _x(display, "xdotool", "search", "--sync", "--name", "^bgblur$").stdout.split()[0].decode()

        def green(shot: np.ndarray) -> np.ndarray:
            return (shot[:height, :width][background] == (0, 255, 0)).all(axis=1)

        person = matte == 255
        person[-STATUS_ROWS:] = False

        def painted(shot: np.ndarray) -> bool:  # the window is mapped before its first picture: wait for it
            return shot.shape[:2] == (height, width) and np.abs(shot.astype(int) - image)[person].mean() < 3

        blurred = _wait_for(display, window, painted, "the picture", seconds=10)
        assert blurred is not None, "the window never showed the picture"
        assert green(blurred).mean() < 0.01  # starts in blur mode: the room blurred, not replaced
        _press_until(display, window, "b", lambda s: green(s).mean() > 0.99, "the green background")
        wide = _press_until(display, window, "v", lambda s: s.shape[1] == 2 * width, "the matte beside the output")
        shown_matte = cv2.cvtColor(wide[: height - STATUS_ROWS, width:], cv2.COLOR_BGR2GRAY)
        assert np.abs(shown_matte.astype(int) - matte[: height - STATUS_ROWS]).max() <= 1
        for _ in range(3):  # q quits; pressed again only if a press was missed (see _press_until)
            _x(display, "xdotool", "windowfocus", "--sync", window)
            _x(display, "xdotool", "key", "q")
            try:
                assert app.wait(timeout=5) == 0
                break
            except subprocess.TimeoutExpired:
                continue
        assert app.poll() == 0, "q did not quit"
    finally:
        if app.poll() is None:
            app.kill()
        _, err = app.communicate(timeout=10)
    assert "Traceback" not in err, err
