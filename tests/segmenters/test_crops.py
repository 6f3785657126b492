"""Person-centred crops: the second look raises the first look only inside each person's square, only where the
crop calls person, and skips a square that magnifies nothing."""

from __future__ import annotations

import numpy as np

from bgblur.segmenters.crops import PersonCrops


class Flat:
    """A stand-in model: the same probability everywhere, at a coarse 16x16 output; counts its calls."""

    name = "flat"
    default_threshold = 0.5

    def __init__(self, value: float) -> None:
        self.value = value
        self.calls = 0

    def segment(self, image: np.ndarray) -> np.ndarray:
        self.calls += 1
        return np.full((16, 16), self.value, np.float32)


IMAGE = np.zeros((240, 640, 3), np.uint8)


def crops(first: float, second: float, boxes) -> tuple[np.ndarray, Flat]:
    crop_model = Flat(second)
    wrapper = PersonCrops(Flat(first), lambda image: boxes)
    wrapper.single = crop_model
    return wrapper.segment(IMAGE), crop_model


def test_the_crop_raises_the_first_look_inside_the_person_square_only() -> None:
    result, model = crops(0.1, 0.9, [(300, 100, 340, 180)])  # 80 px tall: a 104 px square around it
    assert model.calls == 1
    scale = result.shape[1] / IMAGE.shape[1]
    assert result[round(140 * scale), round(320 * scale)] > 0.85  # the person's centre
    assert result[round(20 * scale), round(40 * scale)] == np.float32(0.1)  # far from the person: the first look


def test_the_crop_adds_nothing_it_does_not_call_person() -> None:
    result, _ = crops(0.1, 0.4, [(300, 100, 340, 180)])
    assert result.max() == np.float32(0.1)


def test_a_square_as_large_as_the_frame_is_skipped() -> None:
    result, model = crops(0.1, 0.9, [(0, 0, 600, 240)])  # 1.3x its long side is wider than the frame
    assert model.calls == 0
    assert result.max() == np.float32(0.1)


def test_without_a_finder_or_anyone_found_it_is_the_first_look() -> None:
    result, model = crops(0.3, 0.9, [])
    assert model.calls == 0 and result.shape == (16, 16)
    assert PersonCrops(Flat(0.3)).segment(IMAGE).shape == (16, 16)
