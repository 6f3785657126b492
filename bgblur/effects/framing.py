"""Auto-framing (``--auto-frame``): the output shows a smoothly moving crop of the picture, zoomed back to full
size, that keeps the person's head and shoulders centred with some headroom.

It reads only the finished matte (alpha > 127), so it works the same with every model and people mode, and it
runs before the effect: the picture and its matte are framed together, then the effect draws on the framed
picture, so a replaced background fills the whole output and privacy is untouched (an empty matte still blurs
the whole frame).

Where the window goes (:func:`target_window`): everyone the matte keeps counts (``--people main`` keeps one person;
with ``all`` a group is framed together), except regions under a quarter of the largest, so a far passer-by or a
stray patch does not pull the frame. The person's "head and shoulders" is a square as wide as the person, from the
top of their region; the head's centre is the middle of the matte in that square's top third. The zoom is the
larger of what makes head and shoulders fill the window and what lets the window be centred on the head without
leaving the picture, at most ``max_zoom`` and never so close that the head does not fit.

How it moves (:meth:`AutoFramer.update`): a dead zone (a target within a few % of the goal moves nothing, so a
swaying speaker gives a still picture), then a critically damped spring towards the goal (no overshoot, ~95 % of
a move within 0.8 s) with a speed cap. Nobody found for half a second: it eases back to the whole picture.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

WORK_WIDTH = 160  # px: the matte is read this wide (at 1280 px wide, 8 px steps: well inside the dead zone)
MIN_SHARE = 0.25  # regions smaller than this share of the largest do not count
HEAD_SHARE = 1 / 3  # the head: this top part of the head-and-shoulders square
FILL = 0.8  # head and shoulders fill this much of the window's height
HEADROOM = 0.15  # of the window's height above the top of the matte (which often trims the hair)
HEAD_MIN = 0.6  # the window is always at least this share of the square high (the head never cut)
DEAD_ZONE = 0.05  # of the window's size: a closer target does not move the goal
ZOOM_DEAD_ZONE = 0.12  # relative change of the window's size that moves the goal
OMEGA = 6.0  # 1/s, the spring's stiffness: critically damped, 95 % of a move after 4.7/OMEGA = 0.8 s
MAX_SPEED = 1.0  # of the picture's width per second, for each edge of the window
HOLD = 0.5  # s without anyone before the frame eases back to the whole picture
MAX_STEP = 0.25  # s: a longer gap between frames (a stall) counts as this much


@dataclass(frozen=True)
class Window:
    """A crop of the picture: left and top in px (floats: the crop moves by fractions of a pixel while it moves),
    width and height in whole px, with the picture's aspect ratio."""

    x: float
    y: float
    width: int
    height: int

    def as_array(self) -> np.ndarray:
        return np.array([self.x, self.y, self.width], np.float64)


def whole(size: tuple[int, int]) -> Window:
    return Window(0.0, 0.0, size[0], size[1])


def fitted(x: float, y: float, width: float, size: tuple[int, int]) -> Window:
    """The window about ``width`` wide (the picture's aspect ratio) nearest to left/top ``x, y`` inside the
    picture."""
    picture_w, picture_h = size
    width = min(max(round(width), 2), picture_w)
    height = min(max(round(width * picture_h / picture_w), 2), picture_h)
    return Window(
        float(min(max(x, 0.0), picture_w - width)), float(min(max(y, 0.0), picture_h - height)), width, height
    )


def target_window(alpha: np.ndarray, max_zoom: float) -> Window | None:
    """Where the window should be for this matte (None: nobody in it). See the module docstring."""
    picture_h, picture_w = alpha.shape[:2]
    scale = WORK_WIDTH / picture_w
    small = cv2.resize(alpha, (WORK_WIDTH, max(1, round(picture_h * scale))), interpolation=cv2.INTER_NEAREST)
    count, labels, stats, _ = cv2.connectedComponentsWithStats((small > 127).astype(np.uint8), connectivity=8)
    if count < 2:
        return None
    areas = stats[1:, cv2.CC_STAT_AREA]
    kept = np.flatnonzero(areas >= MIN_SHARE * areas.max()) + 1
    left = stats[kept, cv2.CC_STAT_LEFT].min()
    top = stats[kept, cv2.CC_STAT_TOP].min()
    right = (stats[kept, cv2.CC_STAT_LEFT] + stats[kept, cv2.CC_STAT_WIDTH]).max()
    bottom = (stats[kept, cv2.CC_STAT_TOP] + stats[kept, cv2.CC_STAT_HEIGHT]).max()
    side = min(right - left, bottom - top)
    head = np.isin(labels[top : top + max(1, round(side * HEAD_SHARE)), left:right], kept)
    centre_x = (left + np.nonzero(head)[1].mean() + 0.5) / scale
    side, top = side / scale, top / scale
    fill_zoom = picture_h * FILL / side
    half_room = min(centre_x, picture_w - centre_x)  # the widest window centred on the head
    centre_zoom = picture_w / (2 * max(half_room, 1.0))
    head_zoom = max(1.0, picture_h / (HEAD_MIN * side))
    zoom = min(max(fill_zoom, centre_zoom, 1.0), max_zoom, head_zoom)
    width, height = picture_w / zoom, picture_h / zoom
    # Whole pixels: the window at rest is a plain crop (half the cost of one between pixels).
    return fitted(round(centre_x - width / 2), round(top - HEADROOM * height), width, (picture_w, picture_h))


