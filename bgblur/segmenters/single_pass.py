"""Any one-pass segmentation model (ONNX, TFLite, TensorFlow .pb) described by a JSON model card beside it.

The card (``model.onnx`` → ``model.json``) says how to feed the model and read its answer::

    {"input_size": [W, H], "scale": 0.00392156862745098, "mean": [0.485, 0.456, 0.406],
     "std": [0.229, 0.224, 0.225], "swap_rb": true, "output": "softmax" | "sigmoid" | "probability",
     "person_class": 15, "layout": "nchw" | "nhwc", "output_name": "out", "threshold": 0.5}

Pixels are fed as ``(pixel * scale - mean) / std``, channel by channel in the order the model takes them
(R, G, B when ``swap_rb`` is true, else B, G, R). ``input_size`` and ``output`` are required; ``person_class``
too when the output has several channels. The bundled MediaPipe selfie models use the same cards.

The card reads the same on every runtime (:mod:`bgblur.segmenters.runtimes`): LiteRT runs ``.tflite`` models
when installed (about twice as fast here), ``cv2.dnn`` everything else, and whatever the faster runtime cannot
run as the card says.
"""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from bgblur.errors import BgblurError
from bgblur.models import check_model_file
from bgblur.segmenters.base import Segmenter
from bgblur.segmenters.dnn import opencv_reason
from bgblur.segmenters.fast_head import split_head
from bgblur.segmenters.runtimes import Network, NetworkError, load_network

OUTPUT_KINDS = ("softmax", "sigmoid", "probability")
CARD_KEYS = (
    "input_size",
    "scale",
    "mean",
    "std",
    "swap_rb",
    "output",
    "person_class",
    "layout",
    "output_name",
    "threshold",
)
# Keys people put on a card for other people to read; bgblur ignores them.
NOTE_KEYS = ("description", "license", "licence", "source", "url", "notes", "labels")


@dataclass(frozen=True)
class ModelCard:
    """How to run one single-pass model (see the module docstring for the JSON keys)."""

    input_size: tuple[int, int]
    scale: float = 1.0
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    swap_rb: bool = True
    output: str = "probability"
    person_class: int | None = None  # None: not given (fine for a one-channel output)
    layout: str = "nchw"
    output_name: str | None = None
    threshold: float = 0.5


def card_path_for(model: Path) -> Path:
    """Where the card of ``model`` lives: beside it, same name, ``.json``."""
    return model.with_suffix(".json")


