"""Segmenters: one interface, ``segment(image) -> float32 matte in 0..1, same height and width as the image``.

Two families: :class:`~bgblur.segmenters.single_pass.SinglePassSegmenter` runs any one-pass model described by a
JSON model card (the bundled MediaPipe selfie models are two such cards), and
:class:`~bgblur.segmenters.maskrcnn.MaskRCNNSegmenter` runs the instance-segmentation Mask R-CNN.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from bgblur.errors import BgblurError, UsageError

DATA_DIR = Path(__file__).resolve().parents[1] / "data"

# Bundled single-pass models, by name. The default needs no download.
BUILTIN_MODELS = {
    "selfie": DATA_DIR / "selfie_segmentation.tflite",
    "selfie-landscape": DATA_DIR / "selfie_segmentation_landscape.tflite",
}
DEFAULT_MODEL = "selfie"


class Segmenter(Protocol):
    """Finds the person: person probability over the whole image, 1.0 = person, 0.0 = background.

    ``segment`` returns a float32 map covering the image at any resolution (a single-pass model gives its own
    output size); the matte step scales it to the frame."""

    name: str
    default_threshold: float  # where the matte's soft ramp is centred unless --threshold says otherwise

    def segment(self, image: np.ndarray) -> np.ndarray: ...


def create_segmenter(
    model: str | None = None,
    mask_rcnn: str | Path | None = None,
    *,
    confidence: float = 0.5,
    people: str = "main",
    detections: int = 20,
    input_width: int = 600,
) -> Segmenter:
    """Build the segmenter the options ask for: Mask R-CNN from a folder, or a named/bundled/card model."""
    if mask_rcnn is not None and model is not None:
        raise UsageError("--model and --mask-rcnn exclude each other: pick one")
    if mask_rcnn is not None:
        from bgblur.segmenters.maskrcnn import MaskRCNNSegmenter

        return MaskRCNNSegmenter(
            Path(mask_rcnn),
            confidence=confidence,
            people=people,
            detections=detections,
            input_width=input_width,
        )
    from bgblur.segmenters.single_pass import SinglePassSegmenter

    name = model or DEFAULT_MODEL
    path = BUILTIN_MODELS.get(name)
    if path is None:
        path = Path(name)
        if not path.suffix:
            known = ", ".join(BUILTIN_MODELS)
            raise UsageError(f"unknown model {name!r}: use one of {known}, or a model file with a .json card beside it")
    return SinglePassSegmenter(path)


class FailClosedSegmenter:
    """Wraps a segmenter so a model failure never shows the room: a frame the model fails on counts as having
    nobody in it, so privacy mode blurs it whole. The first failure is reported at once; ``failures`` counts
    them so the run can end with an error. A :class:`BgblurError` (a setup the user must fix) still stops the
    run. Everything else (``default_threshold``, ``detect``, …) is the wrapped segmenter's.
    """

    def __init__(self, segmenter: Segmenter) -> None:
        self.segmenter = segmenter
        self.failures = 0
        self.calls = 0

    def __getattr__(self, name: str):
        return getattr(self.segmenter, name)

    def segment(self, image: np.ndarray) -> np.ndarray:
        self.calls += 1
        try:
            return self.segmenter.segment(image)
        except BgblurError:  # a model that does not fit its files or card: the user must fix it, stop now
            raise
        except Exception as exc:  # any other failure: fail closed, keep the run (and the call) going
            self.failures += 1
            if self.failures == 1:
                from bgblur.errors import warn

                warn(f"the model failed on a frame ({type(exc).__name__}: {exc}); such frames are blurred whole")
            return np.zeros(image.shape[:2], np.float32)
