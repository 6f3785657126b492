"""Mask R-CNN Inception v2 COCO (TensorFlow graph through ``cv2.dnn``), from a folder in the PyImageSearch layout.

The person is class id 0 (line 0 of the labels file). Each detection carries a 15x15 sigmoid mask per class;
the person's mask is upsampled smoothly into its box. By default only the top-confidence person is kept
(the tutorial's "the user"); ``people="all"`` keeps everyone.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2

# imutils is the design card's library: its resize makes the tutorial's 600-px frames (segment). Only --mask-rcnn
# and --visualize import this module, so a plain run never loads imutils.
import imutils
import numpy as np

from bgblur.errors import BgblurError
from bgblur.models import MASK_RCNN_HINT
from bgblur.segmenters.base import Segmentation, Segmenter
from bgblur.segmenters.dnn import read_net, tensorflow_unsupported

GRAPH = "frozen_inference_graph.pb"
TEXT_GRAPH = "mask_rcnn_inception_v2_coco_2018_01_28.pbtxt"
LABELS = "object_detection_classes_coco.txt"
COLORS = "colors.txt"
PERSON_CLASS = 0


@dataclass(frozen=True)
class Detection:
    """One instance: class, score, box in frame pixels (x0, y0, x1, y1, clipped), and its class's 15x15 mask."""

    class_id: int
    label: str
    score: float
    box: tuple[int, int, int, int]
    mask: np.ndarray


def set_keep_top_k(text_graph: str, count: int) -> str:
    """Lower ``keep_top_k`` of the proposal and final DetectionOutput nodes: the box and mask heads run on
    every kept proposal whatever the image holds, so this count drives the model's cost."""
    return re.sub(r'(key: "keep_top_k"\s*value \{\s*i: )\d+', lambda m: f"{m.group(1)}{count}", text_graph)


def read_labels(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_colors(path: Path) -> list[tuple[int, int, int]]:
    """``colors.txt``: one ``R,G,B`` per line → BGR triples for drawing."""
    colors = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = [int(p) for p in line.replace(" ", "").split(",") if p]
        if len(parts) == 3:
            colors.append((parts[2], parts[1], parts[0]))
    return colors


class MaskRCNNSegmenter(Segmenter):
    """Instance segmentation; ``segment`` returns the chosen person(s) as a soft matte, ``detect`` everything."""

    name = "mask-rcnn"
    default_threshold = 0.3
    runtime = "opencv"  # cv2.dnn only: its TensorFlow graph runs nowhere else here

    def __init__(
        self,
        folder: Path,
        *,
        confidence: float = 0.5,
        people: str = "main",
        detections: int = 20,
        input_width: int = 600,
    ) -> None:
        if unsupported := tensorflow_unsupported():  # before the files: downloading them would not help
            raise BgblurError(unsupported)
        if not folder.is_dir():
            raise BgblurError(f"Mask R-CNN folder not found: {folder}{MASK_RCNN_HINT}")
        for name in (GRAPH, TEXT_GRAPH, LABELS):
            if not (folder / name).is_file():
                raise BgblurError(f"Mask R-CNN file missing: {folder / name}{MASK_RCNN_HINT}")
        if (folder / GRAPH).stat().st_size == 0:
            raise BgblurError(f"Mask R-CNN weights are empty: {folder / GRAPH}{MASK_RCNN_HINT}")
        self.folder = folder
        self.confidence = confidence
        self.people = people
        self.input_width = input_width
        self.labels = read_labels(folder / LABELS)
        colors_file = folder / COLORS
        self.colors = read_colors(colors_file) if colors_file.is_file() else []
        self.net = self._load(folder, detections)

    @staticmethod
    def _load(folder: Path, detections: int) -> cv2.dnn.Net:
        text = (folder / TEXT_GRAPH).read_text(encoding="utf-8", errors="replace")
        if "detection_out_final" not in text:
            raise BgblurError(f"{folder / TEXT_GRAPH} is not the Mask R-CNN text graph{MASK_RCNN_HINT}")
        with tempfile.TemporaryDirectory(prefix="bgblur-") as tmp:
            text_graph = Path(tmp) / TEXT_GRAPH
            text_graph.write_text(set_keep_top_k(text, detections), encoding="utf-8")
            net = read_net(folder / GRAPH, text_graph, hint=MASK_RCNN_HINT)
        return net

    def forward(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw network outputs for ``image``: boxes (1, 1, N, 7) and masks (N, 90, 15, 15)."""
        small = imutils.resize(image, width=self.input_width) if image.shape[1] > self.input_width else image
        self.net.setInput(cv2.dnn.blobFromImage(small, swapRB=True, crop=False))
        try:
            boxes, masks = self.net.forward(["detection_out_final", "detection_masks"])
        except cv2.error as exc:
            raise BgblurError(
                f"Mask R-CNN failed to run: the weights do not match the text graph in {self.folder} ({exc.err})"
                f"{MASK_RCNN_HINT}"
            ) from None
        return boxes, masks

    def detections_from(self, boxes: np.ndarray, masks: np.ndarray, size: tuple[int, int]) -> list[Detection]:
        """Detections above the confidence, best first, with boxes scaled to ``size`` (w, h) and clipped to it."""
        width, height = size
        found = []
        for row, mask_set in zip(boxes[0, 0], masks, strict=False):
            score = float(row[2])
            class_id = int(row[1])
            if score < self.confidence or not 0 <= class_id < mask_set.shape[0]:
                continue
            x0, x1 = (np.clip(row[[3, 5]], -1.0, 2.0) * width).round().astype(int)
            y0, y1 = (np.clip(row[[4, 6]], -1.0, 2.0) * height).round().astype(int)
            if x1 - x0 < 1 or y1 - y0 < 1:
                continue
            label = self.labels[class_id] if class_id < len(self.labels) else str(class_id)
            found.append(Detection(class_id, label, score, (int(x0), int(y0), int(x1), int(y1)), mask_set[class_id]))
        found.sort(key=lambda d: d.score, reverse=True)
        return found

    def detect(self, image: np.ndarray) -> list[Detection]:
        boxes, masks = self.forward(image)
        return self.detections_from(boxes, masks, (image.shape[1], image.shape[0]))

    def matte_from(self, detections: list[Detection], size: tuple[int, int]) -> np.ndarray:
        """Person probability map: the top person (or every person) mask placed in its box, zero elsewhere."""
        width, height = size
        matte = np.zeros((height, width), np.float32)
        people = [d for d in detections if d.class_id == PERSON_CLASS]
        if self.people == "main":
            people = people[:1]
        for person in people:
            paste_mask(matte, person.mask, person.box)
        return matte

    def segment(self, image: np.ndarray) -> np.ndarray:
        return self.find(image).probability

    def find(self, image: np.ndarray) -> Segmentation:
        """The person matte and every detection (all classes) behind it."""
        detections = self.detect(image)
        return Segmentation(self.matte_from(detections, (image.shape[1], image.shape[0])), tuple(detections))


def paste_mask(matte: np.ndarray, mask: np.ndarray, box: tuple[int, int, int, int]) -> None:
    """Upsample ``mask`` (bilinear, not blocky nearest) to the full box and max it into the part inside ``matte``."""
    x0, y0, x1, y1 = box
    height, width = matte.shape
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if cx1 <= cx0 or cy1 <= cy0:
        return
    resized = cv2.resize(mask.astype(np.float32, copy=False), (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    region = matte[cy0:cy1, cx0:cx1]
    np.maximum(region, resized[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0], out=region)
