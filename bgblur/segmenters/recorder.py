"""Keeping Mask R-CNN's detections of every class for ``--visualize``: :class:`DetectionRecorder`."""

from __future__ import annotations

import threading
import weakref
from collections import deque

import numpy as np

from bgblur.segmenters.maskrcnn import Detection, MaskRCNNSegmenter


class DetectionRecorder:
    """Wraps a Mask R-CNN segmenter so every frame's detections (all classes) are kept for ``--visualize``;
    the matte it returns is the segmenter's own."""

    KEEP = 16  # detections kept for frames not drawn yet (a file is segmented a few frames ahead)

    def __init__(self, segmenter: MaskRCNNSegmenter) -> None:
        self.segmenter = segmenter
        self.name = segmenter.name
        self.default_threshold = segmenter.default_threshold
        self.colours = segmenter.colors
        self.detections: list[Detection] = []  # the newest
        # The last few pictures (weakly: a freed picture is no match) with the detections made on them.
        self._recent: deque[tuple[weakref.ref, list[Detection]]] = deque(maxlen=self.KEEP)
        self._lock = threading.Lock()  # segment() may run in the decoder thread, detections_for() in the main one

    def segment(self, image: np.ndarray) -> np.ndarray:
        detections = self.segmenter.detect(image)
        with self._lock:
            self.detections = detections
            self._recent.append((weakref.ref(image), detections))
        return self.segmenter.matte_from(detections, (image.shape[1], image.shape[0]))

    def detections_for(self, image: np.ndarray) -> list[Detection]:
        """The detections made on ``image`` itself; for a live frame the model did not see, the newest ones."""
        with self._lock:
            for picture, detections in self._recent:
                if picture() is image:
                    return detections
            return self.detections
