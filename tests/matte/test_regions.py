"""The matte's regions: labels, areas and boxes as OpenCV's own statistics give them (they are counted without
them, which cost a fixed ~0.3 ms a call)."""

from __future__ import annotations

import cv2
import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from strategies import SETTINGS

from bgblur.matte.regions import keep_regions, region_boxes


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), blur=st.floats(0.5, 4), level=st.floats(0.3, 0.7))
def test_region_boxes_and_kept_areas_are_opencvs_statistics(seed: int, blur: float, level: float) -> None:
    rng = np.random.default_rng(seed)
    mask = cv2.GaussianBlur(rng.random((60, 90)).astype(np.float32), (0, 0), blur) > level
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    scale = (0.5, 0.25)
    expected = [
        (x / scale[0], y / scale[1], (x + w) / scale[0], (y + h) / scale[1])
        for x, y, w, h, area in sorted(stats[1:count].tolist(), key=lambda row: -row[4])
        if area >= 0.01 * mask.size
    ]
    assert region_boxes(mask, 0.01, scale) == expected
    keep = keep_regions(mask, "all", 0.01)
    big = np.concatenate([[False], stats[1:, cv2.CC_STAT_AREA] >= 0.01 * mask.size])
    if keep is None:
        assert big[1:].all() and count <= 2
    else:
        assert (keep == big[labels]).all()
