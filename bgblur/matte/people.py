"""People in the frame, from MediaPipe's detectors: which matte regions belong to a person, and which to the
main one (``--presence people``, the default for one-pass models).

The selfie model calls any salient subject "person" (a cup, a sheep, a cow). Detectors trained on people tell
them apart far better, so each frame (every ``every``-th in video, remembered in between) is searched for
people, and each person found becomes two windows over the matte:

- the **core**: where the person certainly is — a face (BlazeFace short- and full-range) and one face-height
  below it (chin, neck), or the head-and-shoulders box of BlazePose's person detector;
- the **extent**: where any part of that person can be — the square MediaPipe crops around the whole body
  (from the detector's hip and body-circle keypoints), or for a face alone, a column five face-widths wide
  from just above the face down eight face-heights (a standing body is ~7.5 heads).

A connected region of the matte is **a person's** when it hits a core (≥ 10 % of the core window is that region)
or lies mostly (≥ 50 % of its area) inside an extent: so a hand or an arm that the matte does not connect to the
body (a ski pole, a microphone arm in between) stays with its person, and a cow or a cup without a person
detection is blurred. In video a region mostly inside last frame's kept matte stays kept while a person was
seen within ``memory`` frames (someone turning away from the camera, or between detector frames).

Evidence is weighed by how often an animal earns it: a short-range face counts at once; on a still picture a
person detection counts from MediaPipe's 0.5 (and from 0.3 where the matte agrees); in video a person or
full-range face detection must be clear (0.9) or hold a mean of 0.8 over three looks (see :class:`PeopleCheck`).

``main`` (see :meth:`PeopleCheck.main`): the person whose regions cover the most of the picture — the one at
the camera — with every region that is theirs (core or extent), not someone else's head. In video the main
person stays the same while their extent still matches.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in the frame's pixels


class Detector(Protocol):
    def detect(self, image: np.ndarray) -> list: ...


@dataclass(frozen=True)
class Person:
    """One person found: detection score, core window and extent (frame pixels), frame last seen."""

    score: float
    core: Box
    extent: Box
    seen: int = 0
    looks: tuple[float, ...] = ()  # video: this person's detector scores at the last few looks
    confirmed: bool = False  # enough evidence to count (see PeopleCheck)


def face_person(score: float, box: Box, frame: int = 0) -> Person:
    """A person known from a face: the face and one face-height below as core, a body-sized column as extent."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2
    return Person(score, (x0, y0, x1, y1 + h), (cx - 2.5 * w, y0 - 0.5 * h, cx + 2.5 * w, y1 + 8 * h), frame)


def body_person(detection, frame: int = 0) -> Person:
    """A person from BlazePose's detector: its head-and-shoulders box as core, the whole-body square as extent
    (centred on the hip keypoint, half side 1.25x the distance to the body-circle keypoint, as MediaPipe crops)."""
    x0, y0, x1, y1 = detection.box
    if len(detection.keypoints) >= 2:
        (hx, hy), (ex, ey) = detection.keypoints[0], detection.keypoints[1]
        half = 1.25 * float(np.hypot(ex - hx, ey - hy))
        extent = (min(x0, hx - half), min(y0, hy - half), max(x1, hx + half), max(y1, hy + half))
    else:
        extent = (x0, y0, x1, y1)
    return Person(float(detection.score), (x0, y0, x1, y1), extent, frame)


def overlap(a: Box, b: Box) -> float:
    """Intersection over the smaller box's area (0..1)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return w * h / max(smaller, 1e-6)


def merge_people(bodies: list[Person], faces: list[Person]) -> list[Person]:
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
            seen, confirmed = max(p.seen, face.seen), p.confirmed or face.confirmed
            people[match] = Person(max(p.score, face.score), core, p.extent, seen, p.looks, confirmed)
    return people


def window_slice(box: Box, scale: tuple[float, float], shape: tuple[int, int]) -> tuple[slice, slice] | None:
    """The rows and columns of a label map (``shape``, at ``scale`` of the frame) under ``box``; None if empty."""
    sx, sy = scale
    c0, c1 = int(max(0, box[0] * sx)), int(min(shape[1], np.ceil(box[2] * sx)))
    r0, r1 = int(max(0, box[1] * sy)), int(min(shape[0], np.ceil(box[3] * sy)))
    if c1 <= c0 or r1 <= r0:
        return None
    return slice(r0, r1), slice(c0, c1)


def regions_of(person: Person, labels: np.ndarray, count: int, area: np.ndarray, scale: tuple[float, float]):
    """Boolean per label: the regions that are this person's (hit the core, or lie mostly inside the extent)."""
    mine = np.zeros(count, bool)
    core = window_slice(person.core, scale, labels.shape)
    if core is not None:
        window = labels[core]
        mine |= np.bincount(window.ravel(), minlength=count) >= 0.1 * window.size
    extent = window_slice(person.extent, scale, labels.shape)
    if extent is not None:
        mine |= np.bincount(labels[extent].ravel(), minlength=count) >= 0.5 * np.maximum(area, 1)
    mine[0] = False
    return mine


