"""A camera or network stream as a source: a reader thread keeps only the newest frame."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np

from bgblur.errors import BgblurError, warn
from bgblur.frames import Frame, StreamInfo
from bgblur.sources.base import Source
from bgblur.threads import Worker


class LiveSource(Source):
    """A camera or network stream, read by a background thread that keeps only the newest frame.

    This is the design card's threaded ``VideoStream`` (imutils) with its defects removed (see
    ``docs/platform.md``): opens with bounded timeouts, hands out each frame at most once, ends explicitly,
    retries a dropped stream for a bounded time without spinning, and joins its thread before releasing.
    imutils 0.5.4's class cannot be fixed from outside (it opens the capture itself, drops its thread handle
    and spins at end of stream), so the reader lives here.
    """

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
        description = f"camera {spec}" if isinstance(spec, int) else str(spec)
        self.info = StreamInfo(description, is_live=True)
        self._open_timeout = open_timeout
        self._read_timeout = read_timeout
        self._reconnect_for = reconnect_for
        self._requested_size = size
        self._requested_fps = fps
        self._cond = threading.Condition()
        self._reader: Worker | None = None
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
        rate = capture.get(cv2.CAP_PROP_FPS) or 30.0
        if not 1 <= rate <= 240:  # streams often report 90000 (the MPEG-TS clock) or 0
            rate = 30.0
        self.info = StreamInfo(description, (image.shape[1], image.shape[0]), rate, is_live=True)
        self._publish(image)
        self._reader = Worker(lambda stop: self._run(capture, stop), "reader", on_exit=self._wake).start()

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    @property
    def _stopped(self) -> bool:
        return self._reader is None or self._reader.stop_event.is_set()

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

    def _run(self, capture: cv2.VideoCapture | None, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                ok, image = capture.read()
                if ok:
                    self._publish(image)
                    continue
                if stop.is_set():
                    break
                capture.release()
                capture = self._reconnect(stop)
                if capture is None:
                    break
        finally:
            if capture is not None:
                capture.release()
            stop.set()  # the stream ended: read() returns None (or the failure) from now on

    def _reconnect(self, stop: threading.Event) -> cv2.VideoCapture | None:
        """Reopen a dropped source for up to ``reconnect_for`` seconds, pausing between tries (no busy spin)."""
        deadline = time.monotonic() + self._reconnect_for
        warn(f"{self.description} stopped sending frames; retrying for {self._reconnect_for:g} s")
        while not stop.is_set() and time.monotonic() < deadline:
            capture = self._open()
            if capture is not None:
                warn(f"{self.description} is back")
                return capture
            stop.wait(0.5)
        if not stop.is_set():
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
                lambda: self._stopped or (self._latest is not None and self._latest.index > self._returned_index),
                timeout=limit,
            )
            if self._failure:
                raise BgblurError(self._failure)
            if not fresh:
                raise BgblurError(f"{self.description} sent no frame for {limit:g} s")
            if self._stopped:
                return None
            assert self._latest is not None
            self._returned_index = self._latest.index
            return self._latest

    def close(self) -> None:
        if self._reader is not None:
            # A blocked read returns within the read timeout; the thread releases the capture itself.
            self._reader.stop(self._read_timeout + self._open_timeout + 2.0, wake=self._wake)
