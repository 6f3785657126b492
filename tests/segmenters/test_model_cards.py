"""Bring your own model (issue 8): JSON model cards run any single-pass segmenter through one code path.

Small models with a known answer are generated here (see ``model_files``); the matte is checked pixel by pixel
against the card's arithmetic done independently in numpy.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from model_files import onnx_model, tf_model, write_card
from util import assert_error, run_bgblur

from bgblur.matte import MatteMaker
from bgblur.segmenters import BUILTIN_MODELS, create_segmenter
from bgblur.segmenters.single_pass import SinglePassSegmenter

W, H = 16, 12  # the test models' input size; crafted images have it too, so no resizing blurs the check
PERSON = 15  # PASCAL VOC's person
K = 60.0  # logit gain: the person's softmax wins clearly where red exceeds blue


def crafted_image(seed: int = 0, size: tuple[int, int] = (W, H)) -> np.ndarray:
    """Random colours (BGR uint8), every pixel different, with red and blue far apart in most pixels."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)


def red_minus_blue(classes: int, person: int) -> np.ndarray:
    """Weights (classes, 3) over model-order channels R, G, B: the person's logit is K * (R - B), others 0."""
    weights = np.zeros((classes, 3), np.float32)
    weights[person] = (K, 0.0, -K)
    return weights


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


