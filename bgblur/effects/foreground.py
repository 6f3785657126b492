"""The person's own colour at the soft edge of the matte, so a new background does not show a rim of the old room.

Inside the soft edge (0 < alpha < 255) a camera pixel is a mix of the person and the room behind them. Pasted as it
is onto another background, every hair edge carries the old room's colour. :func:`edge_colours` estimates the
person's colour there with the two-pass "blur fusion" of Forte & Pitié (*Approximate Fast Foreground Colour
Estimation*, ICIP 2021): box-filtered local means of the person and of the room; each edge pixel's colour is
explained as ``alpha * F + (1 - alpha) * B`` and what is left over goes back to the person; a wide pass, then a
narrow one over the wide pass's colours.

Two changes to the paper, each measured:

- The means weight a pixel by the 4th power of its share (:data:`SURENESS`; the paper: the share itself): a pixel
  half room counts 1/16 in the person's mean, so beside the edge that mean comes from the person's sure inside, not
  from the mixed edge. On a picture made from a known foreground the error at the edge goes 44 -> 25 RGB levels
  (the camera's pixels: 99; pymatting's multilevel solver: 13).
- The part of the left-over that pulls the colour from the person's mean *towards the room's* is dropped (towards
  the person it is kept, and any other detail too). It says "this pixel is more room than the matte says" — the
  matte's edge sits a little outside the real one — and since the alpha stays as it is, giving it to the person is
  exactly the rim. It fades out over the top tenth of alpha, so the edge meets the person's inside without a step.
  And the colour found stays, channel by channel, between the camera's and the person's mean: the edge moves
  towards the person, never past (no new colours).

On the developer pictures the spill measure of ``scripts/evaluate.py`` goes from 0.44-0.60 (the camera's pixels) to
0.10-0.20, 0.19-0.36 of it per picture; the paper's passes alone (box 90 then 6, float, full size) reach 0.55-0.73 of
it.

Cost: only the edge's bounding box is worked on, and the means over every ``factor``-th pixel of it (a picture of at
most :data:`MEANS_SIZE` px, like the matte's own working size), the wide pass's colours
explained at that picture's edge pixels; the final colour is worked out at the frame's own edge pixels (about 1% of
a 720p frame) from those means, sampled between their pixels. Outside the edge every pixel stays the camera's.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MEANS_SIZE = 320  # long side (px) at most of the picture the means are taken on
WIDE_BOX = 7  # box (px of that picture) of the first pass: far enough to reach the person's sure inside
NARROW_BOX = 5  # box of the second pass: the local colour
SURENESS = 4  # a pixel counts alpha ** 4 in the person's mean ((1 - alpha) ** 4 in the room's): the surest count most
UNSURE = 4e-4  # a weight (mean over the box, of 1) at which a mean is half the pixel's own colour
FADE = 0.9  # above this alpha the room-ward correction fades to nothing at 1 (no step into the person's inside)


@dataclass
class Edge:
    """The soft edge of one frame: its pixels (flat indices into the frame), their alpha (0..1, ``(N, 1)``) and the
    person's estimated colour there (uint8 ``(N, 3)``)."""

    index: np.ndarray
    alpha: np.ndarray
    colour: np.ndarray

    def paste(self, image: np.ndarray) -> np.ndarray:
        """``image`` (a contiguous copy of the frame) with the person's colour put into its edge pixels, in place."""
        if self.index.size:
            np.put(_pixels(image), self.index, _pixels(self.colour))
        return image

    def over(self, picture: np.ndarray, background: np.ndarray) -> np.ndarray:
        """``picture`` (the frame composited on ``background``; contiguous) with its edge pixels composited again from
        the person's colour, in place: ``alpha * colour + (1 - alpha) * background`` there."""
        if self.index.size:
            room = np.take(background.reshape(-1, 3), self.index, axis=0).astype(np.float32)
            mixed = room + self.alpha * (self.colour.astype(np.float32) - room)
            np.put(_pixels(picture), self.index, _pixels((mixed + 0.5).astype(np.uint8)))
        return picture


