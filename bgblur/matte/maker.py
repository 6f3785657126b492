"""From the model's person probability to the alpha matte used for compositing (uint8, 255 = person).

Per frame, at a reduced working resolution (the model's own output is coarse, so nothing is lost):

1. temporal smoothing (video/live): a per-pixel exponential average that follows big changes at once and
   only damps small, uncertain ones — so the edge stops shimmering but a moving arm does not leave a trail;
2. with ``crops``, a second look around each person found and each region of the first look's matte (pictures
   and files: :mod:`bgblur.segmenters.crops`);
3. people selection: with a presence check nothing while nobody is found (:mod:`bgblur.matte.presence`); ``all``
   keeps every region, ``main`` the main person's (without a check, the largest region); specks smaller than
   ``min_area`` are dropped either way;
4. edge refinement: a fast guided filter with the frame as guide, so the coarse matte snaps to real edges;
   its coefficients are upsampled and applied to the frame (halved, when it is at least twice the working size);
5. a soft ramp around the threshold instead of a hard cut: an unsure pixel is partly blurred, not shown sharp.

Only the last step touches the (half-size) frame, and it writes 8-bit weights straight away (what compositing
uses), upsampled to the frame's size in 8 bits.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from bgblur.frames import PEOPLE_CHOICES, Person
from bgblur.imaging import flush_denormals, halved, shrink
from bgblur.matte.presence import PresenceCheck
from bgblur.matte.refine import guided_coefficients
from bgblur.matte.regions import keep_regions, region_boxes
from bgblur.matte.smoothing import TemporalSmoother


class MatteMaker:
    """Turns per-pixel person probability into an alpha matte (see the module docstring for the steps).

    ``threshold``/``softness``: the soft ramp, ``softness`` wide, centred on the threshold. ``refine``: guided
    filter on the frame. ``temporal``: smooth over time (call :meth:`reset` between unrelated pictures).
    ``people``: ``all`` or ``main``. ``presence``: blur everything while there is no evidence of a person
    (:mod:`bgblur.matte.presence`). ``crops``: a second look, ``crops(image, probability, boxes) -> probability``
    (:class:`bgblur.segmenters.crops.PersonCrops`). ``work_size``: long side, in px, of the working resolution.
    """

    def __init__(
        self,
        threshold: float,
        softness: float = 0.2,
        *,
        refine: bool = True,
        temporal: bool = True,
        people: str = "all",
        min_area: float = 0.005,
        work_size: int = 320,
        radius: int = 4,
        eps: float = 4e-3,
        presence: PresenceCheck | None = None,
        crops: Callable[[np.ndarray, np.ndarray, list], np.ndarray] | None = None,
    ) -> None:
        if people not in PEOPLE_CHOICES:
            raise ValueError(f"people must be one of {PEOPLE_CHOICES}, not {people!r}")
        self.threshold = threshold
        self.softness = max(softness, 1e-3)
        self.refine = refine
        self.people = people
        self.min_area = min_area
        self.work_size = work_size
        self.radius = radius
        self.eps = eps
        self.smoother = TemporalSmoother() if temporal else None
        self.presence = presence
        self.crops = crops
        self._scratch = np.empty((2, 0, 0), np.float32)  # full-size float planes for :meth:`_apply`
        # alpha = clip(p * gain + offset, 0, 1), done in place.
        self._gain = np.float32(1.0 / self.softness)
        self._offset = np.float32(0.5 - threshold / self.softness)

    def _work_shape(self, height: int, width: int) -> tuple[int, int]:
        scale = min(1.0, self.work_size / max(height, width))
        return max(1, round(width * scale)), max(1, round(height * scale))

    def __call__(self, probability: np.ndarray, image: np.ndarray | None = None) -> np.ndarray:
        """Alpha matte for one frame: uint8, 255 = person, at the size of ``image`` (the BGR frame), or of the
        probability map without one. The map covers the whole frame at any resolution (see
        :class:`bgblur.segmenters.Segmenter`)."""
        return self.analyse(probability, image)[0]

    def _small(self, probability: np.ndarray, work: tuple[int, int]) -> np.ndarray:
        # The model's output is smooth (and often near the working size already): linear is enough, and fast.
        small = cv2.resize(probability.astype(np.float32, copy=False), work, interpolation=cv2.INTER_LINEAR)
        return flush_denormals(small)

    def _second_look(self, probability: np.ndarray, small: np.ndarray, image: np.ndarray) -> np.ndarray | None:
        """The probability raised by a second look around everyone found and every region of the first look's
        matte; None when there is nothing to look at again (or nobody can be kept: the frame is blurred whole)."""
        if self.presence is not None and not self.presence.may_keep():
            return None
        boxes = [t.extent for t in self.presence.candidates] if self.presence is not None else []
        scale = (small.shape[1] / image.shape[1], small.shape[0] / image.shape[0])
        boxes += region_boxes(small > self.threshold, self.min_area, scale)
        return self.crops(image, probability, boxes) if boxes else None

    def analyse(
        self, probability: np.ndarray, image: np.ndarray | None = None
    ) -> tuple[np.ndarray, tuple[Person, ...]]:
        """The alpha matte (as :meth:`__call__`) and the people the presence check counted on this frame."""
        height, width = (image if image is not None else probability).shape[:2]
        work = self._work_shape(height, width)
        small = self._small(probability, work)
        # The frame halved once (a 2x2 mean), for the detectors and the guide: each used to shrink the full frame.
        long_side = 0 if image is None else max(image.shape[:2])
        wanted = self.presence is not None or long_side >= 4 * self.work_size  # someone uses it
        half = halved(image) if image is not None and long_side >= 2 * self.work_size and wanted else None
        if self.presence is not None and image is not None:
            self.presence.look(image, small > self.threshold, half)  # before the second look: it looks where people are
        if self.crops is not None and image is not None:
            raised = self._second_look(probability, small, image)
            if raised is not None:
                small = self._small(raised, work)
        grey = guide = None
        if image is not None and (self.refine or self.smoother is not None):
            # Of the half frame where that is still twice the working size (720p: 640x360): the coefficients are
            # applied there and the 8-bit matte upsampled (half the cost; the edge moves by under a pixel). Below,
            # the frame's own detail is kept (854x480 halved loses 0.003 IoU on the hike clip).
            fine = half is not None and max(half.shape[:2]) >= 2 * self.work_size
            grey = cv2.cvtColor(half if fine else image, cv2.COLOR_BGR2GRAY)
            # Area-averaged in uint8 (much cheaper than in float; by 2x2 halvings where it can), then scaled to 0..1.
            guide = shrink(grey, work).astype(np.float32) * np.float32(1 / 255)
        if self.smoother is not None:
            small = self.smoother(small, guide)
        keep = keep_regions(small > self.threshold, self.people, self.min_area, self.presence, image)
        if keep is not None:
            # Widen the kept regions a little so their soft edges survive.
            keep = cv2.dilate(keep, np.ones((5, 5), np.uint8))
            small = small * keep
        people = self.presence.found() if self.presence is not None and image is not None else ()
        size = (width, height) if grey is None else (grey.shape[1], grey.shape[0])
        if self.refine and guide is not None:
            a, b = guided_coefficients(guide, small, self.radius, self.eps, self.smoother)
            alpha = self._apply(b, size, a, grey)
        else:
            alpha = self._apply(small, size)
        if size != (width, height):
            alpha = cv2.resize(alpha, (width, height), interpolation=cv2.INTER_LINEAR)
        return alpha, people

    def _apply(
        self, b: np.ndarray, size: tuple[int, int], a: np.ndarray | None = None, grey: np.ndarray | None = None
    ) -> np.ndarray:
        """``ramp(a * grey / 255 + b)`` at ``size`` (that of ``grey``) as 8-bit weights, ``a`` and ``b`` given at
        working size.

        The ramp (``gain * x + offset``) and the 0..255 scale are folded into ``a`` and ``b`` while they are
        small, so the full-size work is two upsamplings, a multiply and a saturating add — no float clip or
        conversion pass over the frame.
        """
        width, height = size
        if self._scratch.shape != (2, height, width):
            self._scratch = np.empty((2, height, width), np.float32)  # reused: fresh 3.7 MB planes cost page faults
        a_full, b_full = self._scratch
        b = b * (255 * self._gain) + np.float32(255 * self._offset)
        cv2.resize(b, size, dst=b_full, interpolation=cv2.INTER_LINEAR)
        if a is None or grey is None:
            return cv2.add(b_full, 0.0, dtype=cv2.CV_8U)  # rounds and saturates to 0..255
        cv2.resize(a * self._gain, size, dst=a_full, interpolation=cv2.INTER_LINEAR)  # × grey (0..255) = 255 × a·guide
        cv2.multiply(a_full, grey, dst=a_full, dtype=cv2.CV_32F)
        return cv2.add(a_full, b_full, dtype=cv2.CV_8U)  # a new array: callers may keep it (the live loop does)

    def reset(self) -> None:
        """Forget anything carried between frames (a new scene or source)."""
        if self.smoother is not None:
            self.smoother.reset()
        if self.presence is not None:
            self.presence.reset()
