"""The matte step on synthetic pictures: edge refinement, temporal smoothing, people selection."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from bgblur.matte import MatteMaker
from bgblur.matte.refine import guided_coefficients
from bgblur.matte.regions import keep_regions
from bgblur.matte.smoothing import TemporalSmoother

H, W = 240, 320


def _textured_figure(x0: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A bright square figure (with its true mask) on a dark, mildly textured background."""
    rng = np.random.default_rng(seed)
    image = rng.integers(20, 60, (H, W, 3), dtype=np.uint8)
    truth = np.zeros((H, W), np.uint8)
    truth[60:180, x0 : x0 + 100] = 1
    image[truth > 0] = rng.integers(190, 230, (int(truth.sum()), 3), dtype=np.uint8)
    return image, truth


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def _unit(alpha: np.ndarray) -> np.ndarray:
    """An 8-bit matte (255 = person) as 0..1."""
    assert alpha.dtype == np.uint8
    return alpha.astype(np.float32) / 255


def test_refinement_snaps_a_blurry_matte_to_the_real_edge() -> None:
    image, truth = _textured_figure(110)
    # What an upsampled low-resolution model gives: the right place, the edge smeared over ~20 px.
    coarse = cv2.GaussianBlur(truth.astype(np.float32), (0, 0), 6)
    blurry = _unit(MatteMaker(0.5, refine=False, temporal=False)(coarse.copy(), image))
    refined = _unit(MatteMaker(0.5, temporal=False)(coarse.copy(), image))
    edge_band = cv2.dilate(truth, np.ones((21, 21), np.uint8)) - cv2.erode(truth, np.ones((21, 21), np.uint8))
    err_blurry = np.abs(blurry - truth)[edge_band > 0].mean()
    err_refined = np.abs(refined - truth)[edge_band > 0].mean()
    assert err_refined < 0.25 * err_blurry, (err_blurry, err_refined)  # measured: 0.042 -> 0.0075
    assert _iou(refined > 0.5, truth > 0) > 0.99
    # The transition is at the real edge (x = 110) and sharp: below 0.1 at x <= 108, above 0.9 from x = 111.
    row = refined[120]
    assert row[100:109].max() < 0.1 and row[111:120].min() > 0.9


def test_refinement_halves_the_error_of_a_slightly_misplaced_matte() -> None:
    image, truth = _textured_figure(110)
    coarse = cv2.GaussianBlur(np.roll(truth, 3, axis=1).astype(np.float32), (0, 0), 4)  # 3 px off
    blurry = _unit(MatteMaker(0.5, refine=False, temporal=False)(coarse.copy(), image))
    refined = _unit(MatteMaker(0.5, temporal=False)(coarse.copy(), image))
    assert np.abs(refined - truth).mean() < 0.6 * np.abs(blurry - truth).mean()


def test_guided_filter_keeps_a_flat_region_flat() -> None:
    guide = np.full((50, 60), 0.5, np.float32)
    source = np.full((50, 60), 0.7, np.float32)
    a, b = guided_coefficients(guide, source, 4, 1e-3)
    np.testing.assert_allclose(a * guide + b, 0.7, atol=1e-4)


def _noisy_sequence(frames: int, seed: int = 1) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """A still figure whose model probability wavers at the edge from frame to frame (static picture)."""
    image, truth = _textured_figure(110)
    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(truth.astype(np.float32), (0, 0), 3)
    probs = []
    for _ in range(frames):
        # Low-frequency wobble, like a model's edge moving back and forth by a couple of pixels.
        wobble = cv2.resize(rng.normal(0, 0.15, (8, 10)).astype(np.float32), (W, H), interpolation=cv2.INTER_CUBIC)
        probs.append(np.clip(base + wobble, 0, 1).astype(np.float32))
    return [image] * frames, probs, truth


def _flicker(mattes: list[np.ndarray]) -> float:
    return float(np.mean([np.abs(a - b).mean() for a, b in zip(mattes[1:], mattes[:-1], strict=False)]))


@pytest.mark.parametrize("refine", [False, True])
def test_temporal_smoothing_at_least_halves_flicker_on_a_still_noisy_sequence(refine: bool) -> None:
    images, probs, _ = _noisy_sequence(40)
    plain = MatteMaker(0.5, refine=refine, temporal=False)
    smooth = MatteMaker(0.5, refine=refine)
    raw = [_unit(plain(p.copy(), im)) for p, im in zip(probs, images, strict=True)]
    steady = [_unit(smooth(p.copy(), im)) for p, im in zip(probs, images, strict=True)]
    assert _flicker(steady) < 0.5 * _flicker(raw), (_flicker(raw), _flicker(steady))


def test_temporal_smoothing_follows_a_moving_square_without_lag() -> None:
    maker = MatteMaker(0.5)
    worst = 1.0
    previous = np.zeros((H, W), np.uint8)
    for step in range(12):
        image, truth = _textured_figure(40 + 15 * step, seed=step)  # 15 px per frame
        prob = cv2.GaussianBlur(truth.astype(np.float32), (0, 0), 2)
        alpha = _unit(maker(prob, image))
        worst = min(worst, _iou(alpha > 0.5, truth > 0))
        # Where the square was but no longer is, nothing stays sharp: the trail is blurred at once.
        if step:
            assert alpha[(previous > 0) & (truth == 0)].max() < 0.5
        previous = truth
    assert worst > 0.95


def test_smoother_follows_a_big_change_at_once_and_damps_a_small_one() -> None:
    smoother = TemporalSmoother()
    smoother(np.zeros((4, 4), np.float32))
    assert smoother(np.ones((4, 4), np.float32)).min() == pytest.approx(1.0)
    small = smoother(np.full((4, 4), 0.95, np.float32))
    assert 0.95 < small.min() < 1.0


def test_reset_forgets_the_previous_frame() -> None:
    maker = MatteMaker(0.5, refine=False)
    image, truth = _textured_figure(110)
    maker(truth.astype(np.float32), image)
    maker.reset()
    empty = maker(np.zeros((H, W), np.float32), image)
    assert empty.max() == 0


def test_people_main_keeps_the_largest_region_and_all_keeps_both() -> None:
    mask = np.zeros((100, 200), bool)
    mask[20:90, 10:80] = True  # the person at the camera
    mask[40:70, 140:160] = True  # someone behind
    mask[5:7, 190:192] = True  # a speck
    main = keep_regions(mask, "main", 0.005)
    every = keep_regions(mask, "all", 0.005)
    assert main[50, 40] and not main[50, 150] and not main[6, 191]
    assert every[50, 40] and every[50, 150] and not every[6, 191]
    prob = mask.astype(np.float32)
    alpha = MatteMaker(0.5, people="main", refine=False, temporal=False)(prob, None)
    assert alpha[50, 40] == 255 and alpha[55, 150] == 0


def test_bad_people_value_is_refused() -> None:
    with pytest.raises(ValueError, match="people"):
        MatteMaker(0.5, people="some")
