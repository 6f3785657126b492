"""Hypothesis strategies shared by the property tests: frame sizes, frames, mattes, kernels."""

from __future__ import annotations

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

SETTINGS = settings(max_examples=60, deadline=None)
sizes = st.tuples(st.integers(1, 72), st.integers(1, 96))  # (height, width), down to a single pixel
kernels = st.integers(0, 50).map(lambda k: 2 * k + 1)  # the CLI's odd kernels, 1..101
levels = st.integers(0, 255)


@st.composite
def frames(draw: st.DrawFn, size: tuple[int, int] | None = None) -> np.ndarray:
    """A BGR uint8 frame: flat, noisy, or a mix of both (flat areas catch rounding, noise catches range bugs)."""
    h, w = size or draw(sizes)
    kind = draw(st.sampled_from(["flat", "noise", "arrays"]))
    if kind == "flat":
        return np.full((h, w, 3), draw(st.tuples(levels, levels, levels)), np.uint8)
    if kind == "noise":
        return np.random.default_rng(draw(st.integers(0, 2**32 - 1))).integers(0, 256, (h, w, 3), dtype=np.uint8)
    return draw(arrays(np.uint8, (h, w, 3)))


@st.composite
def mattes(draw: st.DrawFn, size: tuple[int, int], dtype: type = np.float32) -> np.ndarray:
    """A matte in 0..1: constant, random, or with the exact end values 0 and 1 mixed in."""
    h, w = size
    kind = draw(st.sampled_from(["zeros", "ones", "random", "binary", "arrays"]))
    if kind == "zeros":
        return np.zeros((h, w), dtype)
    if kind == "ones":
        return np.ones((h, w), dtype)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "random":
        return rng.random((h, w)).astype(dtype)
    if kind == "binary":
        return (rng.random((h, w)) > 0.5).astype(dtype)
    return draw(arrays(dtype, (h, w), elements=st.floats(0, 1, width=32)))