def test_model_through_the_command_line(tmp_path: Path) -> None:
    weights = red_minus_blue(21, PERSON)
    model = onnx_model(tmp_path / "deeplab.onnx", weights)
    write_card(model, {"input_size": [W, H], "scale": 1 / 255, "output": "softmax", "person_class": PERSON})
    image = np.zeros((96, 128, 3), np.uint8)
    image[:, :64] = (0, 0, 255)
    image[:, 64:] = (255, 0, 0)
    cv2.imwrite(str(tmp_path / "in.png"), image)
    # A red half is no person to the person detectors: --presence off keeps what the model says (the card is tested).
    result = run_bgblur(
        "--source",
        tmp_path / "in.png",
        "--model",
        model,
        "--matte",
        tmp_path / "matte.png",
        "--no-window",
        "-q",
        "--presence",
        "off",
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    matte = cv2.imread(str(tmp_path / "matte.png"), cv2.IMREAD_UNCHANGED)
    assert matte.shape == (96, 128)
    assert matte[:, :56].min() == 255 and matte[:, 72:].max() == 0


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


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


GOOD = {"input_size": [W, H], "scale": 1 / 255, "output": "softmax", "person_class": PERSON}
MISSING = object()  # a key left out of the card


def _card(**changes: object) -> dict:
    card = dict(GOOD)
    for key, value in changes.items():
        if value is MISSING:
            card.pop(key, None)
        else:
            card[key] = value
    return card


# (model: "softmax21" | "sigmoid1" | "twoout" | "nhwc-in-nchw-out" | "pooled" | "probs-logits", card, fragments)
BAD_CARDS = [
    ("softmax21", None, ["model card missing", "m.json", "README"]),
    ("softmax21", '{"input_size": [16, 12],', ["is not valid JSON"]),
    ("softmax21", "[16, 12]", ["must be a JSON object"]),
    ("softmax21", _card(input_size=MISSING), ["'input_size' is missing"]),
    ("softmax21", _card(input_size="16x12"), ["'input_size' must be [width, height]", "'16x12'"]),
    ("softmax21", _card(input_size=[16]), ["'input_size' must be"]),
    ("softmax21", _card(input_size=[0, 12]), ["'input_size' must be"]),
    ("softmax21", _card(input_size=[16.5, 12]), ["'input_size' must be"]),
    ("softmax21", _card(input_size=[True, 12]), ["'input_size' must be"]),
    ("softmax21", _card(scale="1/255"), ["'scale' must be a number above 0"]),
    ("softmax21", _card(scale=0), ["'scale' must be"]),
    ("softmax21", _card(mean=[0.5, 0.5]), ["'mean' must be a list of 3 numbers"]),
    ("softmax21", _card(mean=[0.5, "0.5", 0.5]), ["'mean' must be"]),
    ("softmax21", _card(std=[1, 0, 1]), ["'std' must be 3 numbers above 0"]),
    ("softmax21", _card(swap_rb="yes"), ["'swap_rb' must be true", "'yes'"]),
    ("softmax21", _card(output=MISSING), ["'output' is missing"]),
    ("softmax21", _card(output="argmax"), ["'output' must be", '"softmax"', "'argmax'"]),
    ("softmax21", _card(person_class=-1), ["'person_class' must be a channel index"]),
    ("softmax21", _card(person_class="15"), ["'person_class' must be"]),
    ("softmax21", _card(layout="NHWC-ish"), ["'layout' must be"]),
    ("softmax21", _card(output_name=3), ["'output_name' must be"]),
    ("softmax21", _card(threshold=1.5), ["'threshold' must be a number in 0..1"]),
    ("softmax21", _card(sclae=0.5), ["unknown key 'sclae'", "did you mean 'scale'"]),
    # Cards that parse but do not fit the model.
    ("softmax21", _card(person_class=21), ["does not fit its card", "'person_class'", "21 channel"]),
    ("softmax21", _card(person_class=MISSING), ["does not fit", "check 'person_class'", "which channel"]),
    ("sigmoid1", _card(person_class=MISSING), ["does not fit", '"softmax" needs several', "check 'output'"]),
    ("softmax21", _card(layout="nhwc"), ["does not fit", "1x12x16x3 input", "'input_size' and 'layout'"]),
    ("nhwc-in-nchw-out", _card(layout="nhwc", person_class=1), ["does not fit", "proportions", "check 'layout'"]),
    ("twoout", _card(output="probability"), ["2 outputs", "probs", "aux", "check 'output_name'"]),
    ("twoout", _card(output="probability", output_name="seg"), ["no output 'seg'", "check 'output_name'"]),
    ("pooled", _card(), ["output shape (1, 21)", "not an image map", "check 'layout'"]),
    ("probs-logits", _card(output="probability"), ['"probability" but the model gives values', "check 'output'"]),
]


def _bad_card_model(folder: Path, kind: str) -> Path:
    model = folder / "m.onnx"
    if kind == "softmax21":
        return onnx_model(model, red_minus_blue(21, PERSON))
    if kind == "sigmoid1":
        return onnx_model(model, red_minus_blue(1, 0))
    if kind == "twoout":
        return onnx_model(model, red_minus_blue(21, PERSON), post="softmax", extra_output=True)
    if kind == "nhwc-in-nchw-out":
        return onnx_model(model, red_minus_blue(21, PERSON), layout="nhwc", out_layout="nchw")
    if kind == "pooled":
        return onnx_model(model, red_minus_blue(21, PERSON), pooled=True)
    assert kind == "probs-logits"  # logits (bias 5 on the person) where the card promises probabilities
    bias = np.zeros(21, np.float32)
    bias[PERSON] = 5.0
    return onnx_model(model, red_minus_blue(21, PERSON), bias)


@pytest.mark.parametrize(("kind", "card", "fragments"), BAD_CARDS)
def test_bad_card_or_mismatched_model(tmp_path: Path, kind: str, card: dict | str | None, fragments: list[str]) -> None:
    model = _bad_card_model(tmp_path, kind)
    if card is not None:
        write_card(model, card)
    source = tmp_path / "in.png"
    cv2.imwrite(str(source), crafted_image(size=(64, 48)))
    result = run_bgblur("--source", source, "--model", model, "--output", tmp_path / "out.png", "--no-window", "-q")
    assert_error(result, 1, *fragments)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr  # no OpenCV noise around it
    assert not (tmp_path / "out.png").exists()


def test_model_and_mask_rcnn_exclude_each_other(tmp_path: Path) -> None:
    model = onnx_model(tmp_path / "m.onnx", red_minus_blue(21, PERSON))
    write_card(model, GOOD)
    result = run_bgblur("--source", "in.png", "--model", model, "--mask-rcnn", tmp_path, "--no-window", "-o", "x.png")
    assert_error(result, 2, "--model and --mask-rcnn exclude each other")
