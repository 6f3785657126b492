"""Snapping a coarse matte to the picture's edges: the guided filter's coefficients."""

from __future__ import annotations

import cv2
import numpy as np

from bgblur.imaging import flush_denormals
from bgblur.matte.smoothing import TemporalSmoother


def guided_coefficients(
    guide: np.ndarray, source: np.ndarray, radius: int, eps: float, smoother: TemporalSmoother | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Guided filter (He et al.) of ``source`` by the grey ``guide`` (both float32 0..1, same size), box filters
    only: the per-pixel linear coefficients ``a, b`` with ``filtered = a * guide + b``.

    Applying them to a larger picture of the same scene (upsampled) is the "fast guided filter": the edges then
    come from the full-resolution frame.
    """
    size = (2 * radius + 1, 2 * radius + 1)

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, cv2.CV_32F, size, borderType=cv2.BORDER_REFLECT)

    mean_i = box(guide)
    mean_p = box(source)
    cov_ip = box(guide * source) - mean_i * mean_p
    var_i = box(guide * guide) - mean_i * mean_i
    a = cov_ip / (var_i + np.float32(eps))
    b = mean_p - a * mean_i
    mean_a, mean_b = box(a), box(b)
    if smoother is not None:
        # The coefficients amplify the guide's noise: steady them with the matte's own temporal weights.
        mean_a, mean_b = smoother.follow("a", mean_a), smoother.follow("b", mean_b)
    return flush_denormals(mean_a), flush_denormals(mean_b)
