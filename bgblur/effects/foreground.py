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
:data:`MEANS_SIZE` px long, like the matte's own working size) — on the part the edge reaches only (:func:`_region`)
— the wide pass's colours explained at that picture's edge pixels; the final colour is worked out at the frame's own
edge pixels (about 1% of a 720p frame) from those means, sampled between their pixels. In a run of frames every
other one reuses the last fresh means (:data:`REUSE`). Outside the edge every pixel stays the camera's. Figures:
docs/edges.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from bgblur.effects.edgemath import FADE, UNSURE, as_rows, blend_rows, explain, gathered, mean, pixel_items, planes

__all__ = ["FADE", "UNSURE", "Edge", "edge_colours", "means_factor", "soft_points"]

MEANS_SIZE = 320  # long side (px) at most of the picture the means are taken on
WIDE_BOX = 7  # box (px of that picture) of the first pass: far enough to reach the person's sure inside
NARROW_BOX = 5  # box of the second pass: the local colour
SURENESS = 4  # a pixel counts alpha ** 4 in the person's mean ((1 - alpha) ** 4 in the room's): the surest count most


@dataclass
class Edge:
    """The soft edge of one frame: its pixels (flat indices into the frame), their alpha (uint8 ``(N,)``) and the
    person's estimated colour there (uint8 ``(N, 3)``)."""

    index: np.ndarray
    alpha: np.ndarray
    colour: np.ndarray

    def paste(self, image: np.ndarray) -> np.ndarray:
        """``image`` (a contiguous copy of the frame) with the person's colour put into its edge pixels, in place."""
        if self.index.size:
            np.put(pixel_items(image), self.index, pixel_items(self.colour))
        return image

    def over(self, picture: np.ndarray, background: np.ndarray) -> np.ndarray:
        """``picture`` (the frame composited on ``background``; contiguous) with its edge pixels composited again from
        the person's colour, in place: ``alpha * colour + (1 - alpha) * background`` there, in 8-bit as
        :func:`~bgblur.effects.compose.composite` does it (where the colour is the frame's, the same pixel)."""
        if self.index.size:
            mixed = blend_rows(self.colour.reshape(1, -1, 3), gathered(background, self.index), self.alpha)
            np.put(pixel_items(picture), self.index, pixel_items(mixed))
        return picture


def means_factor(size: tuple[int, int]) -> int:
    """The step (a power of two, at least 2) between the pixels the means are taken on, for a frame of ``size``
    (w, h): a long side of at most :data:`MEANS_SIZE` px."""
    factor = 2
    while max(size) > MEANS_SIZE * factor:
        factor *= 2
    return factor


def soft_points(alpha: np.ndarray, scratch: dict[str, np.ndarray] | None = None, name: str = "") -> np.ndarray:
    """Flat index of every soft-edge pixel of ``alpha`` (0 < alpha < 255): ``alpha - 1`` wraps 0 round to 255, so
    soft is ``alpha - 1 < 254``, a boolean array numpy scans fast (as fast as inRange then 1 for 255; a table
    look-up of the whole frame costs 3x, and threshold hands the frame to OpenCV's thread pool, whose worker spins)."""
    kept = {} if scratch is None else scratch
    shifted = np.subtract(alpha, 1, out=_buffer(kept, f"{name}_shifted", alpha.shape, np.uint8))
    return np.flatnonzero(np.less(shifted, 254, out=_buffer(kept, name, alpha.shape, np.bool_)))


_LEVELS = np.arange(256) / 255
_PERSON_WEIGHT = np.round(255 * _LEVELS**SURENESS).astype(np.uint8)
_ROOM_WEIGHT = np.round(255 * (1 - _LEVELS) ** SURENESS).astype(np.uint8)

# Small px around the edge whose means the colours use: the bilinear sample's neighbour, the narrow box over the
# wide pass's colours, the wide box under those; and one more. Beyond that, the means can stop.
REACH = 1 + NARROW_BOX // 2 + WIDE_BOX // 2 + 1


