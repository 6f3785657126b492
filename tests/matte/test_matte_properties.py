"""Properties of the matte step over random frame shapes, probability dtypes and values (hypothesis). Only public
behaviour is checked, so the matte step's internals may change freely."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from strategies import SETTINGS, frames, mattes, sizes

from bgblur.matte import MatteMaker


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
