"""Person-presence check: which regions of the matte are really a person, from a face detector, a body (pose)
check or the frame edge.

The selfie model calls any single salient subject "person" (a coffee cup, a cat). With nobody in the frame that
shows part of the room sharp — the privacy failure. This module decides, per connected region of the matte,
whether there is evidence of a person:

- a face: MediaPipe BlazeFace short-range (bundled, Apache-2.0, run by ``cv2.dnn``) finds a face inside the
  region or just above it (the head, with the shoulders below);
- memory (video/live): a face seen at that place in the last ``memory`` frames still counts, and a region that
  continues one kept in the previous frame stays kept while the face memory lasts — so someone turning away or
  looking down is not blurred at once;
- ``face-or-body`` only: a region without a face is still kept when it reaches the lower frame edge, like a
  torso cut by the frame (the usual webcam framing, and people seen from behind at a desk);
- ``face-or-pose`` only: a sizeable region without a face is shown to MediaPipe's pose landmark model (not
  bundled: ``scripts/download_models.py --pose``), cropped around the region; the region is kept when the model's
  "a body is here" score passes 0.5 — a full-body dancer or a hiker seen from behind, but not a cup. A confirmed
  body is remembered like a face.

Modes (``--presence``): ``off`` keeps every region, ``face`` needs a face, ``face-or-body`` needs a face or the
lower edge, ``face-or-pose`` a face or a body. Measured trade on the developer set: see README ("Person-presence
check").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from bgblur.errors import BgblurError
from bgblur.segmenters import DATA_DIR
from bgblur.segmenters.dnn import read_net

PRESENCE_CHOICES = ("off", "face", "face-or-body", "face-or-pose")
FACE_MODEL = DATA_DIR / "face_detection_short_range.tflite"
INPUT_SIZE = 128  # the model's square input, px
# Where ``scripts/download_models.py --pose`` puts MediaPipe's pose landmark model (6.4 MB, not bundled).
POSE_MODEL = Path("models/mediapipe-pose/pose_landmark_full.tflite")
POSE_INPUT = 256  # the pose model's square input, px
POSE_HINT = " (get it with: python scripts/download_models.py --pose, or give --pose-model FILE)"


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


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
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
        if all(_iou(box, other) < nms_iou for _, other in kept):
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


class PresenceCheck:
    """Per frame, which connected regions of the matte have evidence of a person (see the module docstring).

    ``memory``: frames a face (or body) keeps counting after it was last seen (90 ≈ 3 s at 30 fps). ``every``:
    run the detectors on every n-th frame only (the memory bridges the gaps); the first frame after
    :meth:`reset` always runs them. ``detector``: anything with ``detect(image) -> list[Face]`` (the bundled
    BlazeFace by default). ``body`` (``face-or-pose`` only): anything with ``is_body(image, box) -> bool``
    (:class:`BodyDetector` by default); it is asked only about regions no face explains that cover at least
    ``body_min_area`` of the frame.
    """

    def __init__(
        self,
        mode: str = "face-or-body",
        detector: FaceDetector | None = None,
        *,
        body: BodyDetector | None = None,
        memory: int = 90,
        every: int = 3,
        body_margin: float = 0.02,
        body_min_area: float = 0.01,
    ) -> None:
        if mode not in PRESENCE_CHOICES or mode == "off":
            raise ValueError(f"presence mode must be one of {PRESENCE_CHOICES[1:]}, not {mode!r}")
        self.mode = mode
        self.detector = detector or FaceDetector()
        self.body = (body or BodyDetector()) if mode == "face-or-pose" else None
        self.memory = memory
        self.every = max(1, every)
        self.body_margin = body_margin
        self.body_min_area = body_min_area
        self.reset()

    def reset(self) -> None:
        """Forget faces, bodies and regions of earlier frames (a new scene or source)."""
        self._frame = -1
        self._faces: list[tuple[int, Face]] = []  # (frame last seen, face)
        self._bodies: list[tuple[int, tuple[float, float, float, float]]] = []  # (frame confirmed, box)
        self._last_seen: int | None = None  # last frame a face or body was found
        self._previous: np.ndarray | None = None  # last frame's kept mask, working resolution

    def _next_frame(self, image: np.ndarray) -> bool:
        """Count a frame; on a detector frame run the face detector and age out old faces and bodies.
        Returns whether this was a detector frame."""
        self._frame += 1
        if self._frame % self.every and self._frame > 0:
            return False
        seen = self.detector.detect(image)
        if seen:
            self._last_seen = self._frame
        # A face found again near a remembered one replaces it; other remembered faces age out.
        kept = [(f, face) for f, face in self._faces if all(_iou(face.box, new.box) < 0.3 for new in seen)]
        self._faces = [(f, face) for f, face in kept if self._frame - f <= self.memory]
        self._faces += [(self._frame, face) for face in seen]
        self._bodies = [(f, box) for f, box in self._bodies if self._frame - f <= self.memory]
        return True

    def keep(self, labels: np.ndarray, count: int, image: np.ndarray) -> np.ndarray:
        """Boolean per label (index 0 = background, always False): keep this region of the ``labels`` map
        (connected components at the working resolution, from the matte of this frame; ``image`` is the frame)."""
        detectors_ran = self._next_frame(image)
        height, width = labels.shape
        sx, sy = width / image.shape[1], height / image.shape[0]
        # Evidence windows in the frame's pixels: a face and one face-height below it (chin, neck, shoulders);
        # a confirmed body's own box.
        windows = [box for _, box in self._bodies]
        for _, face in self._faces:
            x0, y0, x1, y1 = face.box
            windows.append((x0, y0, x1, 2 * y1 - y0))
        keep = np.zeros(count, bool)
        for x0, y0, x1, y1 in windows:
            c0, c1 = int(max(0, x0 * sx)), int(min(width, np.ceil(x1 * sx)))
            r0, r1 = int(max(0, y0 * sy)), int(min(height, np.ceil(y1 * sy)))
            if c1 <= c0 or r1 <= r0:
                continue
            window = labels[r0:r1, c0:c1]
            hits = np.bincount(window.ravel(), minlength=count)
            keep |= hits >= 0.1 * window.size
        seen_recently = self._last_seen is not None and self._frame - self._last_seen <= self.memory
        if self._previous is not None and self._previous.shape == labels.shape and seen_recently:
            # Continuity: a region mostly inside last frame's kept mask is the same person (turned away, moving).
            inside = np.bincount(labels[self._previous].ravel(), minlength=count)
            area = np.bincount(labels.ravel(), minlength=count)
            keep |= inside >= 0.5 * np.maximum(area, 1)
        if self.mode == "face-or-body":
            # A region reaching the lower frame edge, like a torso cut by the frame.
            bottom = labels[height - max(1, round(self.body_margin * height)) :]
            keep[np.unique(bottom)] = True
        keep[0] = False
        if self.body is not None and detectors_ran:
            self._check_bodies(labels, count, keep, image, (sx, sy))
        self._previous = keep[labels]
        return keep

    def _check_bodies(
        self, labels: np.ndarray, count: int, keep: np.ndarray, image: np.ndarray, scale: tuple[float, float]
    ) -> None:
        """Ask the body detector about each sizeable region nothing else explains; keep and remember the bodies."""
        unexplained = (np.bincount(labels.ravel(), minlength=count) >= self.body_min_area * labels.size) & ~keep
        unexplained[0] = False  # the background
        for label in np.flatnonzero(unexplained):
            x, y, w, h = cv2.boundingRect((labels == label).astype(np.uint8))
            box = (x / scale[0], y / scale[1], (x + w) / scale[0], (y + h) / scale[1])
            if self.body.is_body(image, box):
                keep[label] = True
                self._bodies.append((self._frame, box))
                self._last_seen = self._frame
