"""A model failure never shows the room: :class:`FailClosedSegmenter`."""

from __future__ import annotations

import numpy as np

from bgblur.errors import BgblurError, warn
from bgblur.segmenters.base import Segmentation, Segmenter


class FailClosedSegmenter(Segmenter):
    """Wraps a segmenter so a model failure never shows the room: a frame the model fails on counts as having
    nobody in it, so privacy mode blurs it whole. The first failure is reported at once; ``failures`` counts
    them so the run can end with an error. A :class:`BgblurError` (a setup the user must fix) still stops the
    run.
    """

    def __init__(self, segmenter: Segmenter) -> None:
        self.segmenter = segmenter
        self.name = segmenter.name
        self.default_threshold = segmenter.default_threshold
        self.runtime: str | None = getattr(segmenter, "runtime", None)  # the model's runtime, for --stats
        self.failures = 0
        self.calls = 0

    def segment(self, image: np.ndarray) -> np.ndarray:
        return self.find(image).probability

    def find(self, image: np.ndarray) -> Segmentation:
        self.calls += 1
        try:
            return self.segmenter.find(image)
        except BgblurError:  # a model that does not fit its files or card: the user must fix it, stop now
            raise
        except Exception as exc:  # any other failure: fail closed, keep the run (and the call) going
            self.failures += 1
            if self.failures == 1:
                warn(f"the model failed on a frame ({type(exc).__name__}: {exc}); such frames are blurred whole")
            return Segmentation(np.zeros(image.shape[:2], np.float32))
