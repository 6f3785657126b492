"""Fake cameras for live-source tests and ``scripts/bench.py``: ffmpeg serving a clip live over TCP, and a
server that accepts a connection and never sends a byte.

* ``ffmpeg`` serving MPEG-TS on ``tcp://127.0.0.1:PORT?listen=1`` behaves like a camera for
  ``cv2.VideoCapture`` (live rate, drops frames when the reader is slow). It serves ONE client: when that
  client disconnects, ffmpeg exits. Use one :class:`LiveStream` per reader.

Usable outside pytest (nothing here imports it): ``sys.path.insert(0, "tests"); from harness.streams import
LiveStream``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from .processes import stop_process


def free_tcp_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def is_listening(port: int, host: str = "127.0.0.1") -> bool:
    """True if some socket LISTENs on ``host:port``, checked in ``/proc/net/tcp`` WITHOUT connecting.

    Connecting would use up ffmpeg's single ``listen=1`` client and make it exit.
    """
    want = f"{socket.inet_aton(host)[::-1].hex().upper()}:{port:04X}"  # the kernel prints little-endian hex
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return False
    return any(parts[1] == want and parts[3] == "0A" for parts in (line.split() for line in lines))


class LiveStream:
    """A fake camera: ffmpeg serves a looped clip (or ``testsrc``) live as MPEG-TS on ``tcp://127.0.0.1:PORT``.

    >>> with LiveStream(clip, size=(640, 360), fps=30) as cam:
    ...     cap = cv2.VideoCapture(cam.url, cv2.CAP_FFMPEG)

    ``source=None`` serves ffmpeg's ``testsrc`` pattern (default 640x480 at 30 fps). Encoding follows
    platform.md: libx264 ultrafast/zerolatency, GOP 15, yuv420p, no audio, ``-re`` pacing, clip looped forever.
    The stream starts (from the beginning of the clip) when the one client connects, and ffmpeg exits when that
    client goes away. ``pause()``/``resume()`` freeze the camera with SIGSTOP/SIGCONT; ``kill()`` makes it vanish.
    Leaving the ``with`` block always ends ffmpeg, even a paused one.
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | None = None,
        size: tuple[int, int] | None = None,
        fps: float | None = None,
        ready_timeout: float = 10.0,
        attempts: int = 5,
    ) -> None:
        self.source = None if source is None else Path(source)
        self.size = size
        self.fps = fps
        self.ready_timeout = ready_timeout
        self.attempts = attempts
        self.port = 0
        self.process: subprocess.Popen | None = None
        self._log: tempfile._TemporaryFileWrapper | None = None

    @property
    def url(self) -> str:
        """What to pass to ``cv2.VideoCapture`` or ``bgblur --source``."""
        return f"tcp://127.0.0.1:{self.port}"

    def command(self, port: int) -> list[str]:
        """The ffmpeg command line serving on ``port``."""
        cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error"]
        if self.source is None:
            w, h = self.size or (640, 480)
            cmd += ["-re", "-f", "lavfi", "-i", f"testsrc=size={w}x{h}:rate={self.fps or 30}"]
            filters: list[str] = []
        else:
            if not self.source.is_file():
                raise FileNotFoundError(self.source)
            cmd += ["-re", "-stream_loop", "-1", "-i", str(self.source)]
            filters = []
            if self.size:
                filters.append(f"scale={self.size[0]}:{self.size[1]}")
            if self.fps:
                filters.append(f"fps={self.fps}")
        if filters:
            cmd += ["-vf", ",".join(filters)]
        cmd += ["-an", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "15"]
        cmd += ["-pix_fmt", "yuv420p", "-f", "mpegts", f"tcp://127.0.0.1:{port}?listen=1"]
        return cmd

    def start(self) -> LiveStream:
        """Start ffmpeg and wait until it listens (retrying on another port if the chosen one got taken)."""
        for _ in range(self.attempts):
            self.port = free_tcp_port()
            self._log = tempfile.NamedTemporaryFile(prefix="livestream-", suffix=".log", delete=False)  # noqa: SIM115
            self.process = subprocess.Popen(
                self.command(self.port), stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log
            )
            deadline = time.monotonic() + self.ready_timeout
            while time.monotonic() < deadline and self.process.poll() is None:
                if is_listening(self.port):
                    return self
                time.sleep(0.02)
            log = self.log()
            self.stop()
            if "Address already in use" not in log:
                raise RuntimeError(f"ffmpeg did not start listening on {self.url}:\n{log[-2000:]}")
        raise RuntimeError(f"ffmpeg could not find a free port in {self.attempts} attempts")

    def log(self) -> str:
        """What ffmpeg wrote to stderr so far (errors only)."""
        if self._log is None:
            return ""
        try:
            return Path(self._log.name).read_text(errors="replace")
        except OSError:
            return ""

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def pause(self) -> None:
        """Freeze the camera (SIGSTOP): the reader gets no more bytes, but the connection stays open."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Undo :meth:`pause` (SIGCONT)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """Make the camera vanish abruptly (SIGKILL): the reader sees the connection close."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)

    def stop(self) -> None:
        """End ffmpeg for sure (also when paused) and remove its log."""
        if self.process is not None:
            stop_process(self.process, timeout=3)
        if self._log is not None:
            self._log.close()
            with contextlib.suppress(OSError):
                os.unlink(self._log.name)
            self._log = None

    def __enter__(self) -> LiveStream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class NeverOpeningStream:
    """A TCP server on 127.0.0.1 that accepts connections and never sends a byte: a camera that never opens.

    ``with NeverOpeningStream() as dead: cv2.VideoCapture(dead.url, ...)`` must give up after its open timeout.
    """

    def __init__(self) -> None:
        self._server: socket.socket | None = None
        self._clients: list[socket.socket] = []
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.port = 0
        self.accepted = 0

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        assert self._server is not None
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._clients.append(client)  # hold it open, silent
            self.accepted += 1

    def __enter__(self) -> NeverOpeningStream:
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(8)
        self._server.settimeout(0.1)
        self.port = self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name="NeverOpeningStream", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        for sock in [*self._clients, self._server]:
            if sock is not None:
                sock.close()
        self._clients.clear()
