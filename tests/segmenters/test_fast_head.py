"""The output layer done outside OpenCV (``bgblur.segmenters.fast_head``): taken only when it gives OpenCV's answer.

Each test model is a 1x1 convolution to a few feature channels, then a transposed convolution, then optionally a
sigmoid — the shape of the MediaPipe selfie models' last layers — written with the ``onnx`` package.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from bgblur.segmenters.dnn import read_net
from bgblur.segmenters.fast_head import split_head

SIZE = 24  # input width and height
# OpenCV 4.x and 5.0's classic engine expose each layer's weights; 5.1 has only the new engine, whose layers carry
# none (ConvTranspose2 with no blobs): there the head cannot be taken and the net runs whole, as OpenCV computes it.
CLASSIC_ENGINE = cv2.__version__.startswith("4.") or hasattr(cv2.dnn, "ENGINE_CLASSIC")


def upsampling_model(path: Path, kernel: int, stride: int, sigmoid: bool, out_channels: int = 1) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(kernel * 10 + stride)
    features = 5
    inits = [
        numpy_helper.from_array(rng.normal(size=(features, 3, 1, 1)).astype(np.float32), "w1"),
        numpy_helper.from_array(rng.normal(size=(features, out_channels, kernel, kernel)).astype(np.float32), "w2"),
        numpy_helper.from_array(rng.normal(size=out_channels).astype(np.float32), "b2"),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "w1"], ["features"]),
        helper.make_node("Relu", ["features"], ["relu"]),
        helper.make_node(
            "ConvTranspose", ["relu", "w2", "b2"], ["up"], kernel_shape=[kernel, kernel], strides=[stride, stride]
        ),
    ]
    last = "up"
    side = (SIZE - 1) * stride + kernel
    if sigmoid:
        nodes.append(helper.make_node("Sigmoid", ["up"], ["prob"]))
        last = "prob"
    graph = helper.make_graph(
        nodes,
        "upsampling",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
        [helper.make_tensor_value_info(last, TensorProto.FLOAT, [1, out_channels, side, side])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    onnx.save(model, str(path))
    return path


def probe() -> np.ndarray:
    return np.random.default_rng(1).random((1, 3, SIZE, SIZE), dtype=np.float32)


def opencv_answer(net: cv2.dnn.Net, blob: np.ndarray) -> np.ndarray:
    net.setInput(blob)
    return net.forward()


@pytest.mark.parametrize("sigmoid", [True, False], ids=["with-sigmoid", "bare"])
@pytest.mark.parametrize("out_channels", [1, 2])
def test_non_overlapping_head_is_taken_and_matches_opencv(tmp_path: Path, sigmoid: bool, out_channels: int) -> None:
    net = read_net(upsampling_model(tmp_path / "m.onnx", 2, 2, sigmoid, out_channels))
    head = split_head(net, None, probe())
    if not CLASSIC_ENGINE:
        assert head is None  # (OpenCV 5.1: see CLASSIC_ENGINE)
        return
    assert head is not None and head.kernel == 2 and head.sigmoid == sigmoid
    other = np.random.default_rng(7).random((1, 3, SIZE, SIZE), dtype=np.float32)  # not the probe it was checked on
    expected = opencv_answer(net, other)
    net.setInput(other)
    ours = head(net.forward(head.input_name))
    assert ours.shape == expected.shape == (1, out_channels, 2 * SIZE, 2 * SIZE)
    np.testing.assert_allclose(ours, expected, atol=1e-5)


@pytest.mark.parametrize(("kernel", "stride"), [(3, 2), (4, 2), (2, 1)])
def test_overlapping_or_other_heads_are_left_to_opencv(tmp_path: Path, kernel: int, stride: int) -> None:
    net = read_net(upsampling_model(tmp_path / "m.onnx", kernel, stride, sigmoid=True))
    assert split_head(net, None, probe()) is None


def test_a_model_without_a_transposed_convolution_is_run_whole(tmp_path: Path) -> None:
    from model_files import onnx_model

    net = read_net(onnx_model(tmp_path / "plain.onnx", np.ones((1, 3), np.float32), post="sigmoid"))
    assert split_head(net, None, probe()) is None
