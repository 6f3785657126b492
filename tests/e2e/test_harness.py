"""The GUI test harness works for real: Xvfb, a live fake camera, windows, keys, screenshots, close, timeouts.

The app under test here is a tiny stand-in for bgblur (``VIEWER`` below), not bgblur itself.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from harness import processes, streams, windows, x11

pytestmark = pytest.mark.e2e  # slow, end to end: real processes, windows, streams

WINDOW = "bgblur"
TITLE = f"^{WINDOW}$"
STREAM_SIZE = (640, 360)

# A stand-in for bgblur: shows the camera in a frame-sized window, `p` toggles a blur, `q` quits, closing the
# window quits. Exit codes: 0 normal end, 2 open failed, 3 read failed.
VIEWER = r"""
import sys, cv2
name = "bgblur"
cap = cv2.VideoCapture(sys.argv[1], cv2.CAP_FFMPEG,
                       [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 5000, cv2.CAP_PROP_READ_TIMEOUT_MSEC, 2000])
if not cap.isOpened():
    print("open failed", flush=True)
    sys.exit(2)
cv2.namedWindow(name, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)
blur = False
while True:
    ok, frame = cap.read()
    if not ok:
        print("read failed", flush=True)
        sys.exit(3)
    if blur:
        frame = cv2.GaussianBlur(frame, (0, 0), 6)
    cv2.imshow(name, frame)
    key = cv2.waitKey(1) & 0xFF
    if key == ord("q"):
        print("quit", flush=True)
        break
    if key == ord("p"):
        blur = not blur
        print("blur", blur, flush=True)
    try:
        visible = cv2.getWindowProperty(name, cv2.WND_PROP_VISIBLE)
    except cv2.error:  # OpenCV 5 + Qt: once the last window is closed, its GUI thread is gone and this raises
        visible = 0
    if visible < 1:
        print("closed", flush=True)
        break
cap.release()
sys.exit(0)
"""

# Reads the camera without a window and reports each step, to time how a frozen or missing camera fails.
READER = r"""
import sys, time, cv2
t = time.monotonic()
cap = cv2.VideoCapture(sys.argv[1], cv2.CAP_FFMPEG,
                       [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(sys.argv[2]), cv2.CAP_PROP_READ_TIMEOUT_MSEC, 2000])
if not cap.isOpened():
    print(f"open failed after {time.monotonic() - t:.2f}", flush=True)
    sys.exit(2)
n = 0
while True:
    ok, frame = cap.read()
    if not ok:
        print(f"read failed after {n} frames", flush=True)
        sys.exit(3)
    n += 1
    if n == 30:
        print("streaming", flush=True)
"""


def _strangers() -> list[str]:
    """Child processes of this test process other than the session's X display (Xvfb and its window manager)."""
    return [line for line in processes.child_processes() if int(line.split()[0]) not in processes.SESSION_PIDS]


@pytest.fixture(autouse=True)
def no_processes_left_by_test() -> Iterator[None]:
    """Each test must end every ffmpeg / app process it started (only the session's X display may stay)."""
    yield
    try:
        processes.wait_until(lambda: not _strangers(), 5, 0.1, "processes left behind")
    except TimeoutError:
        pytest.fail(f"processes left behind: {_strangers()}")


@pytest.fixture(scope="session")
def clip(testdata: Path) -> Path:
    path = testdata / "videos" / "talking_head_bookshelf.mp4"
    assert path.is_file(), path
    return path


@pytest.fixture
def camera(clip: Path) -> Iterator[streams.LiveStream]:
    with streams.LiveStream(clip, size=STREAM_SIZE, fps=30) as stream:
        yield stream


def _start_viewer(url: str, display: str, log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-c", VIEWER, url],
            env=processes.display_env(display),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


# --------------------------------------------------------------------------------------------------------------------
# Pure helpers
# --------------------------------------------------------------------------------------------------------------------


def test_wait_until_returns_the_value_and_times_out_bounded() -> None:
    calls = iter([0, None, "ready"])
    assert processes.wait_until(lambda: next(calls), timeout=2, interval=0.01) == "ready"
    t = time.monotonic()
    with pytest.raises(TimeoutError, match="never"):
        processes.wait_until(lambda: False, timeout=0.3, interval=0.05, message="never")
    assert time.monotonic() - t < 1.0


def test_sharpness_tells_blurred_from_sharp_and_honours_the_mask() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    image[:, 80:] = cv2.GaussianBlur(image[:, 80:], (0, 0), 4)
    left = np.zeros(image.shape[:2], np.uint8)
    left[:, :70] = 255
    right = np.zeros_like(left)
    right[:, 90:] = 255
    assert windows.sharpness(image, left) > 50 * windows.sharpness(image, right)
    assert windows.sharpness(image, np.zeros_like(left)) == 0.0
    assert windows.sharpness(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)) == pytest.approx(windows.sharpness(image))


