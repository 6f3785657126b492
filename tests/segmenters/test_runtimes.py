"""The model runtimes (bgblur.segmenters.runtimes): LiteRT and cv2.dnn give the same mattes on real photos, threads
are pinned, cv2.dnn takes over where LiteRT cannot run a card, and the runtime in use is reported."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from bgblur.errors import BgblurError
from bgblur.models import BUILTIN_MODELS
from bgblur.segmenters import create_segmenter
from bgblur.segmenters.runtimes import load_network, pin_threads
from bgblur.segmenters.single_pass import SinglePassSegmenter
from bgblur.threads import usable_cores
from tests.model_files import onnx_model, write_card

SELFIE = BUILTIN_MODELS["selfie"]


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


@pytest.mark.parametrize("name", sorted(BUILTIN_MODELS))
def test_litert_and_opencv_give_the_same_matte(name: str, testdata: Path) -> None:
    """Measured: IoU 1.000 on every one of the 24 photos (the four added last included), largest probability
    difference 1.8e-4."""
    fast = SinglePassSegmenter(BUILTIN_MODELS[name], runtime="litert")
    reference = SinglePassSegmenter(BUILTIN_MODELS[name], runtime="opencv")
    assert (fast.runtime, reference.runtime) == ("litert", "opencv")
    images = sorted((testdata / "images").glob("*.jpg"))
    assert len(images) == 24  # the developer set: 11 photos with people, 13 without
    ious = []
    for path in images:
        image = cv2.imread(str(path))
        ours, theirs = fast.segment(image), reference.segment(image)
        assert ours.shape == theirs.shape and ours.dtype == np.float32
        assert np.abs(ours - theirs).max() < 1e-3, path.name
        ious.append(_iou(ours > 0.5, theirs > 0.5))
    assert np.mean(ious) >= 0.99 and min(ious) >= 0.98


def test_auto_takes_litert_for_tflite_and_the_runtime_is_reported() -> None:
    segmenter = create_segmenter("selfie")
    assert segmenter.runtime == "litert"
    assert create_segmenter("selfie", runtime="opencv").runtime == "opencv"
    assert load_network(SELFIE).runtime == "litert"


def test_opencv_is_the_fallback_that_always_works(testdata: Path) -> None:
    """runtime="opencv" is the path taken when LiteRT is not installed: the same card, the same answer shape."""
    segmenter = create_segmenter("selfie", runtime="opencv")
    image = cv2.imread(str(testdata / "images" / "cihp_two_women_graduation.jpg"))
    matte = segmenter.segment(image)
    assert matte.shape == (256, 256) and matte.min() >= 0 and matte.max() <= 1
    assert (matte > 0.5).mean() > 0.1  # two people fill much of the picture


def test_wrappers_and_mask_rcnn_report_the_runtime_too() -> None:
    from bgblur.segmenters.fail_closed import FailClosedSegmenter
    from bgblur.segmenters.maskrcnn import MaskRCNNSegmenter
    from bgblur.segmenters.tiled import TiledSegmenter

    assert MaskRCNNSegmenter.runtime == "opencv"
    assert TiledSegmenter(SinglePassSegmenter(SELFIE, runtime="opencv")).runtime == "opencv"
    assert FailClosedSegmenter(TiledSegmenter(SinglePassSegmenter(SELFIE))).runtime == "litert"


def _threads_now() -> int:
    return len(os.listdir("/proc/self/task"))


def test_threads_are_pinned_never_above_the_cores() -> None:
    cores = usable_cores()
    assert pin_threads(None) == cores
    assert pin_threads(1000) == cores
    assert pin_threads(0) == 1
    assert load_network(SELFIE, "litert", threads=1).threads == 1
    assert load_network(SELFIE, "litert", threads=1000).threads == cores
    assert SinglePassSegmenter(SELFIE, runtime="litert", threads=2).threads == min(2, cores)
    assert SinglePassSegmenter(SELFIE).threads == 1  # the default: the pipeline uses the other core


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads through Linux's /proc")
@pytest.mark.parametrize("threads", [1, 2])
def test_litert_starts_only_the_threads_asked_for(threads: int) -> None:
    """XNNPACK's pool: the calling thread plus ``threads - 1`` workers, whatever the machine has."""
    if threads > usable_cores():
        pytest.fail(f"this test needs {threads} cores; the machine gives {usable_cores()}")
    before = _threads_now()
    network = load_network(SELFIE, "litert", threads=threads)
    network.run(np.zeros((1, 3, 256, 256), np.float32))
    assert _threads_now() - before == threads - 1
    del network


def test_litert_is_quiet(capfd: pytest.CaptureFixture[str]) -> None:
    """LiteRT prints "INFO: Created TensorFlow Lite XNNPACK delegate" from native code: none of it may show."""
    load_network(SELFIE, "litert").run(np.zeros((1, 3, 256, 256), np.float32))
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def _selfie_copy(tmp_path: Path, **card_changes: object) -> Path:
    model = tmp_path / "selfie.tflite"
    shutil.copy(SELFIE, model)
    card = json.loads(SELFIE.with_suffix(".json").read_text())
    (tmp_path / "selfie.json").write_text(json.dumps({**card, **card_changes}))
    return model


def test_cv2_dnn_takes_over_a_card_litert_cannot_run(tmp_path: Path) -> None:
    """A card asking for another input size: XNNPACK cannot reshape this model, cv2.dnn runs it as before."""
    model = _selfie_copy(tmp_path, input_size=[320, 320])
    assert SinglePassSegmenter(model).runtime == "opencv"
    with pytest.raises(BgblurError, match=r"does not fit its card .*LiteRT: input \(1, 320, 320, 3\).*'input_size'"):
        SinglePassSegmenter(model, runtime="litert")


def test_bad_runtime_requests_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(BgblurError, match="unknown runtime 'tensorrt': use one of auto, litert, onnxruntime, opencv"):
        load_network(SELFIE, "tensorrt")
    with pytest.raises(BgblurError, match=r"the onnxruntime runtime does not run \.tflite models"):
        load_network(SELFIE, "onnxruntime")
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(b"not a model\n" * 50)
    with pytest.raises(BgblurError, match=r"cannot load model .*broken.tflite with litert: LiteRT: .*Flatbuffer"):
        load_network(broken, "litert")
    # auto: LiteRT fails, cv2.dnn is asked and its message (the one users already know) is the answer
    with pytest.raises(BgblurError, match="not a valid TFLite model"):
        load_network(broken)


def test_litert_gives_named_outputs_in_the_order_asked() -> None:
    network = load_network(Path(BUILTIN_MODELS["selfie"]).parent / "face_detection_short_range.tflite", "litert")
    assert set(network.output_names) == {"classificators", "regressors"}
    scores, boxes = network.run(np.zeros((1, 3, 128, 128), np.float32), ["classificators", "regressors"])
    assert scores.shape == (1, 896, 1) and boxes.shape == (1, 896, 16)


def test_onnxruntime_when_asked_gives_cv2_dnns_answer(tmp_path: Path) -> None:
    weights = np.array([[2.0, 0.0, -2.0]], np.float32)
    model = onnx_model(tmp_path / "m.onnx", weights, post="sigmoid")
    write_card(model, {"input_size": [16, 12], "scale": 1 / 255, "output": "probability"})
    image = np.random.default_rng(1).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    fast = SinglePassSegmenter(model, runtime="onnxruntime")
    assert fast.runtime == "onnxruntime"
    np.testing.assert_allclose(fast.segment(image), SinglePassSegmenter(model).segment(image), atol=1e-5)
