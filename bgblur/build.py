"""Options → parts: the segmenter, the matte step, the effect, the outputs and the pipeline, exactly as the
``bgblur`` command builds them (``scripts/bench.py`` and ``scripts/evaluate.py`` build theirs here too).

``options`` is the run's :class:`~bgblur.options.Options`; each part's constructor gets only its own values.
"""

from __future__ import annotations

from pathlib import Path

from bgblur.errors import UsageError, info
from bgblur.frames import Controls, StreamInfo
from bgblur.options import Options
from bgblur.sources import Source


def people_mode(options: Options, live: bool) -> str:
    """``--people``, or its default: ``main`` for a camera or stream (a call: the person at the camera; someone
    walking behind stays blurred), ``all`` for pictures and video files (a group photo is about the group)."""
    return options.people or ("main" if live else "all")


def picture_threads() -> int:
    """Model threads for a still picture. Nothing runs beside a picture's analysis (a video file's model shares the
    cores with decoding and compositing, so it keeps one thread), so it takes the threads this process gives OpenCV:
    every core for one picture, one each when batch workers share the machine (:func:`bgblur.batch.task.limit_threads`).
    At most 4: a 256 px model has little work per layer to split (measured here only up to 2: 4.5 -> 3.3 ms)."""
    import cv2

    return max(1, min(cv2.getNumThreads(), 4))  # (the networks clamp it to the usable cores themselves)


def build_segmenter(options: Options, still: bool = False, live: bool = False):
    """The segmenter the options ask for; ``still``: for one picture, where a one-pass model takes the tiled
    second look unless ``--no-tiles`` (its cost is paid once), on :func:`picture_threads`."""
    from bgblur.segmenters import create_segmenter

    if options.tiles and options.mask_rcnn is not None:
        raise UsageError("--tiles is for one-pass models (--model); Mask R-CNN already looks at every person")
    segmenter = create_segmenter(
        options.model,
        options.mask_rcnn,
        confidence=options.confidence,
        people=people_mode(options, live),
        detections=options.detections,
        input_width=options.input_width,
        threads=picture_threads() if still else 1,
    )
    tiles = options.tiles if options.tiles is not None else still and options.mask_rcnn is None
    if tiles:
        from bgblur.segmenters.tiled import TiledSegmenter

        segmenter = TiledSegmenter(segmenter)
    return segmenter