# --------------------------------------------------------------------------------------------------------------------
# Xvfb
# --------------------------------------------------------------------------------------------------------------------


def test_two_xvfb_started_at_once_get_different_displays() -> None:
    first = 700 + int(time.time()) % 100  # both race for the same number: the lock file must settle it
    results: list[tuple[str, subprocess.Popen]] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            results.append(x11.start_xvfb(first=first))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    try:
        assert not errors, errors
        displays = {display for display, _ in results}
        assert len(displays) == 2, results
        assert all(x11.display_accepts_connections(display) for display in displays)
    finally:
        for _, proc in results:
            x11.stop_xvfb(proc)
    for display in displays:
        assert not x11.display_accepts_connections(display)
        assert not Path(f"/tmp/.X{display[1:]}-lock").exists()


def test_xserver_context_manager(xdisplay: str) -> None:
    with x11.XServer() as x:
        assert x.display != xdisplay
        assert x11.display_accepts_connections(x.display)
    assert x.process is None
    assert not x11.display_accepts_connections(x.display)


# --------------------------------------------------------------------------------------------------------------------
# The fake camera
# --------------------------------------------------------------------------------------------------------------------


def test_livestream_serves_live_frames_of_the_requested_size(camera: streams.LiveStream) -> None:
    cap = cv2.VideoCapture(camera.url, cv2.CAP_FFMPEG, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 5000])
    try:
        assert cap.isOpened(), camera.log()
        ok, frame = cap.read()
        assert ok
        assert frame.shape == (STREAM_SIZE[1], STREAM_SIZE[0], 3)
        assert windows.sharpness(frame) > 50  # real picture, not a flat colour
    finally:
        cap.release()


def test_testsrc_stream_and_kill() -> None:
    with streams.LiveStream(size=(320, 240), fps=15) as stream:
        assert stream.url.startswith("tcp://127.0.0.1:")
        cap = cv2.VideoCapture(stream.url, cv2.CAP_FFMPEG, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 5000])
        try:
            ok, frame = cap.read()
            assert ok and frame.shape == (240, 320, 3)
            stream.kill()
            assert not stream.running
        finally:
            cap.release()


def test_paused_stream_is_ended_on_exit(clip: Path) -> None:
    with streams.LiveStream(clip) as stream:
        stream.pause()
        proc = stream.process
    assert proc is not None and proc.poll() is not None  # SIGSTOPped ffmpeg ended anyway, and reaped


def test_missing_clip_is_reported() -> None:
    with pytest.raises(FileNotFoundError), streams.LiveStream("/nonexistent/clip.mp4"):
        pass


def test_frozen_stream_makes_reads_time_out(camera: streams.LiveStream, tmp_path: Path) -> None:
    log = tmp_path / "reader.log"
    with (
        log.open("w") as out,
        processes.running([sys.executable, "-c", READER, camera.url, "5000"], stdout=out) as reader,
    ):
        processes.wait_until(lambda: "streaming" in log.read_text(), 10, 0.05, "reader never streamed")
        camera.pause()
        paused_at = time.monotonic()
        code = reader.wait(timeout=10)
        elapsed = time.monotonic() - paused_at
        camera.resume()
    print(f"frozen stream -> read failure after {elapsed:.2f} s")
    assert code == 3, log.read_text()
    assert "read failed" in log.read_text()
    assert 1.5 < elapsed < 5.0, f"read timeout of 2 s took {elapsed:.2f} s"


def test_never_opening_stream_makes_open_fail_within_its_timeout() -> None:
    with streams.NeverOpeningStream() as dead:
        t = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-c", READER, dead.url, "3000"], capture_output=True, text=True, timeout=20, check=False
        )
        elapsed = time.monotonic() - t
        assert dead.accepted >= 1  # the reader really connected and then waited for bytes that never came
    print(f"never-opening server -> open failure after {elapsed:.2f} s")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "open failed" in result.stdout
    assert elapsed < 3.0 + 4.0, f"3 s open timeout took {elapsed:.2f} s"


