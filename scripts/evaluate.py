#!/usr/bin/env python3
"""Measure matte quality against ground truth with bgblur's own pipeline pieces (segmenter → matte → effect).

Data layout (``../shared/testdata`` by default)::

    images/NAME.jpg + masks/NAME.png          255 = person; an all-zero mask means "nobody here"
    videos/NAME.mp4 [+ videos/NAME_masks/00000.png ...]

Any option the ``bgblur`` command takes for the model, the matte and the effect is accepted here with the same
meaning and default (``--model``, ``--mask-rcnn``, ``--threshold``, ``--people``, ``--kernel``, ...), because the
stages are built by the CLI's own code. Prints one row per item and an overall summary:

- IoU: matte > 0.5 against the mask (items with a person);
- BF: boundary F-score, boundary pixels matched within ``--tolerance`` px;
- false: fraction of pixels called person (matte > 0.5) on items whose mask is empty;
- leak: mean matte over true background farther than ``--tolerance`` px from the person — the room shown sharp;
- flicker: mean |Δ matte| between consecutive video frames (0..1 scale);
- ms: per frame, inference and matte steps.

Then the edge colour (:func:`edge_spill`), per photo with people, a frame of the talking-head clip and each portrait
(``portraits/*.png``): the soft edge composited through bgblur's replace effect with and without the person's own
colours (``own``/``camera``), its size and its spill — 0 when the edge wears the person's colour, 1 the old room's.

Side-by-side pictures (input | matte | output) go to ``--out``. Pictures and clips are run as the ``bgblur``
command runs files (pictures: tiles, person crops, one look for the detectors; ``--people`` defaults to ``all``).

``--price`` also runs the configuration with ``--presence off`` and prints, per kind, the IoU the presence check
costs on items with people (its price) next to the false person it removes on items without (its gain).

``--compare`` (which includes ``--price``) also runs the other ``--people`` mode and prints, per picture and clip,
IoU (or the false-person fraction where nobody is there) under both, then a summary per kind — one person,
several people, nobody (the developer pictures' head counts are in :data:`KNOWN_PEOPLE`; elsewhere the mask's
separate blobs), each clip — with the cost per frame (inference + matte) of each configuration.

Usage::

    python scripts/evaluate.py [--data DIR] [--out DIR] [--only SUBSTRING] [--price] [--compare] [bgblur options]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO))

from bgblur.build import build_effect, build_matte_maker, build_segmenter  # noqa: E402
from bgblur.cli import parse_options  # noqa: E402
from bgblur.effects.backgrounds import ColourBackground  # noqa: E402
from bgblur.effects.replace import ReplaceBackground  # noqa: E402
from bgblur.frames import PEOPLE_CHOICES  # noqa: E402
from bgblur.options import Options  # noqa: E402

DEFAULT_DATA = Path(os.environ.get("BGBLUR_SHARED", REPO.parent / "shared")) / "testdata"  # as the tests find it
VIDEO_PICTURES = 4  # side-by-side pictures written per video


@dataclass
class Score:
    """Metrics of one item (an image, or a whole video averaged over its frames)."""

    name: str
    kind: str  # "image" or "video"
    has_person: bool
    iou: float = float("nan")
    bf: float = float("nan")
    false_person: float = float("nan")
    leak: float = float("nan")
    flicker: float = float("nan")
    ms_inference: float = 0.0
    ms_matte: float = 0.0
    frames: int = 1
    people: int = 0  # people in the ground truth (separate blobs of the mask; 0 = nobody)

    @property
    def group(self) -> str:
        """The kind of item the summaries group by: nobody, one person, several people, or a clip."""
        if self.kind == "video":
            return "clip"
        return "nobody" if not self.people else "one person" if self.people == 1 else "several people"


@dataclass
class _Accumulator:
    ious: list[float] = field(default_factory=list)
    bfs: list[float] = field(default_factory=list)
    falses: list[float] = field(default_factory=list)
    leaks: list[float] = field(default_factory=list)
    flicker: list[float] = field(default_factory=list)
    ms_inference: list[float] = field(default_factory=list)
    ms_matte: list[float] = field(default_factory=list)


def _boundary(mask: np.ndarray) -> np.ndarray:
    """One-pixel inner boundary of a boolean mask (frame edges are not boundaries)."""
    m = mask.astype(np.uint8)
    padded = cv2.copyMakeBorder(m, 1, 1, 1, 1, cv2.BORDER_REPLICATE)
    eroded = cv2.erode(padded, np.ones((3, 3), np.uint8))[1:-1, 1:-1]
    return (m > 0) & (eroded == 0)


def boundary_f(predicted: np.ndarray, truth: np.ndarray, tolerance: int) -> float:
    """Boundary F-score: precision/recall of boundary pixels matched within ``tolerance`` px (DAVIS-style)."""
    bp, bt = _boundary(predicted), _boundary(truth)
    if not bp.any() and not bt.any():
        return 1.0
    if not bp.any() or not bt.any():
        return 0.0
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * tolerance + 1, 2 * tolerance + 1))
    near_t = cv2.dilate(bt.astype(np.uint8), disk) > 0
    near_p = cv2.dilate(bp.astype(np.uint8), disk) > 0
    precision = (bp & near_t).sum() / bp.sum()
    recall = (bt & near_p).sum() / bt.sum()
    return 0.0 if precision + recall == 0 else float(2 * precision * recall / (precision + recall))


def frame_metrics(alpha: np.ndarray, truth: np.ndarray, tolerance: int) -> dict[str, float]:
    """IoU, boundary F, false-person fraction and leak of one matte (float 0..1) against a 0/255 mask."""
    person = truth > 127
    predicted = alpha > 0.5
    if not person.any():
        return {"false_person": float(predicted.mean()), "leak": float(alpha.mean())}
    union = (person | predicted).sum()
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * tolerance + 1, 2 * tolerance + 1))
    far_background = cv2.dilate(person.astype(np.uint8), disk) == 0
    return {
        "iou": float((person & predicted).sum() / union),
        "bf": boundary_f(predicted, person, tolerance),
        "leak": float(alpha[far_background].mean()) if far_background.any() else 0.0,
    }


# People in each developer picture (../shared/testdata/MANIFEST.md): their masks merge people who touch.
KNOWN_PEOPLE = {
    "cihp_graduation_crop_partial_out_of_frame": 2,
    "cihp_group_of_eight_small": 8,
    "cihp_three_kids_at_table": 3,
    "cihp_two_men_at_computer": 2,
    "cihp_two_women_graduation": 2,
    "voc_two_people_with_motorcycle": 2,
}


def count_people(truth: np.ndarray, name: str = "") -> int:
    """People in a 0/255 mask: :data:`KNOWN_PEOPLE` for the developer pictures, else the mask's connected blobs of
    at least a tenth of the largest one (people who touch in the picture count as one)."""
    if not (truth > 127).any():
        return 0
    if name in KNOWN_PEOPLE:
        return KNOWN_PEOPLE[name]
    count, _, stats, _ = cv2.connectedComponentsWithStats((truth > 127).astype(np.uint8), connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    return int((areas >= 0.1 * areas.max()).sum()) if count > 1 else 0


def side_by_side(image: np.ndarray, alpha: np.ndarray, output: np.ndarray, truth: np.ndarray | None) -> np.ndarray:
    """input | matte (ground-truth outline in red) | output, at most 360 px high."""
    matte = cv2.cvtColor((alpha * 255 + 0.5).astype(np.uint8), cv2.COLOR_GRAY2BGR)
    if truth is not None and truth.any():
        contours, _ = cv2.findContours((truth > 127).astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(matte, contours, -1, (0, 0, 255), 1)
    row = np.hstack([image, matte, output])
    scale = min(1.0, 360 / row.shape[0])
    return cv2.resize(row, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else row


class Evaluator:
    """Runs one bgblur configuration (segmenter + matte maker + effect, built by the CLI's code) over a data set."""

    def __init__(self, bgblur_args: Options, out: Path | None, tolerance: int = 3) -> None:
        # As the bgblur command would: a picture and a video may get different segmenters (tiles on pictures).
        self.picture_segmenter = build_segmenter(bgblur_args, still=True)
        self.video_segmenter = build_segmenter(bgblur_args)
        self.matte_maker = build_matte_maker(bgblur_args, self.video_segmenter)
        self.picture_matte_maker = build_matte_maker(bgblur_args, self.picture_segmenter, still=True)
        self.effect = build_effect(bgblur_args)
        self.out = out
        self.tolerance = tolerance
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)

    def run_frame(self, image: np.ndarray, segmenter, matte_maker) -> tuple[np.ndarray, float, float]:
        start = time.perf_counter()
        probability = segmenter.segment(image)
        mid = time.perf_counter()
        alpha8 = matte_maker(probability, image)
        end = time.perf_counter()
        return alpha8.astype(np.float32) / 255, (mid - start) * 1000, (end - mid) * 1000  # metrics work on 0..1

    def picture_matte(self, image: np.ndarray) -> np.ndarray:
        """The 8-bit matte of one picture, as the ``bgblur`` command makes it."""
        self.picture_matte_maker.reset()
        alpha, _, _ = self.run_frame(image, self.picture_segmenter, self.picture_matte_maker)
        return (alpha * 255 + 0.5).astype(np.uint8)

    def clip_matte(self, video_path: Path, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame ``index`` of a clip and its 8-bit matte, the clip run from its start as a file run runs it."""
        capture = cv2.VideoCapture(str(video_path))
        self.matte_maker.reset()
        alpha = image = None
        for _ in range(index + 1):
            ok, image = capture.read()
            if not ok:
                raise SystemExit(f"evaluate: {video_path} has no frame {index}")
            alpha, _, _ = self.run_frame(image, self.video_segmenter, self.matte_maker)
        capture.release()
        return image, (alpha * 255 + 0.5).astype(np.uint8)

    def image(self, image_path: Path, mask_path: Path) -> Score:
        image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
        truth = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
        self.picture_matte_maker.reset()  # each picture is its own scene
        alpha, ms_inf, ms_matte = self.run_frame(image, self.picture_segmenter, self.picture_matte_maker)
        metrics = frame_metrics(alpha, truth, self.tolerance)
        if self.out is not None:
            picture = side_by_side(image, alpha, self.effect(image, (alpha * 255 + 0.5).astype(np.uint8)), truth)
            cv2.imwrite(str(self.out / f"{image_path.stem}.jpg"), picture)
        score = Score(image_path.stem, "image", bool((truth > 127).any()), ms_inference=ms_inf, ms_matte=ms_matte)
        score.people = count_people(truth, image_path.stem)
        for key, value in metrics.items():
            setattr(score, key, value)
        return score

    def video(self, video_path: Path, masks_dir: Path | None) -> Score:
        capture = cv2.VideoCapture(str(video_path))
        if not capture.isOpened():
            raise SystemExit(f"evaluate: cannot read {video_path}")
        total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or 1
        picture_at = set(np.linspace(0, total - 1, VIDEO_PICTURES).round().astype(int).tolist())
        self.matte_maker.reset()
        per_frame: dict[str, list[float]] = {"iou": [], "bf": [], "false_person": [], "leak": []}
        flicker: list[float] = []
        ms_inf: list[float] = []
        ms_matte: list[float] = []
        previous = None
        has_person = False
        index = 0
        while True:
            ok, image = capture.read()
            if not ok:
                break
            alpha, t_inf, t_matte = self.run_frame(image, self.video_segmenter, self.matte_maker)
            ms_inf.append(t_inf)
            ms_matte.append(t_matte)
            if previous is not None:
                flicker.append(float(np.abs(alpha - previous).mean()))
            previous = alpha.copy()
            truth = None
            if masks_dir is not None:
                truth = cv2.imread(str(masks_dir / f"{index:05d}.png"), cv2.IMREAD_GRAYSCALE)
                if truth is None:
                    raise SystemExit(f"evaluate: mask missing for frame {index}: {masks_dir}")
                has_person |= bool((truth > 127).any())
                for key, value in frame_metrics(alpha, truth, self.tolerance).items():
                    per_frame[key].append(value)
            if self.out is not None and index in picture_at:
                picture = side_by_side(image, alpha, self.effect(image, (alpha * 255 + 0.5).astype(np.uint8)), truth)
                cv2.imwrite(str(self.out / f"{video_path.stem}_{index:05d}.jpg"), picture)
            index += 1
        capture.release()
        score = Score(
            video_path.stem,
            "video",
            has_person,
            flicker=float(np.mean(flicker)) if flicker else float("nan"),
            ms_inference=float(np.median(ms_inf)),
            ms_matte=float(np.median(ms_matte)),
            frames=index,
        )
        for key, values in per_frame.items():
            if values:
                setattr(score, key, float(np.mean(values)))
        return score

    def run(self, data: Path, only: str | None = None, videos: Collection[str] | None = None) -> list[Score]:
        """Every image with a mask, then every video (with or without masks) under ``data``; names with ``only``,
        and of the videos only those named in ``videos`` when given."""
        scores = []
        for image_path in sorted((data / "images").glob("*.jpg")):
            if only and only not in image_path.stem:
                continue
            mask_path = data / "masks" / f"{image_path.stem}.png"
            if mask_path.is_file():
                scores.append(self.image(image_path, mask_path))
        for video_path in sorted((data / "videos").glob("*.mp4")):
            if (only and only not in video_path.stem) or (videos is not None and video_path.stem not in videos):
                continue
            masks_dir = data / "videos" / f"{video_path.stem}_masks"
            scores.append(self.video(video_path, masks_dir if masks_dir.is_dir() else None))
        return scores


def _fmt(value: float, digits: int = 3) -> str:
    return "-" if np.isnan(value) else f"{value:.{digits}f}"


def summarise(scores: list[Score]) -> dict[str, float]:
    """Overall numbers: means over images with people, over empty images, and over videos."""
    people = [s for s in scores if s.kind == "image" and s.has_person]
    empty = [s for s in scores if s.kind == "image" and not s.has_person]
    videos = [s for s in scores if s.kind == "video"]

    def mean(values: list[float]) -> float:
        values = [v for v in values if not np.isnan(v)]
        return float(np.mean(values)) if values else float("nan")

    return {
        "image_iou": mean([s.iou for s in people]),
        "image_bf": mean([s.bf for s in people]),
        "image_leak": mean([s.leak for s in people]),
        "false_person": mean([s.false_person for s in empty]),
        "video_iou": mean([s.iou for s in videos]),
        "video_bf": mean([s.bf for s in videos]),
        "video_leak": mean([s.leak for s in videos if s.has_person]),
        "flicker": mean([s.flicker for s in videos]),
        "ms_inference": mean([s.ms_inference for s in scores]),
        "ms_matte": mean([s.ms_matte for s in scores]),
    }


def format_table(scores: list[Score], summary: dict[str, float]) -> str:
    """The per-item table and the overall lines, as printed."""
    header = (
        f"{'item':<42} {'kind':<5} {'frames':>6} {'IoU':>6} {'BF':>6} {'false':>6} {'leak':>6} "
        f"{'flicker':>8} {'ms inf':>7} {'ms matte':>8}"
    )
    lines = [header, "-" * len(header)]
    for s in scores:
        lines.append(
            f"{s.name[:42]:<42} {s.kind:<5} {s.frames:>6} {_fmt(s.iou):>6} {_fmt(s.bf):>6} {_fmt(s.false_person):>6} "
            f"{_fmt(s.leak):>6} {_fmt(s.flicker, 4):>8} {s.ms_inference:>7.1f} {s.ms_matte:>8.2f}"
        )
    lines.append("-" * len(header))
    su = summary
    lines.append(
        f"images with people: mean IoU {_fmt(su['image_iou'])}  mean BF {_fmt(su['image_bf'])}  "
        f"mean leak {_fmt(su['image_leak'])}"
    )
    lines.append(f"images without people: mean false-person fraction {_fmt(su['false_person'])}")
    lines.append(
        f"videos: mean IoU {_fmt(su['video_iou'])}  mean BF {_fmt(su['video_bf'])}  "
        f"mean leak {_fmt(su['video_leak'])}  mean flicker {_fmt(su['flicker'], 4)}"
    )
    lines.append(f"ms per frame (mean of items): inference {su['ms_inference']:.1f}  matte {su['ms_matte']:.2f}")
    return "\n".join(lines)


def kind_summary(scores: list[Score]) -> dict[str, dict[str, float]]:
    """Per kind of picture (one person, several people, nobody): items, mean IoU, mean false-person fraction,
    mean ms per frame (inference + matte)."""
    result = {}
    for group in ("one person", "several people", "nobody"):
        items = [s for s in scores if s.group == group]
        if items:
            result[group] = {
                "items": len(items),
                "iou": float(np.nanmean([s.iou for s in items])) if group != "nobody" else float("nan"),
                "false_person": float(np.nanmean([s.false_person for s in items]))
                if group == "nobody"
                else float("nan"),
                "ms": float(np.mean([s.ms_inference + s.ms_matte for s in items])),
            }
    return result


def format_comparison(runs: dict[str, list[Score]]) -> str:
    """Several configurations side by side: per picture and clip (IoU, or false person where nobody is there),
    then per kind, with the cost per frame of each configuration."""
    names = list(runs)
    first = runs[names[0]]
    header = f"{'item':<42} {'kind':<14}" + "".join(f" {n[:16]:>16}" for n in names)
    lines = ["per item: IoU (false person where nobody is there)", header, "-" * len(header)]
    for i, s in enumerate(first):
        cells = []
        for n in names:
            other = runs[n][i]
            value = other.false_person if not other.has_person else other.iou
            mark = "" if other.has_person else " f"
            cells.append(f" {_fmt(value) + mark:>16}" if not np.isnan(value) else f" {'-':>16}")
        lines.append(f"{s.name[:42]:<42} {s.group:<14}" + "".join(cells))
    lines += ["", "per kind: mean IoU / false person; ms per frame (inference + matte)"]
    header = f"{'kind':<16} {'items':>5}" + "".join(f" {n[:22]:>22}" for n in names)
    lines += [header, "-" * len(header)]
    summaries = {n: kind_summary(runs[n]) for n in names}
    for group in ("one person", "several people", "nobody"):
        if group not in summaries[names[0]]:
            continue
        cells = []
        for n in names:
            k = summaries[n][group]
            value = k["false_person"] if group == "nobody" else k["iou"]
            ms = k["ms"]
            label = ("false " if group == "nobody" else "IoU ") + _fmt(value) + f" {ms:.0f}ms"
            cells.append(f" {label:>22}")
        lines.append(f"{group:<16} {summaries[names[0]][group]['items']:>5}" + "".join(cells))
    for i, s in enumerate(first):
        if s.kind != "video":
            continue
        cells = []
        for n in names:
            v = runs[n][i]
            value = f"IoU {_fmt(v.iou)}" if not np.isnan(v.iou) else f"false {_fmt(v.false_person)}"
            if np.isnan(v.iou) and np.isnan(v.false_person):
                value = f"flick {_fmt(v.flicker, 4)}"
            cells.append(f" {value + f' {v.ms_inference + v.ms_matte:.0f}ms':>22}")
        lines.append(f"{'clip ' + s.name[:11]:<16} {s.frames:>5}" + "".join(cells))
    return "\n".join(lines)


def format_price(scores: list[Score], off: list[Score]) -> str:
    """The price of presence next to its gain, per kind: mean IoU with the presence check and with ``--presence
    off`` on items with people (the loss: what the check blurred of real people), false person on items without."""
    lines = ["price of presence: against --presence off, per kind", f"{'kind':<16} {'items':>5} "
             f"{'IoU':>6} {'IoU off':>7} {'loss':>6} {'false':>6} {'false off':>9}"]  # fmt: skip
    lines.append("-" * len(lines[1]))
    mine, theirs = kind_summary(scores), kind_summary(off)
    for group in ("one person", "several people", "nobody"):
        if group in mine:
            a, b = mine[group], theirs[group]
            loss = b["iou"] - a["iou"]
            lines.append(
                f"{group:<16} {a['items']:>5} {_fmt(a['iou']):>6} {_fmt(b['iou']):>7} {_fmt(loss):>6} "
                f"{_fmt(a['false_person']):>6} {_fmt(b['false_person']):>9}"
            )
    people = [(s, o) for s, o in zip(scores, off, strict=True) if s.kind == "image" and s.has_person]
    if people:
        a, b = np.mean([s.iou for s, _ in people]), np.mean([o.iou for _, o in people])
        lines.append(f"{'photos, people':<16} {len(people):>5} {_fmt(a):>6} {_fmt(b):>7} {_fmt(b - a):>6}")
    for s, o in zip(scores, off, strict=True):
        if s.kind == "video" and not (np.isnan(s.iou) and np.isnan(s.false_person)):
            loss = _fmt(o.iou - s.iou) if s.has_person else "-"
            lines.append(
                f"{'clip ' + s.name[:11]:<16} {s.frames:>5} {_fmt(s.iou):>6} {_fmt(o.iou):>7} {loss:>6} "
                f"{_fmt(s.false_person):>6} {_fmt(o.false_person):>9}"
            )
    return "\n".join(lines)


def price_of_presence(bgblur_args: Options, scores: list[Score], data: Path, only: str | None) -> str:
    """Runs the same configuration with ``--presence off`` and formats the price table (:func:`format_price`)."""
    off = bgblur_args.replace(presence="off")
    return format_price(scores, Evaluator(off, None).run(data, only))


# ---------------------------------------------------------------------------------------------- edge colour (spill)
SPILL_BACKGROUNDS = ((0, 255, 0), (255, 0, 255))  # BGR of #00ff00 and #ff00ff: every channel differs by 255
SPILL_RADIUS = 6  # px: the neighbourhood an edge pixel's sure-person and sure-room colours are taken from
SPILL_CONTRAST = 40.0  # only where those two colours differ by this much (RGB distance): elsewhere no rim shows


@dataclass
class EdgeScore:
    """Edge colour of one picture, by whether the person's own colours were used (True) or the camera's (False)."""

    name: str
    iou: float
    band: dict[bool, int] = field(default_factory=dict)  # pixels with 0.1 < alpha < 0.9
    spill: dict[bool, float] = field(default_factory=dict)


def solve_composites(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Alpha (0..1) and foreground colour (0..255, float) an effect used, from its composites of one picture on the
    two :data:`SPILL_BACKGROUNDS`: ``O1 - O2 = (1 - a) (B1 - B2)``, then ``a F = O1 - (1 - a) B1``."""
    b1, b2 = (np.array(b, np.float32) for b in SPILL_BACKGROUNDS)
    room = ((first.astype(np.float32) - second) / (b1 - b2)).mean(axis=2)  # 1 - alpha
    alpha = np.clip(1 - room, 0, 1)
    colour = (first - room[..., None] * b1) / np.maximum(alpha, 1e-3)[..., None]
    return alpha, colour


def _local_mean(image: np.ndarray, where: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean colour of ``image`` over the pixels ``where`` within :data:`SPILL_RADIUS`, and how many there are."""
    size = (2 * SPILL_RADIUS + 1, 2 * SPILL_RADIUS + 1)
    count = cv2.boxFilter(where.astype(np.float32), -1, size, normalize=False)
    total = cv2.boxFilter(image.astype(np.float32) * where[..., None], -1, size, normalize=False)
    return total / np.maximum(count, 1e-6)[..., None], count


def edge_spill(image: np.ndarray, matte: np.ndarray, own_colours: bool) -> tuple[float, int]:
    """Spill of bgblur's replace effect at the soft edge of ``matte`` in ``image``, and the edge's size: the picture
    composited on the two :data:`SPILL_BACKGROUNDS` by :class:`~bgblur.effects.replace.ReplaceBackground`, measured by
    :func:`spill_of_composites`."""
    first, second = (
        ReplaceBackground(ColourBackground(b), own_colours=own_colours)(image, matte) for b in SPILL_BACKGROUNDS
    )
    return spill_of_composites(image, first, second)


def spill_of_composites(image: np.ndarray, first: np.ndarray, second: np.ndarray) -> tuple[float, int]:
    """Spill of a person cut out of ``image`` and composited on the two :data:`SPILL_BACKGROUNDS` (``first``,
    ``second``), and the size of its soft edge.

    Alpha and colour are solved back (:func:`solve_composites`), and in the edge band (0.1 < alpha < 0.9) each pixel's
    colour F is compared with the sure-person colour P and the sure-room colour B nearby (means of the picture over
    alpha > 0.95 and < 0.05): ``d(F, P) / (d(F, P) + d(F, B))``, averaged where P and B differ clearly — 0 where the
    edge wears the person's colour, 1 the old room's.
    """
    alpha, colour = solve_composites(first, second)
    band = (alpha > 0.1) & (alpha < 0.9)
    person, near_person = _local_mean(image, alpha > 0.95)
    room, near_room = _local_mean(image, alpha < 0.05)
    used = band & (near_person > 0) & (near_room > 0) & (np.linalg.norm(person - room, axis=2) > SPILL_CONTRAST)
    if not used.any():
        return float("nan"), int(band.sum())
    to_person = np.linalg.norm(colour - person, axis=2)[used]
    to_room = np.linalg.norm(colour - room, axis=2)[used]
    return float(np.mean(to_person / np.maximum(to_person + to_room, 1e-6))), int(band.sum())


def frame_count(video_path: Path) -> int:
    """How many frames the clip says it has."""
    capture = cv2.VideoCapture(str(video_path))
    try:
        return int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        capture.release()


def spill_pictures(evaluator: Evaluator, data: Path, scores: list[Score], only: str | None = None) -> list[EdgeScore]:
    """:func:`edge_spill` with and without the person's own colours on the photos with people among ``scores``, the
    talking-head clip's middle frame (72 of 144) and the portraits (``data/portraits/*.png``; names with ``only``)."""
    pictures: list[tuple[str, float, np.ndarray, np.ndarray]] = []
    for score in scores:
        if score.kind == "image" and score.has_person:
            image = cv2.imread(str(data / "images" / f"{score.name}.jpg"), cv2.IMREAD_COLOR)
            pictures.append((score.name, score.iou, image, evaluator.picture_matte(image)))
    clip = data / "videos" / "talking_head_bookshelf.mp4"
    if clip.is_file() and (not only or only in clip.stem):
        middle = frame_count(clip) // 2
        pictures.append((f"{clip.stem} f{middle}", float("nan"), *evaluator.clip_matte(clip, middle)))
    for path in sorted((data / "portraits").glob("*.png")):
        if only and only not in path.stem:
            continue
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        pictures.append((path.stem, float("nan"), image, evaluator.picture_matte(image)))
    rows = []
    for name, iou, image, matte in pictures:
        row = EdgeScore(name, iou)
        for own in (False, True):
            row.spill[own], row.band[own] = edge_spill(image, matte, own)
        rows.append(row)
    return rows


def format_spill(rows: list[EdgeScore]) -> str:
    """The edge-colour table: per picture IoU, edge band and spill with the camera's colours and the person's own."""
    header = (
        f"{'picture':<42} {'IoU':>6} {'band camera':>11} {'band own':>9} {'spill camera':>12} {'spill own':>9} "
        f"{'own/camera':>10}"
    )
    lines = ["edge colour: spill 0 = the person's colour at the edge, 1 = the old room's", header, "-" * len(header)]
    for r in rows:
        ratio = r.spill[True] / r.spill[False] if r.spill[False] > 0 else float("nan")
        lines.append(
            f"{r.name[:42]:<42} {_fmt(r.iou):>6} {r.band[False]:>11} {r.band[True]:>9} {_fmt(r.spill[False]):>12} "
            f"{_fmt(r.spill[True]):>9} {_fmt(ratio, 2):>10}"
        )
    lines.append("-" * len(header))
    for own, label in ((False, "camera"), (True, "own")):
        values = [r.spill[own] for r in rows if not np.isnan(r.spill[own])]
        if values:
            lines.append(f"spill {label}: mean {np.mean(values):.3f}, range {min(values):.3f}-{max(values):.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Score a bgblur configuration against ground-truth masks.",
        epilog="Other options (--model, --mask-rcnn, --threshold, --people, --kernel, ...) are bgblur's own.",
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"data folder ({DEFAULT_DATA})")
    parser.add_argument("--out", type=Path, help="write side-by-side pictures (input | matte | output) here")
    parser.add_argument("--only", help="only items whose name contains this")
    parser.add_argument("--tolerance", type=int, default=3, help="boundary tolerance in px (3)")
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also run every other --people mode and print the per-item and per-kind comparison",
    )
    parser.add_argument(
        "--price",
        action="store_true",
        help="also run with --presence off and print, per kind, the IoU presence costs next to the false person it "
        "removes (with --compare too)",
    )
    args, rest = parser.parse_known_args(argv)
    bgblur_args = parse_options(rest)
    if not (args.data / "images").is_dir() and not (args.data / "videos").is_dir():
        parser.error(f"{args.data} has neither images/ nor videos/")
    runs: dict[str, list[Score]] = {}
    first = bgblur_args.people or "all"  # files: everyone by default (bgblur.build.people_mode)
    modes = [first] + ([m for m in PEOPLE_CHOICES if m != first] if args.compare else [])
    for mode in modes:
        evaluator = Evaluator(bgblur_args.replace(people=mode), args.out if mode == modes[0] else None, args.tolerance)
        scores = evaluator.run(args.data, args.only)
        runs[f"people {mode}"] = scores
        print(f"== --people {mode}")
        print(format_table(scores, summarise(scores)))
        print()
        if mode == modes[0]:
            print(format_spill(spill_pictures(evaluator, args.data, scores, args.only)))
            print()
        if (args.price or args.compare) and bgblur_args.presence != "off":
            print(price_of_presence(bgblur_args, scores, args.data, args.only))
            print()
    if len(runs) > 1:
        print(format_comparison(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
