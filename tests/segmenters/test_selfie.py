"""The bundled selfie models on real photos with ground-truth person masks."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from bgblur.segmenters import create_segmenter

# Measured on the 11 photos with people: selfie 0.655, selfie-landscape 0.643 (hard 0.5 cut, no refinement).
IOU_FLOOR = {"selfie": 0.63, "selfie-landscape": 0.62}
OUTPUT_SHAPE = {"selfie": (256, 256), "selfie-landscape": (144, 256)}


def iou(pred: np.ndarray, truth: np.ndarray) -> float:
    union = np.logical_or(pred, truth).sum()
    return float(np.logical_and(pred, truth).sum() / union) if union else 1.0


@pytest.mark.parametrize("name", ["selfie", "selfie-landscape"])
def test_mean_iou_on_people(name: str, testdata: Path) -> None:
    segmenter = create_segmenter(name)
    scores = {}
    for image_path in sorted((testdata / "images").glob("*.jpg")):
        if image_path.stem.startswith("noperson"):
            continue
        image = cv2.imread(str(image_path))
        truth = cv2.imread(str(testdata / "masks" / f"{image_path.stem}.png"), cv2.IMREAD_GRAYSCALE) > 127
        probability = segmenter.segment(image)  # the model's own output size, covering the whole picture
        assert probability.shape == OUTPUT_SHAPE[name] and probability.dtype == np.float32
        assert probability.min() >= 0 and probability.max() <= 1
        matte = cv2.resize(probability, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
        scores[image_path.stem] = iou(matte > 0.5, truth)
    with_people = [
        p for p in (testdata / "masks").glob("*.png") if (cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) > 127).any()
    ]
    assert len(scores) == len(with_people) == 11  # the developer set's photos with people
    mean = float(np.mean(list(scores.values())))
    print(f"\n{name} mean IoU {mean:.3f}: " + ", ".join(f"{k} {v:.2f}" for k, v in scores.items()))
    assert mean >= IOU_FLOOR[name]
