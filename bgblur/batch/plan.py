"""What a folder run has to do: every video and picture under IN_DIR, its output under OUT_DIR, and which of them
are already complete.

An output is complete when it exists: file sinks write a hidden partial file and publish it only on close, and a
folder run publishes a file only once its task succeeded (:mod:`bgblur.batch.task`), so a run killed halfway leaves
finished files and hidden leftovers, never a half-written file under the output's name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from bgblur.imaging import READABLE_IMAGE_SUFFIXES
from bgblur.options import output_in_folder

# Containers OpenCV's FFmpeg back end reads; the output keeps the kind of file (other videos become .mp4).
VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".ts", ".mts", ".m2ts", ".3gp"}
)


@dataclass(frozen=True)
class Item:
    """One file of the library: its source, where its result (and matte, if asked) goes, and its kind."""

    source: Path
    output: Path
    matte: Path | None
    kind: str  # "video" or "picture"

    @property
    def name(self) -> str:
        return str(self.source)

    def complete(self) -> bool:
        return self.output.exists() and (self.matte is None or self.matte.exists())


@dataclass
class Plan:
    todo: list[Item] = field(default_factory=list)
    complete: list[Item] = field(default_factory=list)  # outputs already there (a previous run): not re-made
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # not a video or picture, with the reason


def classify(path: Path) -> str | None:
    """``"video"``, ``"picture"`` or None (not something bgblur reads), from the name only: cheap for a large
    library; a damaged or mislabelled file fails in its own task."""
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return "video"
    if suffix in READABLE_IMAGE_SUFFIXES:
        return "picture"
    return None


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def walk(in_dir: Path, recursive: bool, exclude: tuple[Path, ...] = ()) -> list[Path]:
    """The files of ``in_dir`` (and its subfolders with ``recursive``), sorted, without hidden files and folders and
    without anything under ``exclude`` (an output folder inside the input folder)."""
    found: list[Path] = []
    excluded = tuple(p.resolve() for p in exclude)
    for root, dirs, files in os.walk(in_dir):
        here = Path(root)
        dirs[:] = (
            sorted(d for d in dirs if not d.startswith(".") and (here / d).resolve() not in excluded)
            if recursive
            else []
        )
        found.extend(here / f for f in sorted(files) if not f.startswith("."))
    return sorted(found)


def make_plan(
    in_dir: Path, out_dir: Path, *, recursive: bool = False, overwrite: bool = False, matte_dir: Path | None = None
) -> Plan:
    """Every file under ``in_dir``: to do, already complete, or skipped. Subfolders keep their layout under
    ``out_dir`` (and ``matte_dir``); outputs are named as for ``--output FOLDER`` (``talk.mp4`` →
    ``talk-bgblur.mp4``)."""
    plan = Plan()
    exclude = tuple(d for d in (out_dir, matte_dir) if d is not None and _inside(d.resolve(), in_dir.resolve()))
    for path in walk(in_dir, recursive, exclude):
        kind = classify(path)
        if kind is None:
            plan.skipped.append((path, f"not a video or picture ({path.suffix or 'no extension'})"))
            continue
        relative = path.parent.relative_to(in_dir)
        output = output_in_folder(out_dir / relative, str(path), "bgblur")
        matte = None if matte_dir is None else output_in_folder(matte_dir / relative, str(path), "matte")
        item = Item(path, output, matte, kind)
        (plan.todo if overwrite or not item.complete() else plan.complete).append(item)
    return plan
