"""From the model's person probability to the alpha matte used for compositing (uint8, 255 = person).

Per frame, at a reduced working resolution (the model's own output is coarse, so nothing is lost):

1. temporal smoothing (video/live): a per-pixel exponential average that follows big changes at once and
   only damps small, uncertain ones — so the edge stops shimmering but a moving arm does not leave a trail;
2. people selection: ``all`` keeps every region, ``main`` only the largest connected one (the person at the
   camera; someone walking behind stays blurred); specks smaller than ``min_area`` are dropped either way;
3. edge refinement: a fast guided filter with the frame as guide, so the coarse matte snaps to real edges;
   its coefficients are upsampled and applied to the full-resolution frame;
4. a soft ramp around the threshold instead of a hard cut: an unsure pixel is partly blurred, not shown sharp.

Only the last step touches the full-size frame, and it writes 8-bit weights straight away (what compositing uses).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from bgblur.effects import shrink

if TYPE_CHECKING:
    from bgblur.presence import PresenceCheck

PEOPLE_CHOICES = ("main", "all")


def flush_denormals(values: np.ndarray) -> np.ndarray:
    """Set magnitudes below 1e-6 to zero, in place: model tails and decaying averages reach denormal floats
    (~1e-40), which make every later float operation on them several times slower."""
    values[np.abs(values) < 1e-6] = 0.0
    return values


class TemporalSmoother:
    """Per-pixel exponential moving average of the matte whose weight says how much to trust the new frame.

    The weight rises to 1 (follow at once) where the picture itself changed by ``motion`` or more (grey level,
    0..1) — real motion — or where the matte jumped by ``follow`` or more; elsewhere the new value is blended
    in with weight ``floor``, which damps the model's frame-to-frame wavering on a still scene. Drops towards
    background get ``drop_boost`` times the weight, so when in doubt the matte errs towards blurring.
    """

    def __init__(self, floor: float = 0.15, motion: float = 0.12, follow: float = 0.6, drop_boost: float = 2.0) -> None:
        self.floor = np.float32(floor)
        self.inv_motion = np.float32(1.0 / motion)
        self.inv_follow = np.float32(1.0 / follow)
        self.drop_boost = np.float32(drop_boost)
        self._state: np.ndarray | None = None
        self._guide: np.ndarray | None = None
        self._weight: np.ndarray | None = None
        self._extra: dict[str, np.ndarray] = {}

    def __call__(self, value: np.ndarray, guide: np.ndarray | None = None) -> np.ndarray:
        """The smoothed matte for this frame; ``guide`` is the frame's grey picture (float 0..1, same size)."""
        state = self._state
        if state is None or state.shape != value.shape:
            self._state = value.copy()
            self._guide = None if guide is None else guide.copy()
            self._weight = None
            return value
        delta = value - state
        weight = np.abs(delta) * self.inv_follow
        if guide is not None and self._guide is not None and self._guide.shape == guide.shape:
            # A 5x5 mean of the picture's change: one noisy pixel is not motion, a moving edge is.
            change = cv2.blur(cv2.absdiff(guide, self._guide), (5, 5)) * self.inv_motion
            np.maximum(weight, change, out=weight)
        if guide is not None:
            self._guide = guide.copy()
        weight[delta < 0] *= self.drop_boost
        np.clip(weight, self.floor, 1.0, out=weight)
        self._weight = weight
        state += weight * delta
        return flush_denormals(state).copy()

    def follow(self, key: str, value: np.ndarray) -> np.ndarray:
        """Smooth another per-pixel map of this frame (e.g. guided-filter coefficients) with the same weights."""
        previous = self._extra.get(key)
        if previous is None or previous.shape != value.shape or self._weight is None:
            self._extra[key] = value.copy()
            return value
        previous += self._weight * (value - previous)
        return flush_denormals(previous).copy()

    def reset(self) -> None:
        """Forget the previous frame."""
        self._state = None
        self._guide = None
        self._weight = None
        self._extra.clear()


def guided_coefficients(
    guide: np.ndarray, source: np.ndarray, radius: int, eps: float, smoother: TemporalSmoother | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Guided filter (He et al.) of ``source`` by the grey ``guide`` (both float32 0..1, same size), box filters
    only: the per-pixel linear coefficients ``a, b`` with ``filtered = a * guide + b``.

    Applying them to a larger picture of the same scene (upsampled) is the "fast guided filter": the edges then
    come from the full-resolution frame.
    """
    size = (2 * radius + 1, 2 * radius + 1)

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, cv2.CV_32F, size, borderType=cv2.BORDER_REFLECT)

    mean_i = box(guide)
    mean_p = box(source)
    cov_ip = box(guide * source) - mean_i * mean_p
    var_i = box(guide * guide) - mean_i * mean_i
    a = cov_ip / (var_i + np.float32(eps))
    b = mean_p - a * mean_i
    mean_a, mean_b = box(a), box(b)
    if smoother is not None:
        # The coefficients amplify the guide's noise: steady them with the matte's own temporal weights.
        mean_a, mean_b = smoother.follow("a", mean_a), smoother.follow("b", mean_b)
    return flush_denormals(mean_a), flush_denormals(mean_b)


def keep_regions(
    mask: np.ndarray,
    people: str,
    min_area: float,
    presence: PresenceCheck | None = None,
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
        # The largest region with evidence: a big cup must not win over a smaller person.
        main = int(np.argmax(np.where(keep, areas, -1)))
        keep[:] = False
        keep[main] = True
    lookup = np.concatenate([[0], keep.astype(np.uint8)])
    return lookup[labels].astype(np.uint8)


class MatteMaker:
    """Turns per-pixel person probability into an alpha matte (see the module docstring for the steps).

    ``threshold``/``softness``: the soft ramp, ``softness`` wide, centred on the threshold. ``refine``: guided
    filter on the frame. ``temporal``: smooth over time (call :meth:`reset` between unrelated pictures).
    ``people``: ``all`` or ``main``. ``presence``: drop regions without
    evidence of a person (:mod:`bgblur.presence`). ``work_size``: long side, in px, of the working resolution.
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
        height, width = (image if image is not None else probability).shape[:2]
        work = self._work_shape(height, width)
        # The model's output is smooth (and often near the working size already): linear is enough, and fast.
        small = cv2.resize(probability.astype(np.float32, copy=False), work, interpolation=cv2.INTER_LINEAR)
        flush_denormals(small)
        grey = guide = None
        if image is not None and (self.refine or self.smoother is not None):
            grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
            # Area-averaged in uint8 (much cheaper than in float; by 2x2 halvings where it can), then scaled to 0..1.
            guide = shrink(grey, work).astype(np.float32) * np.float32(1 / 255)
        if self.smoother is not None:
            small = self.smoother(small, guide)
        keep = keep_regions(small > self.threshold, self.people, self.min_area, self.presence, image)
        if keep is not None:
            # Widen the kept regions a little so their soft edges survive.
            keep = cv2.dilate(keep, np.ones((5, 5), np.uint8))
            small = small * keep
        if self.refine and guide is not None:
            a, b = guided_coefficients(guide, small, self.radius, self.eps, self.smoother)
            return self._apply(b, (width, height), a, grey)
        return self._apply(small, (width, height))

    def _apply(
        self, b: np.ndarray, size: tuple[int, int], a: np.ndarray | None = None, grey: np.ndarray | None = None
    ) -> np.ndarray:
        """``ramp(a * grey / 255 + b)`` at full size as 8-bit weights, ``a`` and ``b`` given at working size.

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
