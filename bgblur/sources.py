"""Where frames come from: an image, a video file (every frame), or a live camera/stream (latest frame).

Every source hands out :class:`Frame` objects from ``read()`` and returns ``None`` at the end of the stream;
``close()`` releases everything it holds (for live sources: the reader thread is joined, then the device
released, in that order — the reverse aborts the interpreter).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from bgblur.errors import BgblurError, warn
from bgblur.native import captured_native_output

STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "tcp", "udp", "http", "https", "srt")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm", ".pnm", ".jp2", ".exr"}


@dataclass(frozen=True)
class Frame:
    """One picture from a source: BGR uint8 ``image``, its ``index`` in the source, its capture ``timestamp`` (s)."""

    image: np.ndarray
    index: int
    timestamp: float


class Source:
    """Base of all sources: a context manager with ``read() -> Frame | None`` and ``close()``."""

    is_live = False
    description = "source"
    fps: float = 0.0
    size: tuple[int, int] = (0, 0)  # width, height
    frame_count: int | None = None

    def read(self) -> Frame | None:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the source holds; safe to call twice."""

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def is_stream_url(spec: str) -> bool:
    return re.match(rf"^({'|'.join(STREAM_SCHEMES)})://", spec, re.IGNORECASE) is not None


def open_source(
    spec: str,
    *,
    open_timeout: float = 10.0,
    read_timeout: float = 3.0,
    reconnect_for: float = 10.0,
    size: tuple[int, int] | None = None,
    fps: float | None = None,
) -> Source:
    """Open ``spec``: a camera index (``0``), a stream URL, an image file or a video file."""
    if spec.isdigit():
        return LiveSource(int(spec), open_timeout, read_timeout, reconnect_for, size, fps)
    if is_stream_url(spec):
        return LiveSource(spec, open_timeout, read_timeout, reconnect_for, size, fps)
    path = Path(spec)
    if not path.exists():
        raise BgblurError(f"source not found: {spec} (give a camera index, a video or image file, or a stream URL)")
    if path.is_dir():
        raise BgblurError(f"source is a folder, not a file: {spec} (give a video or image file inside it)")
    if path.stat().st_size == 0:
        raise BgblurError(f"source is an empty file: {spec} (an interrupted copy or download?)")
    if path.suffix.lower() in IMAGE_SUFFIXES or cv2.haveImageReader(str(path)):
        return ImageSource(path)
    return VideoFileSource(path)


