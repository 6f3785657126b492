"""The segmenter protocol: what every person model gives the matte step."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Segmenter(Protocol):
    """Finds the person: person probability over the whole image, 1.0 = person, 0.0 = background.

    ``segment`` returns a float32 map in 0..1 covering the image at any resolution (a single-pass model gives its
    own output size); the matte step scales it to the frame."""

    name: str
    default_threshold: float  # where the matte's soft ramp is centred unless --threshold says otherwise

    def segment(self, image: np.ndarray) -> np.ndarray: ...
