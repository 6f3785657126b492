"""``--visualize``: what the model found drawn on the unblurred frame (every Mask R-CNN detection, or the matte)."""

from __future__ import annotations

import colorsys

import cv2
import numpy as np

from bgblur.segmenters.maskrcnn import Detection

MASK_OPACITY = 0.4  # how much of an instance's colour covers it: the picture stays readable underneath

MATTE_COLOUR = (0, 200, 255)  # BGR: the selfie matte overlay (amber stands out on skin and rooms alike)


def palette_colour(class_id: int) -> tuple[int, int, int]:
    """A fixed, distinct BGR colour per class when there is no ``colors.txt`` (golden-ratio hues)."""
    r, g, b = colorsys.hsv_to_rgb((class_id * 0.618033988749895) % 1.0, 0.85, 0.95)
    return (round(b * 255), round(g * 255), round(r * 255))


def draw_detections(
    image: np.ndarray,
    detections: list[Detection],
    colours: list[tuple[int, int, int]] | None = None,
    mask_threshold: float = 0.3,
) -> np.ndarray:
    """A copy of ``image`` with every detection's translucent mask, box and ``label: score`` in its class colour."""
    out = image.copy()
    height, width = out.shape[:2]
    scale = max(0.4, min(0.7, width / 1400))
    for detection in detections:
        colour = colours[detection.class_id % len(colours)] if colours else palette_colour(detection.class_id)
        x0, y0, x1, y1 = detection.box
        cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
        if cx1 <= cx0 or cy1 <= cy0:
            continue
        mask = cv2.resize(detection.mask.astype(np.float32, copy=False), (x1 - x0, y1 - y0))
        inside = mask[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0] > mask_threshold
        region = out[cy0:cy1, cx0:cx1]
        tint = np.array(colour, np.float32) * MASK_OPACITY
        region[inside] = (region[inside] * (1.0 - MASK_OPACITY) + tint).astype(np.uint8)
        cv2.rectangle(out, (cx0, cy0), (cx1 - 1, cy1 - 1), colour, 2)
        text = f"{detection.label}: {detection.score:.2f}"
        # Above the box when there is room, else just inside its top edge.
        baseline_y = cy0 - 6 if cy0 >= 20 else cy0 + 18
        cv2.putText(out, text, (cx0 + 2, baseline_y), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 2, cv2.LINE_AA)
    return out


_tints: dict[tuple[tuple[int, ...], tuple[int, int, int]], np.ndarray] = {}


def draw_matte_overlay(image: np.ndarray, alpha: np.ndarray, colour: tuple[int, int, int] = MATTE_COLOUR) -> np.ndarray:
    """``image`` with the matte laid over it in ``colour`` at :data:`MASK_OPACITY` (× alpha, so soft edges fade)."""
    tint = _tints.get((image.shape, colour))
    if tint is None:  # one solid picture per frame size, not one per frame
        tint = _tints[(image.shape, colour)] = np.full(image.shape, colour, np.uint8)
    weight = alpha * np.float32(MASK_OPACITY / 255)
    return cv2.blendLinear(image, tint, 1.0 - weight, weight)


class Visualizer:
    """The ``--visualize`` effect, on the unblurred frame: a detecting model's detections (Mask R-CNN's, every
    class, in ``colours``), or for single-pass models the matte as a translucent overlay."""

    def __init__(
        self, colours: list[tuple[int, int, int]] | None = None, mask_threshold: float = 0.3, *, detecting: bool = False
    ) -> None:
        self.colours = colours
        self.mask_threshold = mask_threshold
        self.detecting = detecting  # the model finds instances: draw them (a frame with none shows as it is)

    def __call__(self, frame: np.ndarray, alpha: np.ndarray, detections: tuple = ()) -> np.ndarray:
        if self.detecting:
            return draw_detections(frame, list(detections), self.colours, self.mask_threshold)
        return draw_matte_overlay(frame, alpha)

    def close(self) -> None:
        pass
