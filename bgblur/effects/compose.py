"""Putting a person back on a background: :func:`composite`, the one place it is done, and the reused buffers."""

from __future__ import annotations

import cv2
import numpy as np

from bgblur.effects.foreground import Edge


def composite(
    frame: np.ndarray,
    background: np.ndarray,
    alpha: np.ndarray,
    *,
    buffers: dict[str, np.ndarray] | None = None,
    edge: Edge | None = None,
) -> np.ndarray:
    """``alpha * frame + (1 - alpha) * background``, all uint8 (``alpha`` 0..255, one channel); ``buffers`` keeps
    the full-size scratch pictures for the next frame. With an ``edge`` (:func:`~bgblur.effects.foreground.
    edge_colours` of this frame and alpha) its pixels show the person's estimated colour instead of the frame's.

    Done as two saturating 8-bit multiplies and an add: within 1 grey level of the float blend, about 3x
    faster than ``cv2.blendLinear`` on a 720p frame.
    """
    scratch = {} if buffers is None else buffers
    a3 = cv2.cvtColor(alpha, cv2.COLOR_GRAY2BGR, scratch.get("a3"))
    inverse3 = cv2.bitwise_not(a3, scratch.get("inverse3"))
    person = cv2.multiply(frame, a3, scratch.get("person"), scale=1 / 255)
    room = cv2.multiply(background, inverse3, scratch.get("room"), scale=1 / 255)
    if buffers is not None:
        scratch.update(a3=a3, inverse3=inverse3, person=person, room=room)
    picture = cv2.add(person, room)
    return picture if edge is None else edge.over(picture, background)


class FrameBuffers(dict):
    """Full-size scratch pictures an effect reuses from frame to frame, by name (a fresh 2.7 MB picture per 720p
    frame costs about 1 ms in page faults); emptied when the frame size changes. One per effect, one thread."""

    _shape: tuple[int, ...] | None = None

    def for_frame(self, frame: np.ndarray) -> FrameBuffers:
        if frame.shape != self._shape:
            self.clear()
            self._shape = frame.shape
        return self