def _pixels(image: np.ndarray) -> np.ndarray:
    """A contiguous BGR picture (or Nx3 rows) as one 3-byte item per pixel: ``np.put`` writes those several times
    faster than fancy indexing writes rows."""
    return image.reshape(-1, 3).view("V3").reshape(-1)


def means_factor(size: tuple[int, int]) -> int:
    """The step (a power of two, at least 2) between the pixels the means are taken on, for a frame of ``size``
    (w, h): a long side of at most :data:`MEANS_SIZE` px."""
    factor = 2
    while max(size) > MEANS_SIZE * factor:
        factor *= 2
    return factor


def _explain(image: np.ndarray, alpha: np.ndarray, person: np.ndarray, room: np.ndarray) -> np.ndarray:
    """The person's colour at pixels ``image`` (Nx3, 0..255) with ``alpha`` (Nx1) between local means ``person`` and
    ``room``: the mean plus alpha times what ``alpha * person + (1 - alpha) * room`` leaves over, less the part of
    it that points towards the room (faded out above :data:`FADE`)."""
    towards_person = person - room
    rest = image - room
    rest -= alpha * towards_person
    # How far the left-over reaches along room -> person, in units of that step; only its room-ward part goes.
    along = np.einsum("ij,ij->i", rest, towards_person)[:, None]
    along /= np.einsum("ij,ij->i", towards_person, towards_person)[:, None] + np.float32(1.0)
    np.minimum(along, 0, out=along)
    along *= alpha * np.minimum(np.float32(1), (1 - alpha) * np.float32(1 / (1 - FADE)))
    rest *= alpha
    rest += person
    rest -= along * towards_person
    # Never past the person's colour nor the camera's: the edge moves from one towards the other, no new colours.
    np.maximum(rest, np.minimum(image, person), out=rest)
    return np.minimum(rest, np.maximum(image, person), out=rest)


def _mean(sums: np.ndarray, own: np.ndarray) -> np.ndarray:
    """The weighted mean colour (Nx3) from box means of ``[colour * weight (3), weight]`` (Nx4, weights 0..1),
    leaning to the pixels' ``own`` colour where the weights nearby all but vanish (no one sure in reach)."""
    return (sums[:, :3] + np.float32(UNSURE) * own) / (sums[:, 3:] + np.float32(UNSURE))


