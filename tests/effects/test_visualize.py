"""``--visualize`` drawing: Mask R-CNN detections (boxes, masks, labels) and the matte overlay."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from bgblur.cli import parse_options
from bgblur.effects.visualize import MASK_OPACITY, draw_detections
from bgblur.errors import UsageError
from bgblur.segmenters.maskrcnn import Detection

RED, CYAN = (0, 0, 255), (255, 255, 0)


def _image(testdata: Path) -> np.ndarray:
    return cv2.imread(str(testdata / "images" / "davis_breakdance_flare_f010.jpg"))  # 854x480


def test_crafted_detections_are_drawn_where_they_say(testdata: Path) -> None:
    image = _image(testdata)
    full, empty = np.ones((15, 15), np.float32), np.zeros((15, 15), np.float32)
    person = Detection(0, "person", 0.91, (100, 60, 300, 400), full)
    car = Detection(2, "car", 0.66, (500, 100, 700, 250), empty)
    off_edge = Detection(1, "bicycle", 0.7, (780, 300, 900, 520), full)  # runs past the right and bottom edges
    colours = [RED, (0, 255, 0), CYAN]
    out = draw_detections(image, [person, car, off_edge], colours)

    assert out.shape == image.shape and not np.shares_memory(out, image)
    for (x0, y0, x1, y1), colour in (((100, 60, 300, 400), RED), ((500, 100, 700, 250), CYAN)):
        for x, y in ((x0, (y0 + y1) // 2), (x1 - 1, (y0 + y1) // 2), ((x0 + x1) // 2, y0), ((x0 + x1) // 2, y1 - 1)):
            assert tuple(out[y, x]) == colour, (x, y)
    # The clipped box is drawn on the frame's edge.
    assert tuple(out[400, 853]) == (0, 255, 0) and tuple(out[479, 820]) == (0, 255, 0)
    # Inside the person's box (clear of border and label): tinted by its colour at MASK_OPACITY.
    inner = (slice(80, 380), slice(120, 280))
    expected = image[inner] * (1 - MASK_OPACITY) + np.array(RED) * MASK_OPACITY
    assert np.abs(out[inner].astype(float) - expected).max() <= 1.0
    # The car's mask is empty: inside its box nothing changes; nor anywhere away from all detections.
    assert np.array_equal(out[120:240, 510:690], image[120:240, 510:690])
    assert np.array_equal(out[420:480, 320:480], image[420:480, 320:480])
    # Labels: text in the box colour just above each box.
    assert (out[30:58, 100:300] == RED).all(axis=2).sum() > 30
    assert (out[70:98, 500:700] == CYAN).all(axis=2).sum() > 30


@pytest.mark.parametrize("extra", [["--auto-frame"], ["--background", "green"], ["--light-wrap"]])
def test_visualize_refuses_what_would_move_or_hide_the_model_view(extra: list[str]) -> None:
    """The drawing is of the whole frame the model saw: a crop or another background would misplace it."""
    with pytest.raises(UsageError, match="--visualize shows the model's view on the whole unblurred frame"):
        parse_options(["--visualize", *extra])
