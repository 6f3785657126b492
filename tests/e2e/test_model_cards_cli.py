"""Model cards through the command line (issue 8): a card model runs, a bad card or a mismatched model is one clear
error, ``--model`` and ``--mask-rcnn`` exclude each other."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from model_files import PERSON, H, W, crafted_image, onnx_model, red_minus_blue, write_card
from util import assert_error, run_bgblur

pytestmark = pytest.mark.e2e  # slow, end to end: real processes, windows, streams

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
    # (OpenCV 5.0 refuses the 1x12x16x3 input; 5.1 runs it and its output's shape gives it away: both name 'layout')
    ("softmax21", _card(layout="nhwc"), ["does not fit", "'layout'"]),
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
