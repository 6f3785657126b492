"""What replaces the background: a blur of the room (the person's colours weighted out, so no halo).

``composite(frame, background, alpha)`` is the one place a person is put back on a background.
"""

from __future__ import annotations

import cv2
import numpy as np


def composite(frame: np.ndarray, background: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``alpha * frame + (1 - alpha) * background`` with OpenCV's blend (uint8 in, uint8 out)."""
    return cv2.blendLinear(frame, background, alpha, 1.0 - alpha)


def _blur_scale(kernel: int) -> int:
    """Downscale factor that keeps a Gaussian of this size visually the same but cheap: large kernels are
    blurred at reduced resolution (a blur has no fine detail to lose)."""
    return max(1, min(4, kernel // 10))


def _odd(value: float) -> int:
    return max(1, round(value) | 1)


def blur(image: np.ndarray, kernel: int) -> np.ndarray:
    """Gaussian blur with a ``kernel`` x ``kernel`` footprint, done at reduced size for large kernels."""
    scale = _blur_scale(kernel)
    if scale == 1:
        return cv2.GaussianBlur(image, (kernel, kernel), 0)
    h, w = image.shape[:2]
    small = cv2.resize(image, (max(1, w // scale), max(1, h // scale)), interpolation=cv2.INTER_AREA)
    k = _odd(kernel / scale)
    small = cv2.GaussianBlur(small, (k, k), 0)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def halo_free_blur(image: np.ndarray, alpha: np.ndarray, kernel: int) -> np.ndarray:
    """Blur of the background only: a normalised convolution with weight ``1 - alpha``, so the person's colours
    do not bleed into the blurred room around them. Where no background is near, falls back to a plain blur."""
    scale = _blur_scale(kernel)
    h, w = image.shape[:2]
    size = (max(1, w // scale), max(1, h // scale))
    k = _odd(kernel / scale)
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    weight = 1.0 - cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
    weighted = cv2.GaussianBlur(small * weight[..., None], (k, k), 0)
    norm = cv2.GaussianBlur(weight, (k, k), 0)
    plain = cv2.GaussianBlur(small, (k, k), 0)
    trusted = norm > 1e-3
    result = np.where(trusted[..., None], weighted / np.maximum(norm, 1e-3)[..., None], plain)
    result = np.clip(result, 0, 255).astype(np.uint8)
    return cv2.resize(result, (w, h), interpolation=cv2.INTER_LINEAR) if scale > 1 else result


class BlurBackground:
    """The privacy effect: the room blurred (halo-free), the person composited back sharp."""

    def __init__(self, kernel: int = 41) -> None:
        self.kernel = kernel

    def __call__(self, frame: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        if not alpha.any():  # nobody found: blur everything, never show the room sharp
            return blur(frame, self.kernel)
        return composite(frame, halo_free_blur(frame, alpha, self.kernel), alpha)


class ReplaceBackground:
    """The person composited onto another background (a picture, a video, a colour: see ``bgblur.backgrounds``),
    with an optional light wrap of ``light_wrap`` strength (0 = off) on the person's edge."""

    def __init__(self, background, light_wrap: float = 0.0) -> None:
        self.background = background
        self.light_wrap = light_wrap

    def __call__(self, frame: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        background = self.background.frame_for((frame.shape[1], frame.shape[0]))
        if self.light_wrap > 0:
            from bgblur.backgrounds import apply_light_wrap

            frame = apply_light_wrap(frame, background, alpha, self.light_wrap)
        return composite(frame, background, alpha)
