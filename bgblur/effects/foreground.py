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
0.11-0.19, 0.20-0.33 of it per picture; the paper's passes alone (box 90 then 6, float, full size) reach 0.55-0.73 of
it.

Cost: the means are taken on a picture of one pixel in every ``factor`` x ``factor`` cell of the frame (at most
:data:`MEANS_SIZE` px long, like the matte's own working size), the wide pass's colours explained at that picture's
edge pixels; the final colour is worked out at the frame's own edge pixels (about 1% of a 720p frame) from those
means, sampled between their pixels, and the scratch pictures are kept from frame to frame. Outside the edge every
pixel stays the camera's.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MEANS_SIZE = 320  # long side (px) at most of the picture the means are taken on
WIDE_BOX = 7  # box (px of that picture) of the first pass: far enough to reach the person's sure inside
NARROW_BOX = 5  # box of the second pass: the local colour
SURENESS = 4  # a pixel counts alpha ** 4 in the person's mean ((1 - alpha) ** 4 in the room's): the surest count most
UNSURE = 0.1  # a weight (mean over the box, of 255) at which a mean is half the pixel's own colour
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
    """The weighted mean colour (Nx3) from box means of ``[colour * weight / 255 (3), weight]`` (Nx4, weights
    0..255), leaning to the pixels' ``own`` colour where the weights nearby all but vanish (no one sure in reach)."""
    return (sums[:, :3] * np.float32(255) + np.float32(UNSURE) * own) / (sums[:, 3:] + np.float32(UNSURE))


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


_LEVELS = np.arange(256) / 255
_PERSON_WEIGHT = np.round(255 * _LEVELS**SURENESS).astype(np.uint8)
_ROOM_WEIGHT = np.round(255 * (1 - _LEVELS) ** SURENESS).astype(np.uint8)


def _weighted(image: np.ndarray, alpha: np.ndarray, scratch: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``[image * w / 255 (3), w]`` with the person's weight ``w = 255 * alpha ** SURENESS`` (alpha 0..1), and the
    same with the room's: what a box filter turns into their weighted local means. The products are kept in float
    (the weights are often small, and an 8-bit product of a small weight rounds the colour away)."""
    with_alpha = scratch["edge_bgra"] = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA, scratch.get("edge_bgra"))
    stacks = []
    for name, table in (("person", _PERSON_WEIGHT), ("room", _ROOM_WEIGHT)):
        weight = scratch[f"edge_{name}_w"] = cv2.LUT(alpha, table, scratch.get(f"edge_{name}_w"))
        weights = scratch[f"edge_{name}_w4"] = cv2.merge([weight] * 4, scratch.get(f"edge_{name}_w4"))
        # its 4th channel is 255: times the weight / 255, the weight
        stack = cv2.multiply(with_alpha, weights, scratch.get(f"edge_{name}"), scale=1 / 255, dtype=cv2.CV_32F)
        stacks.append(stack)
        scratch[f"edge_{name}"] = stack
    return stacks[0], stacks[1]


def _box(stack: np.ndarray, box: int, scratch: dict[str, np.ndarray], name: str) -> np.ndarray:
    """Box means of a float32 stack, into the scratch picture ``name``."""
    means = cv2.boxFilter(stack, -1, (box, box), scratch.get(name), borderType=cv2.BORDER_REFLECT)
    scratch[name] = means
    return means


# cv2.remap takes maps under 32767 px a side (SHRT_MAX): more points than this go in rows of this many.
REMAP_ROW = 16384


def _on_grid(index: np.ndarray, width: int, factor: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Where the pixels at flat ``index`` of a ``width``-px picture fall on a grid ``factor`` times coarser (whose
    pixels stand for the middles of their cells): the maps :func:`_sample` takes, and how many points they hold.
    The points go in one row (remap is several times faster over a 1xN map than an Nx1 one), or rows of
    :data:`REMAP_ROW` when there are more (a 4K frame's edge, a zoomed-in auto-frame), the last padded."""
    rows, cols = np.divmod(index, width)
    scale = np.float32(1 / factor)
    xs = (cols.astype(np.float32) + 0.5) * scale - 0.5
    ys = (rows.astype(np.float32) + 0.5) * scale - 0.5
    count = len(index)
    if count <= REMAP_ROW:
        return xs[None], ys[None], count
    pad = -count % REMAP_ROW
    return (
        np.pad(xs, (0, pad), mode="edge").reshape(-1, REMAP_ROW),
        np.pad(ys, (0, pad), mode="edge").reshape(-1, REMAP_ROW),
        count,
    )


def _sample(sums: np.ndarray, maps: tuple[np.ndarray, np.ndarray, int]) -> np.ndarray:
    """``sums`` at the points of ``maps`` (:func:`_on_grid`), bilinearly (NxC)."""
    xs, ys, count = maps
    sampled = cv2.remap(sums, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return sampled.reshape(-1, sums.shape[2])[:count]


def edge_colours(frame: np.ndarray, alpha: np.ndarray, buffers: dict[str, np.ndarray] | None = None) -> Edge:
    """The soft edge of ``alpha`` (uint8, 255 = person) in ``frame`` (BGR uint8) with the person's colour there;
    ``buffers`` (an effect's :class:`~bgblur.effects.compose.FrameBuffers`) keeps the scratch pictures for the next
    frame (fresh ones each frame cost more in page faults than the work in them)."""
    scratch = {} if buffers is None else buffers
    frame, alpha = np.ascontiguousarray(frame), np.ascontiguousarray(alpha)  # flat indices need it; no copy if so
    height, width = alpha.shape
    factor = means_factor((width, height))
    cells = (width // factor, height // factor)
    nobody = Edge(np.empty(0, np.intp), np.empty((0, 1), np.float32), np.empty((0, 3), np.uint8))
    if min(cells) < 4:  # too small for local means
        return nobody
    edge = scratch["edge_soft"] = cv2.LUT(alpha, _SOFT, scratch.get("edge_soft"))
    index = np.flatnonzero(edge.view(bool))
    if not index.size:
        return nobody
    # The pixel at the middle of every factor x factor cell: the means need no more, and it reads a fraction of
    # the frame.
    covered = (slice(0, cells[1] * factor), slice(0, cells[0] * factor))
    image = scratch["edge_image"] = cv2.resize(
        frame[covered], cells, scratch.get("edge_image"), interpolation=cv2.INTER_NEAREST_EXACT
    )
    small_alpha = scratch["edge_alpha"] = cv2.resize(
        alpha[covered], cells, scratch.get("edge_alpha"), interpolation=cv2.INTER_NEAREST_EXACT
    )
    person_sums, room_sums = _weighted(image, small_alpha, scratch)
    # The wide pass, its colour explained at the small picture's own edge pixels ...
    small_index = _edge_points(small_alpha)
    room_means = _box(room_sums, WIDE_BOX, scratch, "edge_wide_room")
    own = _take(image, small_index)
    person = _mean(_take(_box(person_sums, WIDE_BOX, scratch, "edge_wide_person"), small_index), own)
    a = _take(small_alpha, small_index) * np.float32(1 / 255)
    first = _explain(own, a, person, _mean(_take(room_means, small_index), own))
    weight = _take(person_sums[..., 3:], small_index) * np.float32(1 / 255)
    person_sums.reshape(-1, 4)[small_index, :3] = first * weight
    # ... the narrow pass: the person's means from those colours (the room's stay the wide pass's), at full size.
    maps = _on_grid(index, width, factor)
    own = _take(frame, index)
    person = _mean(_sample(_box(person_sums, NARROW_BOX, scratch, "edge_narrow"), maps), own)
    room = _mean(_sample(room_means, maps), own)
    a = _take(alpha, index) * np.float32(1 / 255)
    colour = _explain(own, a, person, room)
    return Edge(index, a, (colour + 0.5).astype(np.uint8))
