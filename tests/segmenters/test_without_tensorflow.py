"""An OpenCV outside the tested range, without the TensorFlow importer (5.1 removed it): the card's Mask R-CNN and
TensorFlow model cards end with one line naming the version and the fix; everything else is untouched.

bgblur runs in a fresh interpreter whose cv2 has its TensorFlow reader taken away, exactly what 5.1 ships (its
readers are readNet, readNetFromONNX, readNetFromTFLite, readNetFromModelOptimizer); checked once on a real 5.1.0.95
too (see README)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from model_files import PERSON, H, W, red_minus_blue, tf_model, write_card
from util import bgblur_env

PROBE = """
import sys
import cv2
if hasattr(cv2.dnn, "readNetFromTensorflow"):  # OpenCV 5.1 and later have none
    del cv2.dnn.readNetFromTensorflow
from bgblur.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _run(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", PROBE, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env=bgblur_env(),
        stdin=subprocess.DEVNULL,
    )


def _one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bgblur: error: "), result.stderr
    assert "unexpected" not in lines[0] and "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize("weights", ["present", "not downloaded"])
def test_the_cards_command_says_which_opencv_and_the_fix(
    testdata: Path, models_dir: Path, tmp_path: Path, weights: str
) -> None:
    # The real text graph, with or without (stand-in) weights: the importer is asked about first, since
    # downloading the 64 MB weights would not help.
    folder = tmp_path / "mask-rcnn-coco"
    folder.mkdir()
    for name in ("mask_rcnn_inception_v2_coco_2018_01_28.pbtxt", "object_detection_classes_coco.txt", "colors.txt"):
        (folder / name).write_bytes((models_dir / "mask-rcnn-coco" / name).read_bytes())
    if weights == "present":
        (folder / "frozen_inference_graph.pb").write_bytes(b"\0" * 1024)
    photo = testdata / "images" / "davis_tennis_f030.jpg"
    out = tmp_path / "out.png"
    line = _one_error_line(_run("--mask-rcnn", folder, "--source", photo, "--output", out, "--no-window"))
    assert f"OpenCV {cv2.__version__} has no TensorFlow importer" in line
    assert "pip install 'opencv-python>=5.0,<5.1'" in line
    assert not out.exists()


def test_a_tensorflow_model_card_says_the_same(testdata: Path, tmp_path: Path) -> None:
    model = tf_model(tmp_path / "m.pb", red_minus_blue(21, PERSON))
    write_card(model, {"input_size": [W, H], "scale": 1 / 255, "output": "softmax", "person_class": PERSON})
    photo = testdata / "images" / "davis_tennis_f030.jpg"
    line = _one_error_line(_run("--model", model, "--source", photo, "--output", tmp_path / "o.png", "--no-window"))
    assert "has no TensorFlow importer" in line


def test_the_default_model_still_works(testdata: Path, tmp_path: Path) -> None:
    photo = testdata / "images" / "davis_tennis_f030.jpg"
    out = tmp_path / "out.png"
    result = _run("--source", photo, "--output", out, "--no-window")
    assert result.returncode == 0, result.stderr
    picture, original = cv2.imread(str(out)), cv2.imread(str(photo))
    assert picture.shape == original.shape and not np.array_equal(picture, original)  # blurred where nobody is


def test_the_doctor_gives_mask_rcnn_a_line_with_the_reason() -> None:
    result = _run("--doctor")
    lines = [line for line in result.stdout.splitlines() + result.stderr.splitlines() if "Mask R-CNN" in line]
    assert len(lines) == 1, result.stdout + result.stderr
    assert (
        "cannot run here" in lines[0] and "no TensorFlow importer" in lines[0] and "opencv-python>=5.0,<5.1" in lines[0]
    )
