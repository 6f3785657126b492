"""The segmenter protocol: what every person model gives the matte step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np


@dataclass(frozen=True)
class Segmentation:
    """What a model found on one image: the person probability (as ``segment`` gives it) and the model's own
    detections of every class (Mask R-CNN's, drawn by ``--visualize``; empty for a one-pass model)."""

    probability: np.ndarray
    detections: tuple = ()


class Segmenter(Protocol):
    """Finds the person: person probability over the whole image, 1.0 = person, 0.0 = background.

    ``segment`` returns a float32 map in 0..1 covering the image at any resolution (a single-pass model gives its
    own output size); the matte step scales it to the frame. ``find`` is the same with the model's detections
    beside it: the run calls it, so what the model saw travels with the frame. A class that names ``Segmenter``
    as its base gets this ``find`` (no detections); a detecting model gives its own."""

    name: str
    default_threshold: float  # where the matte's soft ramp is centred unless --threshold says otherwise

    def segment(self, image: np.ndarray) -> np.ndarray: ...

    def find(self, image: np.ndarray) -> Segmentation:
        return Segmentation(self.segment(image))


def mirror_averaged(segmenter: Segmenter, image: np.ndarray) -> np.ndarray:
    """``segmenter``'s answer on ``image`` averaged with its answer on the mirror image (flipped back): one more
    pass for a second opinion where the model is unsure. The selfie model is not mirror-symmetric (a picture and
    its mirror can differ by more than 0.1 at a pixel); pictures take this on the looks that decide (the whole
    view and the crops: :mod:`bgblur.segmenters.tiled`, :mod:`bgblur.segmenters.crops`)."""
    mirrored = cv2.flip(segmenter.segment(cv2.flip(image, 1)), 1)
    return cv2.addWeighted(segmenter.segment(image), 0.5, mirrored, 0.5, 0.0)
