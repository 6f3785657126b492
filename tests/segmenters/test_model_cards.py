"""Bring your own model (issue 8): JSON model cards run any single-pass segmenter through one code path.

Small models with a known answer are generated here (see ``model_files``); the matte is checked pixel by pixel
against the card's arithmetic done independently in numpy.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from model_files import PERSON, H, W, crafted_image, onnx_model, red_minus_blue, tf_model, write_card

from bgblur.matte import MatteMaker
from bgblur.models import BUILTIN_MODELS
from bgblur.segmenters import create_segmenter
from bgblur.segmenters.single_pass import SinglePassSegmenter


def expected_probability(
    image: np.ndarray, card: dict, weights: np.ndarray, bias: np.ndarray | None, kind: str
) -> np.ndarray:
    """The card's arithmetic in float64: swap, scale, mean, std, 1x1 conv, then the output kind."""
    x = image.astype(np.float64)
    if card.get("swap_rb", True):
        x = x[..., ::-1]  # BGR → RGB: the model's channel order
    x = (x * card.get("scale", 1.0) - np.array(card.get("mean", [0, 0, 0]))) / np.array(card.get("std", [1, 1, 1]))
    logits = x @ weights.T.astype(np.float64) + (0.0 if bias is None else bias)
    person = card.get("person_class", 0)
    if kind == "softmax":
        e = np.exp(logits - logits.max(axis=-1, keepdims=True))
        return e[..., person] / e.sum(axis=-1)
    return 1.0 / (1.0 + np.exp(-logits[..., person]))


# (card output, classes, node inside the model, person_class on the card, arithmetic of the answer)
OUTPUT_KINDS = [
    pytest.param("softmax", 21, None, PERSON, "softmax", id="softmax-21-classes"),
    pytest.param("softmax", 2, None, 1, "softmax", id="softmax-2-classes-unet"),
    pytest.param("sigmoid", 1, None, None, "sigmoid", id="sigmoid-1-channel"),
    pytest.param("probability", 21, "softmax", PERSON, "softmax", id="probability-21-channels"),
    pytest.param("probability", 2, "softmax", 1, "softmax", id="probability-2-channels"),
    pytest.param("probability", 1, "sigmoid", None, "sigmoid", id="probability-1-channel"),
]


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
@pytest.mark.parametrize(("output", "classes", "post", "person", "kind"), OUTPUT_KINDS)
def test_matte_pixel_by_pixel(
    tmp_path: Path, output: str, classes: int, post: str | None, person: int | None, kind: str, layout: str
) -> None:
    weights = red_minus_blue(classes, person or 0)
    model = onnx_model(tmp_path / "m.onnx", weights, layout=layout, post=post)
    card = {"input_size": [W, H], "scale": 1 / 255, "swap_rb": True, "output": output, "layout": layout}
    if person is not None:
        card["person_class"] = person
    write_card(model, card)
    image = crafted_image()

    matte = create_segmenter(str(model)).segment(image)

    expected = expected_probability(image, card, weights, None, kind)
    assert matte.shape == (H, W) and matte.dtype == np.float32
    np.testing.assert_allclose(matte, expected, atol=1e-4)
    # The crafted answer itself: person exactly where red clearly exceeds blue.
    red, blue = image[..., 2].astype(int), image[..., 0].astype(int)
    clear = np.abs(red - blue) > 40
    assert clear.sum() > W * H // 2
    np.testing.assert_array_equal((matte > 0.5)[clear], (red > blue)[clear])


@pytest.mark.tensorflow
@pytest.mark.parametrize(("output", "post"), [("softmax", None), ("sigmoid", None), ("probability", "softmax")])
def test_tensorflow_pb_model(tmp_path: Path, output: str, post: str | None) -> None:
    classes = 1 if output == "sigmoid" else 21
    person = 0 if classes == 1 else PERSON
    weights = red_minus_blue(classes, person)
    model = tf_model(tmp_path / "m.pb", weights, post=post)
    # OpenCV reads a TF graph channels-first on both sides: the card says "nchw" even though TF is NHWC inside.
    card = {"input_size": [W, H], "scale": 1 / 255, "output": output, "person_class": person}
    write_card(model, card)
    image = crafted_image(1)
    matte = create_segmenter(str(model)).segment(image)
    kind = "sigmoid" if classes == 1 else "softmax"
    np.testing.assert_allclose(matte, expected_probability(image, card, weights, None, kind), atol=1e-4)


def test_output_name_picks_one_of_several_outputs(tmp_path: Path) -> None:
    weights = red_minus_blue(21, PERSON)
    model = onnx_model(tmp_path / "m.onnx", weights, post="softmax", extra_output=True)
    card = {"input_size": [W, H], "scale": 1 / 255, "output": "probability", "person_class": PERSON}
    image = crafted_image(2)
    # "probs" is the softmax over the 21 classes, "aux" the sigmoid of each logit: different answers.
    for name, kind in (("probs", "softmax"), ("aux", "sigmoid")):
        write_card(model, {**card, "output_name": name})
        matte = create_segmenter(str(model)).segment(image)
        np.testing.assert_allclose(matte, expected_probability(image, card, weights, None, kind), atol=1e-4)


