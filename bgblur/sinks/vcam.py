"""A virtual camera that Zoom, Meet and Teams can pick, through the optional ``pyvirtualcam``."""

from __future__ import annotations

import sys
import threading
import time

import cv2
import numpy as np

from bgblur.errors import BgblurError
from bgblur.threads import Worker

VCAM_HINT_LINUX = (
    "load a loopback device: sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=bgblur "
    "(package v4l2loopback-dkms), then pass its path, e.g. --virtual-camera /dev/video10"
)

VCAM_HINT_OTHER = "install OBS Studio and start its Virtual Camera once, then run bgblur again"


class VirtualCameraSink:
    """A virtual camera that Zoom, Meet and Teams can pick (through the optional ``pyvirtualcam``).

    A sender thread sends the newest frame at a steady ``fps``, repeating the last one when processing
    stalls, because call apps drop a camera that stops sending. Odd widths are padded by one column (many
    consumers need an even width).
    """

    def __init__(self, size: tuple[int, int], fps: float, device: str | None = None) -> None:
        try:
            import pyvirtualcam
        except ImportError:
            raise BgblurError(
                "the virtual camera needs the optional pyvirtualcam package: pip install 'bgblur[vcam]'"
            ) from None
        width, height = size
        self.pad = width % 2
        try:
            self._camera = pyvirtualcam.Camera(
                width + self.pad, height, fps, fmt=pyvirtualcam.PixelFormat.BGR, device=device
            )
        except (RuntimeError, ValueError, OSError) as exc:
            hint = VCAM_HINT_LINUX if sys.platform.startswith("linux") else VCAM_HINT_OTHER
            reason = " ".join(str(exc).split())
            raise BgblurError(f"no virtual camera available ({reason}): {hint}") from None
        self.device = self._camera.device
        self.fps = fps
        self.frames = 0  # frames sent, repeats included
        self._latest: np.ndarray | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._sender = Worker(self._send_steadily, "vcam").start()

    def write(self, image: np.ndarray) -> None:
        if self._sender.error is not None:
            raise BgblurError(f"the virtual camera {self.device} stopped: {self._sender.error}")
        if self._closed:
            raise BgblurError(f"the virtual camera {self.device} was written after it was closed")
        if self.pad:
            image = cv2.copyMakeBorder(image, 0, 0, 0, self.pad, cv2.BORDER_REPLICATE)
        with self._lock:
            self._latest = image

    def _send_steadily(self, stop: threading.Event) -> None:
        """Send the newest frame every period; a failure ends the thread and is reported by the next write()."""
        period = 1.0 / self.fps
        next_due = time.monotonic()
        while not stop.is_set():
            with self._lock:
                frame = self._latest
            if frame is not None:
                self._camera.send(frame)
                self.frames += 1
            next_due += period
            delay = next_due - time.monotonic()
            if delay < -period:  # fell far behind (a stall): restart the clock instead of bursting
                next_due = time.monotonic()
                delay = 0.0
            stop.wait(max(delay, 0.0))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._sender.stop(5.0)
        self._camera.close()
