"""Person-centred crops: a second look at each person found, at the model's own proportions, so a small person
in a wide frame fills the model's input.

The selfie model squeezes the whole picture into 256x256: a runner 100 px tall in an 854x480 frame becomes a
few dozen input pixels, and loses legs and arms; a group of skiers loses the far ones. :class:`PersonCrops` is
given the boxes to look at again — the matte step passes the people its presence check found (their whole-body
extents) and the regions of the first look's matte — runs the model on a square around each (1.3x the box's
longer side, moved inside the picture) and takes, per pixel, the **maximum** of the second look's answer and the
first look's: a crop only adds the parts of a person the first look missed; everything outside the crops is the
first look's. Where squares overlap, the **closest look** answers: a pixel inside a smaller square takes that
square's answer, not a larger square's (a region's square inside its person's body square: the body square adds
only what lies outside the region's; merged by maximum, each crop added its own leak, and the hike clip scored
less with both kinds than with either alone). A square as large as the frame's long side magnifies nothing and
is skipped; of two squares about the same, the smaller is looked at. Cost: one model pass per square, at most
:data:`MAX_CROPS` (two with ``mirror``: pictures average each look with its mirror image's, as their whole view
does, :func:`bgblur.segmenters.base.mirror_averaged`; developer photos with people 0.763 → 0.768).
"""

from __future__ import annotations

import cv2
import numpy as np

from bgblur.imaging import box_iou
from bgblur.segmenters.base import mirror_averaged

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in the picture's pixels

MARGIN = 1.3  # the square's side over the box's longer side
MAX_CROPS = 6  # squares looked at again, biggest first: a crowd costs no more than this
SAME_SQUARE = 0.7  # IoU with a square looked at already above which a square is the same look again


def squares(boxes: list[Box], size: tuple[int, int], margin: float = MARGIN) -> list[Box]:
    """The squares to look at again for ``boxes`` (in order of importance) in a picture of ``size`` (w, h):
    1.3x each box's longer side (at most the picture's shorter side), centred on it, moved inside the picture;
    none as large as the picture's long side; of two about the same, the smaller (the closer look, in the place of
    the first chosen); at most :data:`MAX_CROPS`."""
    width, height = size
    chosen: list[Box] = []
    for x0, y0, x1, y1 in boxes:
        side = max(x1 - x0, y1 - y0, 8.0) * margin
        if side >= max(width, height):
            continue  # magnifies nothing
        side = min(side, float(min(width, height)))
        left = min(max((x0 + x1 - side) / 2, 0.0), width - side)
        top = min(max((y0 + y1 - side) / 2, 0.0), height - side)
        square = (left, top, left + side, top + side)
        same = next((i for i, other in enumerate(chosen) if box_iou(square, other) >= SAME_SQUARE), None)
        if same is None:
            chosen.append(square)
        elif side < chosen[same][2] - chosen[same][0]:
            chosen[same] = square
        if len(chosen) == MAX_CROPS:
            break
    return chosen


class PersonCrops:
    """A second look with ``model`` (a one-pass segmenter) around given boxes, merged by maximum with the first
    look. ``threshold``: only what a crop calls person (above it) is added — its doubts must not add leak.
    ``mirror``: each look is averaged with the look at its mirror image (pictures: the cost is paid once)."""

    def __init__(self, model, threshold: float | None = None, margin: float = MARGIN, mirror: bool = False) -> None:
        self.model = model
        self.margin = margin
        self.mirror = mirror
        self.threshold = np.float32(model.default_threshold if threshold is None else threshold)

    def __call__(self, image: np.ndarray, probability: np.ndarray, boxes: list[Box]) -> np.ndarray:
        """``probability`` (the first look over the whole ``image``, any resolution) raised inside the square
        around each of ``boxes`` to the model's answer there."""
        height, width = image.shape[:2]
        chosen = squares(boxes, (width, height), self.margin)
        if not chosen:
            return probability
        # Work at the picture's size (at most 640 px long): the crops' detail must not be lost to the first look's
        # coarser grid.
        scale = min(1.0, 640 / max(height, width))
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        result = cv2.resize(probability, size, interpolation=cv2.INTER_LINEAR)
        second = np.zeros_like(result)  # the second look: per pixel, the answer of the smallest square over it
        card = getattr(self.model, "card", None)  # a one-pass model: its input size, so a large crop is made at it
        for left, top, right, _ in sorted(chosen, key=lambda square: square[0] - square[2]):  # largest first
            side = right - left
            pixels = max(8, round(side))
            # A square larger than the model's input is sampled straight at the input size (a 720x720 crop made and
            # shrunk cost ~1.3 ms); a smaller one is cropped at the picture's scale and enlarged by the model's own
            # resize, as before (sampled once instead, a small person's answer moved by up to 0.09 IoU on a photo).
            shrinks = card is not None and pixels > max(card.input_size)
            answer = self._look(image, left, top, side, card.input_size if shrinks else (pixels, pixels))
            self._place(second, answer, (left * scale, top * scale, side * scale), pixels)
        np.maximum(result, second, out=result)
        return result

    def _look(self, image: np.ndarray, left: float, top: float, side: float, size: tuple[int, int]) -> np.ndarray:
        """The model's answer on the square (``left``, ``top``, ``side``) of ``image``, sampled at ``size``: at the
        model's input size, the same points a crop at the picture's scale then resized to it would give (once
        bilinear instead of twice), at a fraction of the pixels."""
        in_w, in_h = size
        pixels = max(8, round(side))
        # input px m -> crop px (m + 0.5) * pixels / in - 0.5 -> picture px crop * side / pixels + left
        kx, ky = side / in_w, side / in_h
        ox, oy = left + 0.5 * (kx - side / pixels), top + 0.5 * (ky - side / pixels)
        to_picture = np.float32([[kx, 0, ox], [0, ky, oy]])
        crop = cv2.warpAffine(
            image, to_picture, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE
        )
        return mirror_averaged(self.model, crop) if self.mirror else self.model.segment(crop)

    def _place(self, second: np.ndarray, answer: np.ndarray, square: tuple[float, float, float], pixels: int) -> None:
        """Write ``answer`` (the model's map over ``square``: left, top, side in grid px), where it calls person
        and 0 elsewhere, over the grid pixels inside the square of ``second`` (the working grid): it replaces what
        a larger square answered there."""
        left, top, side = square
        height, width = second.shape[:2]
        x0, y0 = max(0, int(np.ceil(left))), max(0, int(np.ceil(top)))
        x1, y1 = min(width, int(np.floor(left + side))), min(height, int(np.floor(top + side)))
        if x1 <= x0 or y1 <= y0:
            return
        ah, aw = answer.shape[:2]
        # grid px g -> crop px (g - left) * pixels / side -> answer px (crop + 0.5) * a / pixels - 0.5
        kx, ky = aw / side, ah / side
        ox, oy = (x0 - left) * kx + 0.5 * (aw / pixels - 1), (y0 - top) * ky + 0.5 * (ah / pixels - 1)
        to_answer = np.float32([[kx, 0, ox], [0, ky, oy]])
        placed = cv2.warpAffine(
            answer, to_answer, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=0
        )
        placed[placed < self.threshold] = 0
        second[y0:y1, x0:x1] = placed
