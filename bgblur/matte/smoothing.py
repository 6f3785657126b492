"""Steadying the matte over time where the picture is still: :class:`TemporalSmoother`."""

from __future__ import annotations

import cv2
import numpy as np

from bgblur.imaging import flush_denormals


class TemporalSmoother:
    """Per-pixel exponential moving average of the matte whose weight says how much to trust the new frame.

    The weight rises to 1 (follow at once) where the picture itself changed by ``motion`` or more (grey level,
    0..1) — real motion — or where the matte jumped by ``follow`` or more; elsewhere the new value is blended
    in with weight ``floor``, which damps the model's frame-to-frame wavering on a still scene. Drops towards
    background get ``drop_boost`` times the weight, so when in doubt the matte errs towards blurring.
    """

    def __init__(self, floor: float = 0.15, motion: float = 0.12, follow: float = 0.6, drop_boost: float = 2.0) -> None:
        self.floor = np.float32(floor)
        self.inv_motion = np.float32(1.0 / motion)
        self.inv_follow = np.float32(1.0 / follow)
        self.drop_boost = np.float32(drop_boost)
        self._state: np.ndarray | None = None
        self._guide: np.ndarray | None = None
        self._weight: np.ndarray | None = None
        self._extra: dict[str, np.ndarray] = {}

    def __call__(self, value: np.ndarray, guide: np.ndarray | None = None) -> np.ndarray:
        """The smoothed matte for this frame; ``guide`` is the frame's grey picture (float 0..1, same size)."""
        state = self._state
        if state is None or state.shape != value.shape:
            self._state = value.copy()
            self._guide = None if guide is None else guide.copy()
            self._weight = None
            return value
        delta = value - state
        weight = np.abs(delta) * self.inv_follow
        if guide is not None and self._guide is not None and self._guide.shape == guide.shape:
            # A 5x5 mean of the picture's change: one noisy pixel is not motion, a moving edge is.
            change = cv2.blur(cv2.absdiff(guide, self._guide), (5, 5)) * self.inv_motion
            np.maximum(weight, change, out=weight)
        if guide is not None:
            self._guide = guide.copy()
        weight[delta < 0] *= self.drop_boost
        np.clip(weight, self.floor, 1.0, out=weight)
        self._weight = weight
        state += weight * delta
        return flush_denormals(state).copy()

    def follow(self, key: str, value: np.ndarray) -> np.ndarray:
        """Smooth another per-pixel map of this frame (e.g. guided-filter coefficients) with the same weights."""
        previous = self._extra.get(key)
        if previous is None or previous.shape != value.shape or self._weight is None:
            self._extra[key] = value.copy()
            return value
        previous += self._weight * (value - previous)
        return flush_denormals(previous).copy()

    def reset(self) -> None:
        """Forget the previous frame."""
        self._state = None
        self._guide = None
        self._weight = None
        self._extra.clear()