class ImageSource(Source):
    """A single picture, read as 8-bit BGR whatever its depth or channels (grey, 16-bit, alpha)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = str(path)
        # libjpeg/libpng print their complaints straight to the terminal: catch them, say it once.
        with captured_native_output() as complaints:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise BgblurError(
                f"cannot read image {path}: not a picture OpenCV can decode (damaged, or not an image; "
                "convert it to PNG or JPEG)"
            )
        if complaints:
            warn(f"{path}: the decoder said {complaints[0]!r}; the picture may be damaged (using what was decoded)")
        self._image: np.ndarray | None = image
        self.size = (image.shape[1], image.shape[0])
        self.frame_count = 1

    def read(self) -> Frame | None:
        image, self._image = self._image, None
        return None if image is None else Frame(image, 0, 0.0)


class VideoFileSource(Source):
    """A video file read frame by frame: every frame, in order, none dropped (never through a latest-frame thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = str(path)
        self._capture = cv2.VideoCapture(str(path))
        if not self._capture.isOpened():
            self._capture.release()
            raise BgblurError(
                f"cannot read video {path}: not a video OpenCV can decode (damaged, or not a video; "
                "try converting it with ffmpeg -i IN OUT.mp4)"
            )
        self.fps = self._capture.get(cv2.CAP_PROP_FPS) or 30.0
        count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count = count if count > 0 else None
        ok, first = self._capture.read()
        if not ok:
            self._capture.release()
            raise BgblurError(f"cannot read video {path}: no frame could be decoded")
        self._pending: np.ndarray | None = first
        self.size = (first.shape[1], first.shape[0])
        self._next_index = 0

    def read(self) -> Frame | None:
        if self._pending is not None:
            image, self._pending = self._pending, None
        else:
            ok, image = self._capture.read()
            if not ok:
                # Some containers count one frame more than they hold, hence the slack of one.
                if self.frame_count and self._next_index < self.frame_count - 1:
                    raise BgblurError(
                        f"{self.path}: only {self._next_index} of its {self.frame_count} frames could be decoded "
                        "(the file looks truncated or damaged); the output holds those frames. "
                        "Copy or download the video again"
                    )
                return None
        if (image.shape[1], image.shape[0]) != self.size:
            raise BgblurError(
                f"{self.path}: frame {self._next_index} is {image.shape[1]}x{image.shape[0]}, "
                f"the video started at {self.size[0]}x{self.size[1]}; re-encode it at one size"
            )
        frame = Frame(image, self._next_index, self._next_index / self.fps)
        self._next_index += 1
        return frame

    def close(self) -> None:
        self._capture.release()


class LiveSource(Source):
    """A camera or network stream, read by a background thread that keeps only the newest frame.

    This is the design card's threaded ``VideoStream`` (imutils) with its defects removed (see
    ``docs/platform.md``): opens with bounded timeouts, hands out each frame at most once, ends explicitly,
    retries a dropped stream for a bounded time without spinning, and joins its thread before releasing.
    imutils 0.5.4's class cannot be fixed from outside (it opens the capture itself, drops its thread handle
    and spins at end of stream), so the reader lives here.
    """

    is_live = True

    def __init__(
        self,
        spec: int | str,
        open_timeout: float = 10.0,
        read_timeout: float = 3.0,
        reconnect_for: float = 10.0,
        size: tuple[int, int] | None = None,
        fps: float | None = None,
    ) -> None:
        self.spec = spec
        self.description = f"camera {spec}" if isinstance(spec, int) else str(spec)
        self._open_timeout = open_timeout
        self._read_timeout = read_timeout
        self._reconnect_for = reconnect_for
        self._requested_size = size
        self._requested_fps = fps
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._latest: Frame | None = None
        self._returned_index = -1
        self._captured = 0
        self._failure: str | None = None
        self.dropped = 0  # frames captured but never handed out (latest-frame policy)

        capture = self._open()
        if capture is None:
            raise BgblurError(self._open_failure_message())
        ok, image = capture.read()
        if not ok:
            capture.release()
            raise BgblurError(f"{self.description} opened but sent no frame within {read_timeout:g} s")
        self.size = (image.shape[1], image.shape[0])
        self.fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
        if not 1 <= self.fps <= 240:  # streams often report 90000 (the MPEG-TS clock) or 0
            self.fps = 30.0
        self._publish(image)
        self._thread = threading.Thread(target=self._run, args=(capture,), name="bgblur-reader", daemon=True)
        self._thread.start()

    def _open_failure_message(self) -> str:
        if isinstance(self.spec, int):
            return f"cannot open camera {self.spec}: no such camera, or it is in use (try another --source index)"
        return (
            f"cannot open stream {self.spec}: nothing answered within {self._open_timeout:g} s "
            "(check the address, or raise --open-timeout)"
        )

    def _open(self) -> cv2.VideoCapture | None:
        if isinstance(self.spec, int):
            params = []
            if self._requested_size:
                params += [cv2.CAP_PROP_FRAME_WIDTH, self._requested_size[0]]
                params += [cv2.CAP_PROP_FRAME_HEIGHT, self._requested_size[1]]
            if self._requested_fps:
                params += [cv2.CAP_PROP_FPS, int(self._requested_fps)]
            capture = cv2.VideoCapture(self.spec, cv2.CAP_ANY, params)
        else:
            timeouts = [
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
                int(self._open_timeout * 1000),
                cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                int(self._read_timeout * 1000),
            ]
            capture = cv2.VideoCapture(self.spec, cv2.CAP_FFMPEG, timeouts)
        if capture.isOpened():
            return capture
        capture.release()
        return None

    def _publish(self, image: np.ndarray) -> None:
        with self._cond:
            if self._latest is not None and self._latest.index > self._returned_index:
                self.dropped += 1
            self._latest = Frame(image, self._captured, time.monotonic())
            self._captured += 1
            self._cond.notify_all()

    def _run(self, capture: cv2.VideoCapture) -> None:
        try:
            while not self._stop.is_set():
                ok, image = capture.read()
                if ok:
                    self._publish(image)
                    continue
                if self._stop.is_set():
                    break
                capture.release()
                capture = self._reconnect()
                if capture is None:
                    break
        finally:
            if capture is not None:
                capture.release()
            with self._cond:
                self._stop.set()
                self._cond.notify_all()

    def _reconnect(self) -> cv2.VideoCapture | None:
        """Reopen a dropped source for up to ``reconnect_for`` seconds, pausing between tries (no busy spin)."""
        deadline = time.monotonic() + self._reconnect_for
        warn(f"{self.description} stopped sending frames; retrying for {self._reconnect_for:g} s")
        while not self._stop.is_set() and time.monotonic() < deadline:
            capture = self._open()
            if capture is not None:
                warn(f"{self.description} is back")
                return capture
            self._stop.wait(0.5)
        if not self._stop.is_set():
            self._failure = (
                f"{self.description} stopped sending frames and did not come back within "
                f"{self._reconnect_for:g} s (raise --reconnect to wait longer)"
            )
        return None

    def read(self) -> Frame | None:
        """The newest frame not handed out yet; waits for it. ``None`` once the source was closed."""
        limit = self._read_timeout + self._reconnect_for + self._open_timeout + 1.0
        with self._cond:
            fresh = self._cond.wait_for(
                lambda: self._stop.is_set() or (self._latest is not None and self._latest.index > self._returned_index),
                timeout=limit,
            )
            if self._failure:
                raise BgblurError(self._failure)
            if not fresh:
                raise BgblurError(f"{self.description} sent no frame for {limit:g} s")
            if self._stop.is_set():
                return None
            assert self._latest is not None
            self._returned_index = self._latest.index
            return self._latest

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        thread = getattr(self, "_thread", None)
        if thread is not None and thread.is_alive():
            # A blocked read returns within the read timeout; the thread releases the capture itself.
            thread.join(self._read_timeout + self._open_timeout + 2.0)
