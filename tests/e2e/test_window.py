"""The live window as a person uses it: a real Qt window under Xvfb, keys from xdotool, screenshots checked.

The camera is a real clip served live by ffmpeg on 127.0.0.1 (there is no /dev/video here).
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from harness import processes, streams, windows
from util import sharpness, start_bgblur

pytestmark = pytest.mark.e2e  # slow, end to end: real processes, windows, streams

SIZE = (640, 360)
SHELF = (slice(0, 90), slice(0, 640))  # bookshelf above the speaker: background in every frame


@pytest.fixture(scope="module")
def clip(testdata: Path) -> Path:
    return testdata / "videos" / "talking_head_bookshelf.mp4"


@pytest.fixture(scope="module")
def shelf_sharpness(clip: Path) -> float:
    frame = cv2.resize(cv2.VideoCapture(str(clip)).read()[1], SIZE, interpolation=cv2.INTER_AREA)
    return sharpness(frame[SHELF])


def launch(display: str, *args: str | Path) -> subprocess.Popen:
    return start_bgblur("--quiet", *args, display=display)


@pytest.fixture
def live_window(xdisplay: str, clip: Path) -> Iterator[tuple[subprocess.Popen, int]]:
    with streams.LiveStream(clip, size=SIZE, fps=30) as stream:
        app = launch(xdisplay, "--source", stream.url)
        try:
            yield app, windows.find_window("^bgblur$", xdisplay, timeout=20, proc=app)
        finally:
            processes.stop_process(app)


def exits_within(app: subprocess.Popen, seconds: float) -> int:
    start = time.monotonic()
    status = app.wait(10)
    assert time.monotonic() - start <= seconds, f"took {time.monotonic() - start:.1f} s to exit"
    return status


def wait_for_shelf(wid: int, display: str, sharp: bool, reference: float) -> np.ndarray:
    """Screenshot once the shelf is (not) blurred; keys reach the app between two frames."""
    seen: list[float] = []

    def condition(shot: np.ndarray) -> bool:
        seen.append(round(sharpness(shot[SHELF]), 1))
        return seen[-1] > 0.5 * reference if sharp else seen[-1] < 0.2 * reference

    try:
        return windows.wait_for_screenshot(wid, display, condition, what="shelf")
    except TimeoutError:
        state = "sharp" if sharp else "blurred"
        raise AssertionError(f"shelf never became {state} (reference {reference:.0f}), saw {seen[-12:]}") from None


def test_window_shows_blur_and_p_toggles_it_q_quits(live_window, xdisplay: str, shelf_sharpness: float) -> None:
    app, wid = live_window
    assert windows.settled_geometry(wid, xdisplay, SIZE) == SIZE  # the frame at its real size, no toolbar
    wait_for_shelf(wid, xdisplay, sharp=False, reference=shelf_sharpness)  # privacy on at start
    windows.send_key(wid, "p", xdisplay)
    wait_for_shelf(wid, xdisplay, sharp=True, reference=shelf_sharpness)
    windows.send_key(wid, "p", xdisplay)
    wait_for_shelf(wid, xdisplay, sharp=False, reference=shelf_sharpness)
    windows.send_key(wid, "q", xdisplay)
    assert exits_within(app, 2.0) == 0, app.stderr.read()


def test_escape_quits(live_window, xdisplay: str) -> None:
    app, wid = live_window
    windows.send_key(wid, "Escape", xdisplay)
    assert exits_within(app, 2.0) == 0, app.stderr.read()


def test_closing_the_window_quits(live_window, xdisplay: str) -> None:
    app, wid = live_window
    windows.close_window(wid, xdisplay)
    assert exits_within(app, 2.0) == 0, app.stderr.read()


def test_ctrl_c_stops_cleanly_with_130(live_window) -> None:
    app, _ = live_window
    time.sleep(1.0)
    app.send_signal(signal.SIGINT)
    assert exits_within(app, 2.0) == 130
    assert "Traceback" not in app.stderr.read()


def test_sigterm_stops_cleanly_and_finalises_the_recording(xdisplay: str, clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "call.mp4"
    with streams.LiveStream(clip, size=SIZE, fps=30) as stream:
        app = launch(xdisplay, "--source", stream.url, "--output", out)
        try:
            windows.find_window("^bgblur$", xdisplay, timeout=20, proc=app)
            time.sleep(2.0)
            app.send_signal(signal.SIGTERM)
            assert exits_within(app, 2.0) == 0, app.stderr.read()
        finally:
            processes.stop_process(app)
    capture = cv2.VideoCapture(str(out))
    frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    ok, frame = capture.read()
    assert ok and frame.shape == (SIZE[1], SIZE[0], 3) and frames >= 20


def test_mirror_and_help_keys_on_a_still_picture(xdisplay: str, testdata: Path) -> None:
    picture = testdata / "images" / "noperson_rooftop_view.jpg"
    app = launch(xdisplay, "--source", picture)
    try:
        wid = windows.find_window("^bgblur$", xdisplay, timeout=20, proc=app)
        assert windows.settled_geometry(wid, xdisplay, (1280, 720)) == (1280, 720)
        before = windows.screenshot(wid, xdisplay)
        top = slice(0, 600)  # above the status line
        windows.send_key(wid, "m", xdisplay)
        mirrored = windows.wait_for_screenshot(
            wid, xdisplay, lambda s: not np.array_equal(s[top], before[top]), what="mirror"
        )
        assert np.abs(mirrored[top].astype(int) - cv2.flip(before, 1)[top]).max() <= 2
        status_rows = slice(680, 720)
        windows.send_key(wid, "h", xdisplay)
        helped = windows.wait_for_screenshot(
            wid, xdisplay, lambda s: not np.array_equal(s[status_rows], mirrored[status_rows]), what="help line"
        )
        # The help line is longer than the mode label: text now reaches further right.
        changed = np.abs(helped[status_rows].astype(int) - mirrored[status_rows]).max(axis=(0, 2)) > 60
        assert np.nonzero(changed)[0].max() > 400
        windows.send_key(wid, "q", xdisplay)
        assert exits_within(app, 2.0) == 0, app.stderr.read()
    finally:
        processes.stop_process(app)


def test_a_still_picture_on_screen_runs_the_model_once(xdisplay: str, testdata: Path) -> None:
    """The window redraws a still picture for keys, but its matte is the model's first answer, not 30 a second."""
    app = launch(xdisplay, "--source", testdata / "images" / "cihp_two_men_at_computer.jpg", "--stats")
    try:
        wid = windows.find_window("^bgblur$", xdisplay, timeout=20, proc=app)
        time.sleep(1.5)  # ~50 redraws
        windows.send_key(wid, "p", xdisplay)  # privacy off and on again: matte and effect redone, the model not
        windows.send_key(wid, "p", xdisplay)
        windows.send_key(wid, "q", xdisplay)
        assert exits_within(app, 2.0) == 0
        stats = app.stderr.read()
        assert re.search(r"^inference calls: 1 ", stats, re.MULTILINE), stats
    finally:
        processes.stop_process(app)


def test_stream_killed_mid_run_gives_a_bounded_clear_exit(xdisplay: str, clip: Path) -> None:
    with streams.LiveStream(clip, size=SIZE, fps=30) as stream:
        app = launch(xdisplay, "--source", stream.url, "--reconnect", "2", "--read-timeout", "2")
        try:
            windows.find_window("^bgblur$", xdisplay, timeout=20, proc=app)
            time.sleep(1.0)
            stream.kill()
            status = app.wait(20)
        finally:
            processes.stop_process(app)
    stderr = app.stderr.read()
    assert status == 1, stderr
    assert "bgblur: error: " in stderr and "did not come back within 2 s" in stderr
    assert "Traceback" not in stderr


def test_stream_that_never_opens_fails_within_the_timeout(xdisplay: str) -> None:
    with streams.NeverOpeningStream() as never:
        start = time.monotonic()
        app = launch(xdisplay, "--source", never.url, "--open-timeout", "3")
        try:
            status = app.wait(20)
        finally:
            processes.stop_process(app)
    assert time.monotonic() - start < 12
    stderr = app.stderr.read()
    assert status == 1 and "bgblur: error: cannot open stream" in stderr, stderr
