"""Person-centred crops: the second look raises the first look only inside each square, only where the crop calls
person; the squares lie inside the picture, skip what magnifies nothing or was looked at already."""

from __future__ import annotations

import numpy as np

from bgblur.segmenters.crops import MAX_CROPS, PersonCrops, squares


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
    model = Flat(second)
    return PersonCrops(model)(IMAGE, np.full((16, 16), first, np.float32), boxes), model


def test_the_crop_raises_the_first_look_inside_the_person_square_only() -> None:
    result, model = crops(0.1, 0.9, [(300, 100, 340, 180)])  # 80 px tall: a 104 px square around it
    assert model.calls == 1
    scale = result.shape[1] / IMAGE.shape[1]
    assert result[round(140 * scale), round(320 * scale)] > 0.85  # the person's centre
    assert result[round(140 * scale), round(380 * scale)] == np.float32(0.1)  # just outside the square
    assert result[round(20 * scale), round(40 * scale)] == np.float32(0.1)  # far from the person: the first look


def test_the_crop_adds_nothing_it_does_not_call_person() -> None:
    result, _ = crops(0.1, 0.4, [(300, 100, 340, 180)])
    assert result.max() == np.float32(0.1)


def test_a_square_as_large_as_the_frame_is_skipped() -> None:
    result, model = crops(0.1, 0.9, [(0, 0, 600, 240)])  # 1.3x its long side is wider than the frame
    assert model.calls == 0
    assert result.max() == np.float32(0.1)


def test_without_anyone_found_it_is_the_first_look() -> None:
    result, model = crops(0.3, 0.9, [])
    assert model.calls == 0 and result.shape == (16, 16)


def test_squares_lie_inside_the_picture_and_are_not_looked_at_twice() -> None:
    size = (640, 240)
    # A person at the left edge, the same person's matte region, and a tall one taller than the picture allows.
    chosen = squares([(-20, 100, 40, 200), (0, 110, 40, 200), (500, 0, 560, 230)], size)
    assert len(chosen) == 2  # the region's square is mostly the person's: not looked at again
    for x0, y0, x1, y1 in chosen:
        assert min(x0, y0) >= 0 and x1 <= 640 and y1 <= 240
        assert abs((x1 - x0) - (y1 - y0)) < 1e-6  # square
    assert chosen[1][3] - chosen[1][1] == 240  # 1.3 x 230 px does not fit: the picture's height
    many = [(40 * i, 10, 40 * i + 30, 60) for i in range(12)]
    assert len(squares(many, size)) == MAX_CROPS