NORMALISATION = {
    "input_size": [W, H],
    "scale": 1 / 255,
    "mean": [0.2, 0.5, 0.8],
    "std": [0.5, 0.25, 0.1],
    "swap_rb": True,
    "output": "sigmoid",
}


def test_scale_mean_std_and_swap_rb_are_applied_in_order(tmp_path: Path) -> None:
    weights = np.array([[1.0, -0.5, -0.25]], np.float32)  # every channel counts, each differently
    bias = np.array([0.5], np.float32)
    model = onnx_model(tmp_path / "m.onnx", weights, bias)
    image = crafted_image(3)

    def run(card: dict) -> np.ndarray:
        write_card(model, card)
        return create_segmenter(str(model)).segment(image)

    for swap in (True, False):
        card = {**NORMALISATION, "swap_rb": swap}
        expected = expected_probability(image, card, weights, bias, "sigmoid")
        np.testing.assert_allclose(run(card), expected, atol=1e-4)

    # The image and card are crafted so any other order or channel arrangement gives another answer.
    right = expected_probability(image, NORMALISATION, weights, bias, "sigmoid")
    x = image[..., ::-1].astype(np.float64)
    mean, std = np.array(NORMALISATION["mean"]), np.array(NORMALISATION["std"])
    wrong = {
        "mean before scale": (x - mean) * (1 / 255) / std,
        "mean/std in BGR order": (x / 255 - mean[::-1]) / std[::-1],
        "std before mean": x / 255 / std - mean,
        "no swap": (image.astype(np.float64) / 255 - mean) / std,
    }
    for name, inputs in wrong.items():
        other = 1 / (1 + np.exp(-(inputs @ weights[0].astype(np.float64) + bias[0])))
        assert np.abs(other - right).max() > 0.1, name


def test_frame_larger_than_the_input_is_resized_both_ways(tmp_path: Path) -> None:
    weights = red_minus_blue(21, PERSON)
    model = onnx_model(tmp_path / "m.onnx", weights)
    write_card(model, {"input_size": [W, H], "scale": 1 / 255, "output": "softmax", "person_class": PERSON})
    image = np.zeros((240, 320, 3), np.uint8)
    image[:, :160] = (0, 0, 255)  # red left half: person
    image[:, 160:] = (255, 0, 0)  # blue right half: background
    probability = create_segmenter(str(model)).segment(image)
    assert probability.shape == (H, W)  # the model's own output; the matte step brings it to the frame
    matte = MatteMaker(0.5, refine=False, temporal=False)(probability, image)
    assert matte.shape == (240, 320)
    assert matte[:, :140].min() == 255 and matte[:, 180:].max() == 0


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


@pytest.mark.parametrize("runtime", ["litert", "opencv"])
@pytest.mark.parametrize("name", sorted(BUILTIN_MODELS))
def test_the_model_input_is_blob_from_image_bit_for_bit(name: str, runtime: str, testdata: Path) -> None:
    """The input made as NHWC pixels holds ``cv2.dnn.blobFromImage``'s floats exactly, at any picture size (and at
    the input size itself, as a person crop comes), in the NCHW order the card says."""
    segmenter = create_segmenter(name, runtime=runtime)
    size = segmenter.card.input_size
    pictures = [cv2.imread(str(p)) for p in sorted((testdata / "images").glob("*.jpg"))[:6]]
    pictures.append(cv2.resize(pictures[0], size))
    for image in pictures:
        blob = segmenter.input_blob(image)
        assert np.array_equal(blob, cv2.dnn.blobFromImage(image, 1 / 255, size, swapRB=True)), image.shape
        assert blob.flags.c_contiguous == (runtime != "litert")  # LiteRT takes it as NHWC: left a view for it


@pytest.mark.parametrize("name", sorted(BUILTIN_MODELS))
def test_bundled_selfie_cards_match_a_direct_tflite_run(name: str, testdata: Path) -> None:
    """The selfie models through their cards give the mattes of the tutorial's direct cv2.dnn recipe (on cv2.dnn:
    LiteRT's agreement is tests/segmenters/test_runtimes.py's)."""
    segmenter = create_segmenter(name, runtime="opencv")
    assert isinstance(segmenter, SinglePassSegmenter)
    net = cv2.dnn.readNetFromTFLite(str(BUILTIN_MODELS[name]))
    size = segmenter.card.input_size
    images = sorted((testdata / "images").glob("*.jpg"))
    assert len(images) >= 5
    for path in images:
        image = cv2.imread(str(path))
        net.setInput(cv2.dnn.blobFromImage(image, 1 / 255, size, swapRB=True))
        reference = net.forward()[0, 0]
        ours = segmenter.segment(image)
        assert ours.shape == reference.shape
        assert _iou(ours > 0.5, reference > 0.5) >= 0.99, path.name
        # The output layer done outside OpenCV (bgblur.segmenters.fast_head) gives OpenCV's own numbers.
        assert np.abs(ours - reference).max() < 1e-4, path.name
