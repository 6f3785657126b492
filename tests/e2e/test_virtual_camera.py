"""The virtual camera through pyvirtualcam's real Camera code, with a backend that publishes to ffmpeg."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from harness.processes import stop_process, wait_until
from harness.streams import LiveStream, free_tcp_port, is_listening
from util import assert_error, bgblur_env, read_frames, run_bgblur, sharpness

pytestmark = pytest.mark.e2e  # slow, end to end: real processes, windows, streams


class GreyRampStream(LiveStream):
    """A live stream of uniform grey frames whose level is 8 x frame number: order survives any blur."""

    def command(self, port: int) -> list[str]:
        return ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi"] + [
            "-i", "nullsrc=s=320x240:r=30,geq=lum='mod(N*8,256)':cb=128:cr=128",
            "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "15", "-pix_fmt", "yuv420p",
            "-f", "mpegts", f"tcp://127.0.0.1:{port}?listen=1",
        ]  # fmt: skip


def start_with_vcam(source_url: str, tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, str, Path]:
    port = free_tcp_port()
    log = tmp_path / "sends.txt"
    env = bgblur_env(BGBLUR_TEST_VCAM_URL=f"tcp://127.0.0.1:{port}", BGBLUR_TEST_VCAM_LOG=str(log))
    process = subprocess.Popen(
        [sys.executable, "-c", "import tests.vcam_backend as v; v.main()", "--source", source_url]
        + ["--no-window", "--virtual-camera", "--quiet", *extra],
        env=env,
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert wait_until(lambda: is_listening(port) or process.poll() is not None, 20), "virtual camera never started"
    assert process.poll() is None, process.stderr.read() if process.stderr else ""
    return process, f"tcp://127.0.0.1:{port}", log


def read_for(url: str, seconds: float) -> list[np.ndarray]:
    capture = cv2.VideoCapture(
        url, cv2.CAP_FFMPEG, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 10000, cv2.CAP_PROP_READ_TIMEOUT_MSEC, 5000]
    )
    assert capture.isOpened()
    return read_frames(capture, seconds)


def stop(process: subprocess.Popen) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    status = stop_process(process, timeout=10)
    return status, process.stderr.read() if process.stderr else ""


def call_frames(source: str, tmp_path: Path, seconds: float, *extra: str) -> tuple[list[np.ndarray], Path]:
    """Run bgblur into the virtual camera, read what a call app would receive for ``seconds``, stop it cleanly."""
    process, url, log = start_with_vcam(source, tmp_path, *extra)
    try:
        frames = read_for(url, seconds)
    finally:
        status, stderr = stop(process)
    assert status == 0, stderr
    return frames, log


def test_frames_arrive_in_order_at_a_steady_rate(tmp_path: Path) -> None:
    with GreyRampStream() as stream:
        frames, log = call_frames(stream.url, tmp_path, 4.0)
    assert len(frames) >= 60
    levels = np.array([float(np.median(f[..., 1])) for f in frames[10:]])  # grey: any channel
    steps = np.diff(levels) % 256  # the ramp wraps at 256
    steps[steps > 128] -= 256
    assert np.all(steps >= -3), levels  # never backwards (repeats allowed when processing stalls)
    assert np.mean(steps > 3) > 0.5  # and mostly moving forward
    sends = np.loadtxt(log)
    intervals = np.diff(sends[5:])
    assert 1 / 30 * 0.8 < np.median(intervals) < 1 / 30 * 1.25  # the stream's 30 fps, steadily
    assert np.percentile(intervals, 95) < 0.1


def test_background_is_blurred_in_the_call(testdata: Path, tmp_path: Path) -> None:
    clip = testdata / "videos" / "talking_head_bookshelf.mp4"
    with LiveStream(clip, size=(640, 360)) as stream:
        frames, _ = call_frames(stream.url, tmp_path, 3.0)
    assert len(frames) >= 30 and frames[0].shape == (360, 640, 3)
    reference = cv2.resize(cv2.VideoCapture(str(clip)).read()[1], (640, 360))
    top = slice(0, 90)  # the bookshelf above the speaker's head
    assert sharpness(frames[-1][top]) < 0.3 * sharpness(reference[top])


def test_auto_frame_centres_the_speaker_in_the_call(testdata: Path, tmp_path: Path) -> None:
    from bgblur.matte.detectors import FaceDetector

    clip = testdata / "videos" / "talking_head_bookshelf.mp4"  # the speaker's face at ~41 % of the width
    detector = FaceDetector()

    def face_x(frame: np.ndarray) -> float:
        box = max(detector.detect(frame), key=lambda d: d.score).box
        return (box[0] + box[2]) / 2 / frame.shape[1]

    assert abs(face_x(cv2.VideoCapture(str(clip)).read()[1]) - 0.41) < 0.03
    with LiveStream(clip, size=(640, 360)) as stream:
        frames, _ = call_frames(stream.url, tmp_path, 4.0, "--auto-frame")
    assert len(frames) >= 60 and frames[0].shape == (360, 640, 3)
    assert all(abs(face_x(frame) - 0.5) < 0.05 for frame in frames[-10:])


def test_odd_width_is_padded_to_even_and_a_still_keeps_being_sent(testdata: Path, tmp_path: Path) -> None:
    image = cv2.imread(str(testdata / "images" / "cihp_two_women_graduation.jpg"))[:400, :321]
    still = tmp_path / "odd.png"
    cv2.imwrite(str(still), image)
    frames, log = call_frames(str(still), tmp_path, 2.0)
    assert len(frames) >= 20 and frames[0].shape == (400, 322, 3)
    assert len(np.loadtxt(log)) >= 20


def test_no_loopback_device_is_a_clear_error(testdata: Path) -> None:
    import pyvirtualcam  # noqa: F401

    result = run_bgblur("--source", testdata / "images" / "noperson_coffee_cup.jpg", "--no-window",
                        "--virtual-camera", "/dev/video42")  # fmt: skip
    assert_error(result, 1, "virtual camera", "modprobe v4l2loopback")


def test_without_the_extra_the_error_says_what_to_install(testdata: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "pyvirtualcam"
    blocker.mkdir()
    (blocker / "__init__.py").write_text("raise ImportError('not installed')\n")
    env = bgblur_env()
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env["PYTHONPATH"]])
    result = run_bgblur("--source", testdata / "images" / "noperson_coffee_cup.jpg", "--no-window",
                        "--virtual-camera", env=env)  # fmt: skip
    assert_error(result, 1, "pip install 'bgblur[vcam]'")
