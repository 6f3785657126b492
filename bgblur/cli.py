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
from bgblur.errors import BgblurError, UsageError, info

EPILOG = """\
keys in the window: p privacy (blur) on/off, m mirror, h help, q or Esc quit (closing the window quits too).
exit status: 0 done, 1 error, 2 bad command line, 130 interrupted by Ctrl-C (SIGTERM stops cleanly with 0).
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, like every other bgblur error
        self.exit(2, f"bgblur: error: {message} (see bgblur --help)\n")


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is outside 0..1")
    return value


def _kernel(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1 or value > 501:
        raise argparse.ArgumentTypeError(f"{value} is outside 1..501 (41 is the default)")
    if value % 2 == 0:
        raise argparse.ArgumentTypeError(f"{value} is even: a Gaussian kernel needs a centre pixel, try {value + 1}")
    return value


def _positive(kind: type):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text} must be above 0")
        return value

    return parse


def _size(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT, e.g. 1280x720")
    return int(parts[0]), int(parts[1])


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="bgblur",
        description="Keep the person sharp and blur the room: webcam, video, image or stream in; window or file out.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"bgblur {__version__}")
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
    model = p.add_argument_group("model")
    model.add_argument("--mask-rcnn", metavar="DIR", type=Path, help="use Mask R-CNN from DIR (see README)")
    model.add_argument(
        "--model", help="bundled model name (selfie, selfie-landscape) or a model file with a .json card beside it"
    )
    model.add_argument("-c", "--confidence", type=_fraction, default=0.5, help="Mask R-CNN: min detection score (0.5)")
    model.add_argument(
        "-t", "--threshold", type=_fraction, help="person probability where the matte crosses over (Mask R-CNN 0.3)"
    )
    model.add_argument(
        "--people",
        choices=("main", "all"),
        default="main",
        help="keep only the main person (Mask R-CNN: top score; other models: largest region) or all (main)",
    )
    model.add_argument(
        "--detections", type=_positive(int), default=20, help="Mask R-CNN: detections kept; drives its cost (20)"
    )
    model.add_argument("--input-width", type=_positive(int), default=600, help="Mask R-CNN: input width in px (600)")
    matte = p.add_argument_group("matte")
    matte.add_argument(
        "--refine",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="snap the matte's edges to the frame's edges (guided filter) (on)",
    )
    matte.add_argument(
        "--smooth",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="video/live: steady the matte over time where the model wavers (on)",
    )
    matte.add_argument(
        "--presence",
        choices=("off", "face", "face-or-body"),
        default="off",
        help="keep only regions with evidence of a person: a face (bundled face detector, remembered ~3 s), "
        "or also a region reaching the lower frame edge (off; see README for the measured trade)",
    )
    effect = p.add_argument_group("effect")
    effect.add_argument("-k", "--kernel", type=_kernel, default=41, help="Gaussian blur size, odd (41)")
    live = p.add_argument_group("camera and stream")
    live.add_argument("--size", type=_size, help="ask the camera for WIDTHxHEIGHT")
    live.add_argument("--fps", type=_positive(float), help="ask the camera for this frame rate")
    live.add_argument("--open-timeout", type=_positive(float), default=10.0, help="seconds to wait for a stream (10)")
    live.add_argument("--read-timeout", type=_positive(float), default=3.0, help="seconds without a frame (3)")
    live.add_argument("--reconnect", type=_positive(float), default=10.0, help="seconds to retry a lost stream (10)")
    return p


@dataclass
class _Interrupt:
    """What stopped the run from outside: SIGINT gives exit 130, SIGTERM a clean 0."""

    signal: int | None = None


def build_segmenter(args: argparse.Namespace):
    """The segmenter the parsed options ask for (shared with scripts/evaluate.py)."""
    from bgblur.segmenters import create_segmenter

    return create_segmenter(
        args.model,
        args.mask_rcnn,
        confidence=args.confidence,
        people=args.people,
        detections=args.detections,
        input_width=args.input_width,
    )


def build_matte_maker(args: argparse.Namespace, segmenter):
    """The matte step for the parsed options and this segmenter (shared with scripts/evaluate.py)."""
    from bgblur.matte import MatteMaker

    threshold = args.threshold if args.threshold is not None else segmenter.default_threshold
    presence = None
    if args.presence != "off":
        from bgblur.presence import PresenceCheck

        presence = PresenceCheck(args.presence)
    return MatteMaker(threshold, refine=args.refine, temporal=args.smooth, people=args.people, presence=presence)


def build_effect(args: argparse.Namespace):
    """The privacy effect for the parsed options (shared with scripts/evaluate.py)."""
    from bgblur.effects import BlurBackground

    return BlurBackground(args.kernel)


def run(args: argparse.Namespace) -> int:
    """Build and run the pipeline for parsed options. Raises BgblurError for anything the user can fix."""
    from bgblur.pipeline import Controls, Pipeline
    from bgblur.sinks import (
        ImageFileSink,
        SinkGroup,
        VideoFileSink,
        VirtualCameraSink,
        WindowSink,
        check_output_path,
    )
    from bgblur.sources import open_source

    if args.no_window and args.output is None and args.matte is None and args.virtual_camera is None:
        raise UsageError("--no-window needs --output, --matte or --virtual-camera, or there is nothing to see")
    if args.mask_rcnn is not None and args.model is not None:
        raise UsageError("--model and --mask-rcnn exclude each other: pick one")
    inputs = [Path(args.source)] if not args.source.isdigit() else []
    for path, kind in ((args.output, "output"), (args.matte, "matte")):
        if path is not None:
            check_output_path(path, kind, args.overwrite, inputs)
    if args.output is not None and args.matte is not None and args.output.resolve() == args.matte.resolve():
        raise UsageError("--output and --matte name the same file")
    # Open the window first: with no display this fails at once, before any slow work.
    window = None if args.no_window else WindowSink()

    controls = Controls()
    interrupt = _Interrupt()

    def stop(signum: int, _frame: object) -> None:
        interrupt.signal = signum
        controls.stop = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    sinks = []
    try:
        with open_source(
            args.source,
            open_timeout=args.open_timeout,
            read_timeout=args.read_timeout,
            reconnect_for=args.reconnect,
            size=args.size,
            fps=args.fps,
        ) as source:
            if source.is_live and not args.quiet:
                info(f"{source.description}: {source.size[0]}x{source.size[1]} at {source.fps:g} fps")
            segmenter = build_segmenter(args)
            still = source.frame_count == 1 and not source.is_live
            outputs = []
            if args.output is not None:
                outputs.append(
                    ImageFileSink(args.output) if still else VideoFileSink(args.output, source.fps, source.size)
                )
            if args.virtual_camera is not None:
                rate = source.fps or 30.0  # a still picture is sent at the usual camera rate
                camera = VirtualCameraSink(source.size, rate, args.virtual_camera or None)
                outputs.append(camera)
                if not args.quiet:
                    info(f"virtual camera {camera.device}: {source.size[0]}x{source.size[1]} at {rate:g} fps")
            sinks.extend(outputs)
            output = SinkGroup(outputs) if outputs else None
            matte_output = None
            if args.matte is not None:
                matte_output = (
                    ImageFileSink(args.matte)
                    if still
                    else VideoFileSink(args.matte, source.fps, source.size, gray=True)
                )
                sinks.append(matte_output)
            pipeline = Pipeline(
                source,
                segmenter,
                build_matte_maker(args, segmenter),
                build_effect(args),
                output=output,
                matte_output=matte_output,
                window=window,
                controls=controls,
                progress=not args.quiet,
                hold_still=args.virtual_camera is not None,
            )
            try:
                pipeline.run()
            finally:
                if args.stats:
                    print(pipeline.times.summary(), file=sys.stderr)
    finally:
        for sink in sinks:
            sink.close()
        if window is not None:
            window.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 130 if interrupt.signal == signal.SIGINT else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``bgblur`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return run(args)
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
