"""Carrying a matte along the motion (optical flow) from the frame the model saw to a later one."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from bgblur.matte.flow import MatteWarper


def moving_square(offset: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A textured square on a textured room (both smooth enough for flow), and its 8-bit matte, shifted by
    ``offset``."""
    rng = np.random.default_rng(7)
    h, w = 360, 640
    room = cv2.GaussianBlur(
        cv2.resize(rng.integers(0, 255, (9, 16, 3), dtype=np.uint8), (w, h), interpolation=cv2.INTER_CUBIC), (0, 0), 4
    )
    texture = cv2.GaussianBlur(
        cv2.resize(rng.integers(0, 255, (5, 5, 3), dtype=np.uint8), (120, 120), interpolation=cv2.INTER_CUBIC),
        (0, 0),
        3,
    )
    x, y = 260 + offset[0], 120 + offset[1]
    image = room.copy()
    image[y : y + 120, x : x + 120] = texture
    matte = np.zeros((h, w), np.uint8)
    matte[y : y + 120, x : x + 120] = 255
    return image, matte


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(((a > 127) & (b > 127)).sum() / ((a > 127) | (b > 127)).sum())


def centroid(matte: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(matte > 127)
    return np.array([xs.mean(), ys.mean()])


@pytest.mark.parametrize("shift", [(16, 0), (-12, 8), (0, -14)])
def test_matte_is_warped_onto_the_moved_square(shift: tuple[int, int]) -> None:
    before, matte_before = moving_square((0, 0))
    after, matte_after = moving_square(shift)
    warper = MatteWarper()
    warped = warper.warp(matte_before, before, after)
    backwards = warper.warp(matte_before, after, before)
    assert iou(warped, matte_after) > iou(matte_before, matte_after) + 0.05
    assert iou(warped, matte_after) > iou(backwards, matte_after) + 0.1
    moved = centroid(warped) - centroid(matte_before)
    assert np.dot(moved, shift) / np.dot(shift, shift) > 0.6, moved  # most of the way, in the right direction


def test_warp_keeps_a_still_matte_and_its_type() -> None:
    image, matte = moving_square((0, 0))
    warped = MatteWarper().warp(matte, image, image.copy())  # a copy: the flow is computed, not skipped
    assert warped.shape == matte.shape and warped.dtype == np.uint8
    assert iou(warped, matte) > 0.97
