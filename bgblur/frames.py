"""The small nouns every stage passes on: a frame, what a stream is, a matte and what was found with it, and what
the user controls.

Nothing here imports another bgblur module: any stage may use these.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the command line imports this module before anything heavy
    import numpy as np

# The vocabularies the command line and the stages share.
PEOPLE_CHOICES = ("main", "all")
PRESENCE_CHOICES = ("off", "people", "face", "face-or-body", "face-or-pose")
KERNEL_STEP = 10  # one [ or ] press: a visible change, and an even step keeps the kernel odd
KERNEL_LIMITS = (1, 501)  # the Gaussian kernels bgblur accepts (--kernel and the keys)


@dataclass(frozen=True)
class Frame:
    """One picture from a source: BGR uint8 ``image``, its ``index`` in the source, its capture ``timestamp`` (s)."""

    image: np.ndarray
    index: int
    timestamp: float


@dataclass(frozen=True)
class StreamInfo:
    """What a source is: shown to the user, used to size and pace the outputs. Wrappers pass it on whole."""

    description: str
    size: tuple[int, int] = (0, 0)  # width, height
    fps: float = 0.0
    frame_count: int | None = None  # None: unknown or endless
    is_live: bool = False
    path: Path | None = None  # the file read, when it is one (its sound is copied into a video output)

    @property
    def still(self) -> bool:
        """One picture, not a video or a camera."""
        return self.frame_count == 1 and not self.is_live


Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in a frame's pixels


@dataclass(frozen=True)
class Person:
    """A person the analysis of a frame counted (see :mod:`bgblur.matte.presence`): where they certainly are
    (``core``: a face and below it, or head and shoulders) and where any part of them can be (``extent``), in the
    frame's pixels; ``main``: the one ``--people main`` keeps."""

    core: Box
    extent: Box
    score: float
    main: bool = False


@dataclass(frozen=True)
class Matte:
    """An alpha matte (uint8, 255 = person; warped and blended as 8-bit), the frame it was computed on, and what
    the analysis found there: the people counted (empty without a presence check, or when nobody is there) and
    the segmenter's own detections (Mask R-CNN's, every class, for ``--visualize``; empty for other models)."""

    alpha: np.ndarray
    index: int
    timestamp: float  # capture time of that frame (s, the source's clock)
    people: tuple[Person, ...] = ()
    detections: tuple = ()


@dataclass
class Controls:
    """What the user can change while bgblur runs (keys in the window, signals from outside): state only; the
    window maps keys onto these changes."""

    privacy: bool = True
    mirror: bool = False
    show_help: bool = False
    stop: bool = False
    # Effects: choice 0 is the blur, 1..choices-1 the replaced backgrounds.
    choice: int = 0
    choices: int = 1
    last_replacement: int = 1  # where toggle_replacement goes back to from the blur
    kernel: int = 41
    show_mask: bool = False
    show_fps: bool = False
    auto_frame: bool = False  # keep the person centred (``--auto-frame``, key z)

    def step_background(self, step: int) -> None:
        """The previous (-1) or next (+1) effect: blur, then each replaced background."""
        if self.choices > 1:
            self.choice = (self.choice + step) % self.choices
            if self.choice:
                self.last_replacement = self.choice

    def toggle_replacement(self) -> None:
        """Between the blur and the last replaced background."""
        if self.choices <= 1:
            return
        if self.choice:
            self.last_replacement, self.choice = self.choice, 0
        else:
            self.choice = min(self.last_replacement, self.choices - 1)

    def step_kernel(self, steps: int) -> None:
        """A weaker (-1) or stronger (+1) blur, kept odd and within :data:`KERNEL_LIMITS`."""
        self.kernel = min(max(self.kernel + steps * KERNEL_STEP, KERNEL_LIMITS[0]), KERNEL_LIMITS[1]) | 1
