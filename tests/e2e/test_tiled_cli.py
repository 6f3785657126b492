"""The tiled second look through the command line: a far person kept sharp and the wall blurred on a picture."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from util import person_regions, run_bgblur, sharpness

pytestmark = pytest.mark.e2e  # slow, end to end: real processes, windows, streams


def _picture(testdata: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    image = cv2.imread(str(testdata / "images" / f"{name}.jpg"))
    truth = cv2.imread(str(testdata / "masks" / f"{name}.png"), cv2.IMREAD_GRAYSCALE) > 127
    return image, truth


def test_a_picture_keeps_the_far_person_sharp_and_the_wall_blurred(testdata: Path, tmp_path: Path) -> None:
    """End to end: the bgblur command on the rollerblade photo. By default (tiles on a picture) she stays sharp
    and the graffiti wall behind her is blurred; with --no-tiles the whole-frame view merges her with the wall,
    which is then shown sharp around her."""
    name = "davis_rollerblade_f010"
    image, truth = _picture(testdata, name)
    inside, outside = person_regions(truth.astype(np.uint8) * 255, margin=5)
    x, y, w, h = cv2.boundingRect(inside)
    near = np.zeros_like(outside)
    near[max(0, y - h // 2) : y + h + h // 2, max(0, x - w) : x + 2 * w] = 1  # the wall around her
    near &= outside
    detail = {}
    for extra in ([], ["--no-tiles"]):
        out = tmp_path / f"out{len(extra)}.png"
        result = run_bgblur("--source", testdata / "images" / f"{name}.jpg", "--output", out, "--no-window", *extra)
        assert result.returncode == 0, result.stderr
        output = cv2.imread(str(out))
        detail[" ".join(extra) or "default"] = (sharpness(output, inside), sharpness(output, near))
    original = (sharpness(image, inside), sharpness(image, near))
    assert detail["default"][0] > 0.8 * original[0], (detail, original)  # the person: shown as she is
    assert detail["default"][1] < 0.1 * original[1], (detail, original)  # the wall: blurred
    assert detail["--no-tiles"][1] > 0.25 * original[1], (detail, original)  # without tiles: partly sharp
