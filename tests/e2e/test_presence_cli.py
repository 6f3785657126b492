"""The presence check through the command line: a cup without a person is blurred everywhere, a faceless body
is kept with ``face-or-pose``, and a wrong pose model is a clear error."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from util import assert_blurred_everywhere, assert_error, person_regions, run_bgblur, sharpness

pytestmark = pytest.mark.e2e  # slow, end to end: real processes, windows, streams

# The left woman's face in cihp_two_women_graduation (500x752), read off the picture: x 305..400, y 210..310.
GRADUATION_FACE = (305, 210, 400, 310)


def test_presence_option_blurs_the_coffee_cup_everywhere(testdata: Path, tmp_path: Path) -> None:
    source = testdata / "images" / "noperson_coffee_cup.jpg"
    out = tmp_path / "out.png"
    result = run_bgblur("--source", source, "--output", out, "--no-window", "--presence", "face-or-body")
    assert result.returncode == 0, result.stderr
    image, output = cv2.imread(str(source)), cv2.imread(str(out))
    assert_blurred_everywhere(image, output)


def test_face_or_pose_end_to_end_keeps_the_dancer_sharp_and_blurs_the_cup(
    testdata: Path, pose_model: Path, tmp_path: Path
) -> None:
    name = "davis_breakdance_flare_f010"
    source = testdata / "images" / f"{name}.jpg"
    inside, _ = person_regions(cv2.imread(str(testdata / "masks" / f"{name}.png"), cv2.IMREAD_GRAYSCALE))
    image = cv2.imread(str(source))
    outputs = {}
    for mode in ("face", "face-or-pose"):  # no face is found on the upside-down dancer
        out = tmp_path / f"{mode}.png"
        args = ["--source", source, "--output", out, "--no-window", "--presence", mode, "--pose-model", pose_model]
        result = run_bgblur(*(args if mode == "face-or-pose" else args[:-2]))
        assert result.returncode == 0, result.stderr
        outputs[mode] = cv2.imread(str(out))
    assert sharpness(outputs["face"], inside) < 0.5 * sharpness(image, inside)  # blurred: no evidence
    assert sharpness(outputs["face-or-pose"], inside) > 0.9 * sharpness(image, inside)  # the pose model found a body
    cup = testdata / "images" / "noperson_coffee_cup.jpg"
    out = tmp_path / "cup.png"
    result = run_bgblur(
        "--source", cup, "--output", out, "--no-window", "--presence", "face-or-pose", "--pose-model", pose_model
    )
    assert result.returncode == 0, result.stderr
    assert_blurred_everywhere(cv2.imread(str(cup)), cv2.imread(str(out)))


def test_pose_model_errors(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.tflite"
    source = str(tmp_path / "in.png")
    cv2.imwrite(source, np.full((64, 64, 3), 90, np.uint8))
    out = tmp_path / "out.png"
    common = ["--source", source, "--output", out, "--no-window"]
    assert_error(run_bgblur(*common, "--pose-model", missing), 2, "--pose-model", "--presence face-or-pose")
    assert_error(
        run_bgblur(*common, "--presence", "face-or-pose", "--pose-model", missing),
        1,
        "nowhere.tflite",
        "bgblur --download pose",
    )
    wrong = tmp_path / "face.tflite"  # a real model, but not the pose model
    wrong.write_bytes(
        (Path(__file__).resolve().parents[2] / "bgblur" / "data" / "face_detection_short_range.tflite").read_bytes()
    )
    assert_error(run_bgblur(*common, "--presence", "face-or-pose", "--pose-model", wrong), 1, "not MediaPipe's pose")
    assert not out.exists()
