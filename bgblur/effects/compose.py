"""Putting a person back on a background: :func:`composite`, the one place it is done, and the reused buffers."""

from __future__ import annotations

import cv2
import numpy as np

from bgblur.effects.edgemath import blend_rows, gathered, pixel_items
from bgblur.effects.foreground import Edge, soft_points

# Above this share of soft pixels (0 < alpha < 255) the blend is done over the whole frame: gathering, blending and
# scattering them costs about 0.27 ms per 10000 at 720p, the whole-frame blend about 1 ms more than the paste.
DENSE_EDGE = 1 / 25


def composite(
    frame: np.ndarray,
    background: np.ndarray,
    alpha: np.ndarray,
    *,
    buffers: dict[str, np.ndarray] | None = None,
    edge: Edge | None = None,
    in_place: bool = False,
) -> np.ndarray:
    """``alpha * frame + (1 - alpha) * background``, all uint8 (``alpha`` 0..255, one channel), as two saturating
    8-bit multiplies and an add (within 1 grey level of the float blend); ``buffers`` keeps the full-size scratch
    pictures for the next frame. With an ``edge`` (:func:`~bgblur.effects.foreground.edge_colours` of this frame and
    alpha) its pixels show the person's estimated colour instead of the frame's.

    The background is copied (or, ``in_place``, used: the caller gives it up), the frame pasted where alpha is 255
    and only the soft pixels blended, from flat indices (by the edge, when it has them all); where they are many
    (:data:`DENSE_EDGE`), over the whole frame. The same picture either way, byte for byte.
    """
    scratch = {} if buffers is None else buffers
    sure = scratch["sure"] = cv2.threshold(alpha, 254, 255, cv2.THRESH_BINARY, scratch.get("sure"))[1]
    soft = cv2.countNonZero(alpha) - cv2.countNonZero(sure)
    own_edge = edge is not None and edge.index.size == soft  # the edge is every soft pixel (its contract)
    if (edge is None and soft > DENSE_EDGE * alpha.size) or (edge is not None and not own_edge):
        return _dense(frame, background, alpha, scratch, edge)
    picture = background if in_place and background.flags.c_contiguous else background.copy()
    cv2.copyTo(frame, sure, picture)
    if own_edge:
        return edge.over(picture, picture)  # its soft pixels still hold the background: read before written
    if soft:
        index = soft_points(alpha, scratch, "soft")
        weights = np.take(alpha.reshape(-1), index)
        mixed = blend_rows(gathered(frame, index), gathered(picture, index), weights)
        np.put(pixel_items(picture), index, pixel_items(mixed))
    return picture


def _dense(
    frame: np.ndarray, background: np.ndarray, alpha: np.ndarray, scratch: dict[str, np.ndarray], edge: Edge | None
) -> np.ndarray:
    """:func:`composite` over the whole frame (many soft pixels, or an edge that is not all of them)."""
    a3 = scratch["a3"] = cv2.merge([alpha] * 3, scratch.get("a3"))
    person = scratch["person"] = cv2.multiply(frame, a3, scratch.get("person"), scale=1 / 255)
    inverse3 = scratch["inverse3"] = cv2.bitwise_not(a3, scratch.get("inverse3"))
    room = scratch["room"] = cv2.multiply(background, inverse3, scratch.get("room"), scale=1 / 255)
    picture = cv2.add(person, room)  # a new array: callers may keep it (a writer thread does)
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