def _region(edge: np.ndarray, factor: int, margin: int) -> tuple[int, int, int, int] | None:
    """The box (x0, y0, x1, y1) in whole ``factor``-px cells around the pixels of ``edge``, widened by ``margin``
    cells within the picture; None without any, or in a picture too small for local means."""
    cells_x, cells_y = edge.shape[1] // factor, edge.shape[0] // factor
    if cells_x < 4 or cells_y < 4:
        return None
    x, y, w, h = cv2.boundingRect(edge)
    if w == 0:
        return None
    x0, y0 = max(0, x // factor - margin), max(0, y // factor - margin)
    x1, y1 = min(cells_x, -(-(x + w) // factor) + margin), min(cells_y, -(-(y + h) // factor) + margin)
    return (x0 * factor, y0 * factor, x1 * factor, y1 * factor) if x1 - x0 >= 4 and y1 - y0 >= 4 else None


_SOFT = np.ones(256, np.uint8)
_SOFT[[0, 255]] = 0


def _soft(alpha: np.ndarray) -> np.ndarray:
    """1 where ``alpha`` is soft (0 < alpha < 255), else 0, in one pass: bytes numpy can read as a boolean array,
    which it scans fast."""
    return cv2.LUT(alpha, _SOFT)


def _edge_points(alpha: np.ndarray) -> np.ndarray:
    """Flat index of every soft-edge pixel of ``alpha`` (0 < alpha < 255)."""
    return np.flatnonzero(_soft(alpha).view(bool))


def _take(image: np.ndarray, index: np.ndarray) -> np.ndarray:
    """The pixels of ``image`` at flat ``index``, as float32 rows (``np.take``: several times faster than indexing)."""
    return np.take(image.reshape(-1, image.shape[2] if image.ndim == 3 else 1), index, axis=0).astype(np.float32)


def _weighted(image: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``[image * w (3), w]`` with the person's weight ``w = alpha ** SURENESS`` (alpha 0..1), and the same with the
    room's, float32: what a box filter turns into their weighted local means (in float: the weights are often tiny,
    and an 8-bit product of a tiny weight rounds the colour away)."""
    with_one = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA).astype(np.float32)
    with_one[..., 3] = 1  # times the weight, the weight
    share = alpha.astype(np.float32) * np.float32(1 / 255)
    stacks = []
    for weight in (share, 1 - share):
        for _ in range(SURENESS.bit_length() - 1):  # squared until the power: SURENESS is a power of two
            weight = cv2.multiply(weight, weight)
        stacks.append(cv2.multiply(with_one, cv2.merge([weight] * 4)))
    return stacks[0], stacks[1]


def _box(stack: np.ndarray, box: int) -> np.ndarray:
    """Box means of a float32 stack."""
    return cv2.boxFilter(stack, -1, (box, box), borderType=cv2.BORDER_REFLECT)


def _sample(sums: np.ndarray, cols: np.ndarray, rows: np.ndarray, factor: int) -> np.ndarray:
    """``sums`` (a grid ``factor`` times coarser than the points) at the points' centres, bilinearly (Nx4)."""
    # One row of points: remap is several times faster over a 1xN map than an Nx1 one.
    map_x = ((cols.astype(np.float32) + 0.5) * np.float32(1 / factor) - 0.5)[None]
    map_y = ((rows.astype(np.float32) + 0.5) * np.float32(1 / factor) - 0.5)[None]
    sampled = cv2.remap(sums, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return sampled.reshape(-1, sums.shape[2])


def edge_colours(frame: np.ndarray, alpha: np.ndarray) -> Edge:
    """The soft edge of ``alpha`` (uint8, 255 = person) in ``frame`` (BGR uint8) with the person's colour there."""
    frame, alpha = np.ascontiguousarray(frame), np.ascontiguousarray(alpha)  # flat indices need it; no copy if so
    height, width = alpha.shape
    factor = means_factor((width, height))
    edge = _soft(alpha)
    region = _region(edge, factor, WIDE_BOX + NARROW_BOX)
    if region is None:
        return Edge(np.empty(0, np.intp), np.empty((0, 1), np.float32), np.empty((0, 3), np.uint8))
    x0, y0, x1, y1 = region
    size = ((x1 - x0) // factor, (y1 - y0) // factor)
    # Every factor-th pixel of the region: the means need no more, and it reads a fraction of the frame.
    image = cv2.resize(frame[y0:y1, x0:x1], size, interpolation=cv2.INTER_NEAREST)
    small_alpha = cv2.resize(alpha[y0:y1, x0:x1], size, interpolation=cv2.INTER_NEAREST)
    person_sums, room_sums = _weighted(image, small_alpha)
    # The wide pass, its colour explained at the small picture's own edge pixels ...
    index = _edge_points(small_alpha)
    room_means = _box(room_sums, WIDE_BOX)
    own = _take(image, index)
    person = _mean(_take(_box(person_sums, WIDE_BOX), index), own)
    a = _take(small_alpha, index) * np.float32(1 / 255)
    first = _explain(own, a, person, _mean(_take(room_means, index), own))
    person_sums.reshape(-1, 4)[index, :3] = first * _take(person_sums[..., 3:], index)
    # ... the narrow pass: the person's means from those colours (the room's stay the wide pass's), at full size.
    index = np.flatnonzero(edge.view(bool))
    rows, cols = np.divmod(index, width)
    cols -= x0
    rows -= y0
    own = _take(frame, index)
    person = _mean(_sample(_box(person_sums, NARROW_BOX), cols, rows, factor), own)
    room = _mean(_sample(room_means, cols, rows, factor), own)
    a = _take(alpha, index) * np.float32(1 / 255)
    colour = _explain(own, a, person, room)
    return Edge(index, a, (colour + 0.5).astype(np.uint8))