class PeopleCheck:
    """Per frame, which connected regions of the matte belong to a person, and which to the main one (see the
    module docstring). Same interface as :class:`bgblur.matte.presence.PresenceCheck` (``keep``, ``reset``),
    plus :meth:`main`.

    ``person``: BlazePose's person detector; ``faces``: face detectors (each with ``detect(image)`` giving
    objects with ``score``, ``box`` and, for the person detector, ``keypoints``), the first ``sure_faces`` of
    them trusted at once. ``still``: one picture, one look — a detection counts from ``min_score`` (MediaPipe's
    own default), a weaker one from ``weak_score`` when the matte calls most of its core person. Video: a
    detection counts when clear (``clear_score``) or its mean over ``looks`` looks reaches ``video_score``.
    ``every``: run the detectors on every n-th frame (the first after :meth:`reset` always); ``memory``: frames a
    person found keeps counting.
    """

    def __init__(
        self,
        person: Detector | None,
        faces: tuple[Detector, ...] = (),
        *,
        sure_faces: int = 1,
        still: bool = False,
        min_score: float = 0.5,
        weak_score: float = 0.3,
        video_score: float = 0.8,
        clear_score: float = 0.9,
        looks: int = 3,
        memory: int = 90,
        every: int = 3,
        full_every: int = 3,
    ) -> None:
        self.person = person
        self.faces = tuple(faces)
        self.sure_faces = sure_faces
        self.still = still
        self.min_score = min_score
        self.weak_score = weak_score
        self.video_score = video_score
        self.clear_score = clear_score
        self.looks = looks
        self.memory = memory
        self.every = max(1, every)
        self.full_every = max(1, full_every)
        self.reset()

    def reset(self) -> None:
        """Forget people, regions and the main person of earlier frames (a new scene or source)."""
        self._frame = -1
        self._looks = 0  # detector frames so far
        self._sure_face = False  # a sure face was found on the last look
        self.people: list[Person] = []
        self._last_seen: int | None = None
        self._previous: np.ndarray | None = None  # last frame's kept mask, working resolution
        self._main: Person | None = None

    def find(self, image: np.ndarray, full: bool = True) -> list[Person]:
        """Everyone the detectors find in ``image`` now (no memory). ``confirmed``: a face from the first
        ``sure_faces`` detectors (short-range BlazeFace: it has not fired on an animal here), or, on a still
        picture, any detection at ``min_score`` (one look is all there is). ``full`` False: the sure face
        detectors only (the cheap look, see :meth:`_next_frame`)."""
        bodies = []
        if self.person is not None and full:
            for d in self.person.detect(image):
                if d.score >= (self.weak_score if self.still else self.min_score):
                    body = body_person(d, self._frame)
                    sure = self.still and d.score >= self.min_score
                    bodies.append(Person(body.score, body.core, body.extent, self._frame, (body.score,), sure))
        faces: list[Person] = []
        found_sure_face = False
        for index, detector in enumerate(self.faces if full else self.faces[: self.sure_faces]):
            for d in detector.detect(image):
                face = face_person(float(d.score), tuple(d.box), self._frame)
                if d.score >= self.min_score and all(overlap(face.core, f.core) < 0.5 for f in faces):
                    sure = self.still or index < self.sure_faces
                    found_sure_face = found_sure_face or index < self.sure_faces
                    faces.append(Person(face.score, face.core, face.extent, self._frame, (face.score,), sure))
        self._sure_face = found_sure_face
        return merge_people(bodies, faces)

    def _confirm(self, person: Person, before: Person | None) -> Person:
        """Video: a detection counts when it is clear (``clear_score``) or its mean over the last ``looks`` looks
        at that place reaches ``video_score``: an animal can pass MediaPipe's 0.5, or even 0.8, in a frame or two
        (cows: 0.59-0.83 per frame), not look after look. Once counted, a person stays until forgotten."""
        looks = ((before.looks if before else ()) + person.looks)[-self.looks :]
        mean = sum(looks) / self.looks if len(looks) == self.looks else 0.0
        confirmed = (
            person.confirmed
            or (before is not None and before.confirmed)
            or person.score >= self.clear_score
            or mean >= self.video_score
        )
        return Person(person.score, person.core, person.extent, person.seen, looks, confirmed)

    def _next_frame(self, image: np.ndarray) -> None:
        self._frame += 1
        if self._frame % self.every and self._frame > 0:
            return
        # While a sure face was found on the last look (a call: someone at the camera), only every
        # ``full_every``-th look runs the person and full-range face detectors (~11 of the ~13 ms a look costs at
        # 720p); the short-range face detector (~1.4 ms) looks every time, and a look without a sure face is full.
        full = self.still or not self._sure_face or self._looks % self.full_every == 0
        self._looks += 1
        seen = []
        for person in self.find(image, full):
            before = next((p for p in self.people if overlap(p.core, person.core) >= 0.5), None)
            seen.append(self._confirm(person, before))
        if any(p.confirmed for p in seen):
            self._last_seen = self._frame
        # Someone found again replaces what was remembered at that place; the rest ages out.
        kept = [p for p in self.people if all(overlap(p.core, s.core) < 0.5 for s in seen)]
        self.people = [p for p in kept if self._frame - p.seen <= self.memory] + seen

    def keep(self, labels: np.ndarray, count: int, image: np.ndarray) -> np.ndarray:
        """Boolean per label (0 = background, always False): this region of ``labels`` (connected components
        of this frame's matte, working resolution) belongs to a person in ``image`` (the frame)."""
        self._next_frame(image)
        scale = (labels.shape[1] / image.shape[1], labels.shape[0] / image.shape[0])
        area = np.bincount(labels.ravel(), minlength=count)
        if self.still:
            # The matte's own confidence breaks the tie for a weak detection (weak_score..min_score) on a still:
            # it counts when the matte calls most of its head-and-shoulders box person.
            for i, person in enumerate(self.people):
                core = None if person.confirmed else window_slice(person.core, scale, labels.shape)
                if core is not None and (labels[core] > 0).mean() >= 0.5:
                    self.people[i] = replace(person, confirmed=True)
        keep = np.zeros(count, bool)
        for person in self.people:
            if person.confirmed:
                keep |= regions_of(person, labels, count, area, scale)
        seen_recently = self._last_seen is not None and self._frame - self._last_seen <= self.memory
        if self._previous is not None and self._previous.shape == labels.shape and seen_recently:
            # Continuity: a region mostly inside last frame's kept matte is the same person (turned, moving).
            inside = np.bincount(labels[self._previous].ravel(), minlength=count)
            keep |= inside >= 0.5 * np.maximum(area, 1)
        keep[0] = False
        self._scale, self._area = scale, area
        self._previous = keep[labels]
        return keep

    def main(self, labels: np.ndarray, count: int, keep: np.ndarray) -> np.ndarray | None:
        """Boolean per label: the regions of the main person among ``keep`` (from :meth:`keep` on this frame),
        or None when no person is known (the caller falls back to the largest region).

        Each kept region goes to one person: the one whose core it covers most, else the one whose extent holds
        most of it. The main person is the one given the most area (the person at the camera); the main person
        of the last frame keeps the place unless someone else has twice the area."""
        people = [p for p in self.people if p.confirmed]
        if not people:
            return None
        area, scale = self._area, self._scale
        claim = np.zeros((len(people), count), np.float32)  # how strongly each person claims each region
        for i, person in enumerate(people):
            core = window_slice(person.core, scale, labels.shape)
            if core is not None:
                covered = np.bincount(labels[core].ravel(), minlength=count) / labels[core].size
                claim[i] = np.where(covered >= 0.1, 2 + covered, 0)
            extent = window_slice(person.extent, scale, labels.shape)
            if extent is not None:
                inside = np.bincount(labels[extent].ravel(), minlength=count) / np.maximum(area, 1)
                claim[i] = np.maximum(claim[i], np.where(inside >= 0.5, inside, 0))
        claim[:, ~keep] = 0
        claim[:, 0] = 0
        owner = np.where(claim.max(axis=0) > 0, claim.argmax(axis=0), -1)
        sizes = np.array([area[owner == i].sum() for i in range(len(people))], np.float64)
        for i, person in enumerate(people):
            if self._main is not None and overlap(person.extent, self._main.extent) > 0.5:
                sizes[i] *= 2
        if not sizes.any():
            return None
        best = int(np.argmax(sizes))
        self._main = people[best]
        return owner == best
