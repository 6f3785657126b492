"""The person's own colour at the soft edge of the matte, so a new background does not show a rim of the old room.

Inside the soft edge (0 < alpha < 255) a camera pixel is a mix of the person and the room behind them. Pasted as it
is onto another background, every hair edge carries the old room's colour. :func:`edge_colours` estimates the
person's colour there with the two-pass "blur fusion" of Forte & Pitié (*Approximate Fast Foreground Colour
Estimation*, ICIP 2021): local means of the person (a box filter of ``I * alpha`` over one of ``alpha``) and of the
room (the same with ``1 - alpha``); each edge pixel's colour is explained as ``alpha * F + (1 - alpha) * B`` and what
is left over goes back to the person; a wide pass, then a narrow one over the wide pass's colours.

One change to the paper: the part of the left-over that pulls the colour from the person's mean *towards the room's*
is dropped (towards the person it is kept, and any other detail too). That part says "this pixel is more room than
the matte says" — the matte's edge sits a little outside the real one — and, since the alpha stays as it is, giving
it to the person is exactly the rim. It fades out over the top tenth of alpha, so the edge meets the person's inside
without a step. On the developer pictures the spill measure of ``scripts/evaluate.py`` goes from 0.44-0.60 (the
camera's pixels) to 0.11-0.22; the paper's passes alone reach 0.22-0.37.

Cost: only the edge's bounding box is worked on; the colours the wide pass needs are explained at the edge pixels of
a working size of at most :data:`WORK_SIZE` px (the matte itself comes from a 320-px one), the box means are taken at
half that, and the final colour is worked out at the edge's own full-size pixels (about 1% of a 720p frame).
Outside the edge every pixel stays the camera's.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from bgblur.imaging import shrink

WORK_SIZE = 640  # long side (px) the frame is halved down to for the wide pass's colours
WIDE_BOX = 7  # box (px at half the working size) of the first pass: far enough to reach the person's sure inside
NARROW_BOX = 5  # box of the second pass: the local colour
FADE = 0.9  # above this alpha the room-ward correction fades to nothing at 1 (no step into the person's inside)


@dataclass
class Edge:
    """The soft edge of one frame: its pixels (flat indices into the frame), their alpha (0..1, ``(N, 1)``) and the
    person's estimated colour there (uint8 ``(N, 3)``)."""

    index: np.ndarray
    alpha: np.ndarray
    colour: np.ndarray

    def paste(self, image: np.ndarray) -> np.ndarray:
        """``image`` (a copy of the frame) with the person's colour put into its edge pixels, in place."""
        if self.index.size:
            image.reshape(-1, 3)[self.index] = self.colour
        return image

    def over(self, picture: np.ndarray, background: np.ndarray) -> np.ndarray:
        """``picture`` (the frame composited on ``background``) with its edge pixels composited again from the
        person's colour, in place: ``alpha * colour + (1 - alpha) * background`` there."""
        if self.index.size:
            room = background.reshape(-1, 3)[self.index].astype(np.float32)
            mixed = room + self.alpha * (self.colour.astype(np.float32) - room)
            picture.reshape(-1, 3)[self.index] = (mixed + 0.5).astype(np.uint8)
        return picture


def working_factor(size: tuple[int, int]) -> int:
    """The power of two (≥ 1) a frame of ``size`` (w, h) is shrunk by for the means: to a long side of at most
    :data:`WORK_SIZE` px, by exact halvings (a 2x2 average each, cheap)."""
    factor = 1
    while max(size) > WORK_SIZE * factor:
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
    return np.clip(rest, 0, 255, out=rest)


def _mean(sums: np.ndarray) -> np.ndarray:
    """The weighted mean colour (Nx3) from box means of ``[colour * weight (3), weight]`` (Nx4, weights 0..255)."""
    return sums[:, :3] * (np.float32(255) / (sums[:, 3:] + np.float32(0.02)))


def _band_box(alpha: np.ndarray, margin: int) -> tuple[int, int, int, int] | None:
    """The bounding box (x, y, w, h) of the soft edge of ``alpha``, widened by ``margin`` within the picture, on even
    pixels (so that halving it is exact); None without an edge or in a picture too small for local means."""
    x, y, w, h = cv2.boundingRect(cv2.inRange(alpha, 1, 254))
    if w == 0:
        return None
    height, width = alpha.shape
    x0, y0 = max(0, x - margin) & ~1, max(0, y - margin) & ~1
    w, h = (min(width, x + w + margin) - x0) & ~1, (min(height, y + h + margin) - y0) & ~1
    return (x0, y0, w, h) if w >= 4 and h >= 4 else None


