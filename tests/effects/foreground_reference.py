"""The person's colour at the soft edge as bgblur computed it before its per-frame cost was cut (issue 22): the same
blur-fusion maths (:mod:`bgblur.effects.foreground`) written plainly, the means over the whole picture of cell
middles and the points as (N, 3) rows. The tests hold the fast one to it."""

from __future__ import annotations

import cv2
import numpy as np

from bgblur.effects.foreground import FADE, NARROW_BOX, SURENESS, UNSURE, WIDE_BOX, means_factor


def _explain(image: np.ndarray, alpha: np.ndarray, person: np.ndarray, room: np.ndarray) -> np.ndarray:
    towards_person = person - room
    rest = image - room - alpha * towards_person
    along = np.einsum("ij,ij->i", rest, towards_person)[:, None]
    along /= np.einsum("ij,ij->i", towards_person, towards_person)[:, None] + np.float32(1.0)
    along = np.minimum(along, 0) * alpha * np.minimum(np.float32(1), (1 - alpha) * np.float32(1 / (1 - FADE)))
    colour = person + alpha * rest - along * towards_person
    return np.minimum(np.maximum(colour, np.minimum(image, person)), np.maximum(image, person))


def _mean(sums: np.ndarray, own: np.ndarray) -> np.ndarray:
    return (sums[:, :3] * np.float32(255) + np.float32(UNSURE) * own) / (sums[:, 3:] + np.float32(UNSURE))


def _take(image: np.ndarray, index: np.ndarray) -> np.ndarray:
    return image.reshape(-1, image.shape[2] if image.ndim == 3 else 1)[index].astype(np.float32)


def _weighted(image: np.ndarray, alpha: np.ndarray, power_of: np.ndarray) -> np.ndarray:
    """``[image * w / 255, w]`` (float32, 4 channels) with ``w = round(255 * power_of(alpha) ** SURENESS)``."""
    weight = np.round(255 * power_of**SURENESS).astype(np.uint8)[alpha]
    stack = np.dstack([image, np.full(alpha.shape, 255, np.uint8)]).astype(np.float32)
    return cv2.multiply(stack, cv2.merge([weight.astype(np.float32)] * 4), scale=1 / 255)


def _box(stack: np.ndarray, box: int) -> np.ndarray:
    return cv2.boxFilter(stack, -1, (box, box), borderType=cv2.BORDER_REFLECT)


def _sample(sums: np.ndarray, index: np.ndarray, width: int, factor: int) -> np.ndarray:
    rows, cols = np.divmod(index, width)
    xs = ((cols.astype(np.float32) + 0.5) * np.float32(1 / factor) - 0.5).reshape(-1, 1)
    ys = ((rows.astype(np.float32) + 0.5) * np.float32(1 / factor) - 0.5).reshape(-1, 1)
    out = [
        cv2.remap(sums, xs[i : i + 16384], ys[i : i + 16384], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        for i in range(0, len(xs), 16384)
    ]
    return np.concatenate(out).reshape(-1, 4)


def reference_edge_colours(frame: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(flat index of every soft pixel, the person's colour there as uint8 rows)."""
    height, width = alpha.shape
    factor = means_factor((width, height))
    cells = (width // factor, height // factor)
    index = np.flatnonzero((alpha > 0) & (alpha < 255))
    mid = factor // 2  # the cell's middle pixel: what INTER_NEAREST_EXACT picks
    image = np.ascontiguousarray(frame[mid : cells[1] * factor : factor, mid : cells[0] * factor : factor])
    small_alpha = np.ascontiguousarray(alpha[mid : cells[1] * factor : factor, mid : cells[0] * factor : factor])
    levels = np.arange(256) / 255
    person_sums, room_sums = _weighted(image, small_alpha, levels), _weighted(image, small_alpha, 1 - levels)
    small_index = np.flatnonzero((small_alpha > 0) & (small_alpha < 255))
    room_means = _box(room_sums, WIDE_BOX)
    own = _take(image, small_index)
    a = _take(small_alpha, small_index) / np.float32(255)
    person = _mean(_take(_box(person_sums, WIDE_BOX), small_index), own)
    first = _explain(own, a, person, _mean(_take(room_means, small_index), own))
    person_sums.reshape(-1, 4)[small_index, :3] = first * _take(person_sums[..., 3:], small_index) / np.float32(255)
    own = _take(frame, index)
    person = _mean(_sample(_box(person_sums, NARROW_BOX), index, width, factor), own)
    room = _mean(_sample(room_means, index, width, factor), own)
    colour = _explain(own, _take(alpha, index) / np.float32(255), person, room)
    return index, (colour + 0.5).astype(np.uint8)
