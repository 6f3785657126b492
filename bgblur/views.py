"""Ways of looking at what the model sees: every detection drawn (``--visualize``), the matte beside the output
(``--show-mask``, key ``v``) and a rolling frames/s meter (``--show-fps``, key ``f``).

``--visualize`` is an effect (its picture is the output, in the window and in files, as in the Mask R-CNN
tutorial). The mask view and the FPS meter are window-only, so an output file stays the input's size and
free of overlays.
"""

from __future__ import annotations

import colorsys
import threading
import time
from collections import deque
from typing import TYPE_CHECKING

import cv2
import numpy as np

from bgblur.effects import alpha_to_u8

if TYPE_CHECKING:
    from bgblur.pipeline import Controls
    from bgblur.segmenters.maskrcnn import Detection, MaskRCNNSegmenter

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
    # Live mattes arrive as 8-bit (0..255), file mattes as float (0..1).
    weight = alpha * np.float32(MASK_OPACITY / 255 if alpha.dtype == np.uint8 else MASK_OPACITY)
    return cv2.blendLinear(image, tint, 1.0 - weight, weight)


class DetectionRecorder:
    """Wraps a Mask R-CNN segmenter so every frame's detections (all classes) are kept for ``--visualize``;
    the matte it returns is the segmenter's own."""

    KEEP = 16  # detections kept for frames not drawn yet (a file is segmented a few frames ahead)

    def __init__(self, segmenter: MaskRCNNSegmenter) -> None:
        self.segmenter = segmenter
        self.name = segmenter.name
        self.default_threshold = segmenter.default_threshold
        self.detections: list[Detection] = []  # the newest
        self._by_image: dict[int, list[Detection]] = {}
        self._lock = threading.Lock()  # segment() may run in the decoder thread, detections_for() in the main one

    def segment(self, image: np.ndarray) -> np.ndarray:
        detections = self.segmenter.detect(image)
        with self._lock:
            self.detections = self._by_image[id(image)] = detections
            while len(self._by_image) > self.KEEP:
                del self._by_image[next(iter(self._by_image))]
        return self.segmenter.matte_from(detections, (image.shape[1], image.shape[0]))

    def detections_for(self, image: np.ndarray) -> list[Detection]:
        """The detections made on ``image`` itself; for a live frame the model did not see, the newest ones."""
        with self._lock:
            return self._by_image.pop(id(image), self.detections)


class Visualizer:
    """The ``--visualize`` effect: Mask R-CNN's detections drawn, or for single-pass models the matte as a
    translucent overlay, on the unblurred frame."""

    def __init__(self, recorder: DetectionRecorder | None = None, mask_threshold: float = 0.3) -> None:
        self.recorder = recorder
        self.mask_threshold = mask_threshold
        self.colours = getattr(recorder.segmenter, "colors", None) if recorder else None

    def __call__(self, frame: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        if self.recorder is not None:
            return draw_detections(frame, self.recorder.detections_for(frame), self.colours, self.mask_threshold)
        return draw_matte_overlay(frame, alpha)


class FpsMeter:
    """Frames per second over the last ``window`` seconds, on the monotonic clock (immune to clock changes)."""

    def __init__(self, window: float = 1.0, max_samples: int = 240) -> None:
        self.window = window
        self._stamps: deque[float] = deque(maxlen=max_samples)

    def tick(self, now: float | None = None) -> None:
        self._stamps.append(time.monotonic() if now is None else now)

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


def side_by_side(result: np.ndarray, alpha: np.ndarray | None, mirror: bool = False) -> np.ndarray:
    """The output with its matte (white = person) to its right; black where no matte was computed."""
    if alpha is None:
        matte = np.zeros_like(result)
    else:
        matte8 = alpha_to_u8(alpha)
        matte = cv2.cvtColor(cv2.flip(matte8, 1) if mirror else matte8, cv2.COLOR_GRAY2BGR)
    return np.hstack((result, matte))


def window_view(result: np.ndarray, alpha: np.ndarray | None, controls: Controls, fps: FpsMeter) -> np.ndarray:
    """What the window shows besides the output itself: the matte beside it (``v``) and the FPS meter (``f``)."""
    fps.tick()
    shown = side_by_side(result, alpha, controls.mirror) if controls.show_mask else result
    if controls.show_fps:
        shown = shown.copy() if shown is result else shown  # never draw on the frame the files receive
        draw_fps(shown, fps.fps)
    return shown
