"""The real window on Xvfb, keys pressed with xdotool, pixels read back from a screenshot: b (blur ↔ replace)
and v (matte beside the output, window only)."""

from __future__ import annotations

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


def _free_display() -> int:
    for number in range(90, 200):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            return number
    pytest.fail("no free X display number between :90 and :199")


@pytest.fixture
def display() -> Iterator[str]:
    number = _free_display()
    server = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", "1280x720x24", "-nolisten", "tcp", "-noreset"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{number}").exists():
            assert server.poll() is None and time.monotonic() < deadline, "Xvfb did not start"
            time.sleep(0.05)
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _x(display: str, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, env=bgblur_env(DISPLAY=display), timeout=30, check=True)


def _screenshot(display: str, window: str) -> np.ndarray:
    png = _x(display, "import", "-window", window, "png:-").stdout
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)


def _wait_for(display: str, window: str, condition: Callable[[np.ndarray], bool], what: str) -> np.ndarray:
    deadline = time.monotonic() + 15
    while True:
        shot = _screenshot(display, window)
        if condition(shot):
            return shot
        assert time.monotonic() < deadline, f"the window never showed {what}"
        time.sleep(0.2)


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

        def key(name: str) -> None:
            _x(display, "xdotool", "windowfocus", "--sync", window)
            _x(display, "xdotool", "key", name)

        blurred = _wait_for(display, window, lambda s: s.shape[:2] == (height, width), "the picture")
        assert green(blurred).mean() < 0.01  # starts in blur mode: the room blurred, not replaced
        key("b")
        _wait_for(display, window, lambda s: green(s).mean() > 0.99, "the green background after b")
        key("v")
        wide = _wait_for(display, window, lambda s: s.shape[1] == 2 * width, "the matte beside the output after v")
        shown_matte = cv2.cvtColor(wide[: height - STATUS_ROWS, width:], cv2.COLOR_BGR2GRAY)
        assert np.abs(shown_matte.astype(int) - matte[: height - STATUS_ROWS]).max() <= 1
        key("q")
        assert app.wait(timeout=15) == 0
    finally:
        if app.poll() is None:
            app.kill()
        _, err = app.communicate(timeout=10)
    assert "Traceback" not in err, err
