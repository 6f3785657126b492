"""A person found in a frame, as windows over the matte (the geometry of :mod:`bgblur.matte.presence`).

Each person a detector finds becomes a :class:`Track` with two windows:

- the **core**: where the person certainly is — a face (BlazeFace short- and full-range) and one face-height
  below it (chin, neck), or the head-and-shoulders box of BlazePose's person detector;
- the **extent**: where any part of that person can be — the square MediaPipe crops around the whole body
  (from the detector's hip and body-circle keypoints), or for a face alone, a column five face-widths wide
  from just above the face down eight face-heights (a standing body is ~7.5 heads).

A connected region of the matte is **a person's** (:func:`claims`) when it hits a core (≥ 10 % of the core window
is that region) or lies mostly (≥ 50 % of its area) inside an extent: so a hand the matte does not connect to the
body stays with its person. ``main`` gives each region to the person who claims it most.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in the frame's pixels


class Detector(Protocol):
    def detect(self, image: np.ndarray, *, half: np.ndarray | None = None) -> list: ...


@dataclass(frozen=True)
class Track:
    """One person found: detection score, core window and extent (frame pixels), frame last seen."""

    score: float
    core: Box
    extent: Box
    seen: int = 0
    looks: tuple[float, ...] = ()  # video: this person's detector scores at the last few looks
    confirmed: bool = False  # this look's own evidence counts (see PresenceCheck)
    counted: int = -1  # the frame its evidence last counted (-1: never): it counts for ``memory`` frames after


def face_person(score: float, box: Box, frame: int = 0) -> Track:
    """A person known from a face: the face and one face-height below as core, a body-sized column as extent."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2
    return Track(score, (x0, y0, x1, y1 + h), (cx - 2.5 * w, y0 - 0.5 * h, cx + 2.5 * w, y1 + 8 * h), frame)


def body_square(keypoints) -> Box:
    """The square around the whole body MediaPipe crops for its pose model, from BlazePose's detector keypoints:
    centred on the hip centre (keypoint 0), half side 1.25x the distance to keypoint 1 (on the body circle)."""
    (hx, hy), (ex, ey) = keypoints[0], keypoints[1]
    half = 1.25 * float(np.hypot(ex - hx, ey - hy))
    return (hx - half, hy - half, hx + half, hy + half)


def body_person(detection, frame: int = 0) -> Track:
    """A person from BlazePose's detector: its head-and-shoulders box as core, the whole-body square
    (:func:`body_square`) as extent, holding the core too."""
    x0, y0, x1, y1 = detection.box
    extent = (x0, y0, x1, y1)
    if len(detection.keypoints) >= 2:
        bx0, by0, bx1, by1 = body_square(detection.keypoints)
        extent = (min(x0, bx0), min(y0, by0), max(x1, bx1), max(y1, by1))
    return Track(float(detection.score), (x0, y0, x1, y1), extent, frame)


def overlap(a: Box, b: Box) -> float:
    """Intersection over the smaller box's area (0..1)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return w * h / max(smaller, 1e-6)


def merge_people(bodies: list[Track], faces: list[Track]) -> list[Track]:
    """One entry per person: a face inside a body detection's core or extent joins it; faces already claimed by
    another face (two detectors, one face) are dropped."""
    people = list(bodies)
    for face in faces:
        fx0, fy0, fx1, fy1 = face.core
        centre = ((fx0 + fx1) / 2, fy0 + (fy1 - fy0) / 4)  # the face's centre (the core is face + one height)
        match = None
        for i, person in enumerate(people):
            x0, y0, x1, y1 = person.core if i >= len(bodies) else person.extent
            inside = x0 <= centre[0] <= x1 and y0 <= centre[1] <= y1
            if inside and (i >= len(bodies) or overlap(face.core, person.core) > 0):
                match = i
                break
        if match is None:
            people.append(face)
        elif match < len(bodies):  # a body with its face: the face is part of its core too
            p = people[match]
            core = (min(p.core[0], fx0), min(p.core[1], fy0), max(p.core[2], fx1), max(p.core[3], fy1))
            confirmed = p.confirmed or face.confirmed
            people[match] = replace(p, score=max(p.score, face.score), core=core, confirmed=confirmed)
    return people


def window_slice(box: Box, scale: tuple[float, float], shape: tuple[int, int]) -> tuple[slice, slice] | None:
    """The rows and columns of a label map (``shape``, at ``scale`` of the frame) under ``box``; None if empty."""
    sx, sy = scale
    c0, c1 = int(max(0, box[0] * sx)), int(min(shape[1], np.ceil(box[2] * sx)))
    r0, r1 = int(max(0, box[1] * sy)), int(min(shape[0], np.ceil(box[3] * sy)))
    if c1 <= c0 or r1 <= r0:
        return None
    return slice(r0, r1), slice(c0, c1)


def claims(person: Track, labels: np.ndarray, count: int, area: np.ndarray, scale: tuple[float, float]) -> np.ndarray:
    """Per label, how strongly this person claims the region: 2 + the share of the core it covers when that is
    ≥ 10 % (a hit), else the share of the region inside the extent when that is ≥ 50 %, else 0. Never label 0."""
    claim = np.zeros(count, np.float32)
    core = window_slice(person.core, scale, labels.shape)
    if core is not None:
        covered = np.bincount(labels[core].ravel(), minlength=count) / labels[core].size
        claim = np.where(covered >= 0.1, 2 + covered, 0).astype(np.float32)
    extent = window_slice(person.extent, scale, labels.shape)
    if extent is not None:
        inside = np.bincount(labels[extent].ravel(), minlength=count) / np.maximum(area, 1)
        claim = np.maximum(claim, np.where(inside >= 0.5, inside, 0))
    claim[0] = 0
    return claim
