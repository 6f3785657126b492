"""Which connected regions of the matte to keep: the main person or everyone, no specks, with evidence.

With a :class:`bgblur.matte.people.PeopleCheck` (``--presence people``), ``main`` is the main person found by
the detectors with every region that is theirs; otherwise (or when no person is known) the largest region with
evidence."""

from __future__ import annotations

import cv2
import numpy as np

from bgblur.matte.people import PeopleCheck
from bgblur.matte.presence import PresenceCheck


def keep_regions(
    mask: np.ndarray,
    people: str,
    min_area: float,
    presence: PresenceCheck | PeopleCheck | None = None,
    image: np.ndarray | None = None,
) -> np.ndarray | None:
    """Which connected regions of the boolean ``mask`` to keep: the largest (``main``) or all, without specks
    smaller than ``min_area`` (fraction of the picture) and, with a ``presence`` check, without regions that show
    no evidence of a person in ``image``. Returns a uint8 0/1 keep map, or None to keep all."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if presence is not None and image is not None:
        evidence = presence.keep(labels, count, image)  # runs every frame: its face memory must see each one
    elif count <= 2 and (count < 2 or stats[1, cv2.CC_STAT_AREA] >= min_area * mask.size):
        return None  # nothing to drop: skip the relabelling
    else:
        evidence = np.ones(count, bool)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = (areas >= min_area * mask.size) & evidence[1:]
    if people == "main" and keep.any():
        mine = None
        if isinstance(presence, PeopleCheck) and image is not None:
            mine = presence.main(labels, count, np.concatenate([[False], keep]))
        if mine is not None:  # the main person found by the detectors, every region of theirs
            keep &= mine[1:]
        else:  # the largest region with evidence: a big cup must not win over a smaller person
            main = int(np.argmax(np.where(keep, areas, -1)))
            keep[:] = False
            keep[main] = True
    lookup = np.concatenate([[0], keep.astype(np.uint8)])
    return lookup[labels].astype(np.uint8)
