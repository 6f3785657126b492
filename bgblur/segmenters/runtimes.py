"""Running a model file with the fastest runtime installed, behind one small interface.

:func:`load_network` opens a model with Google's LiteRT (``.tflite``, package ``ai-edge-litert``), onnxruntime
(``.onnx``) or OpenCV's ``cv2.dnn`` (``.tflite``, ``.onnx``, TensorFlow ``.pb``; always there, the fallback).
``runtime="auto"`` takes LiteRT for ``.tflite`` when it is importable and loads the file, else ``cv2.dnn``;
onnxruntime only when asked by name (see ``AUTO_RUNTIMES``). Measured here (2 cores, 1280x720 frame, resize and
colour conversion included, median): the selfie model 2.6 ms with LiteRT against 5.2 ms with ``cv2.dnn`` (its
fast head included) on one thread, 1.7 against 3.4 ms on two; the landscape model 1.4 against 2.9 ms; the
same mattes (IoU 1.000 over the 20 developer photos, largest difference 2e-4). And LiteRT runs MediaPipe's
person and full-range face detectors, which ``cv2.dnn`` cannot load (their DENSIFY operator).

Tensors keep ``cv2.dnn``'s conventions whatever runs them, so a model card means the same on every runtime:
the caller feeds an NCHW float32 blob; LiteRT models take NHWC, so a blob that is the model's input transposed
is transposed on the way in and its 4-D outputs back to NCHW on the way out.

Threads are pinned: each network uses ``threads`` (default: the usable cores, never more). ``cv2.dnn`` has one
process-wide thread pool instead (``cv2.setNumThreads``), left as the application set it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from bgblur.errors import BgblurError
from bgblur.models import check_model_file
from bgblur.native import captured_native_output
from bgblur.segmenters.dnn import opencv_reason, read_net
from bgblur.threads import usable_cores

RUNTIMES = ("auto", "litert", "onnxruntime", "opencv")
# Which runtime besides cv2.dnn (which opens them all) can open which format.
FAST_RUNTIMES = {".tflite": "litert", ".onnx": "onnxruntime"}
# What "auto" tries before cv2.dnn. Not onnxruntime: it follows the ONNX spec where cv2.dnn does not (an opset-11
# Softmax normalises over C*H*W there, over channels in cv2.dnn), so one card would give another matte depending
# on what happens to be installed; ask for it by name.
AUTO_RUNTIMES = {".tflite": "litert"}
INSTALL_HINT = {
    "litert": "pip install ai-edge-litert (wheels for Linux x86_64/aarch64, Windows x86_64, macOS arm64)",
    "onnxruntime": "pip install onnxruntime",
}


class NetworkError(RuntimeError):
    """A runtime failed on an input (wrong shape, a broken model): the message says what the runtime said."""


class Network(Protocol):
    """A loaded model: feed an NCHW float32 blob, get its outputs as float32 arrays."""

    runtime: str  # "litert", "onnxruntime" or "opencv": what --stats shows
    threads: int  # threads it computes with
    output_names: tuple[str, ...]  # the model's outputs, in the model's order

    def has_output(self, name: str) -> bool:
        """Whether :meth:`run` can return ``name``."""
        ...

    def run(self, blob: np.ndarray, outputs: Sequence[str] | None = None) -> list[np.ndarray]:
        """Outputs for ``blob``: the named ones in that order, or all of them in ``output_names`` order."""
        ...


def pin_threads(threads: int | None) -> int:
    """``threads`` clamped to 1..usable cores; None means all usable cores."""
    cores = usable_cores()
    return cores if threads is None else max(1, min(int(threads), cores))


def runtime_available(runtime: str) -> bool:
    """Whether ``runtime``'s package imports here (``opencv`` always does)."""
    try:
        if runtime == "litert":
            from ai_edge_litert import interpreter  # noqa: F401
        elif runtime == "onnxruntime":
            import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def load_network(path: Path | str, runtime: str = "auto", threads: int | None = None, hint: str = "") -> Network:
    """Open ``path`` with ``runtime`` (see the module docstring), computing with ``threads`` threads."""
    path = Path(path)
    if runtime not in RUNTIMES:
        raise BgblurError(f"unknown runtime {runtime!r}: use one of {', '.join(RUNTIMES)}")
    check_model_file(path, hint)
    threads = pin_threads(threads)
    suffix = path.suffix.lower()
    if runtime == "auto":
        fast = AUTO_RUNTIMES.get(suffix)
        if fast is not None and runtime_available(fast):
            try:
                return _open(path, fast, threads)
            except NetworkError:
                pass  # a file the fast runtime cannot run: cv2.dnn may, and its error messages name the fix
        return OpenCVNetwork(path, hint=hint)
    if runtime != "opencv" and FAST_RUNTIMES.get(suffix) != runtime:
        raise BgblurError(f"{path}: the {runtime} runtime does not run {path.suffix} models")
    if runtime != "opencv" and not runtime_available(runtime):
        raise BgblurError(f"{path} needs the {runtime} runtime, which is not installed: {INSTALL_HINT[runtime]}")
    if runtime == "opencv":
        return OpenCVNetwork(path, hint=hint)
    try:
        return _open(path, runtime, threads)
    except NetworkError as exc:
        raise BgblurError(f"cannot load model {path} with {runtime}: {exc}{hint}") from None


def _open(path: Path, runtime: str, threads: int) -> Network:
    return LiteRTNetwork(path, threads) if runtime == "litert" else OnnxRuntimeNetwork(path, threads)