def build_matte_maker(options: Options, segmenter, still: bool = False, live: bool = False):
    """The matte step for the options and this segmenter; ``still``: for one picture (one look for the detectors).
    Pictures and files get the second look around each person and region (``--person-crops``), live runs not."""
    from bgblur.matte import MatteMaker

    threshold = options.threshold if options.threshold is not None else segmenter.default_threshold
    mode = options.presence or ("off" if options.mask_rcnn is not None else "people")
    presence = None if mode == "off" else build_presence(mode, still=still, pose_model=options.pose_model)
    crops = options.person_crops
    if crops is None:
        crops = not live and options.mask_rcnn is None
    second_look = None
    if crops:
        from bgblur.segmenters.crops import PersonCrops

        # The one-pass model itself; a picture's looks are mirrored as its whole view is (one more pass each). A
        # video's matte step runs beside the model's first look of the next frame (bgblur.run.files), so it gets
        # a model of its own: an interpreter is not to be used by two threads at once.
        model = segmenter if still else build_segmenter(options, live=live)
        second_look = PersonCrops(getattr(model, "inner", model), threshold, mirror=still)
    people = people_mode(options, live)
    return MatteMaker(
        threshold, refine=options.refine, temporal=options.smooth, people=people, presence=presence, crops=second_look
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

    threads = picture_threads() if still else 1
    person, verifier, faces = None, None, [detectors.FaceDetector(threads=threads)]  # short-range first: a sure face
    try:
        verifier = detectors.FaceVerifier(threads=threads)
        if mode == "people":
            # Weak detections count on a picture (see PresenceCheck).
            person = detectors.PersonDetector(min_score=0.3 if still else 0.5, threads=threads)
            faces.append(detectors.FullRangeFaceDetector(threads=threads))
    except BgblurError as exc:
        info(f"presence: faces only, unverified ({exc})")
    body = None
    if mode == "face-or-pose":
        body = detectors.BodyDetector(pose_model) if pose_model is not None else detectors.BodyDetector()
    return PresenceCheck(
        person, tuple(faces), verifier=verifier, still=still, every=every, lower_edge=mode == "face-or-body", body=body
    )


def build_effect(options: Options):
    """The privacy effect for the options (the blur), as scripts/evaluate.py draws it."""
    from bgblur.effects.blur import BlurBackground

    return BlurBackground(options.kernel)


def build_outputs(options: Options, stream: StreamInfo, window=None):
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
        if options.output is not None:
            if stream.still:
                results.append(ImageFileSink(options.output))
            else:
                audio = stream.path if not stream.is_live else None
                results.append(
                    VideoFileSink(options.output, stream.fps, stream.size, audio_from=audio, quiet=options.quiet)
                )
        if options.virtual_camera is not None:
            from bgblur.sinks.vcam import VirtualCameraSink

            rate = stream.fps or 30.0  # a still picture is sent at the usual camera rate
            camera = VirtualCameraSink(stream.size, rate, options.virtual_camera or None)
            results.append(camera)
            if not options.quiet:
                info(f"virtual camera {camera.device}: {stream.size[0]}x{stream.size[1]} at {rate:g} fps")
        if results:
            outputs.result = SinkGroup(results)
        if options.matte is not None:
            outputs.matte = (
                ImageFileSink(options.matte)
                if stream.still
                else VideoFileSink(options.matte, stream.fps, stream.size, gray=True)
            )
        if stream.is_live:
            outputs.result = outputs.result and ThreadedWriter(outputs.result)
            outputs.matte = outputs.matte and ThreadedWriter(outputs.matte)
    except BaseException:
        outputs.window = None  # the caller closes the window it made
        outputs.close()
        raise
    return outputs


def build_pipeline(options: Options, source: Source, controls: Controls, window=None):
    """Every part of a run over ``source``: the pipeline (its segmenter guarded so a model failure blurs the frame
    whole) with its outputs. ``controls`` gets the options' starting state."""
    from bgblur.effects.backgrounds import background_choices
    from bgblur.effects.blur import BlurBackground
    from bgblur.effects.framing import AutoFramer
    from bgblur.effects.replace import ReplaceBackground
    from bgblur.effects.switch import EffectSwitch
    from bgblur.run import Pipeline
    from bgblur.segmenters.fail_closed import FailClosedSegmenter

    stream = source.info
    segmenter = build_segmenter(options, stream.still, stream.is_live)
    matte_maker = build_matte_maker(options, segmenter, stream.still, stream.is_live)
    controls.kernel = options.kernel
    if options.visualize:  # (imported here: it needs the Mask R-CNN backend and imutils, which a plain run never loads)
        from bgblur.effects.visualize import Visualizer

        detecting = options.mask_rcnn is not None  # Mask R-CNN: its detections and its colours file
        effect = Visualizer(segmenter.colors if detecting else None, matte_maker.threshold, detecting=detecting)
    else:
        replacements = [
            ReplaceBackground(b, options.light_wrap) for b in background_choices(options.background, stream.fps)
        ]
        effect = EffectSwitch(controls, BlurBackground(controls.kernel), replacements)
        controls.choice = 1 if options.background else 0  # start on the asked background, else blur
    controls.show_mask, controls.show_fps = options.show_mask, options.show_fps
    controls.auto_frame = options.auto_frame
    # Off until asked (key z); none for --visualize, whose drawing is of the whole frame the model saw.
    framer = None if options.visualize else AutoFramer(stream.size, options.auto_frame_zoom, still=stream.still)
    try:
        outputs = build_outputs(options, stream, window)
    except BaseException:
        effect.close()
        raise
    return Pipeline(
        FailClosedSegmenter(segmenter),
        matte_maker,
        effect,
        outputs,
        controls=controls,
        frame_range=(options.start_frame, options.end_frame),
        framer=framer,
    )
