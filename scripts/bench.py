#!/usr/bin/env python3
"""Benchmark bgblur against the tutorials' naive per-frame loop, in one process, on the same clip.

    python scripts/bench.py                       # file mode: every frame, bgblur vs naive, each model
    python scripts/bench.py --live                # a simulated 30 fps camera: displayed fps, matte age, latency
    python scripts/bench.py --detections-sweep    # Mask R-CNN forward time for 100/50/20/10 detections kept
    python scripts/bench.py --matte               # the matte step alone: CPU ms per frame over the clip
    python scripts/bench.py --edge-colours --rounds 8   # live: CPU per frame with the edge colours and without
    python scripts/bench.py --soak 3000           # a looping live stream (ffmpeg, MPEG-TS on 127.0.0.1) through
                                                  # the real live pipeline: memory, threads, fds before/after
    python scripts/bench.py --peer-python V/bin/python [--live]   # with the MediaPipe-runtime peer (see below)

The naive loop is the tutorials' way, re-implemented: per frame, the model's forward pass (Mask R-CNN on the
frame resized to 600 px wide with the graph's own 100 detections), a hard mask at full size, a full-size
GaussianBlur 41 of the whole frame, and an ``np.where`` paste. Both loops decode the clip themselves and write
nowhere. Numbers on a shared 2-core machine are noisy: compare rows of one run, not runs.

Then the yardsticks of issue 15 (scripts/benchlib/peers.py), in the same run, with their ratios:
- the codec floor: decode every frame of the clip and encode it again as mp4v, nothing else (in this process);
- bgblur's CLI as a user runs it (``--output x.mp4 --no-window --stats``, a child process), every frame;
- the loop people build on MediaPipe's own runtime (cvzone's SelfiSegmentation, Linux-Fake-Background-Webcam):
  ``SelfieSegmentation(model_selection=1)``, a full-size blur, ``np.where``, written as mp4v —
  scripts/peer_mediapipe.py, run by ``--peer-python``, the interpreter of a separate venv holding
  ``mediapipe==0.10.14`` (it pulls opencv-contrib-python, which must never share an environment with
  opencv-python): ``python3 -m venv V && V/bin/pip install mediapipe==0.10.14``. Without it that row is skipped.
With ``--live``, bgblur's CLI and the peer each read a fresh live 720p30 stream that ffmpeg serves on 127.0.0.1
(both record it as mp4v): frames shown/s, process CPU per shown frame and cores busy, measured from outside the same
way for both over a steady window after start-up.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from benchlib.edges import compare_edge_colours  # noqa: E402
from benchlib.matte import matte_benchmark  # noqa: E402
from benchlib.measure import (  # noqa: E402
    CountingSink,
    LimitedSource,
    MemorySampler,
    Row,
    clip_frames,
    median_run,
    open_fds,
    os_threads,
    print_table,
    resident_mb,
)
from benchlib.micro import composite_benchmark, detections_sweep  # noqa: E402
from benchlib.naive import naive_frame, naive_segmenter  # noqa: E402
from benchlib.peers import compare_file, compare_live, served_stream  # noqa: E402

from bgblur.build import build_effect, build_matte_maker, build_segmenter  # noqa: E402
from bgblur.cli import parse_options  # noqa: E402
from bgblur.run import Outputs, Pipeline, StageTimes, run_pipeline  # noqa: E402
from bgblur.segmenters.maskrcnn import GRAPH, LABELS, TEXT_GRAPH  # noqa: E402
from bgblur.sources import Source  # noqa: E402
from bgblur.sources.files import VideoFileSource  # noqa: E402
from bgblur.sources.live import LiveSource  # noqa: E402
from bgblur.sources.simulated import SimulatedCamera  # noqa: E402

SHARED = Path(os.environ.get("BGBLUR_SHARED", REPO.parent / "shared"))
DEFAULT_CLIP = SHARED / "testdata" / "videos" / "talking_head_bookshelf.mp4"
MODELS = ("selfie", "selfie-landscape", "mask-rcnn")


# ---------------------------------------------------------------------------------------------- models
def mask_rcnn_folder(cache: Path) -> Path:
    """The Mask R-CNN folder with the stand-in weights (as tests/conftest.py makes it): real text graph and
    labels from the shared folder, a synthetic .pb with the real tensor shapes and the real compute."""
    cache.mkdir(parents=True, exist_ok=True)
    source = SHARED / "models" / "mask-rcnn-coco"
    for name in (TEXT_GRAPH, LABELS, "colors.txt"):
        if not (cache / name).exists():
            shutil.copyfile(source / name, cache / name)
    pb = cache / GRAPH
    if not pb.exists() or pb.stat().st_size < 60_000_000:
        tool = SHARED / "models" / "tools" / "make_synthetic_mrcnn_pb.py"
        subprocess.run([sys.executable, str(tool), str(cache / TEXT_GRAPH), str(pb), "8"], check=True)
    return cache


def bgblur_parts(model: str, mrcnn: Path, detections: int):
    """Segmenter, matte step and effect exactly as the CLI builds them with its defaults (one way for a frame)."""
    argv = ["--mask-rcnn", str(mrcnn), "--detections", str(detections)] if model == "mask-rcnn" else ["--model", model]
    args = parse_options(argv)
    segmenter = build_segmenter(args)
    return segmenter, build_matte_maker(args, segmenter), build_effect(args)


# ---------------------------------------------------------------------------------------------- runs
def timed_run(pipeline: Pipeline, source: Source, sync: bool = False) -> tuple[float, float]:
    """Run ``pipeline`` over ``source`` to its end, as the CLI does: wall-clock seconds and peak resident MB."""
    with MemorySampler() as memory:
        start = time.perf_counter()
        try:
            run_pipeline(pipeline, source, progress=False, sync=sync)
        finally:
            pipeline.close()
        seconds = time.perf_counter() - start
    return seconds, memory.peak


def warm_up(segment: Callable[[np.ndarray], object], clip: Path) -> None:
    """One untimed call: a network's first forward pass allocates its buffers (Mask R-CNN: +30 % on frame 1)."""
    segment(clip_frames(clip, 1)[0])


