"""Replacing the room: the person composited onto another background, with an optional light wrap."""

from __future__ import annotations

import cv2
import numpy as np

from bgblur.effects.backgrounds import BackgroundProvider
from bgblur.effects.compose import FrameBuffers, composite
from bgblur.effects.foreground import edge_colours
from bgblur.imaging import reduced_size, shrink


def apply_light_wrap(
    frame: np.ndarray,
    background: np.ndarray,
    alpha: np.ndarray,
    strength: float,
    radius: int = 24,
    *,
    buffers: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """A touch of the new background's light on the person's edge, so they sit in it rather than on it.

    Just inside the edge the person is blended towards a blur of the background, by ``strength`` at most,
    fading to nothing ``radius`` px inside. Blurs at quarter size (light has no fine detail), weights in 8-bit.
    """
    scratch = {} if buffers is None else buffers
    size = (frame.shape[1], frame.shape[0])
    small = reduced_size(size, 4)
    k = max(3, (radius // 4) | 1)
    soft = cv2.GaussianBlur(shrink(alpha, small), (k, k), 0)
    # Person pixels (alpha) near background (1 - soft alpha) take the light; 2x so the edge itself gets `strength`.
    outside = cv2.resize(soft, size, scratch.get("outside"), interpolation=cv2.INTER_LINEAR)
    cv2.bitwise_not(outside, outside)
    weight = cv2.multiply(alpha, outside, scratch.get("wrap_weight"), scale=2.0 * strength / 255)
    np.minimum(weight, np.uint8(round(255 * strength)), out=weight)
    light = scratch.get("light")
    # A still background's light is the same every frame (backgrounds give a new picture when theirs changes).
    if light is None or scratch.get("light_of") is not background or scratch.get("light_kernel") != k:
        light = cv2.resize(cv2.GaussianBlur(shrink(background, small), (k, k), 0), size, interpolation=cv2.INTER_LINEAR)
    if buffers is not None:
        scratch.update(outside=outside, wrap_weight=weight, light=light, light_of=background, light_kernel=k)
    return composite(light, frame, weight, buffers=scratch)


class ReplaceBackground:
    """The person composited onto another background (a picture, a video, a colour: see
    :mod:`bgblur.effects.backgrounds`), with an optional light wrap of ``light_wrap`` strength (0 = off), in their
    own colours at the soft edge (``own_colours``: see :mod:`bgblur.effects.foreground`)."""

    def __init__(self, background: BackgroundProvider, light_wrap: float = 0.0, own_colours: bool = True) -> None:
        self.background = background
        self.light_wrap = light_wrap
        self.own_colours = own_colours
        self._buffers = FrameBuffers()

    def __call__(self, frame: np.ndarray, alpha: np.ndarray, detections: tuple = ()) -> np.ndarray:
        scratch = self._buffers.for_frame(frame)
        background = self.background.frame_for((frame.shape[1], frame.shape[0]))
        if self.light_wrap > 0:
            if self.own_colours:  # the light falls on the person's own colours
                frame = edge_colours(frame, alpha, scratch).paste(self._person_layer(frame))
            wrapped = apply_light_wrap(frame, background, alpha, self.light_wrap, buffers=scratch)
            return composite(wrapped, background, alpha, buffers=scratch)
        edge = edge_colours(frame, alpha, scratch) if self.own_colours else None
        return composite(frame, background, alpha, buffers=scratch, edge=edge)

    def _person_layer(self, frame: np.ndarray) -> np.ndarray:
        """A copy of ``frame`` in a buffer kept for the next frame."""
        layer = self._buffers.get("person_layer")
        if layer is None:
            layer = self._buffers["person_layer"] = np.empty_like(frame)
        np.copyto(layer, frame)
        return layer

    def close(self) -> None:
        """Release the background (a video's decoder)."""
        self.background.close()
