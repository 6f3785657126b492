"""The matte step at a real frame size (1280x720, the talking-head clip, the real selfie model) against its
definition computed in float64 at full size: ramp(upsampled a x grey + upsampled b), a and b the guided filter's
coefficients at the 320-px working size. Pins what any faster way of applying them may change."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from util import talking_head_720p

from bgblur.imaging import flush_denormals, shrink
from bgblur.matte import MatteMaker
from bgblur.matte.refine import guided_coefficients
from bgblur.segmenters import create_segmenter


@pytest.fixture(scope="module")
def frame_and_probability(testdata: Path) -> tuple[np.ndarray, np.ndarray]:
    image = talking_head_720p(testdata)
    return image, create_segmenter("selfie").segment(image)


def _definition(maker: MatteMaker, image: np.ndarray, probability: np.ndarray) -> np.ndarray:
    """What the matte step computes, in float64 at full size (0..255, unrounded)."""
    height, width = image.shape[:2]
    work = (320, 180)
    small = cv2.resize(probability, work, interpolation=cv2.INTER_LINEAR)
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    guide = shrink(grey, work).astype(np.float32) / 255
    a, b = guided_coefficients(guide, small, maker.radius, maker.eps)
    up = [cv2.resize(x, (width, height), interpolation=cv2.INTER_LINEAR).astype(np.float64) for x in (a, b)]
    filtered = up[0] * grey / 255 + up[1]
    return np.clip((filtered - maker.threshold) / maker.softness + 0.5, 0, 1) * 255


def test_the_720p_matte_is_its_full_size_definition_within_a_stated_tolerance(frame_and_probability) -> None:
    image, probability = frame_and_probability
    maker = MatteMaker(0.5, temporal=False)
    alpha = maker(probability, image)
    assert alpha.shape == (720, 1280) and alpha.dtype == np.uint8
    expected = _definition(maker, image, probability)
    difference = np.abs(alpha - expected)
    # Tolerance (8-bit levels), for applying the coefficients to the half frame and upsampling the 8-bit matte
    # (measured: mean 0.21, 99th percentile 3.7, 99.9th 50 — fine detail such as hair, an edge moved by about a
    # pixel —, the pixels called person (>127) the same but for 0.05 %; applied at full size: 0.003, 0.07, 0.46):
    assert difference.mean() < 0.5
    assert np.quantile(difference, 0.99) < 8 and np.quantile(difference, 0.999) < 64
    assert ((alpha > 127) != (expected > 127)).mean() < 0.001
    assert 0.1 < (alpha > 127).mean() < 0.6  # a person, not an empty or full matte


def test_without_refinement_the_720p_matte_is_the_upsampled_ramp(frame_and_probability) -> None:
    image, probability = frame_and_probability
    maker = MatteMaker(0.5, temporal=False, refine=False)
    alpha = maker(probability, image)
    small = cv2.resize(probability, (320, 180), interpolation=cv2.INTER_LINEAR)
    up = cv2.resize(small, (1280, 720), interpolation=cv2.INTER_LINEAR).astype(np.float64)
    expected = np.clip((up - 0.5) / maker.softness + 0.5, 0, 1) * 255
    difference = np.abs(alpha - expected)
    assert difference.mean() < 0.5 and np.quantile(difference, 0.999) < 8  # measured 0.002, 0.44
    assert ((alpha > 127) != (expected > 127)).mean() < 0.001


def test_flushing_denormals_zeroes_them_and_moves_nothing_else_by_more_than_6e_8() -> None:
    rng = np.random.default_rng(2)
    values = np.concatenate([rng.random(1000, dtype=np.float32), -30 * rng.random(1000, dtype=np.float32)])
    values[:10] = 1e-40  # what decaying averages reach
    values[10:20] = -1e-39
    before = values.copy()
    flushed = flush_denormals(values)
    assert flushed is values and (flushed[:20] == 0).all()
    assert np.abs(flushed[20:1000] - before[20:1000]).max() < 6e-8  # 0..1: far below an 8-bit level
    assert np.abs(flushed[1000:] - before[1000:]).max() < 4e-6  # -30..0 (coefficients): a rounding of 1e-7
    tiny = np.abs(flushed) < np.finfo(np.float32).tiny
    assert (flushed[tiny] == 0).all()  # no denormal left anywhere
