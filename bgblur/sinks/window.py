"""The ``bgblur`` window: the output at its real size with the overlays, and the keys fed back into the controls."""

from __future__ import annotations

import os
import socket
import sys

import cv2
import numpy as np

from bgblur.errors import BgblurError
from bgblur.frames import Controls
from bgblur.sinks.overlays import FpsMeter, draw_status, window_view

WINDOW_TITLE = "bgblur"


def display_available() -> bool:
    """Is there an X display to open a window on? Without one OpenCV's Qt aborts the whole process."""
    if sys.platform in ("win32", "darwin"):
        return True
    display = os.environ.get("DISPLAY", "")
    if not display:
        return False
    host, _, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not number.isdigit():
        return False
    try:
        if host in ("", "unix"):
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(2)
                sock.connect(f"/tmp/.X11-unix/X{number}")
        else:
            with socket.create_connection((host, 6000 + int(number)), timeout=2):
                pass
    except OSError:
        return False
    return True


ESC = 27


def apply_key(controls: Controls, key: int) -> None:
    """What a key pressed in the window (or the window closed) changes; the keys are listed in
    :data:`~bgblur.sinks.overlays.HOTKEYS`."""
    if key in (ord("q"), ESC, WindowSink.CLOSED):
        controls.stop = True
    elif key in (ord("a"), ord("d")):
        controls.step_background(1 if key == ord("d") else -1)
    elif key == ord("b"):
        controls.toggle_replacement()
    elif key in (ord("["), ord("]")):
        controls.step_kernel(1 if key == ord("]") else -1)
    elif key == ord("v"):
        controls.show_mask = not controls.show_mask
    elif key == ord("f"):
        controls.show_fps = not controls.show_fps
    elif key == ord("p"):
        controls.privacy = not controls.privacy
    elif key == ord("m"):
        controls.mirror = not controls.mirror
    elif key == ord("z"):
        controls.auto_frame = not controls.auto_frame
    elif key == ord("h"):
        controls.show_help = not controls.show_help


class WindowSink:
    """The ``bgblur`` window at the frame's real size. :meth:`present` draws the overlays the ``controls`` ask for,
    shows the picture and applies the key pressed; :meth:`show` shows a picture as it is and returns the key
    (-1 for none, :attr:`CLOSED` once the user closed the window)."""

    CLOSED = -2

    def __init__(self, title: str = WINDOW_TITLE) -> None:
        if not display_available():
            raise BgblurError(
                "no display to open a window on (DISPLAY is unset or unreachable): "
                "use --no-window with --output or --virtual-camera"
            )
        self.title = title
        self.fps_meter = FpsMeter()
        self._shown = False  # the window opens with the first frame, at that frame's size
        self._size: tuple[int, int] | None = None

    def present(self, result: np.ndarray, alpha: np.ndarray | None, controls: Controls) -> None:
        """Show ``result`` with the overlays (the matte ``alpha`` beside it, frames/s, status) and apply the key."""
        shown = window_view(result, alpha, controls, self.fps_meter)
        apply_key(controls, self.show(draw_status(shown, controls)))

    def _closed(self) -> bool:
        try:
            return cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1
        except cv2.error:  # OpenCV 5 + Qt raises once the last window is gone
            return True

    def show(self, image: np.ndarray) -> int:
        size = (image.shape[1], image.shape[0])
        if not self._shown:
            # Sized explicitly rather than WINDOW_AUTOSIZE: an autosized Qt window resized after it is mapped
            # sometimes stays black (seen 1 run in 12 under Xvfb on a loaded machine; 0 in 24 this way).
            cv2.namedWindow(self.title, cv2.WINDOW_NORMAL | cv2.WINDOW_GUI_NORMAL | cv2.WINDOW_KEEPRATIO)
        elif self._closed():
            return self.CLOSED
        if size != self._size:  # the first frame, or the view changed (e.g. the matte shown beside it)
            cv2.resizeWindow(self.title, *size)
            self._size = size
        cv2.imshow(self.title, image)
        self._shown = True
        key = cv2.waitKey(1)
        if self._closed():
            return self.CLOSED
        return key & 0xFF if key >= 0 else -1

    def close(self) -> None:
        if not self._shown:
            return
        try:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)
        except cv2.error:
            pass  # already gone: the user closed it
