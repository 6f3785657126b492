"""Small picture helpers that several stages share (no stage logic here)."""

from __future__ import annotations

import cv2
import numpy as np

# Pictures OpenCV reads (a source or a background) and the ones bgblur writes (an output picture).
READABLE_IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm", ".pnm", ".jp2", ".exr"}
)
WRITABLE_IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"})


def reduced_size(size: tuple[int, int], factor: int) -> tuple[int, int]:
    """``size`` (w, h) divided by ``factor``, at least 1x1."""
    return max(1, size[0] // factor), max(1, size[1] // factor)


def box_iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over union of two boxes (x0, y0, x1, y1), 0..1: the detectors' NMS, the
    presence check's same face, the crops' same square."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def odd(value: float) -> int:
    """The nearest odd whole number, at least 1 (Gaussian kernels need a centre pixel)."""
    return max(1, round(value) | 1)


def shrink(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Box-filtered downscale to ``size``: exact halvings by INTER_LINEAR (a 2x2 average, 4x cheaper than
    INTER_AREA on a full frame), then INTER_AREA for whatever is left."""
    width, height = size
    while image.shape[1] >= 2 * width and image.shape[0] >= 2 * height and image.shape[1] % 2 == 0:
        if image.shape[0] % 2:
            break
        image = cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_LINEAR)
    if (image.shape[1], image.shape[0]) != size:
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return image


def halved(image: np.ndarray) -> np.ndarray | None:
    """The picture at exactly half its size (each pixel the mean of a 2x2 block: INTER_LINEAR at exactly 1/2), or
    None when a side is odd. One halving a frame serves every stage that looks at a smaller copy."""
    height, width = image.shape[:2]
    if height % 2 or width % 2 or min(height, width) < 2:
        return None
    return cv2.resize(image, (width // 2, height // 2), interpolation=cv2.INTER_LINEAR)


def flush_denormals(values: np.ndarray) -> np.ndarray:
    """Set magnitudes below ~6e-8 to zero, in place (adding 1 and taking it away again: two passes, no temporaries;
    elsewhere an error under 6e-8, for the 0..1 maps and coefficients this is used on): model tails and decaying
    averages reach denormal floats (~1e-40), which make every later float operation on them several times slower."""
    one = values.dtype.type(1)
    values += one
    values -= one
    return values


def mirrored(image: np.ndarray | None) -> np.ndarray | None:
    """``image`` flipped left to right (the selfie view); None stays None."""
    return None if image is None else cv2.flip(image, 1)
