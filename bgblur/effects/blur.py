"""The privacy effect: the room blurred with the person's colours weighted out (no halo), the person sharp.

Everything per frame runs on OpenCV primitives over uint8 pictures: the blur runs at reduced resolution for large
kernels, and :class:`BlurBackground` reuses its scratch buffers from frame to frame (about 4 ms for 1280x720 on
this project's 2-core machine)."""

from __future__ import annotations

import cv2
import numpy as np

from bgblur.effects.compose import FrameBuffers, composite
from bgblur.effects.foreground import edge_colours
from bgblur.imaging import odd, reduced_size, shrink


def _blur_scale(kernel: int) -> int:
    """Downscale factor that keeps a Gaussian of this size visually the same but cheap: large kernels are
    blurred at reduced resolution (a blur has no fine detail to lose)."""
    return max(1, min(8, kernel // 10))


def blur(image: np.ndarray, kernel: int) -> np.ndarray:
    """Gaussian blur with a ``kernel`` x ``kernel`` footprint, done at reduced size for large kernels."""
    scale = _blur_scale(kernel)
    if scale == 1:
        return cv2.GaussianBlur(image, (kernel, kernel), 0)
    h, w = image.shape[:2]
    small = shrink(image, reduced_size((w, h), scale))
    k = odd(kernel / scale)
    small = cv2.GaussianBlur(small, (k, k), 0)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def background_weight(alpha8: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """How much each pixel counts as room in the blur (uint8 0..255): full where the matte is 0, none from
    alpha 0.5 up, so the soft edge of the matte — still partly the person — cannot tint the room."""
    doubled = cv2.add(alpha8, alpha8, out)  # saturates at 255
    return cv2.bitwise_not(doubled, doubled)


def halo_free_blur(
    image: np.ndarray, alpha: np.ndarray, kernel: int, *, buffers: dict[str, np.ndarray] | None = None
) -> np.ndarray:
    """Blur of the background only: a normalised convolution with the room's weight (see
    :func:`background_weight`), so the person's colours do not bleed into the blurred room around them.

    The frame is multiplied by the weight at half resolution, before it is shrunk to the blur's size, so a
    reduced-size pixel straddling the person's edge carries almost only the room's share of its colour (next to a
    bright figure the room brightens by 0.17 grey levels on average, kernel 41; at full resolution 0.006, for
    0.6-0.9 ms more per 720p frame).
    """
    scratch = {} if buffers is None else buffers
    h, w = image.shape[:2]
    scale = _blur_scale(kernel)
    k = odd(kernel / scale)
    weight = background_weight(alpha, scratch.get("weight"))
    if buffers is not None:
        scratch.update(weight=weight)
    size = reduced_size((w, h), scale)
    base, base_weight = image, weight
    if scale >= 2 and min(w, h) >= 2:  # the blur runs at half size or less: premultiply at half size
        half = (w // 2, h // 2)
        base, base_weight = shrink(image, half), shrink(weight, half)
    premultiplied = cv2.multiply(base, cv2.cvtColor(base_weight, cv2.COLOR_GRAY2BGR), scale=1 / 255)
    small = cv2.merge([*cv2.split(shrink(premultiplied, size)), shrink(base_weight, size)])
    small = cv2.GaussianBlur(small.astype(np.float32), (k, k), 0)
    norm = small[..., 3].copy()
    # Where the room's weight nearby is tiny (deep inside the person or a wide unsure region) its 8-bit share
    # rounds away: use a plain blur of the frame there instead of a dark, noisy division.
    no_room = norm < 16.0
    np.maximum(norm, 1.0, out=norm)
    # room colour = blurred (colour x weight) / blurred weight; weights are 0..255, hence the scale.
    room = cv2.divide(
        cv2.cvtColor(small, cv2.COLOR_BGRA2BGR), cv2.cvtColor(norm, cv2.COLOR_GRAY2BGR), scale=255, dtype=cv2.CV_8U
    )
    # (On the talking head this runs on every frame, and shows: just inside the soft edge, where alpha is over 0.5
    # but under 1, the room's weight within reach is that small. Blurring only the box around these pixels saved
    # 0.05 of its 0.2 ms.)
    if no_room.any():
        plain = cv2.GaussianBlur(shrink(base, size), (k, k), 0)
        cv2.copyTo(plain, no_room.view(np.uint8), room)
    if scale == 1:
        return room
    # A new array: the effect composites the person into it and hands it on (a writer thread may keep it).
    return cv2.resize(room, (w, h), interpolation=cv2.INTER_LINEAR)


class BlurBackground:
    """The privacy effect: the room blurred (halo-free), the person composited back sharp, in their own colours at
    the soft edge (``own_colours``: see :mod:`bgblur.effects.foreground`). Call it from one thread."""

    def __init__(self, kernel: int = 41, own_colours: bool = True) -> None:
        self.kernel = kernel
        self.own_colours = own_colours
        self._buffers = FrameBuffers()

    def __call__(self, frame: np.ndarray, alpha: np.ndarray, detections: tuple = ()) -> np.ndarray:
        scratch = self._buffers.for_frame(frame)
        # Nobody found: blur everything, never show the room sharp. (The count is 0.03 ms of a 720p frame; the
        # halo-free way would cost ~1 ms more on such a frame and differ from the plain blur by a few levels.)
        if not cv2.countNonZero(alpha):
            return blur(frame, self.kernel)
        room = halo_free_blur(frame, alpha, self.kernel, buffers=scratch)
        edge = edge_colours(frame, alpha, scratch) if self.own_colours else None
        return composite(frame, room, alpha, buffers=scratch, edge=edge, in_place=True)

    def close(self) -> None:
        pass
