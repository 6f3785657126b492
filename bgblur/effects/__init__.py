"""Effects: what the room becomes. Every effect is called as ``effect(image, alpha, detections) -> picture`` with
the BGR frame, its 8-bit matte (255 = person) and the model's detections on it (the frame's
:class:`~bgblur.frames.Matte` carries both; only ``--visualize`` draws the detections) and returns a new picture
of the same size.

- :mod:`~bgblur.effects.blur`: the room blurred, no halo (the privacy effect);
- :mod:`~bgblur.effects.replace` and :mod:`~bgblur.effects.backgrounds`: another background, with light wrap;
- :mod:`~bgblur.effects.switch`: the one the keys choose; :mod:`~bgblur.effects.visualize`: ``--visualize``.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Effect(Protocol):
    def __call__(self, image: np.ndarray, alpha: np.ndarray, detections: tuple = ()) -> np.ndarray: ...

    def close(self) -> None:
        """Release what the effect holds (a background video's decoder)."""


__all__ = ["Effect"]
