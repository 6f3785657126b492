"""The effect the user picks with the keys: :class:`EffectSwitch`."""

from __future__ import annotations

import numpy as np

from bgblur.effects.blur import BlurBackground
from bgblur.effects.replace import ReplaceBackground
from bgblur.frames import Controls


class EffectSwitch:
    """The effect the keys choose: choice 0 is the blur (its kernel follows ``[``/``]``), choice ``i`` ≥ 1 the
    ``i``-th replaced background. Reads the live :class:`~bgblur.frames.Controls` on every frame."""

    def __init__(self, controls: Controls, blur: BlurBackground, replacements: list[ReplaceBackground]) -> None:
        self.controls = controls
        self.blur = blur
        self.replacements = replacements
        controls.choices = 1 + len(replacements)

    @property
    def current(self) -> BlurBackground | ReplaceBackground:
        choice = self.controls.choice % self.controls.choices
        return self.blur if choice == 0 else self.replacements[choice - 1]

    def __call__(self, frame: np.ndarray, alpha: np.ndarray, detections: tuple = ()) -> np.ndarray:
        self.blur.kernel = self.controls.kernel
        return self.current(frame, alpha)

    def close(self) -> None:
        """Release the backgrounds (a video background's decoder)."""
        for replacement in self.replacements:
            replacement.close()
