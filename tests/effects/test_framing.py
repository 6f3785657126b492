"""The auto-framing window (``--auto-frame``) as a state machine over mattes, without video: dead zone, following
a real move, the picture's edges, the zoom cap, and easing back out when nobody is there."""

from __future__ import annotations

import math

import cv2
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bgblur.effects.framing import AutoFramer, Window, crop_zoom, target_window

SIZE = (1280, 720)
FPS = 30.0


def person(x: float, top: float = 200, head: float = 60, size: tuple[int, int] = SIZE) -> np.ndarray:
    """A matte of one person: a round head of radius ``head`` centred at ``x`` with its top at ``top``, and
    shoulders three heads wide below it down to the bottom of the picture."""
    alpha = np.zeros((size[1], size[0]), np.uint8)
    cv2.circle(alpha, (round(x), round(top + head)), round(head), 255, -1)
    cv2.rectangle(alpha, (round(x - 1.5 * head), round(top + 1.8 * head)), (round(x + 1.5 * head), size[1]), 255, -1)
    return alpha


def centre(window: Window) -> tuple[float, float]:
    return window.x + window.width / 2, window.y + window.height / 2


def run(framer: AutoFramer, mattes, start: float = 0.0) -> list[Window]:
    """Feed ``mattes`` at 30 frames/s from time ``start``; the window after each."""
    return [framer.update(alpha, start + i / FPS) for i, alpha in enumerate(mattes)]


def test_the_window_settles_on_the_head_centred_with_headroom() -> None:
    framer = AutoFramer(SIZE)
    window = run(framer, [person(800)] * 90)[-1]
    assert abs(centre(window)[0] - 800) <= 0.01 * SIZE[0]  # the matte is read 160 px wide
    assert window.y < 200 < window.y + 0.25 * window.height  # the top of the head in the window's top quarter
    assert window.width / window.height == SIZE[0] / SIZE[1] or abs(window.height - window.width * 9 / 16) <= 1


def test_a_sway_of_a_few_pixels_moves_nothing() -> None:
    framer = AutoFramer(SIZE)
    settled = run(framer, [person(800)] * 90)[-1]
    swaying = [person(800 + 12 * math.sin(i / 5), 200 + 6 * math.cos(i / 7)) for i in range(150)]
    windows = run(framer, swaying, start=3.0)
    assert all(window == settled for window in windows)


def test_a_real_move_is_followed_within_a_second_smoothly() -> None:
    framer = AutoFramer(SIZE)
    run(framer, [person(500)] * 90)
    windows = run(framer, [person(800)] * 60, start=3.0)
    after_a_second = windows[int(FPS)]
    assert abs(centre(after_a_second)[0] - 800) < 0.05 * after_a_second.width
    steps = np.abs(np.diff([centre(w)[0] for w in windows]))
    assert steps.max() < 0.05 * SIZE[0]  # eased: no jump of more than 5 % of the picture in one frame
    xs = [centre(w)[0] for w in windows]
    assert max(xs) <= xs[-1] + 0.5  # critically damped: no overshoot


def test_nobody_found_eases_back_to_the_whole_picture_after_a_short_hold() -> None:
    framer = AutoFramer(SIZE)
    framed = run(framer, [person(900)] * 90)[-1]
    assert framed.width < SIZE[0]
    empty = np.zeros((SIZE[1], SIZE[0]), np.uint8)
    windows = run(framer, [empty] * 75, start=3.0)
    assert windows[10] == framed  # a third of a second without the matte: held (a flicker is not a loss)
    assert windows[-1] == Window(0.0, 0.0, *SIZE)  # 2.5 s later: the whole picture
    assert framer.at_rest


def test_no_matte_this_frame_keeps_the_goal() -> None:
    framer = AutoFramer(SIZE)
    framed = run(framer, [person(900)] * 90)[-1]
    assert run(framer, [None] * 60, start=3.0)[-1] == framed


def test_turned_off_it_eases_back_out() -> None:
    framer = AutoFramer(SIZE)
    run(framer, [person(900)] * 90)
    for i in range(60):
        framer.update(person(900), 3.0 + i / FPS, on=False)
    assert framer.at_rest


def test_the_zoom_is_capped() -> None:
    small = person(640, top=300, head=15)  # far away: head and shoulders would fill the window at ~5x
    for cap in (1.0, 1.5, 2.0):
        framer = AutoFramer(SIZE, max_zoom=cap)
        window = run(framer, [small] * 90)[-1]
        assert window.width == round(SIZE[0] / cap)


def test_a_still_picture_is_framed_at_once() -> None:
    framer = AutoFramer(SIZE, still=True)
    window = framer.update(person(900), 0.0)
    assert window == framer.goal and window.width < SIZE[0]


def test_group_framing_ignores_a_small_region_far_away() -> None:
    alpha = person(700)
    cv2.rectangle(alpha, (40, 300), (70, 360), 255, -1)  # a far passer-by: under a quarter of the person
    assert target_window(alpha, 2.0) == target_window(person(700), 2.0)
    both = np.maximum(person(400), person(900))  # two people: framed together
    window = target_window(both, 2.0)
    assert window.x <= 400 - 90 and window.x + window.width >= 900 + 90


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.tuples(st.floats(0, 640), st.floats(-100, 700), st.floats(3, 300))),
        min_size=1,
        max_size=40,
    ),
    st.floats(1.0, 4.0),
)
def test_the_window_never_leaves_the_picture_and_keeps_its_shape(people, cap: float) -> None:
    size = (640, 360)
    framer = AutoFramer(size, max_zoom=cap)
    for i, spec in enumerate(people):
        alpha = np.zeros((360, 640), np.uint8) if spec is None else person(*spec, size=size)
        window = framer.update(alpha, i / 10)  # 10 frames/s: big steps
        assert window.x >= 0 and window.x + window.width <= size[0]
        assert window.y >= 0 and window.y + window.height <= size[1]
        assert abs(window.height - window.width * 9 / 16) <= 1
        assert window.width >= size[0] / cap - 1


def test_crop_zoom_fills_the_output_with_the_window_and_invents_no_edge() -> None:
    image = np.random.default_rng(1).integers(0, 256, (720, 1280, 3), np.uint8)
    exact = crop_zoom(image, Window(320.0, 180.0, 640, 360))
    assert exact.shape == image.shape
    assert np.array_equal(exact, cv2.resize(image[180:540, 320:960], (1280, 720)))
    flat = np.full((720, 1280, 3), 200, np.uint8)
    for window in (Window(639.6, 359.4, 640, 360), Window(0.3, 0.7, 641, 361)):  # between pixels, at the edges
        out = crop_zoom(flat, window)
        assert out.shape == flat.shape and out.min() == 200 and out.max() == 200
