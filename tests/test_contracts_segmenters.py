"""One contract, every segmenter: person probability as float32 in 0..1, finite, a 2-D map covering the frame
(frame-sized, or the model's own output size for one-pass models: the matte step scales it), and the same
answer twice on the same frame."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from model_files import onnx_model, write_card

from bgblur.segmenters import create_segmenter
from bgblur.segmenters.fail_closed import FailClosedSegmenter
from bgblur.segmenters.tiled import TiledSegmenter


class BrokenModel:
    """A model whose every forward pass fails (not a setup error): the fail-closed wrapper must hide the room."""

    name = "broken"
    default_threshold = 0.5

    def segment(self, image: np.ndarray) -> np.ndarray:
        raise RuntimeError("the network fell over")


def card_model(folder: Path):
    """A 1x1-conv ONNX model: person where the red channel is high, with its card."""
    model = onnx_model(folder / "red.onnx", np.array([[0.0, 0.0, -8.0], [0.0, 0.0, 8.0]], np.float32))
    write_card(model, {"input_size": [64, 48], "scale": 1 / 255, "output": "softmax", "person_class": 1})
    return create_segmenter(str(model))


FACTORIES = {
    "selfie": lambda folder, mrcnn: create_segmenter("selfie"),
    "selfie-landscape": lambda folder, mrcnn: create_segmenter("selfie-landscape"),
    "card model (ONNX)": lambda folder, mrcnn: card_model(folder),
    "Mask R-CNN stand-in": lambda folder, mrcnn: create_segmenter(mask_rcnn=mrcnn, people="all"),
    "tiled selfie": lambda folder, mrcnn: TiledSegmenter(create_segmenter("selfie")),
    "fail-closed selfie": lambda folder, mrcnn: FailClosedSegmenter(create_segmenter("selfie")),
    "fail-closed broken model": lambda folder, mrcnn: FailClosedSegmenter(BrokenModel()),
}
FRAME_SIZED = {"Mask R-CNN stand-in", "fail-closed broken model"}
PICTURES = ("davis_tennis_f030.jpg", "noperson_coffee_cup.jpg", "cihp_three_kids_at_table.jpg")


@pytest.fixture(scope="module")
def mrcnn(mrcnn_dir: Path) -> Path:
    return mrcnn_dir


@pytest.fixture(params=sorted(FACTORIES), scope="module")
def segmenter(request, tmp_path_factory: pytest.TempPathFactory, mrcnn: Path):
    return request.param, FACTORIES[request.param](tmp_path_factory.mktemp("card"), mrcnn)


@pytest.mark.parametrize("picture", PICTURES)
def test_probability_is_a_finite_float32_map_in_0_1_covering_the_frame(segmenter, picture: str, testdata: Path) -> None:
    name, model = segmenter
    image = cv2.imread(str(testdata / "images" / picture))
    probability = model.segment(image)
    assert probability.dtype == np.float32 and probability.ndim == 2, name
    assert np.isfinite(probability).all(), name
    assert probability.min() >= 0.0 and probability.max() <= 1.0, name
    height, width = image.shape[:2]
    if name in FRAME_SIZED:
        assert probability.shape == (height, width), name
    else:  # the whole frame at the model's resolution: the frame's proportions within a model pixel's rounding
        rows, cols = probability.shape
        assert rows >= 16 and cols >= 16, name


def test_the_same_frame_gets_the_same_answer(segmenter, testdata: Path) -> None:
    name, model = segmenter
    image = cv2.imread(str(testdata / "images" / "davis_tennis_f030.jpg"))
    first = model.segment(image).copy()
    model.segment(cv2.imread(str(testdata / "images" / "noperson_coffee_cup.jpg")))  # something else in between
    assert np.array_equal(first, model.segment(image)), name


def test_every_segmenter_has_a_name_and_a_default_threshold(segmenter) -> None:
    name, model = segmenter
    assert isinstance(model.name, str) and model.name
    assert 0.0 < model.default_threshold < 1.0, name


def test_a_failing_model_counts_as_nobody_and_is_counted(testdata: Path) -> None:
    guarded = FailClosedSegmenter(BrokenModel())
    image = cv2.imread(str(testdata / "images" / "davis_tennis_f030.jpg"))
    assert not guarded.segment(image).any() and not guarded.segment(image).any()
    assert (guarded.failures, guarded.calls) == (2, 2)
