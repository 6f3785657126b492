"""The person's own colour at the soft edge: on a picture made from a known foreground, background and alpha the edge
colour moves to the person's, pixels outside the edge stay the camera's, and it holds up against pymatting's
multilevel solver (a test-only dependency)."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from foreground_reference import reference_edge_colours
from pymatting import estimate_foreground_ml

from bgblur.effects import foreground
from bgblur.effects.backgrounds import ColourBackground
from bgblur.effects.blur import BlurBackground
from bgblur.effects.compose import FrameBuffers, composite
from bgblur.effects.foreground import edge_colours
from bgblur.effects.replace import ReplaceBackground

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import evaluate

H, W = 240, 320


def known_scene(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A camera picture made exactly as ``alpha * F + (1 - alpha) * B``: F warm brown hair with strands, B a teal
    wall with soft blotches, alpha a head with a soft 3-px edge. Returns (picture, alpha 8-bit, F, B), F and B float."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    strands = 20 * np.sin(xx / 3.0 + 2 * np.sin(yy / 17.0))
    person = np.stack([40 + strands * 0.5, 80 + strands, 150 + strands], axis=2) + rng.normal(0, 4, (H, W, 3))
    blotches = cv2.GaussianBlur(rng.normal(0, 1, (H, W)).astype(np.float32), (0, 0), 8) * 150
    room = np.stack([190 + blotches, 170 + blotches, 60 + blotches * 0.5], axis=2)
    person, room = (np.clip(x, 0, 255).astype(np.float32) for x in (person, room))
    head = np.zeros((H, W), np.float32)
    cv2.ellipse(head, (W // 2, H // 2 + 20), (90, 100), 0, 0, 360, 1.0, -1)
    alpha8 = (cv2.GaussianBlur(head, (0, 0), 3.0) * 255 + 0.5).astype(np.uint8)
    a = alpha8.astype(np.float32)[..., None] / 255
    return (a * person + (1 - a) * room + 0.5).astype(np.uint8), alpha8, person, room


def soft_band(alpha8: np.ndarray) -> np.ndarray:
    """The middle of the soft edge (0.1 < alpha < 0.9), where the camera's pixel is clearly a mix."""
    return (alpha8 > 25) & (alpha8 < 230)


def error_to(colours: np.ndarray, truth: np.ndarray, where: np.ndarray) -> float:
    """Mean RGB distance of ``colours`` from ``truth`` over ``where``."""
    return float(np.linalg.norm(colours.astype(np.float32) - truth, axis=2)[where].mean())


def test_the_edge_takes_the_persons_colour_not_the_rooms() -> None:
    picture, alpha8, person, room = known_scene()
    band = soft_band(alpha8)
    assert band.sum() > 3000
    estimated = edge_colours(picture, alpha8).paste(picture.copy())
    camera = error_to(picture, person, band)
    ours = error_to(estimated, person, band)
    assert camera > 80  # the camera's edge pixels are far from the person's colour: half room
    assert ours < 0.3 * camera, (ours, camera)  # measured 25 against 99
    # Closer to the person's colour than to the room's at nearly every edge pixel (the camera's: about half).
    to_person = np.linalg.norm(estimated.astype(np.float32) - person, axis=2)[band]
    to_room = np.linalg.norm(estimated.astype(np.float32) - room, axis=2)[band]
    assert (to_person < to_room).mean() > 0.95


def test_on_a_new_background_the_edge_is_the_true_composite() -> None:
    """What a user sees: the person on a red wall, against the same person really filmed in front of it."""
    picture, alpha8, person, _ = known_scene(1)
    band = soft_band(alpha8)
    red = (30, 30, 220)
    a = alpha8.astype(np.float32)[..., None] / 255
    truth = a * person + (1 - a) * np.array(red, np.float32)
    own = ReplaceBackground(ColourBackground(red))(picture, alpha8)
    camera = ReplaceBackground(ColourBackground(red), own_colours=False)(picture, alpha8)
    assert error_to(own, truth, band) < 0.3 * error_to(camera, truth, band)


