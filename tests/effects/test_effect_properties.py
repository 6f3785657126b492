"""Properties of the compositing and blur functions over random frame shapes, kernels and matte values
(hypothesis). Only public behaviour is checked, so the effects' internals may change freely."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from strategies import SETTINGS, frames, kernels, mattes, sizes

from bgblur.effects.blur import BlurBackground, blur, halo_free_blur
from bgblur.effects.compose import composite


@st.composite
def frame_and_matte(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """A frame and an 8-bit matte (255 = person) of its size: the 0..1 mattes, rounded as the matte maker does."""
    size = draw(sizes)
    return draw(frames(size)), (draw(mattes(size)) * 255 + 0.5).astype(np.uint8)


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
    ones, zeros = np.full_like(alpha, 255), np.zeros_like(alpha)
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
    person = effect(frame, np.full(frame.shape[:2], 255, np.uint8))
    assert np.abs(person.astype(int) - frame).max() <= 1
    room = effect(frame, np.zeros(frame.shape[:2], np.uint8))
    assert np.abs(room.astype(int) - blur(frame, kernel)).max() <= 2
