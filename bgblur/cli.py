"""Command line: parse and check the options, build the pipeline, run it, and turn failures into one line.

No image maths here. Heavy imports (OpenCV, the models) happen after parsing, so ``--help`` and ``--version``
are instant and a usage error never waits for a model to load.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from bgblur import __version__
from bgblur.argtypes import fraction, frame_index, kernel_size, positive, size, zoom
from bgblur.batch import add_arguments as add_folder_arguments
from bgblur.errors import BgblurError, info
from bgblur.frames import PEOPLE_CHOICES, PRESENCE_CHOICES, Controls
from bgblur.models import MASK_RCNN_DIR
from bgblur.options import BLUR_PRESETS, Options, refuse_folder_options, with_checked_outputs

EPILOG = """\
keys in the window: p privacy (blur) on/off, m mirror, h help, q or Esc quit (closing the window quits too);
b blur <-> replaced background, a/d previous/next background, [/] weaker/stronger blur, v mask view, f fps,
z auto-frame on/off.
exit status: 0 done, 1 error, 2 bad command line, 130 interrupted by Ctrl-C (SIGTERM stops cleanly with 0).
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, like every other bgblur error
        self.exit(2, f"bgblur: error: {message} (see bgblur --help)\n")


LIGHT_WRAP_DEFAULT = 0.3  # --light-wrap without a value


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="bgblur",
        description="Keep the person sharp and blur the room: webcam, video, image or stream in; window or file out.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"bgblur {__version__}")
    p.add_argument("--doctor", action="store_true", help="check this machine for a plain bgblur, with fixes; then exit")
    p.add_argument("--no-config", action="store_true", help="ignore the defaults file (see README)")
    p.add_argument(
        "--download",
        choices=("mask-rcnn", "pose", "all"),
        metavar="NAME",
        help="fetch a model that is not bundled (mask-rcnn, pose or all) into your data folder, checked against "
        "its pinned hash; then exit",
    )
    _input_output_options(p)
    _model_options(p)
    _matte_options(p)
    _effect_options(p)
    _view_options(p)
    _camera_options(p)
    add_folder_arguments(p)
    return p


def _input_output_options(p: argparse.ArgumentParser) -> None:
    io = p.add_argument_group("input and output")
    io.add_argument("-s", "--source", default="0", help="camera index, video file, image file or stream URL (0)")
    io.add_argument(
        "-o", "--output", type=Path, help="write the result: a video (.mp4, .avi) or, for an image, a picture"
    )
    io.add_argument("--matte", type=Path, help="also write the alpha matte, 8-bit, 255 = person (picture or video)")
    io.add_argument("--overwrite", action="store_true", help="replace an existing --output/--matte file")
    io.add_argument("--no-window", action="store_true", help="no window (files, headless machines)")
    io.add_argument(
        "--virtual-camera",
        nargs="?",
        const="",
        metavar="DEVICE",
        help="also send to a virtual camera for Zoom/Meet/Teams (optionally its device, e.g. /dev/video10)",
    )
    io.add_argument("-q", "--quiet", action="store_true", help="no progress bar or notes")
    io.add_argument("--stats", action="store_true", help="print per-stage timings at exit")