def _edge_points(alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column and row (int) of every soft-edge pixel of ``alpha`` (0 < alpha < 255)."""
    edge = cv2.min(cv2.inRange(alpha, 1, 254), 1)  # 0/1 bytes: a valid boolean array, which numpy scans fast
    rows, cols = np.divmod(np.flatnonzero(edge.view(bool)), alpha.shape[1])
    return cols, rows


def _weighted(image: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``[image * alpha / 255 (3), alpha]`` and the same with ``255 - alpha``, uint8: what a box filter turns into
    the person's and the room's weighted local means."""
    with_alpha = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)  # its 4th channel is 255: times the weight, the weight
    weight = cv2.merge([alpha] * 4)
    person = cv2.multiply(with_alpha, weight, scale=1 / 255)
    return person, cv2.multiply(with_alpha, cv2.bitwise_not(weight, weight), scale=1 / 255)


def _box(stack: np.ndarray, box: int) -> np.ndarray:
    """Box means of a uint8 stack, as float32 (8-bit in, float out: OpenCV's fast path)."""
    return cv2.boxFilter(stack, cv2.CV_32F, (box, box), borderType=cv2.BORDER_REFLECT)


def _sample(sums: np.ndarray, cols: np.ndarray, rows: np.ndarray, factor: int) -> np.ndarray:
    """``sums`` (a grid ``factor`` times coarser than the points) at the points' centres, bilinearly (Nx4)."""
    map_x = ((cols.astype(np.float32) + 0.5) * np.float32(1 / factor) - 0.5)[:, None]
    map_y = ((rows.astype(np.float32) + 0.5) * np.float32(1 / factor) - 0.5)[:, None]
    sampled = cv2.remap(sums, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return sampled.reshape(-1, sums.shape[2])


def edge_colours(frame: np.ndarray, alpha: np.ndarray) -> Edge:
    """The soft edge of ``alpha`` (uint8, 255 = person) in ``frame`` (BGR uint8) with the person's colour there."""
    height, width = alpha.shape
    factor = working_factor((width, height))
    small_alpha = shrink(alpha, (width // factor, height // factor))
    box = _band_box(small_alpha, 2 * (WIDE_BOX + NARROW_BOX))
    if box is None:
        return Edge(np.empty(0, np.intp), np.empty((0, 1), np.float32), np.empty((0, 3), np.uint8))
    x, y, w, h = box
    # The full-size region the working box covers, shrunk to it by the same halvings.
    full = (x * factor, y * factor, (x + w) * factor, (y + h) * factor)
    image = shrink(frame[full[1] : full[3], full[0] : full[2]], (w, h))
    a8 = small_alpha[y : y + h, x : x + w]
    person_sums, room_sums = _weighted(image, a8)
    half = (w // 2, h // 2)
    # The wide pass: means at half the working size, the colour explained at the working size's edge pixels ...
    cols, rows = _edge_points(a8)
    room_means = _box(shrink(room_sums, half), WIDE_BOX)
    person = _mean(_sample(_box(shrink(person_sums, half), WIDE_BOX), cols, rows, 2))
    a = a8[rows, cols].astype(np.float32)[:, None] * np.float32(1 / 255)
    first = _explain(image[rows, cols].astype(np.float32), a, person, _mean(_sample(room_means, cols, rows, 2)))
    person_sums[rows, cols, :3] = (first * a + 0.5).astype(np.uint8)
    # ... the narrow pass: the person's means from those colours (the room's stay the wide pass's), at full size.
    person_means = _box(shrink(person_sums, half), NARROW_BOX)
    return _at_edge(frame, alpha, full, 2 * factor, person_means, room_means)


def _at_edge(
    frame: np.ndarray,
    alpha: np.ndarray,
    full: tuple[int, int, int, int],
    factor: int,
    person_sums: np.ndarray,
    room_sums: np.ndarray,
) -> Edge:
    """The edge pixels of ``alpha`` inside the full-size region ``full`` (x0, y0, x1, y1), their colour explained by
    the box means of that region on a grid ``factor`` times coarser, sampled between its pixels."""
    x0, y0, x1, y1 = full
    cols, rows = _edge_points(alpha[y0:y1, x0:x1])
    person = _mean(_sample(person_sums, cols, rows, factor))
    room = _mean(_sample(room_sums, cols, rows, factor))
    index = (rows + y0) * alpha.shape[1] + (cols + x0)
    a = alpha.reshape(-1)[index].astype(np.float32)[:, None] * np.float32(1 / 255)
    colour = _explain(frame.reshape(-1, 3)[index].astype(np.float32), a, person, room)
    return Edge(index, a, (colour + 0.5).astype(np.uint8))
