"""Tiny segmentation models whose right answer is known, written by the tests (ONNX with the ``onnx`` package,
TensorFlow ``.pb`` with a few lines of protobuf wire format), and their JSON cards.

Every model is a 1x1 convolution: class ``c`` gets the logit ``weights[c] · pixel + bias[c]`` at every pixel,
where ``pixel`` is the normalised input in the model's channel order. Optional last nodes (Softmax, Sigmoid)
turn logits into probabilities inside the model.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

OPSET = 13  # 13: Softmax(axis=1) is over the channels only (opset 11 flattens C, H, W into one axis, which ONNX Runtime
# and OpenCV 5.1 follow and OpenCV 5.0's classic engine does not); read by every OpenCV in the range


def onnx_model(
    path: Path,
    weights: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    layout: str = "nchw",
    post: str | None = None,
    extra_output: bool = False,
    out_layout: str | None = None,
    pooled: bool = False,
) -> Path:
    """Write a 1x1-conv ONNX model. ``weights`` is (classes, 3). ``layout`` "nhwc" makes it take and give
    channels-last tensors (Transpose nodes around the conv); ``out_layout`` overrides the output side only.
    ``post``: None, "softmax" (over classes) or "sigmoid". ``extra_output`` adds a second output "aux": the
    sigmoid of the logits. ``pooled`` ends in a (1, classes) vector instead of a map (a classifier, not a segmenter)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    classes = weights.shape[0]
    bias = np.zeros(classes, np.float32) if bias is None else bias
    out_layout = out_layout or layout
    inits = [
        numpy_helper.from_array(weights.reshape(classes, 3, 1, 1).astype(np.float32), "w"),
        numpy_helper.from_array(bias.astype(np.float32), "b"),
    ]
    nodes = []
    if layout == "nhwc":
        nodes.append(helper.make_node("Transpose", ["input"], ["nchw_input"], perm=[0, 3, 1, 2]))
        src = "nchw_input"
        shape = [1, None, None, 3]
    else:
        src = "input"
        shape = [1, 3, None, None]
    nodes.append(helper.make_node("Conv", [src, "w", "b"], ["logits"]))
    last = "logits"
    if post == "softmax":
        nodes.append(helper.make_node("Softmax", [last], ["probs"], axis=1))
        last = "probs"
    elif post == "sigmoid":
        nodes.append(helper.make_node("Sigmoid", [last], ["probs"]))
        last = "probs"
    if pooled:
        nodes.append(helper.make_node("GlobalAveragePool", [last], ["pooled"]))
        nodes.append(helper.make_node("Flatten", ["pooled"], ["scores"], axis=1))
        last = "scores"
    elif out_layout == "nhwc":
        nodes.append(helper.make_node("Transpose", [last], ["seg"], perm=[0, 2, 3, 1]))
        last = "seg"
    outputs = [helper.make_tensor_value_info(last, TensorProto.FLOAT, [1, None] if pooled else [1, None, None, None])]
    if extra_output:
        nodes.append(helper.make_node("Sigmoid", ["logits"], ["aux"]))
        outputs.append(helper.make_tensor_value_info("aux", TensorProto.FLOAT, [1, None, None, None]))
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, shape)]
    graph = helper.make_graph(nodes, "test-segmenter", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="bgblur-tests")
    model.ir_version = 7
    onnx.save(model, str(path))
    return path


# --- TensorFlow GraphDef in protobuf wire format (no TensorFlow needed) ---------------------------------------
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


def _field(number: int, data: bytes) -> bytes:  # length-delimited field
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _int_field(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _attr(name: str, value: bytes) -> bytes:  # NodeDef.attr map entry; value is an encoded AttrValue
    return _field(5, _field(1, name.encode()) + _field(2, value))


def _node(name: str, op: str, inputs: tuple[str, ...] = (), attrs: bytes = b"") -> bytes:
    body = _field(1, name.encode()) + _field(2, op.encode()) + b"".join(_field(3, i.encode()) for i in inputs)
    return _field(1, body + attrs)


def tf_model(path: Path, weights: np.ndarray, *, post: str | None = None) -> Path:
    """Write a frozen TensorFlow graph: Placeholder (NHWC) → Conv2D 1x1 → optional Softmax/Sigmoid.
    OpenCV reads TF graphs channels-first on both sides, so its card keeps ``layout`` "nchw"."""
    float_type = _int_field(6, 1)  # AttrValue.type = DT_FLOAT
    hwio = weights.T.reshape(1, 1, 3, weights.shape[0]).astype("<f4")
    shape = b"".join(_field(2, _int_field(1, d)) for d in hwio.shape)
    tensor = _int_field(1, 1) + _field(2, shape) + _field(4, hwio.tobytes())
    strides = _field(1, _field(3, b"".join(_varint(1) for _ in range(4))))
    nodes = [
        _node("input", "Placeholder", attrs=_attr("dtype", float_type)),
        _node("w", "Const", attrs=_attr("dtype", float_type) + _attr("value", _field(8, tensor))),
        _node(
            "conv",
            "Conv2D",
            ("input", "w"),
            _attr("T", float_type)
            + _attr("padding", _field(2, b"VALID"))
            + _attr("strides", strides)
            + _attr("data_format", _field(2, b"NHWC")),
        ),
    ]
    if post:
        op = {"softmax": "Softmax", "sigmoid": "Sigmoid"}[post]
        nodes.append(_node("probs", op, ("conv",), _attr("T", float_type)))
    path.write_bytes(b"".join(nodes))
    return path


def write_card(model: Path, card: dict | str) -> Path:
    """The card beside ``model``: a dict as JSON, or raw text (for malformed cards)."""
    path = model.with_suffix(".json")
    path.write_text(card if isinstance(card, str) else json.dumps(card), encoding="utf-8")
    return path


# The tests' known-answer models and pictures: a person wherever red exceeds blue.
W, H = 16, 12  # the test models' input size; crafted images have it too, so no resizing blurs the check
PERSON = 15  # PASCAL VOC's person
K = 60.0  # logit gain: the person's softmax wins clearly where red exceeds blue


def crafted_image(seed: int = 0, size: tuple[int, int] = (W, H)) -> np.ndarray:
    """Random colours (BGR uint8), every pixel different, with red and blue far apart in most pixels."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)


def red_minus_blue(classes: int, person: int) -> np.ndarray:
    """Weights (classes, 3) over model-order channels R, G, B: the person's logit is K * (R - B), others 0."""
    weights = np.zeros((classes, 3), np.float32)
    weights[person] = (K, 0.0, -K)
    return weights
