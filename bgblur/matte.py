"""From the model's person probability to the alpha matte used for compositing (1.0 = person).

A soft ramp around the threshold instead of a hard cut, so edges stay smooth and an unsure pixel is
partly blurred rather than shown sharp.
"""

from __future__ import annotations

import numpy as np


class MatteMaker:
    """Turns per-pixel person probability into an alpha matte: a linear ramp ``softness`` wide centred on
    ``threshold`` (below the ramp: background, above: person)."""

    def __init__(self, threshold: float, softness: float = 0.2) -> None:
        self.threshold = threshold
        self.softness = max(softness, 1e-3)
        # alpha = clip(p * gain + offset, 0, 1), done in place on the probability map.
        self._gain = 1.0 / self.softness
        self._offset = 0.5 - threshold / self.softness

    def __call__(self, probability: np.ndarray, image: np.ndarray | None = None) -> np.ndarray:
        # float32 whatever comes in: compositing (cv2.blendLinear) takes float32 weights only.
        alpha = np.multiply(probability, np.float32(self._gain), dtype=np.float32)
        alpha += np.float32(self._offset)
        return np.clip(alpha, 0.0, 1.0, out=alpha)

    def reset(self) -> None:
        """Forget anything carried between frames (a new scene or source)."""
