"""The per-point maths of the soft edge: each edge pixel's colour explained between the local means of the person and
the room (:mod:`bgblur.effects.foreground`), and the gather / 8-bit blend / scatter of single pixels that the edge
and :func:`~bgblur.effects.compose.composite` share.

It works on channel planes ((C, N) float32, one row a channel): numpy multiplies an (N,) alpha into those at memory
speed, while (N, 3) rows times an (N, 1) column go 3 values at a time (8x slower).
"""

from __future__ import annotations

import cv2
import numpy as np

UNSURE = 0.1  # a weight (mean over the box, of 255) at which a mean is half the pixel's own colour
FADE = 0.9  # above this alpha the room-ward correction fades to nothing at 1 (no step into the person's inside)


def dot(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The dot product of each point's colours in planes ``x`` and ``y`` (3xN): (N,)."""
    product = x * y
    product[0] += product[1]
    product[0] += product[2]
    return product[0]


ALPHA = np.arange(256, dtype=np.float32) * np.float32(1 / 255)  # 8-bit alpha as 0..1
# alpha times the room-ward correction's share: 1 up to FADE, falling to 0 at alpha 1 (looked up: 4 passes fewer)
FADED = ALPHA * np.minimum(np.float32(1), (1 - ALPHA) * np.float32(1 / (1 - FADE)))


def explain(image: np.ndarray, alpha8: np.ndarray, person: np.ndarray, room: np.ndarray) -> np.ndarray:
    """The person's colour at pixels ``image`` (3xN planes, 0..255) with alpha ``alpha8`` (uint8, (N,)) between
    local means ``person`` and ``room``: the mean plus alpha times what ``alpha * person + (1 - alpha) * room``
    leaves over, less the part of it that points towards the room (faded out above :data:`FADE`)."""
    alpha = np.take(ALPHA, alpha8)
    towards_person = person - room
    rest = image - room
    rest -= alpha * towards_person
    # How far the left-over reaches along room -> person, in units of that step; only its room-ward part goes.
    along = dot(rest, towards_person)
    along /= dot(towards_person, towards_person) + np.float32(1.0)
    np.minimum(along, 0, out=along)
    along *= np.take(FADED, alpha8)
    rest *= alpha
    rest += person
    rest -= along * towards_person
    # Never past the person's colour nor the camera's: the edge moves from one towards the other, no new colours.
    np.maximum(rest, np.minimum(image, person), out=rest)
    return np.minimum(rest, np.maximum(image, person), out=rest)


def mean(sums: np.ndarray, own: np.ndarray) -> np.ndarray:
    """The weighted mean colour (3xN) from box means of ``[colour * weight / 255 (3), weight]`` (4xN, weights
    0..255), leaning to the pixels' ``own`` colour where the weights nearby all but vanish (no one sure in reach)."""
    colour = sums[:3] * np.float32(255)
    colour += np.float32(UNSURE) * own
    colour /= sums[3] + np.float32(UNSURE)
    return colour


def planes(image: np.ndarray, index: np.ndarray) -> np.ndarray:
    """The pixels of ``image`` at flat ``index`` as float32 channel planes (CxN; ``np.take``: several times faster
    than indexing)."""
    rows = np.take(image.reshape(-1, image.shape[2] if image.ndim == 3 else 1), index, axis=0)
    return rows.T.astype(np.float32, order="C")


def as_rows(planes: np.ndarray) -> np.ndarray:
    """Colour planes (3xN, within 0..255) as rounded uint8 rows (Nx3)."""
    return cv2.convertScaleAbs(cv2.merge(list(planes))).reshape(-1, 3)


def pixel_items(image: np.ndarray) -> np.ndarray:
    """A contiguous BGR picture (or 1xNx3 / Nx3 rows) as one 3-byte item per pixel: ``np.take``/``np.put`` move those
    several times faster than rows (or fancy indexing)."""
    return image.reshape(-1, 3).view("V3").reshape(-1)


def gathered(image: np.ndarray, index: np.ndarray) -> np.ndarray:
    """The BGR pixels of ``image`` at flat ``index`` as a 1xNx3 picture."""
    return np.take(pixel_items(np.ascontiguousarray(image)), index).view(np.uint8).reshape(1, -1, 3)


def blend_rows(person: np.ndarray, room: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``alpha * person + (1 - alpha) * room`` of gathered pixels (1xNx3 uint8, ``alpha`` uint8 of N), as two
    saturating 8-bit multiplies and an add: the whole-frame composite's operations, so the same bytes."""
    a3 = cv2.merge([alpha.reshape(1, -1)] * 3)
    mixed = cv2.multiply(person, a3, scale=1 / 255)
    return cv2.add(mixed, cv2.multiply(room, cv2.bitwise_not(a3, a3), scale=1 / 255), mixed)