def _model_options(p: argparse.ArgumentParser) -> None:
    model = p.add_argument_group("model")
    model.add_argument(
        "--mask-rcnn",
        metavar="DIR",
        type=Path,
        nargs="?",
        const=MASK_RCNN_DIR,
        help="use Mask R-CNN from DIR (none: the copy bgblur --download mask-rcnn fetched; see README)",
    )
    model.add_argument(
        "--model", help="bundled model name (selfie, selfie-landscape) or a model file with a .json card beside it"
    )
    model.add_argument("-c", "--confidence", type=fraction, default=0.5, help="Mask R-CNN: min detection score (0.5)")
    model.add_argument(
        "-t", "--threshold", type=fraction, help="person probability where the matte crosses over (Mask R-CNN 0.3)"
    )
    model.add_argument(
        "--people",
        choices=PEOPLE_CHOICES,
        help="main: one person, whole (Mask R-CNN: top score; other models: the biggest person the detectors find, "
        "with every region that is theirs); all: everyone (main for a camera or stream, all for files)",
    )
    model.add_argument(
        "--detections", type=positive(int), default=20, help="Mask R-CNN: detections kept; drives its cost (20)"
    )
    model.add_argument("--input-width", type=positive(int), default=600, help="Mask R-CNN: input width in px (600)")
    switch = {"action": argparse.BooleanOptionalAction, "default": None}  # None: the default for the source
    model.add_argument(
        "--tiles",
        **switch,
        help="one-pass models: also look at overlapping tiles of a wide frame, person only where both views agree; "
        "finds small, far people, ~4x the model's time at 16:9 (on for still pictures, off for video and live)",
    )
    model.add_argument(
        "--person-crops",
        **switch,
        help="one-pass models: look again at a square around each person found, ~1 model pass per person "
        "(on for pictures and video files, off for live; see README)",
    )


def _matte_options(p: argparse.ArgumentParser) -> None:
    matte = p.add_argument_group("matte")
    on = {"action": argparse.BooleanOptionalAction, "default": True}
    matte.add_argument("--refine", **on, help="snap the matte's edges to the frame's edges (guided filter) (on)")
    matte.add_argument("--smooth", **on, help="video/live: steady the matte over time where the model wavers (on)")
    matte.add_argument(
        "--presence",
        choices=PRESENCE_CHOICES,
        help="keep only regions with evidence of a person: people = MediaPipe's person and face detectors; face, "
        "face-or-body, face-or-pose: see README (people for one-pass models, off for Mask R-CNN)",
    )
    pose_help = "--presence face-or-pose: MediaPipe's pose_landmark_full.tflite (bgblur --download pose fetches it)"
    matte.add_argument("--pose-model", metavar="FILE", type=Path, help=pose_help)


def _effect_options(p: argparse.ArgumentParser) -> None:
    effect = p.add_argument_group("effect")
    effect.add_argument("-k", "--kernel", type=kernel_size, help="Gaussian blur size, odd (41)")
    effect.add_argument(
        "--blur",
        choices=tuple(BLUR_PRESETS),
        help="blur strength preset: " + ", ".join(f"{k} = --kernel {v}" for k, v in BLUR_PRESETS.items()),
    )
    effect.add_argument(
        "--background",
        metavar="IMAGE|VIDEO|FOLDER|COLOUR",
        help="replace the background: a picture, a video (looped), a folder of pictures (a/d cycle) or a colour "
        "(green, #00ff00, 0,255,0 as R,G,B)",
    )
    effect.add_argument(
        "--light-wrap",
        type=fraction,
        nargs="?",
        const=LIGHT_WRAP_DEFAULT,
        default=0.0,
        metavar="STRENGTH",
        help=f"replaced backgrounds: their light on the person's edge, 0..1 ({LIGHT_WRAP_DEFAULT:g} if no value)",
    )
    effect.add_argument(
        "--auto-frame",
        action="store_true",
        help="keep the person's head and shoulders centred: the output is a smoothly moving crop of the picture, "
        "zoomed back to full size, never past its edge; nobody found: the whole picture (key z)",
    )
    effect.add_argument(
        "--auto-frame-zoom",
        type=zoom,
        default=2.0,
        metavar="X",
        help="--auto-frame: zoom in at most this much, 1..8 (2)",
    )


def _view_options(p: argparse.ArgumentParser) -> None:
    view = p.add_argument_group("views")
    view.add_argument(
        "--visualize", action="store_true", help="draw what the model found (Mask R-CNN: every detection) instead"
    )
    view.add_argument("--show-mask", action="store_true", help="window: the matte beside the output (key v)")
    view.add_argument("--show-fps", action="store_true", help="window: rolling frames/s (key f)")
    view.add_argument("--start-frame", type=frame_index, default=0, help="video: first frame processed (0)")
    view.add_argument(
        "--end-frame", type=frame_index, help="video: last frame processed, included; others are copied unchanged"
    )