def run_bgblur_file(clip: Path, model: str, mrcnn: Path, detections: int, frames: int) -> Row:
    """bgblur on the file, as the CLI runs it: every frame, the model one frame ahead in the decoder thread."""
    segmenter, matte_maker, effect = bgblur_parts(model, mrcnn, detections)
    warm_up(segmenter.segment, clip)
    source = LimitedSource(VideoFileSource(clip), frames)
    sink = CountingSink()
    pipeline = Pipeline(segmenter, matte_maker, effect, Outputs(result=sink))
    seconds, peak = timed_run(pipeline, source)
    source.close()
    label = "bgblur" if model != "mask-rcnn" else f"bgblur (detections {detections})"
    return Row(model, label, sink.frames, seconds, pipeline.times, peak)


def run_naive_file(clip: Path, model: str, mrcnn: Path, frames: int) -> Row:
    naive = naive_segmenter(model, mrcnn)
    warm_up(lambda image: naive.mask(image, StageTimes()), clip)
    times = StageTimes()
    capture = cv2.VideoCapture(str(clip))
    done = 0
    with MemorySampler() as memory:
        start = time.perf_counter()
        while done < frames:
            read_start = time.perf_counter()
            ok, frame = capture.read()
            if not ok:
                break
            times.add("capture", time.perf_counter() - read_start)
            naive_frame(naive, frame, times)
            done += 1
        seconds = time.perf_counter() - start
    capture.release()
    return Row(model, "naive", done, seconds, times, memory.peak)


def live_extra(times: StageTimes) -> dict[str, float]:
    extra = {}
    columns = (("matte age (frames)", "age frames"), ("matte age (ms)", "age ms"), ("latency (ms)", "lat ms"))
    for name, column in columns:
        values = getattr(times, "measures", {}).get(name)
        if values:
            extra[column] = float(np.median(values))
    return extra


def run_bgblur_live(
    images: list[np.ndarray], fps: float, seconds: float, model: str, mrcnn: Path, detections: int, sync: bool
) -> Row:
    segmenter, matte_maker, effect = bgblur_parts(model, mrcnn, detections)
    segmenter.segment(images[0])  # warm-up, untimed (see warm_up)
    camera = SimulatedCamera(images, fps=fps, frame_limit=round(fps * seconds))
    pipeline = Pipeline(segmenter, matte_maker, effect, Outputs(result=CountingSink()))
    elapsed, peak = timed_run(pipeline, camera, sync)
    shown = pipeline.frames_out
    label = "bgblur --sync" if sync else "bgblur"
    if model == "mask-rcnn":
        label += f" (det {detections})"
    extra = live_extra(pipeline.times) | {"dropped": camera.dropped}
    return Row(model, label, shown, elapsed, pipeline.times, peak, extra)


