"""Loading networks with ``cv2.dnn`` the same way on OpenCV 4.x and 5.x, with errors a user can act on."""

from __future__ import annotations

import re
from pathlib import Path

import cv2

from bgblur.errors import BgblurError
from bgblur.models import MODEL_SUFFIXES, check_model_file
from bgblur.native import captured_native_output

# OpenCV 5 has two engines; its new default cannot run Mask R-CNN's two-output forward, and the classic
# one was measured as fast or faster for the selfie models too. OpenCV 4 has only the classic engine.
_ENGINE = {"engine": cv2.dnn.ENGINE_CLASSIC} if hasattr(cv2.dnn, "ENGINE_CLASSIC") else {}

_READERS = {
    ".tflite": lambda model, config: cv2.dnn.readNetFromTFLite(model, **_ENGINE),
    ".onnx": lambda model, config: cv2.dnn.readNetFromONNX(model, **_ENGINE),
    ".pb": lambda model, config: cv2.dnn.readNetFromTensorflow(model, config or "", **_ENGINE),
}


def tensorflow_unsupported() -> str | None:
    """Why this OpenCV cannot read TensorFlow ``.pb`` graphs (Mask R-CNN, TensorFlow model cards), or None if it can:
    OpenCV 5.1 removed its TensorFlow importer altogether."""
    if hasattr(cv2.dnn, "readNetFromTensorflow"):
        return None
    return (
        f"OpenCV {cv2.__version__} has no TensorFlow importer (removed in 5.1), so it cannot run TensorFlow .pb models "
        "such as Mask R-CNN: install an OpenCV that has it: pip install 'opencv-python>=5.0,<5.1'"
    )


def read_net(model: Path, config: Path | None = None, hint: str = "") -> cv2.dnn.Net:
    """Load ``model`` (``.tflite``, ``.onnx`` or TensorFlow ``.pb`` with an optional text graph)."""
    if model.suffix.lower() == ".pb" and (unsupported := tensorflow_unsupported()):
        raise BgblurError(unsupported)
    check_model_file(model, hint)
    if config is not None and not config.is_file():
        raise BgblurError(f"model file missing: {config}{hint}")
    reader = _READERS[model.suffix.lower()]
    kind = MODEL_SUFFIXES[model.suffix.lower()]
    # OpenCV's TF importer prints its layer map to stdout when a graph is broken: keep that off the terminal.
    with captured_native_output():
        try:
            net = reader(str(model), str(config) if config else None)
        except cv2.error as exc:
            net = None
            reason = opencv_reason(exc)
    if net is None:
        if config is not None:
            raise BgblurError(
                f"cannot load model {model} with {config.name}: the files are damaged or do not belong together "
                f"(OpenCV: {reason}){hint}"
            )
        raise BgblurError(
            f"cannot load model {model}: not a valid {kind} model (damaged, incomplete, or another format; "
            f"OpenCV: {reason}){hint}"
        )
    if net.empty():
        raise BgblurError(f"cannot load model {model}: OpenCV read no layers from it{hint}")
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    return net


def opencv_reason(exc: cv2.error) -> str:
    """The part of an OpenCV error that says what failed: no error code, no C++ function name, one line."""
    text = (getattr(exc, "err", "") or str(exc)).strip()
    if "error:" in text:  # the full multi-line form: keep what follows "error: (-N:...)"
        text = text.split("error:", 1)[1]
    text = re.sub(r"^\s*\(-?\d+:[^)]*\)\s*", "", text)
    text = re.sub(r"\s+in function '[^']*'.*$", "", text, flags=re.DOTALL)
    first = text.strip().splitlines()[0] if text.strip() else "OpenCV error"
    return first.strip().rstrip(".")