@pytest.mark.parametrize("effect", ["replace", "replace+wrap", "blur"])
def test_pixels_outside_the_edge_are_the_cameras(effect: str) -> None:
    """Own colours change the soft edge only: where alpha is 0 or 255 the picture is exactly what it was without."""
    picture, alpha8, _, _ = known_scene(2)
    make = {
        "replace": lambda own: ReplaceBackground(ColourBackground((0, 255, 0)), own_colours=own),
        "replace+wrap": lambda own: ReplaceBackground(ColourBackground((0, 255, 0)), 0.3, own_colours=own),
        "blur": lambda own: BlurBackground(41, own_colours=own),
    }[effect]
    own, camera = make(True)(picture, alpha8), make(False)(picture, alpha8)
    hard = (alpha8 == 0) | (alpha8 == 255)
    assert hard.sum() > 0.8 * alpha8.size
    assert (own[hard] == camera[hard]).all()
    change = np.abs(own.astype(np.float32) - camera)[~hard].max(axis=1)
    assert change.mean() > 6, change.mean()  # and the edge did change (measured 10-12 levels on average)


def test_the_edge_found_is_exactly_the_soft_pixels() -> None:
    picture, alpha8, _, _ = known_scene(3)
    edge = edge_colours(picture, alpha8)
    assert set(edge.index.tolist()) == set(np.flatnonzero((alpha8 > 0) & (alpha8 < 255)).tolist())
    assert edge.colour.shape == (edge.index.size, 3) and edge.colour.dtype == np.uint8


def test_a_hard_matte_or_no_one_leaves_the_composite_alone() -> None:
    picture, alpha8, _, _ = known_scene(4)
    hard = np.where(alpha8 > 127, 255, 0).astype(np.uint8)
    green = np.full_like(picture, (0, 255, 0))
    for matte in (hard, np.zeros_like(alpha8), np.full_like(alpha8, 255)):
        edge = edge_colours(picture, matte)
        assert edge.index.size == 0
        plain = composite(picture, green, matte)
        assert (composite(picture, green, matte, edge=edge) == plain).all()


def test_a_plain_picture_keeps_its_colour_at_the_edge() -> None:
    """Nothing to tell person from room: the edge keeps the one colour there is (no darkening where weights vanish)."""
    picture = np.full((H, W, 3), (0, 0, 25), np.uint8)
    _, alpha8, _, _ = known_scene(5)
    edge = edge_colours(picture, alpha8)
    assert (edge.colour == (0, 0, 25)).all()


def test_within_reach_of_pymatting_multilevel_solver_where_the_alpha_is_exact() -> None:
    """pymatting's ``estimate_foreground_ml`` (a multilevel least-squares solve; seconds per frame) does better on a
    picture whose alpha is exact; the box-filter estimate stays within 2.5x of its error (measured 25 against 13)."""
    picture, alpha8, person, _ = known_scene()
    band = soft_band(alpha8)
    reference = estimate_foreground_ml(picture / 255.0, alpha8 / 255.0) * 255
    ours = edge_colours(picture, alpha8).paste(picture.copy())
    assert error_to(ours, person, band) < 2.5 * error_to(reference, person, band)
    assert error_to(reference, person, band) < 0.3 * error_to(picture, person, band)  # the reference is one


def test_an_edge_of_more_points_than_remap_takes_in_a_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """cv2.remap refuses maps of 32767 px or more a side; a big frame's edge (a 4K picture, a zoomed auto-frame) has
    more soft pixels than that (this failed: "dst.cols < SHRT_MAX"). The points then go in rows, and how many a row
    holds does not change a colour."""
    picture, alpha8, _, _ = known_scene(3)
    big_picture, big_alpha = np.tile(picture, (6, 7, 1)), np.tile(alpha8, (6, 7))  # 1440x2240, 42 heads
    rows = edge_colours(big_picture, big_alpha)
    assert rows.index.size > 32767
    assert (big_alpha.reshape(-1)[rows.index] > 0).all() and (big_alpha.reshape(-1)[rows.index] < 255).all()
    monkeypatch.setattr(foreground, "REMAP_ROW", 1000)
    shorter = edge_colours(big_picture, big_alpha)
    np.testing.assert_array_equal(shorter.index, rows.index)
    np.testing.assert_array_equal(shorter.colour, rows.colour)


