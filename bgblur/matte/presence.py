"""Person presence (``--presence``): is anyone here, and which regions of the matte are the main person's.

The selfie model calls any salient subject "person" (a cup, a cat, a cow): with nobody in the frame that shows part
of the room sharp. One rule decides for every mode; the modes only choose the evidence (see ``bgblur.build``).

**Evidence** of a person, per look (every ``every``-th frame in video; a still picture has one look):

- a face (BlazeFace short-range; full-range too with LiteRT) that MediaPipe's face landmark model verifies
  (:class:`~bgblur.matte.detectors.FaceVerifier`): an animal's or a toy's face that fooled a detector does not
  pass. A face that fails, or is under 40 px (too coarse for the model: real faces that small fail it), is no
  evidence on its own: that person is counted on other evidence at the place (a person detection);
- BlazePose's person detector, when clear (0.9); on a still picture also from 0.3 where the first look's matte
  calls most of its head-and-shoulders box person (not a second look's: that was taken because of the detection)
  **and** the person is cut by the picture's border (the matte's region there touches it): a person the detector
  sees whole scores clearly (the developer photos' four, every frame of the hike clip: 0.93 and up); the weak scores
  of real people come with people the frame cuts (close-ups, groups, a person at the edge: all four photos that
  need this rule), while a horse standing whole in the picture scores 0.70 and cows 0.58-0.72 (the cows clip's
  frames taken as pictures). Neither the detector's body square running past the picture (a cow's does too) nor a
  small body (cows far off) tells a person;
  in video also when steady (a mean of 0.8 over three looks). An animal's head passes MediaPipe's 0.5, even 0.8,
  on a picture or in a frame or two (a dog, a horse: 0.70; cows: 0.59-0.83), not look after look;
- ``face-or-body`` only: a region reaching the lower frame edge (a torso cut by the frame);
  ``face-or-pose`` only: a sizeable region the pose landmark model calls a body.

**Decision per picture, and per moment in video**: while anyone counts, every region the matte calls person is
kept — a hand cut off by a ski pole, a second person seen from behind with no detection of their own; while nobody
counts, everything is blurred. Measured on photos the project had not seen, region-by-region pruning only cut
people out of group pictures: every photo without a person it cleared, it cleared whole. ``main``
(:meth:`PresenceCheck.main`) keeps the main person's regions.

**Memory that forgets**: evidence counts for ``memory`` frames after it last held (30: about a second), so someone
turning away between looks stays sharp, and a lapse of a second with no evidence blurs the frame again. In video a
face found where the verifier passed one (box IoU ≥ ``same_face``) within the memory is that face again and is
not asked about again: the verifier is asked about a person at the camera once a second, not at every look.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

import cv2
import numpy as np

from bgblur.frames import Person
from bgblur.imaging import box_iou
from bgblur.matte.people import (
    Box,
    Detector,
    Track,
    body_person,
    claims,
    face_person,
    merge_people,
    overlap,
    window_slice,
)


class Verifier(Protocol):
    def is_face(self, image: np.ndarray, face) -> bool: ...


class BodyCheck(Protocol):
    def is_body(self, image: np.ndarray, box: Box) -> bool: ...


class PresenceCheck:
    """Per frame, whether anyone is here and which regions are the main person's (see the module docstring).

    ``person``: BlazePose's person detector; ``faces``: face detectors (each with ``detect(image)`` giving objects
    with ``score``, ``box``, ``keypoints``); ``verifier``: asked about each face (None: every face counts, as
    without LiteRT); ``sure_faces``: how many of ``faces`` (the first) make a look "a sure face", which lets the
    others and the person detector rest for ``full_every - 1`` looks in ``full_every`` (a call: someone at the
    camera: the sure face keeps them counted; 6: the person detector every 18th frame, ~12 ms at 720p).
    ``still``: one picture, one look. ``lower_edge``/``body``: the ``face-or-body``/``face-or-pose`` evidence.
    Scores and counts as in the module docstring.
    """

    def __init__(
        self,
        person: Detector | None = None,
        faces: tuple[Detector, ...] = (),
        *,
        verifier: Verifier | None = None,
        sure_faces: int = 1,
        still: bool = False,
        lower_edge: bool = False,
        body: BodyCheck | None = None,
        min_score: float = 0.5,
        weak_score: float = 0.3,
        video_score: float = 0.8,
        clear_score: float = 0.9,
        looks: int = 3,
        memory: int = 30,
        every: int = 3,
        full_every: int = 6,
        edge_margin: float = 0.02,
        body_min_area: float = 0.01,
        min_face: float = 40.0,
        same_face: float = 0.5,
    ) -> None:
        self.person, self.faces, self.verifier = person, tuple(faces), verifier
        self.sure_faces, self.still = sure_faces, still
        self.lower_edge, self.body = lower_edge, body
        self.min_score, self.weak_score = min_score, weak_score
        self.video_score, self.clear_score, self.looks = video_score, clear_score, looks
        self.memory, self.every, self.full_every = memory, max(1, every), max(1, full_every)
        self.edge_margin, self.body_min_area, self.min_face = edge_margin, body_min_area, min_face
        self.same_face = same_face
        self.reset()

    def reset(self) -> None:
        """Forget the people, the looks and the main person of earlier frames (a new scene or source)."""
        self._frame = -1
        self._looks = 0  # detector frames so far
        self._looked = False  # this frame's look is done (:meth:`look` before :meth:`keep`)
        self._detector_frame = False
        self._sure_face = False  # a sure face was found on the last look
        self.tracks: list[Track] = []
        self._edges: list[Track] = []  # this frame's lower-edge regions (``face-or-body``): not remembered
        self._main: Track | None = None
        self._previous_main: np.ndarray | None = None  # last frame's main-person mask, working resolution
        self._scale, self._area = (1.0, 1.0), np.zeros(1, np.int64)
        self._passed: list[tuple[Box, int]] = []  # video: faces the verifier passed, and the frame it was asked

    def counts(self, track: Track) -> bool:
        """Does this person's evidence count now: it held within the last ``memory`` frames."""
        return track.counted >= 0 and self._frame - track.counted <= self.memory

    @property
    def present(self) -> bool:
        """Anyone counts now."""
        return any(self.counts(t) for t in self.tracks + self._edges)

    @property
    def candidates(self) -> list[Track]:
        """Everyone found now or remembered, counted or not (where a second look may be worth it)."""
        return list(self.tracks)

    def may_keep(self) -> bool:
        """Could this frame keep anything (after :meth:`look`): someone counts, or was found at all."""
        return bool(self.tracks) or self.present

    def find(
        self, image: np.ndarray, full: bool = True, half: np.ndarray | None = None, *, all_faces: bool | None = None
    ) -> list[Track]:
        """Everyone the detectors find in ``image`` now (no memory); ``confirmed``: this look's own evidence
        counts (a verified face). ``full`` False: no person detector; ``all_faces`` (default ``full``) False: the
        sure face detectors only. ``half``: ``image`` halved, which the detectors shrink from
        (:func:`bgblur.imaging.halved`)."""
        all_faces = full if all_faces is None else all_faces
        bodies = []
        if self.person is not None and full:
            for d in self.person.detect(image, half=half):
                if d.score >= (self.weak_score if self.still else self.min_score):
                    body = body_person(d, self._frame)
                    bodies.append(replace(body, looks=(body.score,)))  # counted by _confirm
        faces: list[Track] = []
        self._sure_face = False
        for index, detector in enumerate(self.faces if all_faces else self.faces[: self.sure_faces]):
            for d in detector.detect(image, half=half):
                face = face_person(float(d.score), tuple(d.box), self._frame)
                if d.score >= self.min_score and all(overlap(face.core, f.core) < 0.5 for f in faces):
                    verified = self._verified(image, d)
                    self._sure_face |= verified and index < self.sure_faces
                    faces.append(replace(face, confirmed=verified))  # faces add no looks: they are verified
        return merge_people(bodies, faces)

    def _verified(self, image: np.ndarray, face) -> bool:
        """A face counts when the verifier passes it; one smaller than ``min_face`` px is too coarse for the
        verifier (real faces fail it) and counts only on other evidence at its place (a person detection)."""
        if self.verifier is None:
            return True
        box = tuple(face.box)
        if max(box[2] - box[0], box[3] - box[1]) < self.min_face:
            return False
        recent = [(b, asked) for b, asked in self._passed if self._frame - asked <= self.memory]
        if any(box_iou(box, b) >= self.same_face for b, _ in recent):
            return True  # the face the verifier passed here within the memory (video only: a still has one look)
        if not self.verifier.is_face(image, face):
            return False
        if not self.still:
            others = [(b, asked) for b, asked in recent if box_iou(box, b) < self.same_face]
            self._passed = [*others, (box, self._frame)]
        return True

    def _confirm(self, track: Track, before: Track | None) -> Track:
        """This look's evidence at a place: verified there now, or (person detector) clear, or steady over the
        last ``looks`` looks. ``counted`` moves to now only then: a weak look keeps a person found, not counted."""
        looks = ((before.looks if before else ()) + track.looks)[-self.looks :]
        steady = len(looks) == self.looks and sum(looks) / self.looks >= self.video_score
        clear = bool(track.looks) and track.looks[-1] >= self.clear_score
        confirmed = track.confirmed or clear or steady
        counted = self._frame if confirmed else (before.counted if before else -1)
        return replace(track, looks=looks, confirmed=confirmed, counted=counted)

    def look(self, image: np.ndarray, mask: np.ndarray | None = None, half: np.ndarray | None = None) -> list[Track]:
        """Count a frame; on a detector frame run the detectors. ``mask``: the first look's boolean matte (any
        resolution), which weighs a still's weak detections and holds the regions that are evidence themselves —
        never a second look's, which was taken because of the evidence. ``half``: ``image`` halved, for the
        detectors. Returns everyone found now or remembered."""
        self._frame += 1
        self._looked = True
        self._detector_frame = self._frame % self.every == 0
        if self._detector_frame:
            self._detect(image, half)
            if self.still and mask is not None:
                self._agree(mask, image.shape[:2])
        self._edges = []
        if mask is not None and (self.lower_edge or self.body is not None):
            self._region_evidence(mask, image)
        return self.candidates

    def _detect(self, image: np.ndarray, half: np.ndarray | None = None) -> None:
        # While a sure face was found on the last look, only every ``full_every``-th look runs the person detector
        # and, one look later, the full-range face detector (~12 and ~5 of the ~20 ms a full look costs at 720p:
        # apart, no frame pays both); a look after one without a sure face runs everything.
        resting = not self.still and self._sure_face
        phase = self._looks % self.full_every
        self._looks += 1
        seen = []
        person, faces = not resting or phase == 0, not resting or phase == 1 % self.full_every
        for track in self.find(image, person, half, all_faces=faces):
            before = next((p for p in self.tracks if overlap(p.core, track.core) >= 0.5), None)
            seen.append(self._confirm(track, before))
        # Someone found again replaces what was remembered at that place; the rest ages out.
        kept = [p for p in self.tracks if all(overlap(p.core, s.core) < 0.5 for s in seen)]
        self.tracks = [p for p in kept if self._frame - p.seen <= self.memory] + seen

    def _agree(self, mask: np.ndarray, shape: tuple[int, int]) -> None:
        """A still's weak person detection counts where the matte calls most of its head-and-shoulders box person,
        and that person is cut by the picture's border: the region most of the box is touches it (see the module
        docstring)."""
        scale = (mask.shape[1] / shape[1], mask.shape[0] / shape[0])
        count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
        cut = np.zeros(count, bool)
        for border in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
            cut[border] = True
        for i, track in enumerate(self.tracks):
            core = None if track.confirmed or not track.looks else window_slice(track.core, scale, mask.shape)
            if core is None or mask[core].mean() < 0.5:
                continue
            if cut[int(np.argmax(np.bincount(labels[core].ravel(), minlength=count)[1:])) + 1]:
                self.tracks[i] = replace(track, confirmed=True, counted=self._frame)

    def keep(self, labels: np.ndarray, count: int, image: np.ndarray, area: np.ndarray | None = None) -> np.ndarray:
        """Boolean per label (0 = background, always False) of ``labels`` (connected components of this frame's
        matte, working resolution): every region while anyone counts, none while nobody does. ``area``: each
        label's pixel count, if the caller has it (``connectedComponentsWithStats``)."""
        if not self._looked:
            self.look(image, labels > 0)
        self._looked = False
        self._scale = (labels.shape[1] / image.shape[1], labels.shape[0] / image.shape[0])
        self._area = np.bincount(labels.ravel(), minlength=count) if area is None else area
        keep = np.full(count, self.present)
        keep[0] = False
        return keep

    def _region_evidence(self, mask: np.ndarray, image: np.ndarray) -> None:
        """What the matte's own regions add: a region at the lower edge; a sizeable one the body check passes that
        no one who counts claims (detector frames only)."""
        count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
        scale = (labels.shape[1] / image.shape[1], labels.shape[0] / image.shape[0])
        frame = self._frame
        if self.lower_edge:
            bottom = labels[labels.shape[0] - max(1, round(self.edge_margin * labels.shape[0])) :]
            for label in np.unique(bottom[bottom > 0]):
                box = self._box(labels == label, scale)
                self._edges.append(Track(1.0, box, box, frame, confirmed=True, counted=frame))
        if self.body is not None and self._detector_frame:
            area = np.bincount(labels.ravel(), minlength=count)
            explained = np.zeros(count, bool)
            for track in self.tracks + self._edges:
                if self.counts(track):
                    explained |= claims(track, labels, count, area, scale) > 0
            unexplained = (area >= self.body_min_area * labels.size) & ~explained
            unexplained[0] = False  # the background
            for label in np.flatnonzero(unexplained):
                box = self._box(labels == label, scale)
                if self.body.is_body(image, box):
                    self.tracks.append(Track(1.0, box, box, frame, confirmed=True, counted=frame))

    @staticmethod
    def _box(region: np.ndarray, scale: tuple[float, float]) -> Box:
        """A region's bounding box, in the frame's pixels."""
        x, y, w, h = cv2.boundingRect(region.astype(np.uint8))
        sx, sy = scale
        return (x / sx, y / sy, (x + w) / sx, (y + h) / sy)

    def main(self, labels: np.ndarray, count: int, keep: np.ndarray) -> np.ndarray | None:
        """Boolean per label: the main person's regions among ``keep`` (from :meth:`keep` on this frame), or None
        when no one who counts claims any (the caller falls back to the largest region).

        Each kept region goes to the person who claims it most (a core hit over an extent, see
        :func:`~bgblur.matte.people.claims`); the main person is the one given the most area (the person at the
        camera), and last frame's main person keeps the place unless someone else has twice the area. A region
        nobody claims that lies mostly inside last frame's main person stays theirs (turned away, moving)."""
        people = [p for p in self.tracks + self._edges if self.counts(p)]
        if not people:
            self._main = self._previous_main = None
            return None
        claim = np.stack([claims(p, labels, count, self._area, self._scale) for p in people])
        claim[:, ~keep] = 0
        owner = np.where(claim.max(axis=0) > 0, claim.argmax(axis=0), -1)
        sizes = np.array([self._area[owner == i].sum() for i in range(len(people))], np.float64)
        for i, person in enumerate(people):
            if self._main is not None and overlap(person.extent, self._main.extent) > 0.5:
                sizes[i] *= 2
        if not sizes.any():
            self._main = self._previous_main = None
            return None
        best = int(np.argmax(sizes))
        mine = owner == best
        if self._previous_main is not None and self._previous_main.shape == labels.shape:
            inside = np.bincount(labels[self._previous_main].ravel(), minlength=count)
            mine |= (owner == -1) & keep & (inside >= 0.5 * np.maximum(self._area, 1))
        mine[0] = False
        self._main, self._previous_main = people[best], mine[labels]
        return mine

    def found(self) -> tuple[Person, ...]:
        """The people who count on this frame, for what the analysis of the frame carries (:class:`Matte`)."""
        return tuple(
            Person(t.core, t.extent, t.score, main=t is self._main) for t in self.tracks + self._edges if self.counts(t)
        )