def _buffer(scratch: dict[str, np.ndarray], name: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """A contiguous scratch array of ``shape``, the start of one kept from frame to frame under ``name`` (the part of
    the picture the means cover changes size with every frame; a fresh array each time costs in page faults)."""
    size = int(np.prod(shape))
    kept = scratch.get(name)
    if kept is None or kept.size < size or kept.dtype != dtype:
        kept = scratch[name] = np.empty(size, dtype)
    return kept.reshape(-1)[:size].reshape(shape)


def _weighted(image: np.ndarray, alpha: np.ndarray, scratch: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``[image * w / 255 (3), w]`` with the person's weight ``w = 255 * alpha ** SURENESS`` (alpha 0..1), and the
    same with the room's: what a box filter turns into their weighted local means. The products are kept in float
    (the weights are often small, and an 8-bit product of a small weight rounds the colour away)."""
    shape = alpha.shape
    with_alpha = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA, _buffer(scratch, "edge_bgra", (*shape, 4), np.uint8))
    stacks = []
    for name, table in (("person", _PERSON_WEIGHT), ("room", _ROOM_WEIGHT)):
        weight = cv2.LUT(alpha, table, _buffer(scratch, f"edge_{name}_w", shape, np.uint8))
        weights = cv2.merge([weight] * 4, _buffer(scratch, f"edge_{name}_w4", (*shape, 4), np.uint8))
        # its 4th channel is 255: times the weight / 255, the weight
        out = _buffer(scratch, f"edge_{name}", (*shape, 4), np.float32)
        stacks.append(cv2.multiply(with_alpha, weights, out, scale=1 / 255, dtype=cv2.CV_32F))
    return stacks[0], stacks[1]


def _box(stack: np.ndarray, box: int, scratch: dict[str, np.ndarray], name: str) -> np.ndarray:
    """Box means of a float32 stack, into the scratch array ``name``."""
    out = _buffer(scratch, name, stack.shape, np.float32)
    return cv2.boxFilter(stack, -1, (box, box), out, borderType=cv2.BORDER_REFLECT)


def _region(
    rows: np.ndarray, cols: np.ndarray, factor: int, cells: tuple[int, int], reach: int = REACH
) -> tuple[int, int, int, int]:
    """The part (x0, y0, x1, y1, in px of the ``cells`` grid) of the means' picture the edge at ``rows``, ``cols``
    (rows sorted) reaches, ``reach`` around its bounding box: with :data:`REACH`, the means taken there alone come
    out exactly as over the whole picture."""
    x0, x1 = int(cols.min()) // factor - reach, int(cols.max()) // factor + reach + 1
    y0, y1 = int(rows[0]) // factor - reach, int(rows[-1]) // factor + reach + 1
    return max(0, x0), max(0, y0), min(cells[0], x1), min(cells[1], y1)


Region = tuple[int, int, int, int]
Scratch = dict[str, np.ndarray]


def _small(
    frame: np.ndarray, alpha: np.ndarray, region: Region, factor: int, scratch: Scratch
) -> tuple[np.ndarray, ...]:
    """The pixel at the middle of every ``factor`` x ``factor`` cell of ``region`` (see :func:`_region`), of the
    frame and of the alpha: the means need no more, and it reads a fraction of the frame."""
    x0, y0, x1, y1 = region
    covered = (slice(y0 * factor, y1 * factor), slice(x0 * factor, x1 * factor))
    size, shape = (x1 - x0, y1 - y0), (y1 - y0, x1 - x0)
    nearest = cv2.INTER_NEAREST_EXACT
    image = cv2.resize(
        frame[covered], size, _buffer(scratch, "edge_image", (*shape, 3), np.uint8), interpolation=nearest
    )
    small_alpha = cv2.resize(
        alpha[covered], size, _buffer(scratch, "edge_alpha", shape, np.uint8), interpolation=nearest
    )
    return image, small_alpha


def _first_pass(
    image: np.ndarray, alpha: np.ndarray, person_sums: np.ndarray, room_means: np.ndarray, scratch: Scratch
) -> None:
    """The wide pass: the person's colour explained at the small picture's own edge pixels from the wide means, put
    into ``person_sums`` (weighted as there) for the narrow pass to average."""
    small_index = soft_points(alpha)
    own = planes(image, small_index)
    a = np.take(alpha.reshape(-1), small_index)
    wide = _box(person_sums, WIDE_BOX, scratch, "edge_wide_person")
    first = explain(own, a, mean(planes(wide, small_index), own), mean(planes(room_means, small_index), own))
    first *= planes(person_sums[..., 3:], small_index)[0] * np.float32(1 / 255)
    person_sums.reshape(-1, 4)[small_index, :3] = first.T


# cv2.remap takes maps under 32767 px a side (SHRT_MAX): more points than this go in rows of this many.
REMAP_ROW = 16384


def _on_grid(rows: np.ndarray, cols: np.ndarray, factor: int, origin: tuple[int, int]) -> tuple:
    """Where the pixels at ``rows``, ``cols`` fall on a grid ``factor`` times coarser (whose pixels stand for the
    middles of their cells) starting at cell ``origin``: the maps :func:`_sample` takes, and how many points they
    hold. The points go in one row (remap is several times faster over a 1xN map than an Nx1 one), or rows of
    :data:`REMAP_ROW` when there are more (a 4K frame's edge, a zoomed-in auto-frame), the last padded."""
    scale = np.float32(1 / factor)
    xs = ((cols - origin[0] * factor).astype(np.float32) + 0.5) * scale - 0.5
    ys = ((rows - origin[1] * factor).astype(np.float32) + 0.5) * scale - 0.5
    count = len(rows)
    if count <= REMAP_ROW:
        return xs[None], ys[None], count
    pad = -count % REMAP_ROW
    return (
        np.pad(xs, (0, pad), mode="edge").reshape(-1, REMAP_ROW),
        np.pad(ys, (0, pad), mode="edge").reshape(-1, REMAP_ROW),
        count,
    )


def _sample(sums: np.ndarray, maps: tuple[np.ndarray, np.ndarray, int]) -> np.ndarray:
    """``sums`` at the points of ``maps`` (:func:`_on_grid`), bilinearly, as channel planes (CxN)."""
    xs, ys, count = maps
    sampled = cv2.remap(sums, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(sampled.reshape(-1, sums.shape[2])[:count].T)


# Frames in a row after a fresh one that reuse its local means (an effect's run of frames; a picture is always fresh).
REUSE = 1
KEPT_REACH = 3  # the edge may move this many cells (4 px each at 720p) out of the fresh one's bounding box


def _means(
    frame: np.ndarray,
    alpha: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    grid: tuple[int, tuple[int, int]],
    scratch: Scratch,
    keep: bool,
) -> tuple[Region, np.ndarray, np.ndarray]:
    """(region, the narrow pass's box means of the person, the wide pass's of the room) for the edge at ``rows``,
    ``cols`` (``grid``: the cells' factor and count): fresh, or with ``keep`` (the effect's buffers, frame after frame)
    on up to :data:`REUSE` frames after a fresh one, that one's, while the edge stays in its region. Local means over
    20-28 px move little in a frame (and the matte a live effect gets is often a frame old itself); this halves
    their cost."""
    factor, cells = grid
    kept = scratch.get("edge_kept")
    if keep and kept is not None and kept[4] < REUSE:
        x0, y0, x1, y1 = (int(v) for v in kept[:4])
        now = _region(rows, cols, factor, cells, KEPT_REACH)
        if now[0] >= x0 and now[1] >= y0 and now[2] <= x1 and now[3] <= y1:
            kept[4] += 1
            shape = (y1 - y0, x1 - x0, 4)
            narrow = _buffer(scratch, "edge_narrow", shape, np.float32)
            return (x0, y0, x1, y1), narrow, _buffer(scratch, "edge_wide_room", shape, np.float32)
    region = _region(rows, cols, factor, cells)
    image, small_alpha = _small(frame, alpha, region, factor, scratch)
    person_sums, room_sums = _weighted(image, small_alpha, scratch)
    room_means = _box(room_sums, WIDE_BOX, scratch, "edge_wide_room")
    _first_pass(image, small_alpha, person_sums, room_means, scratch)
    scratch["edge_kept"] = np.array([*region, 0])
    return region, _box(person_sums, NARROW_BOX, scratch, "edge_narrow"), room_means


def _nobody() -> Edge:
    return Edge(np.empty(0, np.intp), np.empty(0, np.uint8), np.empty((0, 3), np.uint8))


def edge_colours(frame: np.ndarray, alpha: np.ndarray, buffers: dict[str, np.ndarray] | None = None) -> Edge:
    """The soft edge of ``alpha`` (uint8, 255 = person) in ``frame`` (BGR uint8) with the person's colour there;
    ``buffers`` (an effect's :class:`~bgblur.effects.compose.FrameBuffers`) keeps the scratch pictures for the next
    frame (fresh ones each frame cost more in page faults than the work in them)."""
    scratch = {} if buffers is None else buffers
    frame, alpha = np.ascontiguousarray(frame), np.ascontiguousarray(alpha)  # flat indices need it; no copy if so
    height, width = alpha.shape
    factor = means_factor((width, height))
    cells = (width // factor, height // factor)
    if min(cells) < 4:  # too small for local means
        return _nobody()
    index = soft_points(alpha, scratch, "edge_soft")
    if not index.size:
        return _nobody()
    rows, cols = np.divmod(index, width)
    region, narrow, room_means = _means(frame, alpha, rows, cols, (factor, cells), scratch, buffers is not None)
    # The narrow pass: the person's means from the wide pass's colours (the room's stay the wide pass's), at full size.
    maps = _on_grid(rows, cols, factor, region[:2])
    own = planes(frame, index)
    person = mean(_sample(narrow, maps), own)
    room = mean(_sample(room_means, maps), own)
    a8 = np.take(alpha.reshape(-1), index)
    return Edge(index, a8, as_rows(explain(own, a8, person, room)))