def load_card(model: Path) -> ModelCard:
    """Read and check the ``.json`` card beside ``model``; errors name the card and the bad key."""
    card_path = card_path_for(model)
    if not card_path.is_file():
        raise BgblurError(
            f"model card missing: {card_path} (a JSON file describing how to run {model.name}; see README, "
            "'Use your own model')"
        )
    try:
        raw = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BgblurError(f"model card {card_path} is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise BgblurError(f"model card {card_path} must be a JSON object {{...}}, got {type(raw).__name__}")

    def bad(key: str, expected: str) -> BgblurError:
        return BgblurError(f"model card {card_path}: key {key!r} must be {expected}, got {raw.get(key)!r}")

    def number(value: object) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

    def whole(value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    def triple(key: str, default: tuple[float, float, float], positive: bool = False) -> tuple[float, float, float]:
        value = raw.get(key, list(default))
        if not (isinstance(value, list) and len(value) == 3 and all(number(v) for v in value)):
            raise bad(key, "a list of 3 numbers")
        if positive and any(v <= 0 for v in value):
            raise bad(key, "3 numbers above 0")
        return (float(value[0]), float(value[1]), float(value[2]))

    # A misspelt key would silently fall back to its default and give a wrong matte: refuse it.
    for key in raw:
        if key not in CARD_KEYS and key not in NOTE_KEYS:
            close = difflib.get_close_matches(key, CARD_KEYS, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(CARD_KEYS)}"
            raise BgblurError(f"model card {card_path}: unknown key {key!r} ({hint})")
    required = {"input_size": "[width, height] the model takes", "output": '"softmax", "sigmoid" or "probability"'}
    for key, meaning in required.items():
        if key not in raw:
            raise BgblurError(f"model card {card_path}: key {key!r} is missing ({meaning})")
    size = raw["input_size"]
    if not (isinstance(size, list) and len(size) == 2 and all(whole(v) and v > 0 for v in size)):
        raise bad("input_size", "[width, height] as two positive integers")
    scale = raw.get("scale", 1.0)
    if not number(scale) or scale <= 0:
        raise bad("scale", "a number above 0 (e.g. 0.00392156862745098 for 1/255)")
    swap_rb = raw.get("swap_rb", True)
    if not isinstance(swap_rb, bool):
        raise bad("swap_rb", "true (the model takes RGB) or false (BGR)")
    output = raw["output"]
    if output not in OUTPUT_KINDS:
        raise bad("output", " or ".join(f'"{k}"' for k in OUTPUT_KINDS))
    person_class = raw.get("person_class")
    if person_class is not None and not (whole(person_class) and person_class >= 0):
        raise bad("person_class", "a channel index (integer ≥ 0)")
    layout = raw.get("layout", "nchw")
    if layout not in ("nchw", "nhwc"):
        raise bad("layout", '"nchw" or "nhwc"')
    output_name = raw.get("output_name")
    if output_name is not None and not (isinstance(output_name, str) and output_name):
        raise bad("output_name", "the name of one of the model's outputs (a string)")
    threshold = raw.get("threshold", 0.5)
    if not number(threshold) or not 0 <= threshold <= 1:
        raise bad("threshold", "a number in 0..1")
    return ModelCard(
        input_size=(size[0], size[1]),
        scale=float(scale),
        mean=triple("mean", (0.0, 0.0, 0.0)),
        std=triple("std", (1.0, 1.0, 1.0), positive=True),
        swap_rb=swap_rb,
        output=output,
        person_class=person_class,
        layout=layout,
        output_name=output_name,
        threshold=float(threshold),
    )


class SinglePassSegmenter(Segmenter):
    """One forward pass per frame at the card's input size; the person channel resized to the frame."""

    def __init__(
        self, model: Path, card: ModelCard | None = None, runtime: str = "auto", threads: int | None = 1
    ) -> None:
        # One thread by default: the pipeline decodes, composites and writes on the other core meanwhile. Measured
        # on the 1280x720 talking head (2 cores, LiteRT): model 3.1-3.7 ms a frame with one thread, 5.7-6.7 ms
        # with two fighting the pipeline, and less CPU per frame shown (15.1 against 16.0 ms).
        check_model_file(model)  # a missing or foreign file is named before its card is looked for
        self.model = model
        self.name = model.stem
        self.card = card or load_card(model)
        self.default_threshold = self.card.threshold
        self._card_path = card_path_for(model)
        card = self.card
        # Per-channel normalisation in the order the model sees channels (after the optional R/B swap).
        self._mean = np.array(card.mean, np.float32)  # (broadcast over NHWC pixels)
        self._inv_std = 1.0 / np.array(card.std, np.float32)
        self._plain = card.mean == (0.0, 0.0, 0.0) and card.std == (1.0, 1.0, 1.0)
        self._head = None
        network = load_network(model, runtime, threads)
        try:
            self._open(network)
        except BgblurError:
            if runtime != "auto" or network.runtime == "opencv":
                raise
            # A model the faster runtime cannot run as the card says (an inner output, another input size):
            # cv2.dnn may, and if not, its error names the card's key to fix.
            self._open(load_network(model, "opencv"))
        net = getattr(self._network, "net", None)  # cv2.dnn only: its slow transposed-convolution head, done here
        if net is not None:
            self._head = split_head(net, self._output_name, self.input_blob(_probe_picture(card.input_size)))

    def _open(self, network: Network) -> None:
        """Use ``network`` if it fits the card (see :meth:`_check_output`)."""
        self._network = network
        self.runtime = network.runtime  # which runtime computes the matte: "litert", "onnxruntime" or "opencv"
        self.threads = network.threads
        self._output_name = self._pick_output(network)
        self._check_output()

    def _misfit(self, keys: str, problem: str) -> BgblurError:
        """The error for a model that does not fit its card: names the model, the card and the key to check."""
        return BgblurError(f"model {self.model} does not fit its card {self._card_path}: {problem} (check {keys})")

    def _pick_output(self, network: Network) -> str | None:
        """The output that is the segmentation: the card's ``output_name``, or the model's only output."""
        outputs = list(network.output_names)
        wanted = self.card.output_name
        if wanted is None:
            if len(outputs) > 1:
                raise self._misfit(
                    "'output_name'", f"the model has {len(outputs)} outputs ({', '.join(outputs)}): name the one to use"
                )
            return None
        if not network.has_output(wanted):
            raise self._misfit("'output_name'", f"it has no output {wanted!r}; its outputs: {', '.join(outputs)}")
        return wanted

    def _check_output(self) -> None:
        """Run once on a grey picture so a model that does not fit its card fails now, naming the key."""
        w, h = self.card.input_size
        prob = self._person_channel(self._forward(np.full((h, w, 3), 128, np.uint8)), check=True)
        if self.card.output == "probability" and (prob.min() < -1e-3 or prob.max() > 1 + 1e-3):
            raise self._misfit(
                "'output'",
                f'"probability" but the model gives values from {prob.min():.3g} to {prob.max():.3g}; '
                'logits need "softmax" (several classes) or "sigmoid" (one channel)',
            )

    def input_blob(self, image: np.ndarray) -> np.ndarray:
        """The model's input for ``image`` in the card's layout: ``cv2.dnn.blobFromImage``'s floats bit for bit (a
        linear resize to the input size, R/B swapped if the card says, times its scale), then its mean and std.

        Made as NHWC pixels, the order a picture already has. A NCHW blob for LiteRT is a view of them, which LiteRT
        (it takes NHWC) transposes back for free: blobFromImage and the two transposes were 1.0 of the 1.4 ms this
        took for a 720p frame and the 256x256 selfie model, on every model pass.
        """
        card = self.card
        if image.shape[1::-1] != card.input_size:
            image = cv2.resize(image, card.input_size, interpolation=cv2.INTER_LINEAR)
        if card.swap_rb:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        pixels = image.astype(np.float32)[None]
        pixels *= np.float32(card.scale)
        if not self._plain:
            pixels -= self._mean
            pixels *= self._inv_std
        if card.layout == "nhwc":
            return pixels
        blob = pixels.transpose(0, 3, 1, 2)
        return blob if self.runtime == "litert" else np.ascontiguousarray(blob)

    def _forward(self, image: np.ndarray) -> np.ndarray:
        card = self.card
        blob = self.input_blob(image)
        try:
            if self._head is not None:
                net = self._network.net
                net.setInput(blob)
                return self._head(net.forward(self._head.input_name))
            return self._network.run(blob, [self._output_name] if self._output_name else None)[0]
        except (cv2.error, NetworkError) as exc:
            w, h = card.input_size
            shape = (1, 3, h, w) if card.layout == "nchw" else (1, h, w, 3)
            reason = f"OpenCV: {opencv_reason(exc)}" if isinstance(exc, cv2.error) else str(exc)
            raise self._misfit(
                "'input_size' and 'layout'", f"it fails on a {'x'.join(map(str, shape))} input ({reason})"
            ) from None

    def _person_channel(self, out: np.ndarray, check: bool = False) -> np.ndarray:
        """(1, C, H, W) or (1, H, W, C) network output → (H, W) float32 person probability (0..1 unless
        ``output`` is "probability" and the model disagrees; ``_check_output`` refuses that)."""
        card = self.card
        if out.ndim == 3:  # (1, H, W): a single map
            out = out[:, None] if card.layout == "nchw" else out[..., None]
        if out.ndim != 4 or out.shape[0] != 1:
            raise self._misfit("'layout'", f"its output shape {tuple(out.shape)} is not an image map")
        maps = out[0] if card.layout == "nchw" else out[0].transpose(2, 0, 1)
        channels, height, width = maps.shape
        if check:
            self._check_map(tuple(out.shape), channels, height, width)
        index = card.person_class or 0
        if card.output == "sigmoid":
            logits = maps[index]
            return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)
        if card.output == "softmax":
            shifted = np.exp(maps - maps.max(axis=0, keepdims=True))
            return (shifted[index] / shifted.sum(axis=0)).astype(np.float32)
        person = maps[index].astype(np.float32)
        return person if check else np.clip(person, 0.0, 1.0)

    def _check_map(self, shape: tuple[int, ...], channels: int, height: int, width: int) -> None:
        """Does the output read with the card's ``layout`` look like a segmentation of the input?"""
        card = self.card
        in_w, in_h = card.input_size
        read_as = f"output shape {shape} read as {card.layout!r} is a {width}x{height} map of {channels} channel(s)"
        # A segmentation map keeps the input's proportions (up to a stride's rounding); a wrong layout does not.
        if abs(math.log((width / height) / (in_w / in_h))) > math.log(1.25) and min(width, height) > 1:
            raise self._misfit("'layout'", f"{read_as}, not the proportions of the {in_w}x{in_h} input")
        if card.output == "softmax" and channels < 2:
            raise self._misfit("'output'", f'"softmax" needs several class channels, but the {read_as}')
        if card.person_class is None and channels > 1:
            raise self._misfit("'person_class'", f"the {read_as}: say which channel is the person")
        if card.person_class is not None and card.person_class >= channels:
            raise self._misfit("'person_class'", f"person_class is {card.person_class}, but the {read_as}")

    def segment(self, image: np.ndarray) -> np.ndarray:
        """Person probability over the whole of ``image`` (float32, 0..1) at the model's output resolution: the
        matte step scales it to its working size once, so it is not first blown up to the frame's size here."""
        return self._person_channel(self._forward(image))


def _probe_picture(size: tuple[int, int]) -> np.ndarray:
    """A fixed random picture with detail everywhere, for checking a faster path against OpenCV's own answer."""
    width, height = size
    return np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
