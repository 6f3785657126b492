"""Person evidence from MediaPipe's face and pose models: :class:`FaceDetector` (bundled BlazeFace short-range)
and :class:`BodyDetector` (the pose landmark model, downloaded)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from bgblur.errors import BgblurError
from bgblur.models import FACE_MODEL, POSE_HINT, POSE_MODEL
from bgblur.segmenters.dnn import read_net

INPUT_SIZE = 128  # the model's square input, px

POSE_INPUT = 256  # the pose model's square input, px


@dataclass(frozen=True)
class Face:
    """One detected face: score 0..1 and box (x0, y0, x1, y1) in the frame's pixels."""

    score: float
    box: tuple[float, float, float, float]


def blazeface_anchors() -> np.ndarray:
    """Centres (x, y, 0..1) of the 896 SSD anchors of BlazeFace short-range, in the model's output order.

    Strides 8, 16, 16, 16 on a 128 px input: a 16x16 grid with 2 anchors per cell, then the three stride-16
    layers merged into an 8x8 grid with 6 anchors per cell (fixed anchor size, so only centres matter).
    """
    centres = []
    for grid, per_cell in ((16, 2), (8, 6)):
        ys, xs = np.mgrid[0:grid, 0:grid]
        cells = np.stack([(xs.ravel() + 0.5) / grid, (ys.ravel() + 0.5) / grid], axis=1)
        centres.append(np.repeat(cells, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


def box_iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def decode_faces(
    scores: np.ndarray,
    boxes: np.ndarray,
    anchors: np.ndarray,
    min_score: float,
    nms_iou: float = 0.3,
) -> list[tuple[float, tuple[float, float, float, float]]]:
    """Raw model outputs (896 logits, 896x16 regressions) → (score, box in 0..1 of the model input), best first,
    overlapping boxes suppressed (plain NMS)."""
    logits = np.clip(scores.reshape(-1), -80.0, 80.0)  # clipped: exp() must not overflow
    probability = 1.0 / (1.0 + np.exp(-logits))
    found = []
    for i in np.flatnonzero(probability >= min_score):
        # Offsets are in input pixels, relative to the anchor centre; width/height are absolute (fixed anchors).
        cx, cy, w, h = boxes.reshape(-1, 16)[i, :4] / INPUT_SIZE
        cx += anchors[i, 0]
        cy += anchors[i, 1]
        found.append((float(probability[i]), (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)))
    found.sort(key=lambda item: item[0], reverse=True)
    kept: list[tuple[float, tuple[float, float, float, float]]] = []
    for score, box in found:
        if all(box_iou(box, other) < nms_iou for _, other in kept):
            kept.append((score, box))
    return kept


class FaceDetector:
    """MediaPipe BlazeFace short-range (faces within ~2 m of the camera) through ``cv2.dnn``, letterboxed input."""

    def __init__(self, model: Path = FACE_MODEL, min_score: float = 0.5) -> None:
        self.net = read_net(model)
        self.min_score = min_score
        self.anchors = blazeface_anchors()
        self._canvas = np.zeros((INPUT_SIZE, INPUT_SIZE, 3), np.uint8)

    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces in the BGR ``image``, best first, boxes in its pixels."""
        height, width = image.shape[:2]
        scale = INPUT_SIZE / max(height, width)
        w, h = max(1, round(width * scale)), max(1, round(height * scale))
        # Letterbox, as MediaPipe does: squashing a 16:9 frame to a square would make faces too thin to find.
        ox, oy = (INPUT_SIZE - w) // 2, (INPUT_SIZE - h) // 2
        self._canvas[:] = 0
        self._canvas[oy : oy + h, ox : ox + w] = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
        blob = cv2.dnn.blobFromImage(self._canvas, 1 / 127.5, mean=(127.5, 127.5, 127.5), swapRB=True)
        self.net.setInput(blob)
        scores, boxes = self.net.forward(["classificators", "regressors"])
        faces = []
        for score, (x0, y0, x1, y1) in decode_faces(scores, boxes, self.anchors, self.min_score):
            box = ((x0 * INPUT_SIZE - ox) / scale, (y0 * INPUT_SIZE - oy) / scale)
            box += ((x1 * INPUT_SIZE - ox) / scale, (y1 * INPUT_SIZE - oy) / scale)
            faces.append(Face(score, box))
        return faces


class BodyDetector:
    """MediaPipe's pose landmark model (full, Apache-2.0) through ``cv2.dnn``, used for one output only: its
    score that a body is in the crop (``Identity_1``, the pose flag; 0..1). The landmarks are not used.

    The model is meant for a crop centred on one person, so :meth:`score` crops a square around a region's box
    (25 % margin, black outside the frame) — on a whole wide frame its score is much less clear-cut.
    """

    def __init__(self, model: Path = POSE_MODEL, min_score: float = 0.5) -> None:
        self.net = read_net(model, hint=POSE_HINT)
        if self.net.getLayerId("Identity_1") < 0:
            raise BgblurError(f"{model} is not MediaPipe's pose landmark model (it has no pose-flag output){POSE_HINT}")
        self.min_score = min_score

    def score(self, image: np.ndarray, box: tuple[float, float, float, float]) -> float:
        """How sure the model is that a body is in the square crop around ``box`` (x0, y0, x1, y1 in pixels)."""
        x0, y0, x1, y1 = box
        scale = POSE_INPUT / (max(x1 - x0, y1 - y0, 1.0) * 1.25)
        half = POSE_INPUT / 2
        to_crop = np.float32([[scale, 0, half - scale * (x0 + x1) / 2], [0, scale, half - scale * (y0 + y1) / 2]])
        crop = cv2.warpAffine(image, to_crop, (POSE_INPUT, POSE_INPUT), flags=cv2.INTER_LINEAR)
        self.net.setInput(cv2.dnn.blobFromImage(crop, 1 / 255, swapRB=True))  # RGB, 0..1
        return float(self.net.forward("Identity_1").ravel()[0])

    def is_body(self, image: np.ndarray, box: tuple[float, float, float, float]) -> bool:
        return self.score(image, box) >= self.min_score
