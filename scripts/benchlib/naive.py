"""The tutorials' naive per-frame loops, re-implemented for scripts/bench.py: per frame, the model's forward pass,
a hard mask at full size, a full-size GaussianBlur 41 of the whole frame, and an ``np.where`` paste."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import cv2
import imutils
import numpy as np

from bgblur.models import BUILTIN_MODELS
from bgblur.run import StageTimes
from bgblur.segmenters.dnn import read_net
from bgblur.segmenters.maskrcnn import GRAPH, TEXT_GRAPH, set_keep_top_k

NAIVE_KERNEL = 41
NAIVE_WIDTH = 600  # the Mask R-CNN tutorial's frame width


class NaiveSelfie:
    """Tutorial 4's loop body: forward at the model's size, hard 0.5 mask at full size."""

    def __init__(self, model: str) -> None:
        self.net = read_net(BUILTIN_MODELS[model])
        self.size = (256, 144) if model == "selfie-landscape" else (256, 256)

    def mask(self, frame: np.ndarray, times: StageTimes) -> np.ndarray:
        start = time.perf_counter()
        self.net.setInput(cv2.dnn.blobFromImage(frame, 1 / 255, self.size, swapRB=True))
        out = self.net.forward()
        times.add("inference", time.perf_counter() - start)
        times.count("inference calls")
        start = time.perf_counter()
        mask = cv2.resize(out[0, 0], (frame.shape[1], frame.shape[0])) > 0.5
        times.add("matte", time.perf_counter() - start)
        return mask


class NaiveMaskRCNN:
    """Tutorial 1's loop body: the graph as shipped (100 detections), the frame at 600 px wide, the top person's
    15x15 mask resized into its box and thresholded at 0.3."""

    def __init__(self, folder: Path) -> None:
        text = (folder / TEXT_GRAPH).read_text(encoding="utf-8")
        with tempfile.TemporaryDirectory() as tmp:  # the unmodified graph: keep_top_k 100
            graph = Path(tmp) / TEXT_GRAPH
            graph.write_text(set_keep_top_k(text, 100), encoding="utf-8")
            self.net = read_net(folder / GRAPH, graph)

    def mask(self, frame: np.ndarray, times: StageTimes) -> np.ndarray:
        start = time.perf_counter()
        small = imutils.resize(frame, width=NAIVE_WIDTH)
        self.net.setInput(cv2.dnn.blobFromImage(small, swapRB=True, crop=False))
        boxes, masks = self.net.forward(["detection_out_final", "detection_masks"])
        times.add("inference", time.perf_counter() - start)
        times.count("inference calls")
        start = time.perf_counter()
        h, w = frame.shape[:2]
        mask = np.zeros((h, w), bool)
        for i in np.argsort(-boxes[0, 0, :, 2]):
            class_id, score = int(boxes[0, 0, i, 1]), boxes[0, 0, i, 2]
            if class_id != 0 or score < 0.5:
                continue
            x0, y0, x1, y1 = (boxes[0, 0, i, 3:7] * [w, h, w, h]).astype(int)
            x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
            if x1 > x0 and y1 > y0:
                mask[y0:y1, x0:x1] = cv2.resize(masks[i, class_id], (x1 - x0, y1 - y0)) > 0.3
            break
        times.add("matte", time.perf_counter() - start)
        return mask


def naive_segmenter(model: str, mrcnn: Path):
    return NaiveMaskRCNN(mrcnn) if model == "mask-rcnn" else NaiveSelfie(model)


def naive_frame(naive, frame: np.ndarray, times: StageTimes) -> np.ndarray:
    """One frame the tutorials' way: hard mask, whole frame blurred at full size, pasted with np.where."""
    mask = naive.mask(frame, times)
    start = time.perf_counter()
    blurred = cv2.GaussianBlur(frame, (NAIVE_KERNEL, NAIVE_KERNEL), 0)
    result = np.where(mask[..., None], frame, blurred)
    times.add("composite", time.perf_counter() - start)
    return result
