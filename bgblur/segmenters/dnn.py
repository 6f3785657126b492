"""Loading networks with ``cv2.dnn`` the same way on OpenCV 4.x and 5.x, with errors a user can act on."""

from __future__ import annotations

from pathlib import Path

import cv2

from bgblur.errors import BgblurError

# OpenCV 5 has two engines; its new default cannot run Mask R-CNN's two-output forward, and the classic
# one was measured as fast or faster for the selfie models too. OpenCV 4 has only the classic engine.
_ENGINE = {"engine": cv2.dnn.ENGINE_CLASSIC} if hasattr(cv2.dnn, "ENGINE_CLASSIC") else {}

_READERS = {
    ".tflite": lambda model, config: cv2.dnn.readNetFromTFLite(model, **_ENGINE),
    ".onnx": lambda model, config: cv2.dnn.readNetFromONNX(model, **_ENGINE),
    ".pb": lambda model, config: cv2.dnn.readNetFromTensorflow(model, config or "", **_ENGINE),
}


def read_net(model: Path, config: Path | None = None, hint: str = "") -> cv2.dnn.Net:
    """Load ``model`` (``.tflite``, ``.onnx`` or TensorFlow ``.pb`` with an optional text graph)."""
    reader = _READERS.get(model.suffix.lower())
    if reader is None:
        raise BgblurError(f"{model}: unsupported model format {model.suffix!r} (use .onnx, .tflite or .pb)")
    for path in (model, config):
        if path is not None and not path.is_file():
            raise BgblurError(f"model file missing: {path}{hint}")
    try:
        net = reader(str(model), str(config) if config else None)
    except cv2.error as exc:
        raise BgblurError(f"cannot load model {model}: {_first_line(exc)}{hint}") from None
    if net.empty():
        raise BgblurError(f"cannot load model {model}: OpenCV read no layers from it{hint}")
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    return net


def _first_line(exc: cv2.error) -> str:
    """OpenCV errors span several lines; keep the one that says what failed."""
    text = str(exc).strip()
    for line in text.splitlines():
        if "error:" in line:
            return line.split("error:", 1)[1].strip().rstrip(".") or text.splitlines()[0]
    return text.splitlines()[0] if text else "OpenCV error"
