"""The run's options as one typed, frozen object, built once from the command line (and the defaults file) and
checked there; ``build.py``, the loops and folder-run workers (pickled) read it, and each stage's constructor gets
only its own values from ``build.py``. No stage sees argparse.

Where an option goes: ``--people`` → :attr:`Options.people` → ``build.people_mode`` → ``MatteMaker(people=…)``
(and Mask R-CNN's ``people``); ``--kernel``/``--blur`` → :attr:`Options.kernel` (one number, resolved here) →
``Controls.kernel`` → ``BlurBackground``; ``--threshold`` → :attr:`Options.threshold` → ``MatteMaker(threshold)``
(the card's own value when not given).
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from pathlib import Path

from bgblur.errors import UsageError, info

# --blur presets, as Gaussian kernel sizes (odd); medium is the tutorials' 41.
BLUR_PRESETS = {"light": 21, "medium": 41, "strong": 81}
DEFAULT_KERNEL = BLUR_PRESETS["medium"]
# Command-line options that are not part of a run: they act and exit, or are folded into another field (--blur).
NOT_RUN_OPTIONS = frozenset({"doctor", "no_config", "download", "blur"})


@dataclass(frozen=True)
class Options:
    """Every option of a run, by the stage that uses it (the command line's names with ``_`` for ``-``)."""

    # input and output
    source: str = "0"
    output: Path | None = None
    matte: Path | None = None
    overwrite: bool = False
    no_window: bool = False
    virtual_camera: str | None = None  # "" = the first loopback device found
    quiet: bool = False
    stats: bool = False
    # model
    mask_rcnn: Path | None = None
    model: str | None = None
    confidence: float = 0.5
    threshold: float | None = None  # None: the model's own (its card's, Mask R-CNN's 0.3)
    people: str | None = None  # None: main for a camera or stream, all for files (build.people_mode)
    detections: int = 20
    input_width: int = 600
    tiles: bool | None = None  # None: on for still pictures
    person_crops: bool | None = None  # None: on for pictures and files, off live
    # matte
    refine: bool = True
    smooth: bool = True
    presence: str | None = None  # None: people (off for Mask R-CNN)
    pose_model: Path | None = None
    # effect
    kernel: int = DEFAULT_KERNEL  # --kernel, or --blur's preset
    background: str | None = None
    light_wrap: float = 0.0
    auto_frame: bool = False  # start framed (key z toggles it live)
    auto_frame_zoom: float = 2.0
    # views
    visualize: bool = False
    show_mask: bool = False
    show_fps: bool = False
    start_frame: int = 0
    end_frame: int | None = None
    # camera and stream
    size: tuple[int, int] | None = None
    fps: float | None = None
    open_timeout: float = 10.0
    read_timeout: float = 3.0
    sync: bool = False
    max_cpu: float | None = None
    reconnect: float = 10.0
    # folders
    recursive: bool = False
    jobs: int | None = None
    ray: str | None = None  # "" = a local runtime or $RAY_ADDRESS
    report: Path | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Options:
        """The options the parsed command line gives, checked (raises UsageError). The output paths are checked
        separately, by :func:`with_checked_outputs`, when the run is known to be a single file."""
        values = vars(args)
        check_combinations(args)
        kernel = values.get("kernel") or BLUR_PRESETS.get(values.get("blur") or "", DEFAULT_KERNEL)
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - fields - NOT_RUN_OPTIONS
        if unknown:  # an option the command line parses but no part would ever read
            raise TypeError(f"options without a field in Options: {sorted(unknown)}")
        return cls(**{k: v for k, v in values.items() if k in fields} | {"kernel": kernel})

    @property
    def is_folder_run(self) -> bool:
        """A folder as the source with an output: the folder path. (A folder alone is refused by open_source.)"""
        return Path(self.source).is_dir() and self.output is not None

    @property
    def paced(self) -> bool:
        """Does a video file play at its own rate? Yes when it is only watched in the window, as in a player; with
        an output of any kind it runs as fast as it can, the window being a preview."""
        return not self.no_window and self.output is None and self.matte is None and self.virtual_camera is None

    def replace(self, **changes: object) -> Options:
        return dataclasses.replace(self, **changes)


def check_combinations(args: argparse.Namespace) -> None:
    """Refuse option combinations that cannot work, before any slow work (raises UsageError)."""
    if args.no_window and args.output is None and args.matte is None and args.virtual_camera is None:
        raise UsageError("--no-window needs --output, --matte or --virtual-camera, or there is nothing to see")
    if args.mask_rcnn is not None and args.model is not None:
        raise UsageError("--model and --mask-rcnn exclude each other: pick one")
    if args.kernel is not None and args.blur is not None:
        raise UsageError(
            f"--kernel and --blur both set the blur size: pick one (--blur {args.blur} is --kernel "
            f"{BLUR_PRESETS[args.blur]})"
        )
    if args.pose_model is not None and args.presence != "face-or-pose":
        raise UsageError("--pose-model is used by --presence face-or-pose only: add it, or drop --pose-model")
    if args.max_cpu is not None and args.sync:
        raise UsageError("--max-cpu skips the model on some frames, --sync waits for each frame's own matte: pick one")
    if args.end_frame is not None and args.end_frame < args.start_frame:
        raise UsageError(f"--end-frame {args.end_frame} is before --start-frame {args.start_frame}")
    if args.visualize and (args.background or args.light_wrap or args.auto_frame):
        raise UsageError(
            "--visualize shows the model's view on the whole unblurred frame: "
            "drop --background/--light-wrap/--auto-frame"
        )
    if args.no_window and (args.show_mask or args.show_fps) and not args.quiet:
        info("--show-mask and --show-fps draw in the window only; output files keep the input's size, no overlay")


def with_checked_outputs(options: Options) -> Options:
    """A single-file run's options with ``--output FOLDER``/``--matte FOLDER`` made file names in that folder, once
    every output is known not to lose the user's data (an existing file without --overwrite, the input itself)."""
    from bgblur.sinks.files import check_output_path

    output, matte = options.output, options.matte
    if output is not None and output.is_dir():
        output = output_in_folder(output, options.source, "bgblur")
    if matte is not None and matte.is_dir():
        matte = output_in_folder(matte, options.source, "matte")
    inputs = [Path(options.source)] if not options.source.isdigit() else []
    for path, kind in ((output, "output"), (matte, "matte")):
        if path is not None:
            check_output_path(path, kind, options.overwrite, inputs)
    if output is not None and matte is not None and output.resolve() == matte.resolve():
        raise UsageError("--output and --matte name the same file")
    return options.replace(output=output, matte=matte)


def refuse_folder_options(options: Options) -> None:
    """The folder options on a single-file run: say what they need."""
    given = [
        name
        for name, on in (
            ("--recursive", options.recursive),
            ("--jobs", options.jobs is not None),
            ("--ray", options.ray is not None),
            ("--report", options.report is not None),
        )
        if on
    ]
    if given:
        raise UsageError(f"{', '.join(given)}: for a folder as --source with --output FOLDER")


def output_in_folder(folder: Path, source: str, tag: str) -> Path:
    """``--output FOLDER``: the input's name with ``-TAG`` added, in FOLDER (``talk.mp4`` → ``FOLDER/talk-bgblur.mp4``);
    a camera or stream gets ``camera-TAG.mp4`` / ``stream-TAG.mp4``. The input itself is never the answer."""
    from bgblur.imaging import WRITABLE_IMAGE_SUFFIXES
    from bgblur.sinks.files import VIDEO_CODECS
    from bgblur.sources import is_stream_url

    if source.isdigit() or is_stream_url(source):
        return folder / f"{'camera' if source.isdigit() else 'stream'}-{tag}.mp4"
    path = Path(source)
    suffix = path.suffix.lower()
    if suffix not in WRITABLE_IMAGE_SUFFIXES and suffix not in VIDEO_CODECS:
        # Keep the kind of file: pictures OpenCV reads but cannot write as such become PNG, other videos MP4.
        import cv2

        suffix = ".png" if cv2.haveImageReader(str(path)) else ".mp4"
    return folder / f"{path.stem}-{tag}{suffix}"
