"""``--visualize`` through the command line: every Mask R-CNN detection drawn; the selfie matte as an overlay."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from util import run_bgblur

from bgblur.effects.visualize import draw_detections, draw_matte_overlay
from bgblur.segmenters.maskrcnn import MaskRCNNSegmenter

pytestmark = pytest.mark.e2e  # slow, end to end: real processes, windows, streams

RED, CYAN = (0, 0, 255), (255, 255, 0)


def test_visualize_with_mask_rcnn_draws_every_detection(testdata: Path, mrcnn_dir: Path, tmp_path: Path) -> None:
    source = testdata / "images" / "davis_breakdance_flare_f010.jpg"
    output = tmp_path / "drawn.png"
    result = run_bgblur("--source", source, "--mask-rcnn", mrcnn_dir, "--visualize", "--output", output, "--no-window")
    assert result.returncode == 0, result.stderr
    # The same model in-process (the stand-in weights are deterministic) says what should be drawn.
    segmenter = MaskRCNNSegmenter(mrcnn_dir)
    image = cv2.imread(str(source))
    detections = segmenter.detect(image)
    assert len(detections) > 1  # every instance is drawn, not only "the user"
    expected = draw_detections(image, detections, segmenter.colors, mask_threshold=segmenter.default_threshold)
    assert np.array_equal(cv2.imread(str(output)), expected)
    assert not np.array_equal(expected, image)


def test_selfie_visualize_is_a_matte_overlay(testdata: Path, tmp_path: Path) -> None:
    source = testdata / "images" / "davis_breakdance_flare_f010.jpg"
    output, matte = tmp_path / "drawn.png", tmp_path / "matte.png"
    result = run_bgblur("--source", source, "--visualize", "--output", output, "--matte", matte, "--no-window")
    assert result.returncode == 0, result.stderr
    image, out = cv2.imread(str(source)), cv2.imread(str(output))
    alpha = cv2.imread(str(matte), cv2.IMREAD_GRAYSCALE)
    assert np.array_equal(out[alpha == 0], image[alpha == 0])  # background: unblurred, untouched
    person = alpha == 255
    assert person.sum() > 1000
    expected = draw_matte_overlay(image, np.full(alpha.shape, 255, np.uint8))
    assert np.abs(out[person].astype(int) - expected[person]).max() <= 1
