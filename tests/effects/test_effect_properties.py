"""Properties of the matte and compositing functions over random frame shapes, dtypes, kernels and matte values
(hypothesis). Only public behaviour is checked, so the effects' internals may change freely."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bgblur.effects import BlurBackground, blur, composite, halo_free_blur
from bgblur.matte import MatteMaker

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


@st.composite
def frame_and_matte(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    size = draw(sizes)
    return draw(frames(size)), draw(mattes(size))


@SETTINGS
@given(data=st.data(), threshold=st.floats(0.05, 0.95), dtype=st.sampled_from([np.float32, np.float64]))
def test_matte_maker_shape_dtype_range(data: st.DataObject, threshold: float, dtype: type) -> None:
    size = data.draw(sizes)
    probability = data.draw(mattes(size, dtype))
    frame = data.draw(frames(size))
    alpha = MatteMaker(threshold)(probability, frame)
    assert alpha.shape == size
    assert alpha.dtype == np.uint8  # 8-bit weights, 255 = person: the range is the type's


@SETTINGS
@given(size=sizes, data=st.data(), threshold=st.floats(0.15, 0.85))
def test_matte_maker_sure_answers_stay_sure(size: tuple[int, int], data: st.DataObject, threshold: float) -> None:
    """Certain background stays background (0) and a certain person stays person (255)."""
    frame = data.draw(frames(size))
    assert (MatteMaker(threshold)(np.zeros(size, np.float32), frame) == 0).all()
    assert (MatteMaker(threshold)(np.ones(size, np.float32), frame) == 255).all()


@SETTINGS
@given(data=st.data())
def test_composite_is_a_blend_of_its_two_pictures(data: st.DataObject) -> None:
    frame, alpha = data.draw(frame_and_matte())
    background = data.draw(frames(frame.shape[:2]))
    out = composite(frame, background, alpha)
    assert out.shape == frame.shape and out.dtype == np.uint8
    low = np.minimum(frame, background).astype(int)
    high = np.maximum(frame, background).astype(int)
    assert (out >= low - 1).all() and (out <= high + 1).all()  # between the two, up to rounding
    ones, zeros = np.ones_like(alpha), np.zeros_like(alpha)
    assert np.abs(composite(frame, background, ones).astype(int) - frame).max() <= 1
    assert np.abs(composite(frame, background, zeros).astype(int) - background).max() <= 1


@SETTINGS
@given(frame=frames(), kernel=kernels)
def test_blur_keeps_shape_dtype_and_range(frame: np.ndarray, kernel: int) -> None:
    out = blur(frame, kernel)
    assert out.shape == frame.shape and out.dtype == np.uint8
    lo, hi = frame.reshape(-1, 3).min(axis=0).astype(int), frame.reshape(-1, 3).max(axis=0).astype(int)
    assert (out >= lo - 1).all() and (out <= hi + 1).all()  # a blur averages: no new extremes per channel


@SETTINGS
@given(data=st.data(), kernel=kernels)
def test_halo_free_blur_keeps_shape_dtype_and_range(data: st.DataObject, kernel: int) -> None:
    frame, alpha = data.draw(frame_and_matte())
    out = halo_free_blur(frame, alpha, kernel)
    assert out.shape == frame.shape and out.dtype == np.uint8
    lo, hi = frame.reshape(-1, 3).min(axis=0).astype(int), frame.reshape(-1, 3).max(axis=0).astype(int)
    # The room is averaged from 8-bit colour x weight products, each rounded by up to half a level; divided by
    # the room's weight (at least 16 of 255 before the plain-blur fallback) that is at most 8 levels.
    assert (out >= lo - 8).all() and (out <= hi + 8).all()


@SETTINGS
@given(data=st.data(), kernel=kernels)
def test_blur_background_end_values(data: st.DataObject, kernel: int) -> None:
    """alpha 1 gives the frame back untouched; alpha 0 gives the blurred frame; any matte stays in range."""
    frame, alpha = data.draw(frame_and_matte())
    effect = BlurBackground(kernel)
    out = effect(frame, alpha)
    assert out.shape == frame.shape and out.dtype == np.uint8
    lo, hi = frame.reshape(-1, 3).min(axis=0).astype(int), frame.reshape(-1, 3).max(axis=0).astype(int)
    # The room's 8-level bound (above) enters where the matte leaves it weight (alpha < 0.5 there: ≤ 4 levels),
    # plus the 8-bit blend's rounding: 6 levels of slack, still no new colours.
    assert (out >= lo - 6).all() and (out <= hi + 6).all()
    person = effect(frame, np.ones(frame.shape[:2], np.float32))
    assert np.abs(person.astype(int) - frame).max() <= 1
    room = effect(frame, np.zeros(frame.shape[:2], np.float32))
    assert np.abs(room.astype(int) - blur(frame, kernel)).max() <= 2