def run_naive_live(images: list[np.ndarray], fps: float, seconds: float, model: str, mrcnn: Path) -> Row:
    naive = naive_segmenter(model, mrcnn)
    naive.mask(images[0], StageTimes())  # warm-up, untimed
    camera = SimulatedCamera(images, fps=fps, frame_limit=round(fps * seconds))
    times = StageTimes()
    shown = 0
    latencies = []
    with MemorySampler() as memory:
        start = time.perf_counter()
        while True:
            read_start = time.perf_counter()
            frame = camera.read()
            if frame is None:
                break
            times.add("capture", time.perf_counter() - read_start)
            naive_frame(naive, frame.image, times)
            latencies.append((time.monotonic() - frame.timestamp) * 1000)
            shown += 1
        elapsed = time.perf_counter() - start
    extra = {"lat ms": float(np.median(latencies)), "dropped": camera.dropped}
    return Row(model, "naive", shown, elapsed, times, memory.peak, extra)


# ---------------------------------------------------------------------------------------------- soak
def soak(clip: Path, frames: int, model: str, mrcnn: Path, detections: int) -> None:
    """``frames`` frames of a looping live stream through the real live pipeline; resources before and after."""
    segmenter, matte_maker, effect = bgblur_parts(model, mrcnn, detections)
    before = {"resident MB": resident_mb(), "threads": os_threads(), "open fds": open_fds()}
    with served_stream(clip) as camera:
        source = LimitedSource(LiveSource(camera.url, open_timeout=10, read_timeout=5, reconnect_for=5), frames)
        pipeline = Pipeline(segmenter, matte_maker, effect, Outputs(result=CountingSink()))
        during: dict[str, float] = {}

        def sample_during() -> None:  # resources once the run is warm
            while source.read_count < min(100, frames // 2) and not pipeline.controls.stop:
                time.sleep(0.05)
            during.update({"resident MB": resident_mb(), "threads": os_threads(), "open fds": open_fds()})

        sampler = threading.Thread(target=sample_during, daemon=True)
        sampler.start()
        with MemorySampler() as memory:
            start = time.perf_counter()
            try:
                run_pipeline(pipeline, source, progress=False)
            finally:
                pipeline.close()
                source.close()
            elapsed = time.perf_counter() - start
        pipeline.controls.stop = True
        sampler.join(1)
    after = {"resident MB": resident_mb(), "threads": os_threads(), "open fds": open_fds()}
    shown = pipeline.frames_out
    print(f"soak: {shown} frames of {clip.name} served live in a loop, model {model}, {elapsed:.0f} s")
    print("| resource | before | warm | after |")
    print("|---|---|---|---|")
    for key in before:
        warm = during.get(key, float("nan"))
        print(f"| {key} | {before[key]:.0f} | {warm:.0f} | {after[key]:.0f} |")
    print(f"| peak resident MB | | {memory.peak:.0f} | |")
    print()
    print(pipeline.times.summary())
    print(flush=True)


# ---------------------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clip", type=Path, default=DEFAULT_CLIP, help="video to run on (default: %(default)s)")
    p.add_argument("--models", default=",".join(MODELS), help="comma-separated, from: " + ", ".join(MODELS))
    p.add_argument("--frames", type=int, default=120, help="frames per file-mode run of a selfie model (120)")
    p.add_argument("--mrcnn-frames", type=int, default=8, help="frames per file-mode Mask R-CNN run (8)")
    p.add_argument("--detections", type=int, default=20, help="Mask R-CNN detections kept by bgblur (20)")
    p.add_argument("--live", action="store_true", help="simulate a camera instead of reading the file")
    p.add_argument("--fps", type=float, default=30.0, help="simulated camera rate (30)")
    p.add_argument("--seconds", type=float, default=8.0, help="length of each --live run (8)")
    p.add_argument("--sync", action="store_true", help="--live: also run bgblur --sync")
    rounds = "runs of each loop, alternating (3): file mode, and --live's stream yardsticks"
    p.add_argument("--rounds", type=int, default=3, help=rounds)
    p.add_argument("--no-naive", action="store_true", help="skip the naive loop")
    p.add_argument("--composite", action="store_true", help="only the compositing micro-benchmark")
    p.add_argument("--matte", action="store_true", help="only the matte step micro-benchmark")
    p.add_argument("--edge-colours", action="store_true", help="live runs with own edge colours and without (CPU)")
    p.add_argument(
        "--detections-sweep", action="store_true", help="Mask R-CNN time for 100/50/20/10 detections, 400/600/800 px"
    )
    p.add_argument("--soak", type=int, metavar="N", help="N frames of a looping live stream through the pipeline")
    p.add_argument("--soak-model", default="selfie", choices=MODELS, help="model for --soak (selfie)")
    p.add_argument("--cache", type=Path, default=REPO / ".cache" / "mask-rcnn-coco", help="stand-in weights folder")
    p.add_argument(
        "--peer-python",
        type=Path,
        metavar="PATH",
        help="python of a venv holding mediapipe==0.10.14: also run the MediaPipe-runtime peer loop",
    )
    p.add_argument("--no-yardsticks", action="store_true", help="skip the codec floor, bgblur's CLI and the peer")
    p.add_argument("--stream-seconds", type=float, default=20.0, help="--live: steady window on the stream (20)")
    p.add_argument("--stream-warm", type=float, default=5.0, help="--live: start-up allowed before it (5)")
    budgets = "--live: also run bgblur on the stream with these --max-cpu budgets (0.5)"
    p.add_argument("--max-cpu", type=float, nargs="*", default=[0.5], metavar="CORES", help=budgets)
    return p.parse_args(argv)


def selected_models(text: str) -> Iterator[str]:
    for name in text.split(","):
        if name.strip() not in MODELS:
            raise SystemExit(f"bench.py: error: unknown model {name!r} (use {', '.join(MODELS)})")
        yield name.strip()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    models = list(selected_models(args.models))
    needs_mrcnn = "mask-rcnn" in models or args.detections_sweep or args.soak_model == "mask-rcnn"
    mrcnn = mask_rcnn_folder(args.cache) if needs_mrcnn else args.cache
    one_pass = [model for model in models if model != "mask-rcnn"]  # the yardsticks' models (the peer's kind)
    if args.peer_python is not None and not os.access(args.peer_python, os.X_OK):
        raise SystemExit(f"bench.py: error: --peer-python {args.peer_python} is not an executable file")
    print(f"clip {args.clip.name}, OpenCV {cv2.__version__}, {os.cpu_count()} CPUs, {cv2.getNumThreads()} cv2 threads")
    print()
    if args.composite:
        composite_benchmark(clip_frames(args.clip, 1)[0], *bgblur_parts("selfie", Path(), 0))
        return 0
    if args.detections_sweep:
        detections_sweep(args.clip, mrcnn)
        return 0
    if args.matte:
        matte_benchmark(args.clip)
        return 0
    if args.edge_colours:
        compare_edge_colours(args.clip, args.rounds, args.stream_seconds, args.stream_warm)
        return 0
    if args.soak:
        soak(args.clip, args.soak, args.soak_model, mrcnn, args.detections)
        return 0
    composite_benchmark(clip_frames(args.clip, 1)[0], *bgblur_parts("selfie", Path(), 0))
    rows = []
    if args.live:
        images = clip_frames(args.clip, 60)  # looped; decoded up front so the camera costs nothing
        h, w = images[0].shape[:2]
        print(f"live: simulated camera {w}x{h} at {args.fps:g} fps, {args.seconds:g} s per run")
        for model in models:
            rows.append(run_bgblur_live(images, args.fps, args.seconds, model, mrcnn, args.detections, False))
            if args.sync:
                rows.append(run_bgblur_live(images, args.fps, args.seconds, model, mrcnn, args.detections, True))
            if not args.no_naive:
                rows.append(run_naive_live(images, args.fps, args.seconds, model, mrcnn))
            print_table(rows[-1 - args.sync - (not args.no_naive) :], ("age frames", "age ms", "lat ms", "dropped"))
        print("all live runs:")
        print_table(rows, ("age frames", "age ms", "lat ms", "dropped"))
        if not args.no_yardsticks:
            compare_live(
                args.clip,
                one_pass,
                args.peer_python,
                args.stream_seconds,
                args.stream_warm,
                tuple(args.max_cpu),
                args.rounds,
            )
        return 0
    print(f"file mode: every frame processed; each loop run {args.rounds} times, alternating, median run shown")
    spread = ("fps min", "fps max")
    for model in models:
        frames = args.mrcnn_frames if model == "mask-rcnn" else args.frames
        loops: list[Callable[[], Row]] = [partial(run_bgblur_file, args.clip, model, mrcnn, args.detections, frames)]
        if not args.no_naive:
            loops.append(partial(run_naive_file, args.clip, model, mrcnn, frames))
        runs: list[list[Row]] = [[] for _ in loops]
        for _ in range(args.rounds):  # alternating, so a slow spell of the shared machine hits every loop alike
            for loop, done in zip(loops, runs, strict=True):
                done.append(loop())
        rows += [median_run(done) for done in runs]
        print_table(rows[-len(loops) :], spread)
    print("all file runs:")
    print_table(rows, spread)
    if not args.no_yardsticks:
        in_process = {row.model: row.fps for row in rows if row.loop == "bgblur"}
        compare_file(args.clip, one_pass, args.peer_python, args.rounds, in_process)
    return 0


if __name__ == "__main__":
    sys.exit(main())