@pytest.fixture(scope="module")
def real_edges(testdata: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The close portrait and frame 72 of the talking-head clip (1280x720), each with bgblur's own matte."""
    from bgblur.cli import parse_options

    evaluator = evaluate.Evaluator(parse_options([]), None)
    image = cv2.imread(str(testdata / "portraits" / "astronaut.png"), cv2.IMREAD_COLOR)
    clip = testdata / "videos" / "talking_head_bookshelf.mp4"
    return [("astronaut", image, evaluator.picture_matte(image)), ("talking head", *evaluator.clip_matte(clip, 72))]


def test_the_fast_estimate_is_the_plain_one_on_real_pictures(real_edges) -> None:
    """The per-frame work was cut (means only around the edge, the points as channel planes, looked-up fades); the
    colours are those of the plain formulation (tests/effects/foreground_reference.py, the implementation before):
    the same points, every colour within 1 level of it (measured: all equal but one level on one developer photo)."""
    for name, image, matte in real_edges:
        index, colour = reference_edge_colours(image, matte)
        edge = edge_colours(image, matte)
        assert index.size > 2000, name
        np.testing.assert_array_equal(edge.index, index)
        difference = np.abs(edge.colour.astype(int) - colour)
        assert difference.max() <= 1, (name, difference.max())
        assert (difference == 0).all(axis=1).mean() > 0.999, name


@pytest.mark.parametrize("shift", [(0, 0), (-150, -130), (150, 130)])
def test_means_taken_around_the_edge_alone_are_those_of_the_whole_picture(shift: tuple[int, int]) -> None:
    """The means are taken on the edge's bounding box and a margin (their reach) only: a head in the middle, or cut
    by the picture's top-left or bottom-right border, comes out as over the whole picture."""
    picture, alpha8, _, _ = known_scene(6)
    picture, alpha8 = (np.roll(x, shift, axis=(0, 1)) for x in (picture, alpha8))
    if shift != (0, 0):  # the head cut by the border, not wrapped round it
        keep = (slice(0, H - 20), slice(0, W - 20)) if shift[0] < 0 else (slice(20, H), slice(20, W))
        picture, alpha8 = np.ascontiguousarray(picture[keep]), np.ascontiguousarray(alpha8[keep])
    index, colour = reference_edge_colours(picture, alpha8)
    edge = edge_colours(picture, alpha8)
    np.testing.assert_array_equal(edge.index, index)
    assert np.abs(edge.colour.astype(int) - colour).max() <= 1


def test_the_edge_composited_again_from_the_frames_own_colours_is_the_plain_composite() -> None:
    """Edge.over blends in 8-bit the way composite() does: given the frame's own colours it changes no pixel."""
    picture, alpha8, _, _ = known_scene(7)
    red = np.full_like(picture, (30, 30, 220))
    edge = edge_colours(picture, alpha8)
    own = foreground.Edge(edge.index, edge.alpha, picture.reshape(-1, 3)[edge.index])
    plain = composite(picture, red, alpha8)
    assert (composite(picture, red, alpha8, edge=own) == plain).all()
    assert (composite(picture, red, alpha8, edge=edge) != plain).any(axis=2).sum() > 0.5 * edge.index.size


def moved(seed: int, steps: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The known scene with its head (and room) moved right by each of ``steps`` px: frames of a run."""
    picture, alpha8, _, _ = known_scene(seed)
    return [tuple(np.ascontiguousarray(np.roll(x, step, axis=1)) for x in (picture, alpha8)) for step in steps]


def test_in_a_run_of_frames_every_other_one_reuses_the_last_fresh_means() -> None:
    """With an effect's buffers, the frame after a fresh one takes that one's local means (its edge still in their
    region): close to its own estimate, not equal; the frame after is fresh again, exactly its own estimate. Close:
    composited, alpha times the colour's change is 1.2 levels on average for a head moved 2 px (8 px at 720p) in a
    frame (on the talking-head clip: 0.8 levels on a reused frame, and the spill the same)."""
    frames = moved(8, [0, 2, 4, 6])
    buffers = FrameBuffers()
    run = [edge_colours(picture, alpha8, buffers.for_frame(picture)) for picture, alpha8 in frames]
    alone = [edge_colours(picture, alpha8) for picture, alpha8 in frames]
    for i in (0, 2):
        np.testing.assert_array_equal(run[i].colour, alone[i].colour)
    for i in (1, 3):
        np.testing.assert_array_equal(run[i].index, alone[i].index)
        alpha = frames[i][1].reshape(-1)[run[i].index] / 255
        shown = np.abs(run[i].colour.astype(int) - alone[i].colour).max(axis=1) * alpha
        assert 0 < shown.mean() < 2, shown.mean()


def test_an_edge_gone_out_of_the_kept_means_region_takes_fresh_means() -> None:
    frames = moved(9, [0, 40])
    buffers = FrameBuffers()
    run = [edge_colours(picture, alpha8, buffers.for_frame(picture)) for picture, alpha8 in frames]
    np.testing.assert_array_equal(run[1].colour, edge_colours(*frames[1]).colour)
