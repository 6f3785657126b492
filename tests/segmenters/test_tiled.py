"""Tiled second look (--tiles): geometry of the tiles, what it changes on real photos with masks, and how the options
wire it (a whole command-line run: e2e/test_tiled_cli.py)."""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest

from bgblur.build import build_segmenter
from bgblur.cli import parse_options
from bgblur.errors import UsageError
from bgblur.segmenters import create_segmenter
from bgblur.segmenters.tiled import TiledSegmenter, edge_weights, tile_offsets


def test_tiles_cover_the_frame_with_half_a_tile_of_overlap() -> None:
    for length, tile in [(1280, 720), (854, 480), (300, 200), (752, 500), (2000, 100)]:
        offsets = tile_offsets(length, tile)
        assert offsets[0] == 0 and offsets[-1] + tile == length
        assert all(b - a <= tile / 2 for a, b in itertools.pairwise(offsets))
    assert tile_offsets(500, 500) == [0]


def test_blend_weights_vanish_only_at_inner_edges() -> None:
    inner = edge_weights(100, first=False, last=False)
    assert inner[0] < 0.02 and inner[-1] < 0.02 and inner[49] > 0.98
    first = edge_weights(100, first=True, last=False)
    assert first[0] == 1.0 and first[-1] < 0.02


def _picture(testdata: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    image = cv2.imread(str(testdata / "images" / f"{name}.jpg"))
    truth = cv2.imread(str(testdata / "masks" / f"{name}.png"), cv2.IMREAD_GRAYSCALE) > 127
    return image, truth


def _person(probability: np.ndarray, image: np.ndarray) -> np.ndarray:
    return cv2.resize(probability, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR) > 0.5


def test_small_far_person_is_found(testdata: Path) -> None:
    """The rollerblader is small in a 16:9 frame: squeezed whole into 256x256 the model merges her with the
    graffiti behind her; the tiles see her at the frame's own proportions."""
    image, truth = _picture(testdata, "davis_rollerblade_f010")
    whole = create_segmenter("selfie")
    tiled = TiledSegmenter(whole)

    def iou(probability: np.ndarray) -> float:
        person = _person(probability, image)
        return float((person & truth).sum() / (person | truth).sum())

    probability = tiled.segment(image)
    assert probability.dtype == np.float32 and probability.min() >= 0 and probability.max() <= 1
    assert probability.shape[1] / probability.shape[0] == pytest.approx(image.shape[1] / image.shape[0], rel=0.01)
    assert iou(whole.segment(image)) < 0.3
    assert iou(probability) > 0.65


def test_never_more_person_than_the_whole_frame_view(testdata: Path) -> None:
    """The tiled answer is the minimum of both views: a close-up object is not made more of a 'person'."""
    image, _ = _picture(testdata, "noperson_coffee_cup")
    tiled = TiledSegmenter(create_segmenter("selfie"))
    answer = tiled.segment(image)
    plain = cv2.resize(tiled.whole_view(image), (answer.shape[1], answer.shape[0]), interpolation=cv2.INTER_LINEAR)
    assert (answer <= plain + 1e-6).all()


def test_a_picture_and_its_mirror_get_mirrored_mattes(testdata: Path) -> None:
    """The whole view averages the model's answers on the picture and on its mirror, so the selfie model's own
    left-right bias cancels out."""
    image, _ = _picture(testdata, "cihp_three_kids_at_table")  # 500x498: square like the selfie model, no tiles
    whole = create_segmenter("selfie")
    mirror = cv2.flip(image, 1)
    plain, plain_of_mirror = whole.segment(image), cv2.flip(whole.segment(mirror), 1)
    assert np.abs(plain - plain_of_mirror).max() > 0.1  # the model alone is not mirror-symmetric
    tiled = TiledSegmenter(whole)
    answer = tiled.segment(image)
    np.testing.assert_allclose(cv2.flip(tiled.segment(mirror), 1), answer, atol=1e-6)
    np.testing.assert_allclose(answer, (plain + plain_of_mirror) / 2, atol=1e-6)  # one pass each way, no tiles


def test_cli_wires_tiles_and_refuses_them_with_mask_rcnn(tmp_path: Path) -> None:
    segmenter = build_segmenter(parse_options(["--tiles"]))
    assert isinstance(segmenter, TiledSegmenter) and segmenter.default_threshold == 0.5
    assert not isinstance(build_segmenter(parse_options([])), TiledSegmenter)
    with pytest.raises(UsageError, match="--tiles"):
        build_segmenter(parse_options(["--tiles", "--mask-rcnn", str(tmp_path)]))


def test_still_pictures_get_tiles_by_default(mrcnn_dir: Path) -> None:
    parse = parse_options
    assert isinstance(build_segmenter(parse([]), still=True), TiledSegmenter)
    assert not isinstance(build_segmenter(parse(["--no-tiles"]), still=True), TiledSegmenter)
    # Mask R-CNN has no tiles: a picture just gets the model, no error unless --tiles is asked for.
    assert not isinstance(build_segmenter(parse(["--mask-rcnn", str(mrcnn_dir)]), still=True), TiledSegmenter)
