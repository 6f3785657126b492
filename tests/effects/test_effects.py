"""The privacy effect: compositing accuracy, no halo around the person, scratch reuse that cannot leak."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from bgblur.effects.blur import BlurBackground, blur, halo_free_blur
from bgblur.effects.compose import composite

H, W = 360, 640


def dark_textured_room(seed: int = 0) -> np.ndarray:
    """A dark room with texture (grey levels ~20..60), so a blur has something to average."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 40, (H // 8, W // 8, 3), dtype=np.uint8)
    return cv2.resize(noise, (W, H), interpolation=cv2.INTER_NEAREST) + np.uint8(20)


def figure_mask() -> np.ndarray:
    """A person-like blob: head and body, 255 inside."""
    mask = np.zeros((H, W), np.uint8)
    cv2.ellipse(mask, (W // 2, 110), (45, 55), 0, 0, 360, 255, -1)
    cv2.rectangle(mask, (W // 2 - 90, 165), (W // 2 + 90, H), 255, -1)
    return mask


def to_u8(alpha: np.ndarray) -> np.ndarray:
    """A 0..1 float matte as the 8-bit matte the effects take (255 = person), rounded."""
    return (alpha * 255 + 0.5).astype(np.uint8)


def soft_matte(mask: np.ndarray) -> np.ndarray:
    """A matte with a soft edge straddling the figure's outline, as the matte maker produces (8-bit)."""
    return to_u8(cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), 2.0))


def ring_outside(mask: np.ndarray, alpha: np.ndarray, width: int) -> np.ndarray:
    """Pixels the matte calls pure room (alpha 0) within ``width`` px of the figure."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    near = cv2.dilate(mask, kernel) > 0
    return near & (alpha == 0)


def test_composite_matches_float_blend_within_one_level() -> None:
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    background = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    alpha8 = to_u8(rng.random((H, W), dtype=np.float32))
    alpha = alpha8.astype(np.float32) / 255  # the blend the 8-bit matte stands for
    reference = alpha[..., None] * frame + (1 - alpha[..., None]) * background
    result = composite(frame, background, alpha8)
    assert result.dtype == np.uint8 and result.shape == frame.shape
    assert np.abs(result.astype(np.float32) - reference).max() <= 1.5


def test_composite_takes_person_where_alpha_is_one_and_room_where_zero() -> None:
    frame = np.full((H, W, 3), 200, np.uint8)
    background = np.full((H, W, 3), 10, np.uint8)
    alpha = np.zeros((H, W), np.uint8)
    alpha[:, : W // 2] = 255
    result = composite(frame, background, alpha)
    assert (result[:, : W // 2] == 200).all()
    assert (result[:, W // 2 :] == 10).all()


@pytest.mark.parametrize("kernel", [41, 15, 101])
def test_bright_person_does_not_brighten_the_blurred_room(kernel: int) -> None:
    room = dark_textured_room()
    mask = figure_mask()
    alpha = soft_matte(mask)
    with_person = room.copy()
    with_person[mask > 0] = 250
    result = BlurBackground(kernel)(with_person, alpha).astype(np.float32)
    room_alone = BlurBackground(kernel)(room, alpha).astype(np.float32)
    ring = ring_outside(mask, alpha, 25)
    assert ring.sum() > 5000
    brightening = (result - room_alone)[ring]
    assert brightening.mean() <= 3.0, brightening.mean()
    assert np.percentile(brightening, 99) <= 3.0, np.percentile(brightening, 99)
    # The same against a plain blur of the room with no person in it at all.
    versus_plain = (result - blur(room, kernel).astype(np.float32))[ring]
    assert abs(versus_plain.mean()) <= 3.0, versus_plain.mean()


def test_the_halo_check_catches_a_naive_blur() -> None:
    """The same measure on the tutorial's way (blur the whole frame, person included) fails: the test has teeth."""
    room = dark_textured_room()
    mask = figure_mask()
    alpha = soft_matte(mask)
    with_person = room.copy()
    with_person[mask > 0] = 250
    naive = composite(with_person, blur(with_person, 41), alpha).astype(np.float32)
    room_alone = composite(room, blur(room, 41), alpha).astype(np.float32)
    ring = ring_outside(mask, alpha, 25)
    assert (naive - room_alone)[ring].mean() > 10


def test_person_stays_sharp_and_room_is_blurred() -> None:
    rng = np.random.default_rng(2)
    frame = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    mask = figure_mask()
    alpha = np.where(mask > 0, 255, 0).astype(np.uint8)
    result = BlurBackground(41)(frame, alpha)
    inside = mask > 0
    assert (result[inside] == frame[inside]).all()
    outside = cv2.erode((mask == 0).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    assert result[outside].std() < frame[outside].std() / 4


def test_nobody_found_blurs_the_whole_frame() -> None:
    rng = np.random.default_rng(3)
    frame = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    result = BlurBackground(41)(frame, np.zeros((H, W), np.uint8))
    assert result.std() < frame.std() / 4


def test_halo_free_blur_of_a_plain_room_is_its_blur() -> None:
    """Where the matte is all room, the normalised convolution is just the blur."""
    room = dark_textured_room(4)
    plain = blur(room, 41).astype(np.int16)
    weighted = halo_free_blur(room, np.zeros((H, W), np.uint8), 41).astype(np.int16)
    assert np.abs(plain - weighted).max() <= 2


def test_scratch_reuse_leaves_earlier_results_and_the_callers_matte_alone() -> None:
    effect = BlurBackground(41)
    rng = np.random.default_rng(5)
    first_frame = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    second_frame = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    matte8 = figure_mask()
    matte_copy = matte8.copy()
    first = effect(first_frame, matte8)
    first_copy = first.copy()
    effect(second_frame, matte8)
    effect(second_frame, soft_matte(matte8))
    assert (first == first_copy).all()
    assert (matte8 == matte_copy).all()
    assert (effect(first_frame, matte8) == first_copy).all()


def test_frame_size_change_is_handled() -> None:
    effect = BlurBackground(41)
    for h, w in ((H, W), (241, 333), (H, W)):
        frame = np.full((h, w, 3), 100, np.uint8)
        alpha = np.zeros((h, w), np.uint8)
        alpha[: h // 2] = 255
        assert effect(frame, alpha).shape == (h, w, 3)