class OpenCVNetwork:
    """``cv2.dnn`` (classic engine on OpenCV 5): runs every format bgblur reads. ``net`` is the ``cv2.dnn.Net``
    for callers that reach inside it (the segmenter's faster transposed-convolution head)."""

    runtime = "opencv"

    def __init__(self, path: Path, hint: str = "") -> None:
        self.net = read_net(path, hint=hint)
        self.output_names = tuple(self.net.getUnconnectedOutLayersNames())
        self.threads = cv2.getNumThreads()

    def has_output(self, name: str) -> bool:
        """``cv2.dnn`` can stop at any layer, not only the model's outputs."""
        return name in self.output_names or name in self.net.getLayerNames()

    def run(self, blob: np.ndarray, outputs: Sequence[str] | None = None) -> list[np.ndarray]:
        names = list(outputs) if outputs else list(self.output_names)
        self.net.setInput(blob)
        try:
            return list(self.net.forward(names))
        except cv2.error as exc:
            raise NetworkError(f"OpenCV: {opencv_reason(exc)}") from None


class LiteRTNetwork:
    """Google's LiteRT interpreter with its default XNNPACK delegate (which MediaPipe's custom
    ``Convolution2DTransposeBias`` operator needs), ``threads`` threads."""

    runtime = "litert"

    def __init__(self, path: Path, threads: int) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.threads = threads
        try:
            # LiteRT prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." past Python: keep it quiet.
            with captured_native_output():
                self._interpreter = Interpreter(model_path=str(path), num_threads=threads)
                self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise NetworkError(f"LiteRT: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc}") from None
        inputs = self._interpreter.get_input_details()
        if len(inputs) != 1:
            raise NetworkError(f"LiteRT: the model takes {len(inputs)} inputs; bgblur feeds one picture")
        self._input = inputs[0]
        if self._input["dtype"] != np.float32:
            raise NetworkError(f"LiteRT: the model takes {np.dtype(self._input['dtype']).name}, not float32")
        self.input_shape = tuple(int(v) for v in self._input["shape"])
        details = self._interpreter.get_output_details()
        self._outputs = {d["name"]: d["index"] for d in details}
        self.output_names = tuple(d["name"] for d in details)

    def has_output(self, name: str) -> bool:
        return name in self._outputs

    def _fit(self, blob: np.ndarray) -> tuple[np.ndarray, bool]:
        """The blob as the model takes it, and whether it was transposed from NCHW. A fully convolutional model
        is resized to another picture size, as cv2.dnn would run it."""
        shape = self.input_shape
        nhwc_model = len(shape) == 4 and shape[3] in (1, 3, 4) and shape[1] > 4
        transposed = blob.ndim == 4 and nhwc_model and tuple(blob.shape) != shape and blob.shape[1] == shape[3]
        if transposed:
            blob = blob.transpose(0, 2, 3, 1)
        if tuple(blob.shape) != self.input_shape:
            try:
                self._interpreter.resize_tensor_input(self._input["index"], list(blob.shape))
                self._interpreter.allocate_tensors()
            except (ValueError, RuntimeError) as exc:
                raise NetworkError(
                    f"LiteRT: input {tuple(blob.shape)} does not fit the model's {self.input_shape} ({exc})"
                ) from None
            self.input_shape = tuple(blob.shape)
        return blob, transposed

    def run(self, blob: np.ndarray, outputs: Sequence[str] | None = None) -> list[np.ndarray]:
        blob, transposed = self._fit(blob)
        names = list(outputs) if outputs else list(self.output_names)
        missing = [n for n in names if n not in self._outputs]
        if missing:
            raise NetworkError(f"LiteRT: no output {missing[0]!r}; the model's outputs: {', '.join(self.output_names)}")
        try:
            self._interpreter.set_tensor(self._input["index"], np.ascontiguousarray(blob, np.float32))
            self._interpreter.invoke()
        except (ValueError, RuntimeError) as exc:
            raise NetworkError(f"LiteRT: {exc}") from None
        results = []
        for name in names:
            out = self._interpreter.get_tensor(self._outputs[name])  # a copy: the next invoke cannot change it
            results.append(out.transpose(0, 3, 1, 2) if transposed and out.ndim == 4 else out)
        return results


class OnnxRuntimeNetwork:
    """onnxruntime's CPU provider, ``threads`` threads for each operator and one for the graph."""

    runtime = "onnxruntime"

    def __init__(self, path: Path, threads: int) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: its warnings are not the user's business
        self.threads = threads
        try:
            self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types, not exported stably
            raise NetworkError(f"onnxruntime: {str(exc).strip().splitlines()[0]}") from None
        inputs = self._session.get_inputs()
        if len(inputs) != 1:
            raise NetworkError(f"onnxruntime: the model takes {len(inputs)} inputs; bgblur feeds one picture")
        self._input_name = inputs[0].name
        self.output_names = tuple(o.name for o in self._session.get_outputs())

    def has_output(self, name: str) -> bool:
        return name in self.output_names

    def run(self, blob: np.ndarray, outputs: Sequence[str] | None = None) -> list[np.ndarray]:
        names = list(outputs) if outputs else list(self.output_names)
        try:
            results = self._session.run(names, {self._input_name: np.ascontiguousarray(blob, np.float32)})
        except Exception as exc:
            raise NetworkError(f"onnxruntime: {str(exc).strip().splitlines()[0]}") from None
        return [np.asarray(r, np.float32) for r in results]
