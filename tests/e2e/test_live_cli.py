"""The live and file loops through the command line: every file frame processed; a live stream written as shown."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness import processes, streams
from util import bgblur_env, read_video, run_bgblur

pytestmark = pytest.mark.e2e  # slow, end to end: real processes, windows, streams

SIZE = (96, 64)  # width, height: small pictures keep these tests fast


def test_file_mode_drops_nothing(testdata: Path, tmp_path: Path) -> None:
    clip = testdata / "videos" / "davis_hike.mp4"
    out = tmp_path / "out.mp4"
    result = run_bgblur("--source", clip, "--output", out, "--no-window", "--quiet", "--stats")
    assert result.returncode == 0, result.stderr
    assert len(read_video(out)) == len(read_video(clip)) == 80
    assert "inference calls: 80" in result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["--visualize"],  # the matte overlay, drawn from the live path's 8-bit mattes
        ["--background", "green", "--light-wrap"],
    ],
)
def test_live_stream_through_the_cli_writes_what_it_shows(extra: list[str], tmp_path: Path) -> None:
    out, matte = tmp_path / "live.mp4", tmp_path / "matte.mp4"
    with streams.LiveStream(None, size=(320, 240), fps=30) as stream:
        app = subprocess.Popen(
            [sys.executable, "-m", "bgblur", "--source", stream.url, "--output", str(out), "--matte", str(matte)]
            + ["--no-window", "--quiet", "--stats", *extra],
            env=bgblur_env(),
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        try:
            time.sleep(4)
            app.send_signal(signal.SIGTERM)
            _, stderr = app.communicate(timeout=20)
        finally:
            processes.stop_process(app)
    assert app.returncode == 0, stderr
    shown = int(stderr.split("frames shown: ")[1].split()[0])
    assert shown > 30
    frames = read_video(out)
    assert len(frames) >= shown and len(read_video(matte)) == len(frames)
    assert "matte age (frames)" in stderr and "inference calls" in stderr
