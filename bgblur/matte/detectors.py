"""Person evidence from MediaPipe's models (Apache-2.0, from the ``mediapipe==0.10.14`` wheel).

Three SSD detectors, run through :mod:`bgblur.segmenters.runtimes`, letterboxed as MediaPipe feeds them:

- :class:`FaceDetector`: BlazeFace short-range (faces within ~2 m), 128x128; LiteRT when installed, else cv2.dnn.
- :class:`FullRangeFaceDetector`: BlazeFace full-range (faces up to ~5 m, a group photo's small faces), 192x192.
- :class:`PersonDetector`: BlazePose's person detector (any pose, any distance), 224x224. Its box is the head and
  upper body; its keypoints 0 (hip centre) and 1 (a point on the circle around the body) give the body's square.

The last two run on LiteRT only (cv2.dnn cannot read their DENSIFY operator). All three take RGB scaled to -1..1
and give, per anchor, a score logit and a regression row: box centre offset and size in input pixels (fixed-size
anchors: only their centres matter), then keypoint offsets. Measured best scores on the developer photos and
their cost: README, "Person detectors".

And two checks asked about one crop: :class:`FaceVerifier`, MediaPipe's face landmark model (bundled, LiteRT),
asked only whether a detected face is a human face; :class:`BodyDetector`, the pose landmark model (downloaded),
asked only whether a body is in a crop.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from bgblur.errors import BgblurError
from bgblur.imaging import box_iou
from bgblur.matte.people import body_square
from bgblur.models import (
    FACE_LANDMARK_MODEL,
    FACE_MODEL,
    FULL_RANGE_FACE_MODEL,
    PERSON_DETECTOR_MODEL,
    POSE_HINT,
    POSE_MODEL,
)
from bgblur.segmenters.dnn import read_net
from bgblur.segmenters.runtimes import load_network

POSE_INPUT = 256  # the pose landmark model's square input, px


@dataclass(frozen=True)
class SsdSpec:
    """How one MediaPipe SSD detector is fed and decoded (from its graph's anchor and decoder options)."""

    input_size: int  # square input, px
    strides: tuple[int, ...]  # one per anchor layer; consecutive layers with one stride share a grid
    anchors_per_layer: int  # anchors each layer puts in each cell of its grid
    keypoints: int  # keypoints after the box in each regression row
    scores_output: str
    boxes_output: str


SHORT_RANGE = SsdSpec(128, (8, 16, 16, 16), 2, 6, "classificators", "regressors")  # 896 anchors
FULL_RANGE = SsdSpec(192, (4,), 1, 6, "Identity_1", "Identity")  # 2304 anchors
BLAZEPOSE = SsdSpec(224, (8, 16, 32, 32, 32), 2, 4, "Identity_1", "Identity")  # 2254 anchors
INPUT_SIZE = SHORT_RANGE.input_size


@dataclass(frozen=True)
class Detection:
    """One detection: score 0..1, box (x0, y0, x1, y1) and keypoints ((x, y), ...) in the picture's pixels."""

    score: float
    box: tuple[float, float, float, float]
    keypoints: tuple[tuple[float, float], ...] = ()

    @property
    def body_box(self) -> tuple[float, float, float, float]:
        """For :class:`PersonDetector`: the square around the whole body (:func:`~bgblur.matte.people.body_square`)."""
        return body_square(self.keypoints)


Face = Detection  # the name the presence check uses


def ssd_anchors(spec: SsdSpec) -> np.ndarray:
    """Anchor centres (x, y in 0..1 of the input), in the model's output order: grid by grid, row-major cells,
    each cell's anchors together (the layers sharing a stride merged, as MediaPipe's SsdAnchorsCalculator)."""
    centres = []
    index = 0
    while index < len(spec.strides):
        stride, per_cell = spec.strides[index], 0
        while index < len(spec.strides) and spec.strides[index] == stride:
            per_cell += spec.anchors_per_layer
            index += 1
        grid = -(-spec.input_size // stride)
        ys, xs = np.mgrid[0:grid, 0:grid]
        cells = np.stack([(xs.ravel() + 0.5) / grid, (ys.ravel() + 0.5) / grid], axis=1)
        centres.append(np.repeat(cells, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


def blazeface_anchors() -> np.ndarray:
    """The 896 anchor centres of BlazeFace short-range: a 16x16 grid with 2 per cell, then 8x8 with 6."""
    return ssd_anchors(SHORT_RANGE)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(logits, -80.0, 80.0)))  # clipped: exp() must not overflow


def decode(
    scores: np.ndarray, boxes: np.ndarray, anchors: np.ndarray, spec: SsdSpec, min_score: float, nms_iou: float = 0.3
) -> list[tuple[float, tuple[float, float, float, float], np.ndarray]]:
    """Raw outputs (N logits, N regression rows) → (score, box, keypoints (K, 2)) in 0..1 of the model input,
    best first, overlapping boxes suppressed (plain NMS)."""
    probability = sigmoid(scores.reshape(-1))
    rows = boxes.reshape(len(anchors), -1)
    found = []
    for i in np.flatnonzero(probability >= min_score):
        row = rows[i] / spec.input_size
        cx, cy = row[0] + anchors[i, 0], row[1] + anchors[i, 1]
        w, h = row[2], row[3]
        points = row[4 : 4 + 2 * spec.keypoints].reshape(-1, 2) + anchors[i]
        box = (float(cx - w / 2), float(cy - h / 2), float(cx + w / 2), float(cy + h / 2))
        found.append((float(probability[i]), box, points))
    found.sort(key=lambda item: item[0], reverse=True)
    kept: list[tuple[float, tuple[float, float, float, float], np.ndarray]] = []
    for score, box, points in found:
        if all(box_iou(box, other) < nms_iou for _, other, _ in kept):
            kept.append((score, box, points))
    return kept


def decode_faces(
    scores: np.ndarray, boxes: np.ndarray, anchors: np.ndarray, min_score: float, nms_iou: float = 0.3
) -> list[tuple[float, tuple[float, float, float, float]]]:
    """BlazeFace short-range outputs (896 logits, 896x16 rows) → (score, box in 0..1 of the input), best first."""
    return [(score, box) for score, box, _ in decode(scores, boxes, anchors, SHORT_RANGE, min_score, nms_iou)]


class SsdDetector:
    """One MediaPipe SSD detector: :meth:`detect` finds things in a whole picture or a square around a box,
    :meth:`best_score` says how sure the model is that there is one at all."""

    def __init__(
        self,
        model: Path,
        spec: SsdSpec,
        min_score: float,
        runtime: str = "auto",
        threads: int | None = 1,
        hint: str = "",
    ) -> None:
        self.spec = spec
        self.min_score = min_score
        self.network = load_network(model, runtime, threads, hint=hint)
        self.runtime = self.network.runtime
        self.anchors = ssd_anchors(spec)
        outputs = set(self.network.output_names)
        if not {spec.scores_output, spec.boxes_output} <= outputs:
            raise BgblurError(f"{model} is not the detector expected: its outputs are {', '.join(sorted(outputs))}")
        size = spec.input_size
        self._canvas = np.zeros((size, size, 3), np.uint8)

    def _place(
        self, image: np.ndarray, box: tuple[float, float, float, float] | None, half: np.ndarray | None = None
    ) -> tuple[float, ...]:
        """Put the picture (letterboxed, as MediaPipe does: squashing would make people too thin to find) or the
        square around ``box`` (25 % margin, black outside the picture) on the canvas. Returns the mapping back:
        picture x = x0 + (input x - ox) * k, likewise y. ``half``: the picture halved (:func:`bgblur.imaging.halved`),
        shrunk from instead of the picture when it is still at least the input's size (a quarter of the pixels)."""
        height, width = image.shape[:2]
        if box is None:
            side = float(max(height, width))
            sx, sy = (width - side) / 2, (height - side) / 2
        else:
            side = max(box[2] - box[0], box[3] - box[1], 1.0) * 1.25
            sx, sy = (box[0] + box[2] - side) / 2, (box[1] + box[3] - side) / 2
        size = self.spec.input_size
        scale = size / side
        x0, y0 = max(0, int(np.floor(sx))), max(0, int(np.floor(sy)))
        x1, y1 = min(width, int(np.ceil(sx + side))), min(height, int(np.ceil(sy + side)))
        self._canvas[:] = 0
        if x1 <= x0 or y1 <= y0:
            return (0.0, 0.0, 0.0, 0.0, 1.0, 1.0)
        # x0 is sx rounded down, so (x0 - sx) can be just below 0: never a negative offset.
        ox, oy = (min(size - 1, max(0, round((v0 - s0) * scale))) for v0, s0 in ((x0, sx), (y0, sy)))
        w, h = max(1, min(size - ox, round((x1 - x0) * scale))), max(1, min(size - oy, round((y1 - y0) * scale)))
        whole = (x0, y0, x1, y1) == (0, 0, width, height)
        use_half = half is not None and whole and half.shape[1] >= w and half.shape[0] >= h
        source = half if use_half else image[y0:y1, x0:x1]
        self._canvas[oy : oy + h, ox : ox + w] = cv2.resize(source, (w, h), interpolation=cv2.INTER_AREA)
        return (float(x0), float(y0), float(ox), float(oy), (x1 - x0) / w, (y1 - y0) / h)

    def _raw(
        self, image: np.ndarray, box: tuple[float, float, float, float] | None, half: np.ndarray | None = None
    ) -> tuple:
        mapping = self._place(image, box, half)
        blob = cv2.dnn.blobFromImage(self._canvas, 1 / 127.5, mean=(127.5, 127.5, 127.5), swapRB=True)  # RGB, -1..1
        scores, boxes = self.network.run(blob, [self.spec.scores_output, self.spec.boxes_output])
        return scores, boxes, mapping

    def best_score(self, image: np.ndarray, box: tuple[float, float, float, float] | None = None) -> float:
        """The highest score of any anchor on the picture (or the square around ``box``), NMS or not."""
        scores, _, _ = self._raw(image, box)
        return float(sigmoid(np.max(scores)))

    def detect(
        self, image: np.ndarray, box: tuple[float, float, float, float] | None = None, half: np.ndarray | None = None
    ) -> list[Detection]:
        """Detections in the BGR ``image`` (or the square around ``box``), best first, in the image's pixels.
        ``half``: ``image`` halved, if the caller has it (a whole-picture look then shrinks from it)."""
        scores, boxes, (x0, y0, ox, oy, kx, ky) = self._raw(image, box, half)
        size = self.spec.input_size
        found = []
        for score, corners, points in decode(scores, boxes, self.anchors, self.spec, self.min_score):
            # 0..1 of the input → input pixels → the picture's pixels, corners and keypoints alike.
            xy = np.vstack([np.reshape(corners, (2, 2)), points]) * size - (ox, oy)
            xy = xy * (kx, ky) + (x0, y0)
            (bx0, by0), (bx1, by1) = xy[:2]
            keypoints = tuple((float(x), float(y)) for x, y in xy[2:])
            found.append(Detection(score, (float(bx0), float(by0), float(bx1), float(by1)), keypoints))
        return found


class FaceDetector(SsdDetector):
    """BlazeFace short-range (bundled): faces within ~2 m of the camera; LiteRT when installed, else cv2.dnn."""

    def __init__(self, model: Path = FACE_MODEL, min_score: float = 0.5, runtime: str = "auto", threads: int = 1):
        super().__init__(model, SHORT_RANGE, min_score, runtime, threads)


class FullRangeFaceDetector(SsdDetector):
    """BlazeFace full-range (bundled): faces up to ~5 m, small faces in group photos; needs LiteRT. Its default
    0.6 is MediaPipe's own threshold for it; measured here, no photo without a person reaches 0.5 (best 0.49)."""

    def __init__(
        self, model: Path = FULL_RANGE_FACE_MODEL, min_score: float = 0.6, runtime: str = "litert", threads: int = 1
    ):
        super().__init__(model, FULL_RANGE, min_score, runtime, threads)


class PersonDetector(SsdDetector):
    """BlazePose's person detector (bundled): people at any distance, in any pose; needs LiteRT."""

    def __init__(
        self, model: Path = PERSON_DETECTOR_MODEL, min_score: float = 0.5, runtime: str = "litert", threads: int = 1
    ):
        super().__init__(model, BLAZEPOSE, min_score, runtime, threads)


LANDMARK_INPUT = 192  # the face landmark model's square input, px
LANDMARK_MARGIN = 1.5  # MediaPipe's crop: the face box's longer side x 1.5, square


class FaceVerifier:
    """MediaPipe's face landmark model (``face_landmark.tflite``) for one output: ``conv2d_31``, its logit that a
    face is in the crop. Fed as MediaPipe feeds it: a square 1.5x the detected face box, turned so the eyes (the
    detection's keypoints 0 and 1) are level, RGB 0..1. A human face of a sensible size scores near 1; an animal's
    or a toy's face that a detector took for one scores low. A face of a few dozen pixels is too coarse for it
    (it may fail a real face): its failing is no evidence against a person, only no evidence for one.
    """

    OUTPUT = "conv2d_31"

    def __init__(self, model: Path = FACE_LANDMARK_MODEL, min_score: float = 0.5, threads: int = 1) -> None:
        self.network = load_network(model, "litert", threads)
        if not self.network.has_output(self.OUTPUT):
            raise BgblurError(f"{model} is not MediaPipe's face landmark model (it has no {self.OUTPUT} output)")
        self.min_score = min_score

    def score(self, image: np.ndarray, face: Detection) -> float:
        """How sure the model is that ``face`` (a detection in the BGR ``image``) is a face (0..1)."""
        x0, y0, x1, y1 = face.box
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        side = max(x1 - x0, y1 - y0, 1.0) * LANDMARK_MARGIN
        angle = 0.0
        if len(face.keypoints) >= 2:  # BlazeFace's eyes: the crop is turned so they are level, as MediaPipe does
            (rx, ry), (lx, ly) = face.keypoints[0], face.keypoints[1]
            angle = float(np.degrees(np.arctan2(ly - ry, lx - rx)))
        to_crop = cv2.getRotationMatrix2D((cx, cy), angle, LANDMARK_INPUT / side)
        to_crop[:, 2] += (LANDMARK_INPUT / 2 - cx, LANDMARK_INPUT / 2 - cy)
        crop = cv2.warpAffine(image, to_crop, (LANDMARK_INPUT, LANDMARK_INPUT), flags=cv2.INTER_LINEAR)
        blob = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32)[None] * np.float32(1 / 255)  # NHWC, 0..1
        (logit,) = self.network.run(blob, [self.OUTPUT])
        return float(sigmoid(logit.ravel()[:1])[0])

    def is_face(self, image: np.ndarray, face: Detection) -> bool:
        return self.score(image, face) >= self.min_score


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
