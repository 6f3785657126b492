"""The compositing stage at a real frame size (1280x720, the talking-head clip, the real selfie model's matte)
against its definition: the 8-bit blend ``alpha * frame + (1 - alpha) * room`` over the whole frame (two
saturating multiplies and an add), the room the halo-free blur mended everywhere, then the person's own colours at
the soft edge. Pins what any faster way of doing it may change: nothing, byte for byte. And the light wrap's light,
kept while the background stays the same picture."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from util import talking_head_720p

from bgblur.effects.blur import BlurBackground, blur, halo_free_blur
from bgblur.effects.compose import DENSE_EDGE, composite
from bgblur.effects.foreground import edge_colours
from bgblur.effects.replace import ReplaceBackground
from bgblur.matte import MatteMaker
from bgblur.segmenters import create_segmenter


@pytest.fixture(scope="module")
def frame_and_matte(testdata: Path) -> tuple[np.ndarray, np.ndarray]:
    image = talking_head_720p(testdata)
    alpha = MatteMaker(0.5, temporal=False)(create_segmenter("selfie").segment(image), image)
    soft = ((alpha > 0) & (alpha < 255)).mean()
    assert 0.005 < soft < DENSE_EDGE and 0.1 < (alpha == 255).mean() < 0.6  # a person with a thin soft edge
    return image, alpha


def _blend(frame: np.ndarray, background: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The definition: the 8-bit blend over the whole frame."""
    a3 = cv2.cvtColor(alpha, cv2.COLOR_GRAY2BGR)
    person = cv2.multiply(frame, a3, scale=1 / 255)
    return cv2.add(person, cv2.multiply(background, cv2.bitwise_not(a3), scale=1 / 255))


def _definition(frame: np.ndarray, alpha: np.ndarray, kernel: int, own_colours: bool) -> np.ndarray:
    room = halo_free_blur(frame, alpha, kernel)  # mended wherever the room's weight vanishes, shown or not
    picture = _blend(frame, room, alpha)
    return edge_colours(frame, alpha).over(picture, room) if own_colours else picture


@pytest.mark.parametrize("kernel", [41, 101, 15])
@pytest.mark.parametrize("own_colours", [True, False])
def test_the_720p_blur_effect_is_its_definition_byte_for_byte(frame_and_matte, kernel: int, own_colours: bool) -> None:
    frame, alpha = frame_and_matte
    effect = BlurBackground(kernel, own_colours=own_colours)
    for _ in range(2):  # and again with the scratch buffers reused
        assert (effect(frame, alpha) == _definition(frame, alpha, kernel, own_colours)).all()


def test_with_nobody_the_720p_blur_effect_is_the_blurred_frame(frame_and_matte) -> None:
    frame, _ = frame_and_matte
    nobody = np.zeros(frame.shape[:2], np.uint8)
    assert (BlurBackground(41)(frame, nobody) == blur(frame, 41)).all()


@pytest.mark.parametrize("in_place", [False, True])
def test_a_sparse_edge_blends_as_the_whole_frame_does(frame_and_matte, in_place: bool) -> None:
    frame, alpha = frame_and_matte
    background = np.ascontiguousarray(frame[::-1])  # another picture behind the person
    expected = _blend(frame, background, alpha)
    kept = background.copy()
    assert (composite(frame, background, alpha, in_place=in_place) == expected).all()
    assert in_place or (background == kept).all()  # not in place: the caller's background is left alone
    edge = edge_colours(frame, alpha)
    with_edge = composite(frame, kept.copy(), alpha, edge=edge, in_place=in_place)
    assert (with_edge == edge.over(expected.copy(), kept)).all()


def test_a_wide_soft_matte_and_a_partial_edge_blend_as_the_whole_frame_does(frame_and_matte) -> None:
    frame, alpha = frame_and_matte
    background = np.ascontiguousarray(frame[::-1])
    wide = cv2.GaussianBlur(alpha, (0, 0), 25)  # soft over much of the frame: the whole-frame way
    assert ((wide > 0) & (wide < 255)).mean() > DENSE_EDGE
    assert (composite(frame, background, wide) == _blend(frame, background, wide)).all()
    edge = edge_colours(frame, alpha)
    part = type(edge)(edge.index[::2], edge.alpha[::2], edge.colour[::2])  # an edge that is not every soft pixel
    expected = part.over(_blend(frame, background, alpha), background)
    assert (composite(frame, background, alpha, edge=part) == expected).all()


class _Pictures:
    """A background provider handing out the given pictures in turn (as a video background does)."""

    def __init__(self, *pictures: np.ndarray) -> None:
        self.pictures = list(pictures)
        self.shown = -1

    def frame_for(self, size: tuple[int, int]) -> np.ndarray:
        self.shown = (self.shown + 1) % len(self.pictures)
        return self.pictures[self.shown]

    def close(self) -> None:
        pass


def test_the_light_wrap_follows_a_changing_background_and_keeps_a_still_ones_light(frame_and_matte) -> None:
    frame, alpha = frame_and_matte
    first, second = np.ascontiguousarray(frame[::-1]), np.ascontiguousarray(frame[:, ::-1])
    changing = ReplaceBackground(_Pictures(first, second), light_wrap=0.5)
    for background in (first, second, first):
        alone = ReplaceBackground(_Pictures(background), light_wrap=0.5)(frame, alpha)  # its own first frame
        assert (changing(frame, alpha) == alone).all()
    still = ReplaceBackground(_Pictures(first), light_wrap=0.5)
    once = still(frame, alpha)
    assert (still(frame, alpha) == once).all() and (still(frame, alpha) == once).all()
