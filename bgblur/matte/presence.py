"""Person-presence check: which regions of the matte are really a person, from a face detector, a body (pose)
check or the frame edge.

The selfie model calls any single salient subject "person" (a coffee cup, a cat). With nobody in the frame that
shows part of the room sharp — the privacy failure. This module decides, per connected region of the matte,
whether there is evidence of a person:

- a face: MediaPipe BlazeFace short-range (bundled, Apache-2.0, run by ``cv2.dnn``) finds a face inside the
  region or just above it (the head, with the shoulders below);
- memory (video/live): a face seen at that place in the last ``memory`` frames still counts, and a region that
  continues one kept in the previous frame stays kept while the face memory lasts — so someone turning away or
  looking down is not blurred at once;
- ``face-or-body`` only: a region without a face is still kept when it reaches the lower frame edge, like a
  torso cut by the frame (the usual webcam framing, and people seen from behind at a desk);
- ``face-or-pose`` only: a sizeable region without a face is shown to MediaPipe's pose landmark model (not
  bundled: ``bgblur --download pose`` fetches it), cropped around the region; the region is kept when the model's
  "a body is here" score passes 0.5 — a full-body dancer or a hiker seen from behind, but not a cup. A confirmed
  body is remembered like a face.

Modes (``--presence``): ``off`` keeps every region, ``face`` needs a face, ``face-or-body`` needs a face or the
lower edge, ``face-or-pose`` a face or a body. Measured trade on the developer set: see README ("Person-presence
check").
"""

from __future__ import annotations

import cv2
import numpy as np

from bgblur.frames import PRESENCE_CHOICES
from bgblur.matte.detectors import BodyDetector, Face, FaceDetector, box_iou


class PresenceCheck:
    """Per frame, which connected regions of the matte have evidence of a person (see the module docstring).

    ``memory``: frames a face (or body) keeps counting after it was last seen (90 ≈ 3 s at 30 fps). ``every``:
    run the detectors on every n-th frame only (the memory bridges the gaps); the first frame after
    :meth:`reset` always runs them. ``detector``: anything with ``detect(image) -> list[Face]`` (the bundled
    BlazeFace by default). ``body`` (``face-or-pose`` only): anything with ``is_body(image, box) -> bool``
    (:class:`BodyDetector` by default); it is asked only about regions no face explains that cover at least
    ``body_min_area`` of the frame.
    """

    def __init__(
        self,
        mode: str = "face-or-body",
        detector: FaceDetector | None = None,
        *,
        body: BodyDetector | None = None,
        memory: int = 90,
        every: int = 3,
        body_margin: float = 0.02,
        body_min_area: float = 0.01,
    ) -> None:
        if mode not in PRESENCE_CHOICES or mode == "off":
            raise ValueError(f"presence mode must be one of {PRESENCE_CHOICES[1:]}, not {mode!r}")
        self.mode = mode
        self.detector = detector or FaceDetector()
        self.body = (body or BodyDetector()) if mode == "face-or-pose" else None
        self.memory = memory
        self.every = max(1, every)
        self.body_margin = body_margin
        self.body_min_area = body_min_area
        self.reset()

    def reset(self) -> None:
        """Forget faces, bodies and regions of earlier frames (a new scene or source)."""
        self._frame = -1
        self._faces: list[tuple[int, Face]] = []  # (frame last seen, face)
        self._bodies: list[tuple[int, tuple[float, float, float, float]]] = []  # (frame confirmed, box)
        self._last_seen: int | None = None  # last frame a face or body was found
        self._previous: np.ndarray | None = None  # last frame's kept mask, working resolution

    def _next_frame(self, image: np.ndarray) -> bool:
        """Count a frame; on a detector frame run the face detector and age out old faces and bodies.
        Returns whether this was a detector frame."""
        self._frame += 1
        if self._frame % self.every and self._frame > 0:
            return False
        seen = self.detector.detect(image)
        if seen:
            self._last_seen = self._frame
        # A face found again near a remembered one replaces it; other remembered faces age out.
        kept = [(f, face) for f, face in self._faces if all(box_iou(face.box, new.box) < 0.3 for new in seen)]
        self._faces = [(f, face) for f, face in kept if self._frame - f <= self.memory]
        self._faces += [(self._frame, face) for face in seen]
        self._bodies = [(f, box) for f, box in self._bodies if self._frame - f <= self.memory]
        return True

    def keep(self, labels: np.ndarray, count: int, image: np.ndarray) -> np.ndarray:
        """Boolean per label (index 0 = background, always False): keep this region of the ``labels`` map
        (connected components at the working resolution, from the matte of this frame; ``image`` is the frame)."""
        detectors_ran = self._next_frame(image)
        height, width = labels.shape
        sx, sy = width / image.shape[1], height / image.shape[0]
        # Evidence windows in the frame's pixels: a face and one face-height below it (chin, neck, shoulders);
        # a confirmed body's own box.
        windows = [box for _, box in self._bodies]
        for _, face in self._faces:
            x0, y0, x1, y1 = face.box
            windows.append((x0, y0, x1, 2 * y1 - y0))
        keep = np.zeros(count, bool)
        for x0, y0, x1, y1 in windows:
            c0, c1 = int(max(0, x0 * sx)), int(min(width, np.ceil(x1 * sx)))
            r0, r1 = int(max(0, y0 * sy)), int(min(height, np.ceil(y1 * sy)))
            if c1 <= c0 or r1 <= r0:
                continue
            window = labels[r0:r1, c0:c1]
            hits = np.bincount(window.ravel(), minlength=count)
            keep |= hits >= 0.1 * window.size
        seen_recently = self._last_seen is not None and self._frame - self._last_seen <= self.memory
        if self._previous is not None and self._previous.shape == labels.shape and seen_recently:
            # Continuity: a region mostly inside last frame's kept mask is the same person (turned away, moving).
            inside = np.bincount(labels[self._previous].ravel(), minlength=count)
            area = np.bincount(labels.ravel(), minlength=count)
            keep |= inside >= 0.5 * np.maximum(area, 1)
        if self.mode == "face-or-body":
            # A region reaching the lower frame edge, like a torso cut by the frame.
            bottom = labels[height - max(1, round(self.body_margin * height)) :]
            keep[np.unique(bottom)] = True
        keep[0] = False
        if self.body is not None and detectors_ran:
            self._check_bodies(labels, count, keep, image, (sx, sy))
        self._previous = keep[labels]
        return keep

    def _check_bodies(
        self, labels: np.ndarray, count: int, keep: np.ndarray, image: np.ndarray, scale: tuple[float, float]
    ) -> None:
        """Ask the body detector about each sizeable region nothing else explains; keep and remember the bodies."""
        unexplained = (np.bincount(labels.ravel(), minlength=count) >= self.body_min_area * labels.size) & ~keep
        unexplained[0] = False  # the background
        for label in np.flatnonzero(unexplained):
            x, y, w, h = cv2.boundingRect((labels == label).astype(np.uint8))
            box = (x / scale[0], y / scale[1], (x + w) / scale[0], (y + h) / scale[1])
            if self.body.is_body(image, box):
                keep[label] = True
                self._bodies.append((self._frame, box))
                self._last_seen = self._frame