class AutoFramer:
    """The moving window for one stream of frames of ``size`` (w, h): :meth:`update` with each frame's matte and
    time gives the window to show, :meth:`__call__` also crops and zooms the picture and the matte to it.
    ``still``: one picture, framed at once (no easing)."""

    def __init__(self, size: tuple[int, int], max_zoom: float = 2.0, still: bool = False) -> None:
        self.max_zoom = max(1.0, max_zoom)
        self.still = still
        self.reset(size)

    def reset(self, size: tuple[int, int]) -> None:
        """Start again on frames of ``size``, showing the whole picture."""
        self.size = (int(size[0]), int(size[1]))
        self.window = whole(self.size)
        self.goal = self.window
        self._position = self.window.as_array()  # the spring's state: left, top, width (floats)
        self._velocity = np.zeros(3)
        self._last_time: float | None = None
        self._nobody_since: float | None = None

    @property
    def at_rest(self) -> bool:
        """Showing the whole picture, not moving: nothing to crop."""
        return self.window == whole(self.size) and self.goal == self.window

    def update(self, alpha: np.ndarray | None, timestamp: float, on: bool = True) -> Window:
        """The window for the frame at ``timestamp`` (s) with matte ``alpha`` (None: no matte this frame, the goal
        stays). ``on`` False: ease back to the whole picture (the key turned framing off)."""
        step = 0.0 if self._last_time is None else min(max(timestamp - self._last_time, 0.0), MAX_STEP)
        self._last_time = timestamp
        if not on:
            self.goal = whole(self.size)
        elif alpha is not None:
            self._new_target(alpha, timestamp)
        if self.still:
            self.window, self._position, self._velocity = self.goal, self.goal.as_array(), np.zeros(3)
        elif step > 0:
            self._move(step)
        return self.window

    def _new_target(self, alpha: np.ndarray, timestamp: float) -> None:
        target = target_window(alpha, self.max_zoom)
        if target is None:
            if self._nobody_since is None:
                self._nobody_since = timestamp
            if self.still or timestamp - self._nobody_since >= HOLD:
                self.goal = whole(self.size)
            return
        self._nobody_since = None
        goal = self.goal
        moved = max(
            abs(target.x + target.width / 2 - goal.x - goal.width / 2) / goal.width,
            abs(target.y + target.height / 2 - goal.y - goal.height / 2) / goal.height,
        )
        if moved > DEAD_ZONE or abs(target.width / goal.width - 1) > ZOOM_DEAD_ZONE:
            self.goal = target

    def _move(self, step: float) -> None:
        """One step of a critically damped spring from the window towards the goal, each edge's speed capped."""
        position, goal = self._position, self.goal.as_array()
        accel = OMEGA * OMEGA * (goal - position) - 2 * OMEGA * self._velocity
        cap = MAX_SPEED * self.size[0]
        self._velocity = np.clip(self._velocity + accel * step, -cap, cap)
        position = position + self._velocity * step
        if np.abs(goal - position).max() < 0.5 and np.abs(self._velocity).max() < 5.0:  # arrived: the last half px
            self.window, self._position, self._velocity = self.goal, goal, np.zeros(3)
        else:
            self.window, self._position = fitted(*position, self.size), position

    def __call__(
        self, image: np.ndarray, alpha: np.ndarray | None, timestamp: float, on: bool = True
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """``image`` and its matte ``alpha`` framed for this frame: the window, zoomed back to the full size (the
        same arrays when the whole picture is shown)."""
        size = (image.shape[1], image.shape[0])
        if size != self.size:  # the stream's announced size was not its real one
            self.reset(size)
        self.update(alpha, timestamp, on)
        if self.window == whole(self.size):
            return image, alpha
        return crop_zoom(image, self.window), None if alpha is None else crop_zoom(alpha, self.window)


def crop_zoom(image: np.ndarray, window: Window) -> np.ndarray:
    """The ``window`` of ``image`` scaled to the image's own size. While it moves the crop is taken between pixels
    (a slow pan glides instead of stepping a pixel at a time); the window lies inside the picture, so no edge is
    invented."""
    height, width = image.shape[:2]
    x, y, w, h = window.x, window.y, window.width, window.height
    if x.is_integer() and y.is_integer():
        crop = image[int(y) : int(y) + h, int(x) : int(x) + w]
    else:  # the patch's centre, in pixel-index coordinates
        crop = cv2.getRectSubPix(image, (w, h), (x + (w - 1) / 2, y + (h - 1) / 2))
    return cv2.resize(crop, (width, height), interpolation=cv2.INTER_LINEAR)
