"""What the window draws over the output, never written to files: the status line with the keys, the matte beside
the output (``v``) and a rolling frames/s meter (``f``)."""

from __future__ import annotations

import time
from collections import deque

import cv2
import numpy as np

from bgblur.frames import Controls

HOTKEYS = {
    "p": "privacy",
    "b": "blur/replace",
    "a/d": "background",
    "[/]": "blur size",
    "m": "mirror",
    "z": "auto-frame",
    "v": "mask",
    "f": "fps",
    "h": "help",
    "q": "quit",
}  # the help line drawn with `h`


def draw_status(image: np.ndarray, controls: Controls) -> np.ndarray:
    """The window's overlay: the current mode, and the key list when help is on. Never written to files."""
    text = "privacy ON" if controls.privacy else "privacy OFF"
    if controls.show_help:
        text += "  |  " + "  ".join(f"{k}: {v}" for k, v in HOTKEYS.items()) + "  Esc: quit"
    shown = image.copy()
    h = shown.shape[0]
    scale = max(0.4, min(0.6, shown.shape[1] / 1600))
    cv2.putText(shown, text, (8, h - 10), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(shown, text, (8, h - 10), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return shown


class FpsMeter:
    """Frames per second over the last ``window`` seconds, on the monotonic clock (immune to clock changes)."""

    def __init__(self, window: float = 1.0, max_samples: int = 240) -> None:
        self.window = window
        self._stamps: deque[float] = deque(maxlen=max_samples)
        self._idle = 0.0

    def tick(self, now: float | None = None) -> None:
        self._stamps.append((time.monotonic() if now is None else now) - self._idle)

    def idle(self, seconds: float) -> None:
        """Leave out ``seconds`` spent waiting (a video paced to its own rate): the meter shows processing speed."""
        self._idle += seconds

    @property
    def fps(self) -> float:
        stamps = self._stamps
        while len(stamps) > 2 and stamps[-1] - stamps[0] > self.window:
            stamps.popleft()
        if len(stamps) < 2 or stamps[-1] <= stamps[0]:
            return 0.0
        return (len(stamps) - 1) / (stamps[-1] - stamps[0])


def draw_fps(image: np.ndarray, fps: float) -> None:
    """Write ``NN.N fps`` in the top-left corner of ``image`` (in place)."""
    text = f"{fps:.1f} fps"
    cv2.putText(image, text, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 4, cv2.LINE_AA)
    cv2.putText(image, text, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2, cv2.LINE_AA)


def side_by_side(result: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """The output with its matte (white = person, mirrored with it) to its right; black where no matte was
    computed (outside --start/--end-frame)."""
    matte = np.zeros_like(result) if alpha is None else cv2.cvtColor(alpha, cv2.COLOR_GRAY2BGR)
    return np.hstack((result, matte))


def window_view(result: np.ndarray, alpha: np.ndarray | None, controls: Controls, fps: FpsMeter) -> np.ndarray:
    """What the window shows besides the output itself: the matte beside it (``v``) and the FPS meter (``f``)."""
    fps.tick()
    shown = side_by_side(result, alpha) if controls.show_mask else result
    if controls.show_fps:
        shown = shown.copy() if shown is result else shown  # never draw on the frame the files receive
        draw_fps(shown, fps.fps)
    return shown