# --------------------------------------------------------------------------------------------------------------------
# A window driven like a person does
# --------------------------------------------------------------------------------------------------------------------


def test_window_keys_screenshots_and_quit(xdisplay: str, camera: streams.LiveStream, tmp_path: Path) -> None:
    log = tmp_path / "viewer.log"
    app = _start_viewer(camera.url, xdisplay, log)
    try:
        wid = windows.find_window(TITLE, xdisplay, timeout=15, pid=app.pid, proc=app)
        assert windows.settled_geometry(wid, xdisplay, STREAM_SIZE) == STREAM_SIZE

        sharp_shot = windows.screenshot(wid, xdisplay)
        assert sharp_shot.shape == (STREAM_SIZE[1], STREAM_SIZE[0], 3)
        sharp = windows.sharpness(sharp_shot)
        assert sharp > 50, "the window shows no detailed picture"

        windows.send_key(wid, "p", xdisplay)
        blurred = processes.wait_until(
            lambda: (s := windows.sharpness(windows.screenshot(wid, xdisplay))) < sharp / 5 and s,
            5,
            0.1,
            "blur never showed",
        )
        windows.send_key(wid, "p", xdisplay)
        processes.wait_until(
            lambda: windows.sharpness(windows.screenshot(wid, xdisplay)) > sharp / 2, 5, 0.1, "blur never went off"
        )
        assert log.read_text().count("blur") == 2, log.read_text()

        windows.send_key(wid, "q", xdisplay)
        t = time.monotonic()
        assert app.wait(timeout=2) == 0, log.read_text()
        print(f"sharp {sharp:.0f} -> blurred {blurred:.1f}; quit took {time.monotonic() - t:.2f} s")
        assert "quit" in log.read_text()
        processes.wait_until(
            lambda: not windows.list_windows(TITLE, xdisplay), 2, 0.05, "window still shown after quit"
        )
    finally:
        processes.stop_process(app)


def test_closing_the_window_ends_the_app(xdisplay: str, camera: streams.LiveStream, tmp_path: Path) -> None:
    log = tmp_path / "viewer.log"
    app = _start_viewer(camera.url, xdisplay, log)
    try:
        wid = windows.find_window(TITLE, xdisplay, timeout=15, pid=app.pid, proc=app)
        windows.close_window(wid, xdisplay)
        t = time.monotonic()
        assert app.wait(timeout=3) == 0, log.read_text()
        print(f"close -> exit took {time.monotonic() - t:.2f} s")
        assert "closed" in log.read_text()
        assert not windows.window_exists(wid, xdisplay)
        with pytest.raises(RuntimeError, match="no window"):
            windows.close_window(wid, xdisplay)  # a gone window is an error, and it must not kill the test process
    finally:
        processes.stop_process(app)


def test_destroying_the_window_is_not_closing_it(xdisplay: str, camera: streams.LiveStream, tmp_path: Path) -> None:
    """Documents why close_window sends WM_DELETE_WINDOW: ``xdotool windowclose`` goes unnoticed by OpenCV/Qt."""
    log = tmp_path / "viewer.log"
    app = _start_viewer(camera.url, xdisplay, log)
    try:
        wid = windows.find_window(TITLE, xdisplay, timeout=15, pid=app.pid, proc=app)
        windows.destroy_window(wid, xdisplay)
        with pytest.raises(subprocess.TimeoutExpired):
            app.wait(timeout=1.5)
        assert "closed" not in log.read_text()
    finally:
        processes.stop_process(app)


def test_find_window_is_bounded_and_reports_a_dead_app(xdisplay: str) -> None:
    t = time.monotonic()
    with pytest.raises(TimeoutError):
        windows.find_window("^no such window$", xdisplay, timeout=0.5)
    assert time.monotonic() - t < 3
    with (
        processes.running([sys.executable, "-c", "raise SystemExit(7)"], display=xdisplay) as dead,
        pytest.raises(RuntimeError, match="exited with 7"),
    ):
        windows.find_window(TITLE, xdisplay, timeout=10, proc=dead)
