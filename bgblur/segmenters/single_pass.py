"""Any one-pass segmentation model (ONNX, TFLite, TensorFlow .pb) described by a JSON model card beside it.

The card (``model.onnx`` → ``model.json``) says how to feed the model and read its answer::

    {"input_size": [W, H], "scale": 1/255, "mean": [r, g, b], "std": [r, g, b], "swap_rb": true,
     "output": "softmax" | "sigmoid" | "probability", "person_class": 15, "layout": "nchw" | "nhwc",
     "output_name": "optional", "threshold": 0.5}

Pixels are fed as ``(pixel * scale - mean) / std``. The bundled MediaPipe selfie models use the same cards.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from bgblur.errors import BgblurError
from bgblur.segmenters.dnn import read_net

OUTPUT_KINDS = ("softmax", "sigmoid", "probability")


@dataclass(frozen=True)
class ModelCard:
    """How to run one single-pass model (see the module docstring for the JSON keys)."""

    input_size: tuple[int, int]
    scale: float = 1.0
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    swap_rb: bool = True
    output: str = "probability"
    person_class: int = 0
    layout: str = "nchw"
    output_name: str | None = None
    threshold: float = 0.5


def load_card(model: Path) -> ModelCard:
    """Read and check the ``.json`` card beside ``model``; errors name the card and the bad key."""
    card_path = model.with_suffix(".json")
    if not card_path.is_file():
        raise BgblurError(f"model card missing: {card_path} (a JSON file describing {model.name}; see README)")
    try:
        raw = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BgblurError(f"model card {card_path} is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise BgblurError(f"model card {card_path} must be a JSON object")

    def bad(key: str, expected: str) -> BgblurError:
        return BgblurError(f"model card {card_path}: key {key!r} must be {expected}, got {raw.get(key)!r}")

    def number(value: object) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

    def triple(key: str, default: tuple[float, float, float], positive: bool = False) -> tuple[float, float, float]:
        value = raw.get(key, list(default))
        if not (isinstance(value, list) and len(value) == 3 and all(number(v) for v in value)):
            raise bad(key, "a list of 3 numbers")
        if positive and any(v <= 0 for v in value):
            raise bad(key, "3 numbers above 0")
        return (float(value[0]), float(value[1]), float(value[2]))

    if "input_size" not in raw:
        raise BgblurError(f"model card {card_path}: key 'input_size' is missing ([width, height] the model takes)")
    size = raw["input_size"]
    if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size)):
        raise bad("input_size", "[width, height] as two positive integers")
    scale = raw.get("scale", 1.0)
    if not number(scale) or scale <= 0:
        raise bad("scale", "a number above 0")
    swap_rb = raw.get("swap_rb", True)
    if not isinstance(swap_rb, bool):
        raise bad("swap_rb", "true or false")
    output = raw.get("output", "probability")
    if output not in OUTPUT_KINDS:
        raise bad("output", " or ".join(f'"{k}"' for k in OUTPUT_KINDS))
    person_class = raw.get("person_class", 0)
    if not isinstance(person_class, int) or isinstance(person_class, bool) or person_class < 0:
        raise bad("person_class", "a channel index (integer ≥ 0)")
    layout = raw.get("layout", "nchw")
    if layout not in ("nchw", "nhwc"):
        raise bad("layout", '"nchw" or "nhwc"')
    output_name = raw.get("output_name")
    if output_name is not None and not isinstance(output_name, str):
        raise bad("output_name", "a layer name (string)")
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


class SinglePassSegmenter:
    """One forward pass per frame at the card's input size; the person channel resized to the frame."""

    def __init__(self, model: Path, card: ModelCard | None = None) -> None:
        self.model = model
        self.name = model.stem
        self.card = card or load_card(model)
        self.default_threshold = self.card.threshold
        self._net = read_net(model)
        self._output_names = [self.card.output_name] if self.card.output_name else None
        card = self.card
        # Per-channel normalisation in the order the model sees channels (after the optional R/B swap).
        self._mean = np.array(card.mean, np.float32).reshape(1, 3, 1, 1)
        self._inv_std = (1.0 / np.array(card.std, np.float32)).reshape(1, 3, 1, 1)
        self._plain = card.mean == (0.0, 0.0, 0.0) and card.std == (1.0, 1.0, 1.0)
        self._check_output()

    def _check_output(self) -> None:
        """Run once on a grey picture so a model that does not fit its card fails now, naming the key."""
        w, h = self.card.input_size
        self._person_channel(self._forward(np.full((h, w, 3), 128, np.uint8)))

    def _forward(self, image: np.ndarray) -> np.ndarray:
        card = self.card
        blob = cv2.dnn.blobFromImage(image, card.scale, card.input_size, swapRB=card.swap_rb)
        if not self._plain:
            blob = (blob - self._mean) * self._inv_std
        if card.layout == "nhwc":
            blob = np.ascontiguousarray(blob.transpose(0, 2, 3, 1))
        self._net.setInput(blob)
        try:
            out = self._net.forward(self._output_names[0]) if self._output_names else self._net.forward()
        except cv2.error as exc:
            raise BgblurError(
                f"model {self.model} failed on its input: check 'input_size', 'layout' in its card ({exc.err})"
            ) from None
        return out

    def _person_channel(self, out: np.ndarray) -> np.ndarray:
        """(1, C, H, W) or (1, H, W, C) network output → (H, W) float32 person probability."""
        card = self.card
        if out.ndim == 3:  # (1, H, W): a single map
            out = out[:, None] if card.layout == "nchw" else out[..., None]
        if out.ndim != 4 or out.shape[0] != 1:
            raise BgblurError(f"model {self.model}: output shape {out.shape} is not an image map (check 'layout')")
        maps = out[0] if card.layout == "nchw" else out[0].transpose(2, 0, 1)
        channels = maps.shape[0]
        if card.output == "sigmoid":
            if channels != 1 and card.person_class >= channels:
                raise BgblurError(f"model {self.model}: 'person_class' {card.person_class} but output has {channels}")
            logits = maps[card.person_class if channels > 1 else 0]
            return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)
        if card.person_class >= channels:
            raise BgblurError(
                f"model {self.model}: 'person_class' is {card.person_class} but the output has {channels} "
                f"channel(s) (output shape {out.shape}; check 'person_class' and 'layout')"
            )
        if card.output == "softmax":
            if channels < 2:
                raise BgblurError(f"model {self.model}: 'output' is \"softmax\" but the output has one channel")
            shifted = np.exp(maps - maps.max(axis=0, keepdims=True))
            return (shifted[card.person_class] / shifted.sum(axis=0)).astype(np.float32)
        return np.clip(maps[card.person_class], 0.0, 1.0).astype(np.float32)

    def segment(self, image: np.ndarray) -> np.ndarray:
        """Person probability for every pixel of ``image`` (float32, 0..1, the image's height and width)."""
        prob = self._person_channel(self._forward(image))
        h, w = image.shape[:2]
        return cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR)
