"""Mask R-CNN: the real text graph with stand-in weights, and person selection on crafted detections."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bgblur.matte import MatteMaker
from bgblur.segmenters import create_segmenter
from bgblur.segmenters.maskrcnn import MaskRCNNSegmenter, paste_mask, set_keep_top_k

W, H = 200, 100


@pytest.fixture(scope="module")
def segmenter(mrcnn_dir: Path) -> MaskRCNNSegmenter:
    return create_segmenter(mask_rcnn=mrcnn_dir, detections=10)


def crafted(*rows: tuple[int, float, float, float, float, float], mask_value: float = 0.9):
    """Detection tensors shaped like the network's: boxes (1,1,N,7) and masks (N,90,15,15)."""
    boxes = np.zeros((1, 1, len(rows), 7), np.float32)
    masks = np.zeros((len(rows), 90, 15, 15), np.float32)
    for i, (class_id, score, x0, y0, x1, y1) in enumerate(rows):
        boxes[0, 0, i] = (0, class_id, score, x0, y0, x1, y1)
        masks[i, class_id] = mask_value
    return boxes, masks


def test_real_graph_runs_and_gives_a_frame_sized_matte(segmenter: MaskRCNNSegmenter, testdata: Path) -> None:
    import cv2

    image = cv2.imread(str(testdata / "images" / "davis_rollerblade_f010.jpg"))
    boxes, masks = segmenter.forward(image)
    assert boxes.shape == (1, 1, 10, 7)  # keep_top_k lowered from 100 at load time
    assert masks.shape == (10, 90, 15, 15)
    matte = segmenter.segment(image)
    assert matte.shape == image.shape[:2] and matte.dtype == np.float32
    assert matte.min() >= 0.0 and matte.max() <= 1.0
    assert matte.max() > 0  # the stand-in (person bias 8) reports people


def test_keep_top_k_edit_touches_both_detection_nodes(mrcnn_dir: Path) -> None:
    text = (mrcnn_dir / "mask_rcnn_inception_v2_coco_2018_01_28.pbtxt").read_text()
    edited = set_keep_top_k(text, 7)
    assert text.count("i: 100") - edited.count("i: 100") == 2
    assert edited.count('key: "keep_top_k"') == 2 and "i: 7\n" in edited


def test_top_confidence_person_is_the_user(segmenter: MaskRCNNSegmenter) -> None:
    boxes, masks = crafted(
        (0, 0.70, 0.0, 0.0, 0.2, 0.5),  # a person, lower score
        (0, 0.95, 0.5, 0.5, 0.9, 1.0),  # the user
        (17, 0.99, 0.3, 0.0, 0.4, 0.2),  # a cat, highest score: not a person
        (0, 0.30, 0.25, 0.0, 0.45, 0.4),  # below --confidence 0.5
    )
    matte = segmenter.matte_from(segmenter.detections_from(boxes, masks, (W, H)), (W, H))
    assert matte[50:100, 100:180].min() == pytest.approx(0.9)
    assert matte[:50, :40].max() == 0 and matte[:20, 60:80].max() == 0
    assert np.count_nonzero(matte) == 50 * 80


def test_people_all_keeps_everyone_above_confidence(mrcnn_dir: Path) -> None:
    everyone = create_segmenter(mask_rcnn=mrcnn_dir, detections=10, people="all")
    boxes, masks = crafted((0, 0.70, 0.0, 0.0, 0.2, 0.5), (0, 0.95, 0.5, 0.5, 0.9, 1.0), (0, 0.3, 0.3, 0, 0.4, 0.2))
    matte = everyone.matte_from(everyone.detections_from(boxes, masks, (W, H)), (W, H))
    assert np.count_nonzero(matte) == 40 * 50 + 80 * 50


def test_boxes_leaving_the_frame_are_clipped(segmenter: MaskRCNNSegmenter) -> None:
    boxes, masks = crafted((0, 0.9, -0.3, -0.5, 0.25, 0.5))
    (det,) = segmenter.detections_from(boxes, masks, (W, H))
    matte = segmenter.matte_from([det], (W, H))
    assert np.count_nonzero(matte) == 50 * 50  # the part inside the frame only
    boxes, masks = crafted((0, 0.9, 0.8, 0.8, 1.7, 3.0), (0, 0.8, 1.2, 0.1, 1.5, 0.2), (0, 0.85, 0.5, 0.5, 0.5, 0.9))
    dets = segmenter.detections_from(boxes, masks, (W, H))
    matte = segmenter.matte_from(dets, (W, H))
    assert matte.shape == (H, W) and np.count_nonzero(matte) == 40 * 20


def test_class_mask_of_the_detected_class_is_used_and_upsampled_smoothly(segmenter: MaskRCNNSegmenter) -> None:
    boxes, masks = crafted((0, 0.9, 0.0, 0.0, 0.75, 1.0), mask_value=0.0)
    gradient = np.tile(np.linspace(0, 1, 15, dtype=np.float32), (15, 1))
    masks[0, 0] = gradient
    masks[0, 1] = 1.0  # another class's mask must be ignored
    matte = segmenter.matte_from(segmenter.detections_from(boxes, masks, (W, H)), (W, H))
    row = matte[50, :150]
    assert np.all(np.diff(row) >= -1e-6)  # a smooth ramp left to right, no blocks going backwards
    assert len(np.unique(np.round(row, 4))) > 100  # bilinear: many levels, not 15 nearest-neighbour steps


def test_threshold_splits_person_from_background(segmenter: MaskRCNNSegmenter) -> None:
    boxes, masks = crafted((0, 0.9, 0.0, 0.0, 1.0, 1.0), mask_value=0.0)
    masks[0, 0, :, :7] = 0.1
    masks[0, 0, :, 8:] = 0.6
    alpha = MatteMaker(0.3)(segmenter.matte_from(segmenter.detections_from(boxes, masks, (W, H)), (W, H)))
    assert alpha[:, :80].max() == 0  # probability 0.1 < 0.3: background
    assert alpha[:, 120:].min() == 255  # probability 0.6 > 0.3: person


def test_paste_mask_ignores_boxes_fully_outside() -> None:
    matte = np.zeros((10, 10), np.float32)
    paste_mask(matte, np.ones((15, 15), np.float32), (20, 20, 30, 30))
    paste_mask(matte, np.ones((15, 15), np.float32), (-30, 0, -1, 5))
    assert not matte.any()
