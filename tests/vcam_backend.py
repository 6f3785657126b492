"""A pyvirtualcam backend for tests: the real ``pyvirtualcam.Camera`` code path, with frames piped into ffmpeg,
which publishes them as MPEG-TS on 127.0.0.1 (there is no v4l2loopback device on this machine).

Run bgblur with it registered: ``python -c "import tests.vcam_backend as v; v.main()" ARGS`` with
``BGBLUR_TEST_VCAM_URL`` set to ``tcp://127.0.0.1:PORT`` and ``BGBLUR_TEST_VCAM_LOG`` to a file that receives
one monotonic send time per line.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time

import numpy as np


class FfmpegStreamBackend:
    """Implements pyvirtualcam's backend interface (``send``, ``close``, ``device``, ``native_fourcc``)."""

    def __init__(self, *, width: int, height: int, fps: float, fourcc: int, device: str | None, **kw: object) -> None:
        self._device = device or "ffmpeg-test"
        self._times: list[float] = []
        url = os.environ["BGBLUR_TEST_VCAM_URL"]
        self._process = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "bgr24"]
            + ["-s", f"{width}x{height}", "-r", f"{fps:g}", "-i", "-"]
            + ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "15", "-pix_fmt", "yuv420p"]
            + ["-f", "mpegts", f"{url}?listen=1"],
            stdin=subprocess.PIPE,
        )

    def send(self, frame: np.ndarray) -> None:
        self._times.append(time.monotonic())
        assert self._process.stdin is not None
        self._process.stdin.write(frame.tobytes())

    def close(self) -> None:
        assert self._process.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self._process.stdin.close()
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            self._process.kill()
        with open(os.environ["BGBLUR_TEST_VCAM_LOG"], "w") as log:
            log.writelines(f"{t}\n" for t in self._times)

    def device(self) -> str:
        return self._device

    def native_fourcc(self) -> None:
        return None


def main() -> None:
    import pyvirtualcam

    from bgblur.cli import main as bgblur_main

    pyvirtualcam.register_backend("ffmpeg-test", FfmpegStreamBackend)
    sys.exit(bgblur_main(sys.argv[1:]))


if __name__ == "__main__":
    main()
