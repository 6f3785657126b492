"""Faults during a run: interrupted runs, a full disk, a live stream that freezes or comes back."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import processes, streams
from util import bgblur_env, read_video

pytestmark = pytest.mark.e2e  # slow, end to end: real processes, windows, streams


def start(*args: str | Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bgblur", "--quiet", *map(str, args)],
        env=bgblur_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 6 MB tmpfs: a real 'disk full' without filling the machine's disk (needs root, as in CI)."""
    mount = tmp_path / "small"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)], capture_output=True)
    if result.returncode != 0:
        pytest.fail(f"cannot mount a small tmpfs for the disk-full test (run as root): {result.stderr!r}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.parametrize("sig, status", [(signal.SIGINT, 130), (signal.SIGTERM, 0)])
def test_interrupted_file_run_leaves_a_playable_output(sig: int, status: int, testdata: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    app = start("--source", testdata / "videos" / "talking_head_bookshelf.mp4", "--output", out, "--no-window")
    try:
        processes.wait_until(lambda: any(tmp_path.glob(".*partial*")), 30, 0.05, "never started writing")
        time.sleep(0.5)
        app.send_signal(sig)
        assert app.wait(10) == status
    finally:
        processes.stop_process(app)
    assert "Traceback" not in app.stderr.read()
    frames = read_video(out)
    assert 0 < len(frames) < 144 and frames[0].shape == (720, 1280, 3)


def test_full_disk_stops_cleanly_with_a_playable_file(small_disk: Path, testdata: Path) -> None:
    out = small_disk / "out.avi"  # MJPEG: about 100 KB a frame, far more than the 6 MB disk holds
    app = start("--source", testdata / "videos" / "talking_head_bookshelf.mp4", "--output", out, "--no-window")
    status = app.wait(120)
    stderr = app.stderr.read()
    assert status == 1, stderr
    assert stderr.count("bgblur: error: ") == 1 and "almost full" in stderr and "Traceback" not in stderr
    frames = read_video(out)
    assert len(frames) >= 8 and frames[0].shape == (720, 1280, 3)


def test_an_output_folder_deleted_during_a_live_run_stops_it_with_one_line(testdata: Path, tmp_path: Path) -> None:
    folder = tmp_path / "recordings"
    folder.mkdir()
    with streams.LiveStream(testdata / "videos" / "davis_hike.mp4", size=(426, 240)) as stream:
        app = start("--source", stream.url, "--no-window", "--output", folder / "rec.mp4")
        try:
            processes.wait_until(lambda: any(folder.glob(".*partial*")), 30, 0.05, "never started writing")
            time.sleep(0.5)
            shutil.rmtree(folder)
            status = app.wait(20)  # it stops by itself: nobody interrupts it
        finally:
            processes.stop_process(app)
    stderr = app.stderr.read()
    assert status == 1 and "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("bgblur: error: ")]
    assert len(errors) == 1, stderr
    assert re.search(r"stopped writing video .*rec\.mp4 after \d+ frames: its folder .*recordings was moved", errors[0])
    assert not folder.exists()  # not recreated behind the user's back


@pytest.fixture(scope="module")
def clip(testdata: Path) -> Path:
    return testdata / "videos" / "davis_hike.mp4"


def test_frozen_stream_gives_a_bounded_exit_without_spinning(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "rec.mp4"
    with streams.LiveStream(clip, size=(426, 240)) as stream:
        app = start("--source", stream.url, "--no-window", "--output", out, "--read-timeout", "2", "--reconnect", "3")
        try:
            processes.wait_until(lambda: any(tmp_path.glob(".*partial*")), 30, 0.05, "never started")
            time.sleep(1.0)
            stream.pause()
            frozen_at, cpu_at = time.monotonic(), cpu_seconds(app.pid)
            time.sleep(1.5)
            idle_cpu = (cpu_seconds(app.pid) - cpu_at) / (time.monotonic() - frozen_at)
            status = app.wait(30)
            waited = time.monotonic() - frozen_at
        finally:
            processes.stop_process(app)
    stderr = app.stderr.read()
    assert status == 1 and "did not come back" in stderr, stderr
    assert waited < 15  # read timeout 2 s + reconnect 3 s (+ open attempts), not FFmpeg's 30 s default
    assert idle_cpu < 0.25  # waiting for a frozen stream must not busy-spin a core
    assert len(read_video(out)) > 10  # the recording up to the freeze is kept and playable


def test_stream_that_comes_back_is_picked_up_again(clip: Path, tmp_path: Path) -> None:
    stream = streams.LiveStream(clip, size=(426, 240)).start()
    try:
        port = stream.port
        app = start("--source", stream.url, "--no-window", "--output", tmp_path / "back.mp4",
                    "--reconnect", "20", "--read-timeout", "2")  # fmt: skip
        time.sleep(3.0)
        stream.kill()
        time.sleep(1.0)
        # Restart ffmpeg on the same port, as a camera or server coming back would.
        revived = subprocess.Popen(stream.command(port), stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            processes.wait_until(lambda: streams.is_listening(port), 10, 0.05, "stream did not restart")
            time.sleep(4.0)
            assert app.poll() is None, app.stderr.read()
            app.send_signal(signal.SIGTERM)
            assert app.wait(10) == 0
        finally:
            processes.stop_process(revived)
            processes.stop_process(app)
    finally:
        stream.stop()
    stderr = app.stderr.read()
    assert "stopped sending frames" in stderr and "is back" in stderr, stderr
    assert "bgblur: error" not in stderr
