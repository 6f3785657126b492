"""Options → parts: the segmenter, the matte step, the effect, the outputs and the pipeline, exactly as the
``bgblur`` command builds them (``scripts/bench.py`` and ``scripts/evaluate.py`` build theirs here too).

``args`` is the command line's parsed namespace (:func:`bgblur.cli.build_parser`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bgblur.errors import UsageError, info
from bgblur.frames import Controls, StreamInfo
from bgblur.sources import Source, is_stream_url

# --blur presets, as Gaussian kernel sizes (odd); medium is the tutorials' 41.
BLUR_PRESETS = {"light": 21, "medium": 41, "strong": 81}
DEFAULT_KERNEL = BLUR_PRESETS["medium"]


def blur_kernel(args: argparse.Namespace) -> int:
    """The Gaussian kernel asked for by --kernel or --blur (the tutorials' 41 by default)."""
    return args.kernel or BLUR_PRESETS.get(args.blur or "", DEFAULT_KERNEL)


def people_mode(args: argparse.Namespace, live: bool) -> str:
    """``--people``, or its default: ``main`` for a camera or stream (a call: the person at the camera; someone
    walking behind stays blurred), ``all`` for pictures and video files (a group photo is about the group)."""
    return args.people or ("main" if live else "all")


def paced(args: argparse.Namespace) -> bool:
    """Does a video file play at its own rate? Yes when it is only watched in the window, as in a player; with
    ``--output``, ``--matte`` or ``--virtual-camera`` it runs as fast as it can, the window being a preview."""
    return not args.no_window and args.output is None and args.matte is None and args.virtual_camera is None


def build_segmenter(args: argparse.Namespace, still: bool = False, live: bool = False):
    """The segmenter the options ask for; ``still``: for one picture, where a one-pass model takes the tiled
    second look unless ``--no-tiles`` (its cost is paid once)."""
    from bgblur.segmenters import create_segmenter

    if args.tiles and args.mask_rcnn is not None:
        raise UsageError("--tiles is for one-pass models (--model); Mask R-CNN already looks at every person")
    segmenter = create_segmenter(
        args.model,
        args.mask_rcnn,
        confidence=args.confidence,
        people=people_mode(args, live),
        detections=args.detections,
        input_width=args.input_width,
    )
    tiles = args.tiles if args.tiles is not None else still and args.mask_rcnn is None
    if tiles:
        from bgblur.segmenters.tiled import TiledSegmenter

        segmenter = TiledSegmenter(segmenter)
    return segmenter


def build_matte_maker(args: argparse.Namespace, segmenter, still: bool = False, live: bool = False):
    """The matte step for the options and this segmenter; ``still``: for one picture (one look for the detectors).
    Pictures and files get the second look around each person and region (``--person-crops``), live runs not."""
    from bgblur.matte import MatteMaker

    threshold = args.threshold if args.threshold is not None else segmenter.default_threshold
    mode = args.presence or ("off" if args.mask_rcnn is not None else "people")
    presence = None if mode == "off" else build_presence(mode, still=still, pose_model=args.pose_model)
    crops = args.person_crops
    if crops is None:
        crops = not live and args.mask_rcnn is None
    second_look = None
    if crops:
        from bgblur.segmenters.crops import PersonCrops

        second_look = PersonCrops(getattr(segmenter, "inner", segmenter), threshold)  # the one-pass model itself
    people = people_mode(args, live)
    return MatteMaker(
        threshold, refine=args.refine, temporal=args.smooth, people=people, presence=presence, crops=second_look
    )


def build_presence(mode: str, still: bool = False, every: int = 3, pose_model: Path | None = None):
    """The presence check for ``--presence MODE`` (one rule, see :mod:`bgblur.matte.presence`; the modes differ
    in evidence): ``people`` MediaPipe's person detector and both face detectors, ``face`` the short-range face
    detector, ``face-or-body`` that and the lower frame edge, ``face-or-pose`` that and the pose landmark model.
    Faces are verified by the face landmark model; without LiteRT, which it, the person and the full-range face
    detectors need, the short-range face detector alone, its faces unverified."""
    from bgblur.errors import BgblurError
    from bgblur.matte import detectors
    from bgblur.matte.presence import PresenceCheck

    person, verifier, faces = None, None, [detectors.FaceDetector()]  # short-range first: a sure face
    try:
        verifier = detectors.FaceVerifier()
        if mode == "people":
            person = detectors.PersonDetector(min_score=0.3 if still else 0.5)  # weak ones: see PresenceCheck
            faces.append(detectors.FullRangeFaceDetector())
    except BgblurError as exc:
        info(f"presence: faces only, unverified ({exc})")
    body = None
    if mode == "face-or-pose":
        body = detectors.BodyDetector(pose_model) if pose_model is not None else detectors.BodyDetector()
    return PresenceCheck(
        person, tuple(faces), verifier=verifier, still=still, every=every, lower_edge=mode == "face-or-body", body=body
    )


def build_effect(args: argparse.Namespace):
    """The privacy effect for the options (the blur), as scripts/evaluate.py draws it."""
    from bgblur.effects.blur import BlurBackground

    return BlurBackground(blur_kernel(args))


def output_in_folder(folder: Path, source: str, tag: str) -> Path:
    """``--output FOLDER``: the input's name with ``-TAG`` added, in FOLDER (``talk.mp4`` → ``FOLDER/talk-bgblur.mp4``);
    a camera or stream gets ``camera-TAG.mp4`` / ``stream-TAG.mp4``. The input itself is never the answer."""
    from bgblur.imaging import WRITABLE_IMAGE_SUFFIXES
    from bgblur.sinks.files import VIDEO_CODECS

    if source.isdigit() or is_stream_url(source):
        return folder / f"{'camera' if source.isdigit() else 'stream'}-{tag}.mp4"
    path = Path(source)
    suffix = path.suffix.lower()
    if suffix not in WRITABLE_IMAGE_SUFFIXES and suffix not in VIDEO_CODECS:
        # Keep the kind of file: pictures OpenCV reads but cannot write as such become PNG, other videos MP4.
        import cv2

        suffix = ".png" if cv2.haveImageReader(str(path)) else ".mp4"
    return folder / f"{path.stem}-{tag}{suffix}"


def build_outputs(args: argparse.Namespace, stream: StreamInfo, window=None):
    """The outputs the options ask for, sized and paced for ``stream``. Live runs hand file writing to a writer
    thread (encoding a 720p frame costs ~10 ms, as much as the rest of the loop): every shown frame is still
    written, in order."""
    from bgblur.run import Outputs
    from bgblur.sinks import SinkGroup
    from bgblur.sinks.files import ImageFileSink, VideoFileSink
    from bgblur.sinks.threaded import ThreadedWriter

    outputs = Outputs(window=window)
    try:
        results = []
        if args.output is not None:
            if stream.still:
                results.append(ImageFileSink(args.output))
            else:
                audio = stream.path if not stream.is_live else None
                results.append(VideoFileSink(args.output, stream.fps, stream.size, audio_from=audio, quiet=args.quiet))
        if args.virtual_camera is not None:
            from bgblur.sinks.vcam import VirtualCameraSink

            rate = stream.fps or 30.0  # a still picture is sent at the usual camera rate
            camera = VirtualCameraSink(stream.size, rate, args.virtual_camera or None)
            results.append(camera)
            if not args.quiet:
                info(f"virtual camera {camera.device}: {stream.size[0]}x{stream.size[1]} at {rate:g} fps")
        if results:
            outputs.result = SinkGroup(results)
        if args.matte is not None:
            outputs.matte = (
                ImageFileSink(args.matte)
                if stream.still
                else VideoFileSink(args.matte, stream.fps, stream.size, gray=True)
            )
        if stream.is_live:
            outputs.result = outputs.result and ThreadedWriter(outputs.result)
            outputs.matte = outputs.matte and ThreadedWriter(outputs.matte)
    except BaseException:
        outputs.window = None  # the caller closes the window it made
        outputs.close()
        raise
    return outputs


def build_pipeline(args: argparse.Namespace, source: Source, controls: Controls, window=None):
    """Every part of a run over ``source``: the pipeline (its segmenter guarded so a model failure blurs the frame
    whole) with its outputs. ``controls`` gets the options' starting state."""
    from bgblur.effects.backgrounds import background_choices
    from bgblur.effects.blur import BlurBackground
    from bgblur.effects.replace import ReplaceBackground
    from bgblur.effects.switch import EffectSwitch
    from bgblur.effects.visualize import Visualizer
    from bgblur.run import Pipeline
    from bgblur.segmenters.fail_closed import FailClosedSegmenter

    stream = source.info
    segmenter = build_segmenter(args, stream.still, stream.is_live)
    matte_maker = build_matte_maker(args, segmenter, stream.still, stream.is_live)
    controls.kernel = blur_kernel(args)
    if args.visualize:
        recorder = None
        if args.mask_rcnn is not None:
            from bgblur.segmenters.recorder import DetectionRecorder

            segmenter = recorder = DetectionRecorder(segmenter)
        effect = Visualizer(recorder, matte_maker.threshold)
    else:
        replacements = [ReplaceBackground(b, args.light_wrap) for b in background_choices(args.background, stream.fps)]
        effect = EffectSwitch(controls, BlurBackground(controls.kernel), replacements)
        controls.choice = 1 if args.background else 0  # start on the asked background, else blur
    controls.show_mask, controls.show_fps = args.show_mask, args.show_fps
    try:
        outputs = build_outputs(args, stream, window)
    except BaseException:
        effect.close()
        raise
    return Pipeline(
        FailClosedSegmenter(segmenter),
        matte_maker,
        effect,
        outputs,
        controls=controls,
        frame_range=(args.start_frame, args.end_frame),
    )
