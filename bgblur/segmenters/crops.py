"""Person-centred crops: a second look at each person found, at the model's own proportions, so a small person
in a wide frame fills the model's input.

The selfie model squeezes the whole picture into 256x256: a runner 100 px tall in an 854x480 frame becomes a
few dozen input pixels, and loses legs and arms. :class:`PersonCrops` asks a finder for the square around each
whole body — on a still picture BlazePose's person detector; in video and live the people the matte step's
presence check found in the last frames (no extra detector run; see :func:`bgblur.build.link_person_crops`) —
runs the model on that square
(1.3x the body, filled with the picture's edge pixels where it passes the border) and takes, per pixel, the
**maximum** of the crop's answer and the wrapped segmenter's: the crop only adds the parts of that person the
first look missed; everything outside the crops is the first look's. A square as large as the frame's long side
magnifies nothing and is skipped. Cost: one model pass per person found, plus the finder on still pictures.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in the picture's pixels

MARGIN = 1.3  # the square's side over the body box's longer side
MAX_CROPS = 6  # people looked at again, biggest first: a crowd costs no more than this


class PersonCrops:
    """Wraps a segmenter: its answer, raised to each person crop's answer inside that crop."""

    def __init__(self, inner, find: Callable[[np.ndarray], list[Box]] | None = None, margin: float = MARGIN) -> None:
        self.inner = inner
        self.find = find
        self.margin = margin
        self.name = f"{inner.name}+crops"
        self.default_threshold = inner.default_threshold
        self.threshold = np.float32(inner.default_threshold)
        self.runtime = getattr(inner, "runtime", "")
        self.single = getattr(inner, "inner", inner)  # the one-pass model itself (under the tiles)

    def segment(self, image: np.ndarray) -> np.ndarray:
        base = self.inner.segment(image)
        height, width = image.shape[:2]
        found = self.find(image) if self.find is not None else []
        found = [b for b in found if max(b[2] - b[0], b[3] - b[1]) * self.margin < max(height, width)]
        boxes = sorted(found, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), reverse=True)[:MAX_CROPS]
        if not boxes:
            return base
        # Work at the picture's size (at most 640 px long): the crops' detail must not be lost to the first look's
        # coarser grid.
        scale = min(1.0, 640 / max(height, width))
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        result = cv2.resize(base, size, interpolation=cv2.INTER_LINEAR)
        for x0, y0, x1, y1 in boxes:
            side = max(x1 - x0, y1 - y0, 8.0) * self.margin
            left, top = (x0 + x1 - side) / 2, (y0 + y1 - side) / 2
            pixels = max(8, round(side))
            to_crop = np.float32([[pixels / side, 0, -left * pixels / side], [0, pixels / side, -top * pixels / side]])
            crop = cv2.warpAffine(image, to_crop, (pixels, pixels), borderMode=cv2.BORDER_REPLICATE)
            answer = cv2.resize(self.single.segment(crop), (pixels, pixels), interpolation=cv2.INTER_LINEAR)
            # Back onto the working grid; outside the crop the answer is 0, so the maximum keeps the first look.
            back = np.float32([[side * scale / pixels, 0, left * scale], [0, side * scale / pixels, top * scale]])
            placed = cv2.warpAffine(answer, back, size, flags=cv2.INTER_LINEAR, borderValue=0)
            placed[placed < self.threshold] = 0  # only what the crop calls person: its doubts must not add leak
            np.maximum(result, placed, out=result)
        return result