def _camera_options(p: argparse.ArgumentParser) -> None:
    live = p.add_argument_group("camera and stream")
    live.add_argument("--size", type=size, help="ask the camera for WIDTHxHEIGHT")
    live.add_argument("--fps", type=positive(float), help="ask the camera for this frame rate")
    live.add_argument("--open-timeout", type=positive(float), default=10.0, help="seconds to wait for a stream (10)")
    live.add_argument("--read-timeout", type=positive(float), default=3.0, help="seconds without a frame (3)")
    live.add_argument(
        "--sync",
        action="store_true",
        help="show each frame with its own matte: exact edges, one inference of delay (default: newest matte, "
        "moved along the motion)",
    )
    live.add_argument(
        "--max-cpu",
        type=positive(float),
        metavar="CORES",
        help="keep bgblur's CPU use under this many cores on average (e.g. 0.5) by running the model on fewer frames, "
        "the newest matte shown in between (see README)",
    )
    live.add_argument("--reconnect", type=positive(float), default=10.0, help="seconds to retry a lost stream (10)")


@dataclass
class _Interrupt:
    """What stopped the run from outside: SIGINT gives exit 130, SIGTERM a clean 0."""

    signal: int | None = None


def parse_options(argv: list[str]) -> Options:
    """The checked options for these command-line words, without the defaults file (for scripts and tests)."""
    return Options.from_args(build_parser().parse_args(argv))


def run(options: Options) -> int:
    """Build the parts for the checked options, run them; returns the exit status. Raises BgblurError for anything
    the user can fix."""
    from bgblur.session import run_source
    from bgblur.sinks.window import WindowSink
    from bgblur.sources import open_source
    from bgblur.threads import stop_signals

    if options.is_folder_run:  # a library: every file of the folder, each as one file would be, never a window
        from bgblur.batch import run_batch

        return run_batch(options.replace(no_window=True))
    refuse_folder_options(options)
    options = with_checked_outputs(options)
    # Open the window first: with no display this fails at once, before any slow work.
    window = None if options.no_window else WindowSink()
    controls = Controls()
    interrupt = _Interrupt()

    def stop(signum: int) -> None:
        interrupt.signal = signum
        controls.stop = True

    try:
        with (
            stop_signals(stop),
            open_source(
                options.source,
                open_timeout=options.open_timeout,
                read_timeout=options.read_timeout,
                reconnect_for=options.reconnect,
                size=options.size,
                fps=options.fps,
            ) as source,
        ):
            if source.is_live and not options.quiet:
                info(f"{source.description}: {source.size[0]}x{source.size[1]} at {source.fps:g} fps")
            run_source(options, source, controls, window, progress=not options.quiet, stats=options.stats)
    finally:
        if window is not None:
            window.close()
    return 130 if interrupt.signal == signal.SIGINT else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``bgblur`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.doctor:  # the report, and nothing else
            from bgblur.doctor import run_checks

            return run_checks(parser, use_config=not args.no_config)
        if args.download:  # fetch, and nothing else
            from bgblur.download import download

            return download(args.download, quiet=args.quiet)
        from bgblur.config import load_into  # the defaults file, under the command line

        return run(Options.from_args(load_into(parser, sys.argv[1:] if argv is None else argv, args)))
    except BgblurError as exc:
        print(f"bgblur: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: still one line, the traceback only on request
        if os.environ.get("BGBLUR_DEBUG"):
            raise
        print(
            f"bgblur: error: unexpected {type(exc).__name__}: {exc} (set BGBLUR_DEBUG=1 for details)", file=sys.stderr
        )
        return 1
