"""Tiled second look for one-pass models: finds people that are small in a wide frame.

A one-pass model squeezes the whole frame into its input (the selfie model: 1280x720 into 256x256, 2.8x
narrower). A person far from the camera is then a few input pixels wide and often missed, or merged with
whatever stands next to them. :class:`TiledSegmenter` also runs the model on overlapping tiles that have the
model's own proportions and the frame's full height (or width), so nothing is squeezed and everything is seen
larger:

- tiles overlap by at least half a tile, and are blended with weights that fall to 0 at a tile's inner edges,
  so a person cut by one tile's edge is judged by the tile that sees them whole;
- the result is the per-pixel **minimum** of the tiled view and the whole-frame view: a pixel is person only
  where both views agree. The whole-frame view has the context (a close-up cup fills a tile and looks like a
  subject there); the tiles have the detail. When in doubt, the matte errs towards blurring;
- the whole-frame view is :func:`~bgblur.segmenters.base.mirror_averaged`: the mean of the model's answers on the
  frame and on its mirror image. It bounds what the tiles may call person, so a second opinion there pays: on the
  developer photos with people, IoU 0.743 → 0.763 for one more pass (the tiles mirrored too: 0.754, for three
  more; docs/presence.md).

A frame with the model's proportions (within 20 %) gets the whole view only. Cost: one pass per tile plus two
for the whole frame — five passes for 16:9 into the square selfie model.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from bgblur.segmenters.base import Segmenter, mirror_averaged
from bgblur.segmenters.single_pass import SinglePassSegmenter

MIN_OVERLAP = 0.5  # neighbouring tiles share at least half a tile
SAME_SHAPE = 1.2  # a frame within this factor of the model's proportions is not tiled


def tile_offsets(length: int, tile: int, min_overlap: float = MIN_OVERLAP) -> list[int]:
    """Start positions of tiles of size ``tile`` covering ``length`` evenly, overlapping by ≥ ``min_overlap``."""
    if length <= tile:
        return [0]
    count = math.ceil((length / tile - 1) / (1 - min_overlap)) + 1
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


def edge_weights(size: int, first: bool, last: bool) -> np.ndarray:
    """Blend weights along one tile: 1 in the middle falling to ~0 at an edge inside the frame; an edge on the
    frame's own border keeps weight 1 (no other tile covers it)."""
    position = np.arange(size, dtype=np.float32) + 0.5
    weights = np.minimum(position, size - position) / (size / 2)
    if first:
        weights[: size // 2] = 1.0
    if last:
        weights[size // 2 :] = 1.0
    return weights


class TiledSegmenter(Segmenter):
    """Wraps a :class:`SinglePassSegmenter`: minimum of its whole-frame answer and its blended tiled answer."""

    def __init__(self, inner: SinglePassSegmenter) -> None:
        self.inner = inner
        self.name = f"{inner.name}+tiles"
        self.default_threshold = inner.default_threshold
        self.runtime = inner.runtime  # the model's runtime, for --stats
        self.aspect = inner.card.input_size[0] / inner.card.input_size[1]  # model input width / height

    def whole_view(self, image: np.ndarray) -> np.ndarray:
        """The model's answer on the whole ``image``, averaged with its answer on the mirror image."""
        return mirror_averaged(self.inner, image)

    def segment(self, image: np.ndarray) -> np.ndarray:
        """Person probability over the whole ``image`` (float32, 0..1), at the resolution the tiles give."""
        height, width = image.shape[:2]
        whole = self.whole_view(image)
        frame_aspect = width / height
        if frame_aspect > self.aspect * SAME_SHAPE:  # wider than the model: tiles side by side
            tile = (min(width, round(height * self.aspect)), height)
            horizontal = True
        elif frame_aspect < self.aspect / SAME_SHAPE:  # taller: tiles one above the other
            tile = (width, min(height, round(width / self.aspect)))
            horizontal = False
        else:
            return whole
        offsets = tile_offsets(width if horizontal else height, tile[0] if horizontal else tile[1])
        # Work at the tiles' own output resolution, so their extra detail is kept.
        out_h, out_w = whole.shape
        scale = out_h / tile[1] if horizontal else out_w / tile[0]
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        total = np.zeros((size[1], size[0]), np.float32)
        weight_sum = np.zeros_like(total)
        for index, offset in enumerate(offsets):
            crop = image[:, offset : offset + tile[0]] if horizontal else image[offset : offset + tile[1]]
            start = round(offset * scale)
            if horizontal:
                span = min(size[0] - start, max(1, round(tile[0] * scale)))
                part = cv2.resize(self.inner.segment(crop), (span, size[1]), interpolation=cv2.INTER_LINEAR)
                weights = edge_weights(span, index == 0, index == len(offsets) - 1)[None, :]
                total[:, start : start + span] += part * weights
                weight_sum[:, start : start + span] += weights
            else:
                span = min(size[1] - start, max(1, round(tile[1] * scale)))
                part = cv2.resize(self.inner.segment(crop), (size[0], span), interpolation=cv2.INTER_LINEAR)
                weights = edge_weights(span, index == 0, index == len(offsets) - 1)[:, None]
                total[start : start + span] += part * weights
                weight_sum[start : start + span] += weights
        tiled = total / np.maximum(weight_sum, np.float32(1e-6))
        whole = cv2.resize(whole, size, interpolation=cv2.INTER_LINEAR)
        return np.minimum(whole, tiled, out=tiled)
