#!/usr/bin/env python3
"""Benchmark bgblur against the tutorials' naive per-frame loop, in one process, on the same clip.

    python scripts/bench.py                       # file mode: every frame, bgblur vs naive, each model
    python scripts/bench.py --live                # a simulated 30 fps camera: displayed fps, matte age, latency
    python scripts/bench.py --detections-sweep    # Mask R-CNN forward time for 100/50/20/10 detections kept
    python scripts/bench.py --soak 3000           # a looping live stream (ffmpeg, MPEG-TS on 127.0.0.1) through
                                                  # the real live pipeline: memory, threads, fds before/after

The naive loop is the tutorials' way, re-implemented: per frame, the model's forward pass (Mask R-CNN on the
frame resized to 600 px wide with the graph's own 100 detections), a hard mask at full size, a full-size
GaussianBlur 41 of the whole frame, and an ``np.where`` paste. Both loops decode the clip themselves and write
nowhere. Numbers on a shared 2-core machine are noisy: compare rows of one run, not runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import cv2  # noqa: E402
import imutils  # noqa: E402
import numpy as np  # noqa: E402

from bgblur.cli import build_effect, build_matte_maker, build_parser, build_segmenter  # noqa: E402
from bgblur.pipeline import Pipeline, StageTimes  # noqa: E402
from bgblur.segmenters import BUILTIN_MODELS, create_segmenter  # noqa: E402
from bgblur.segmenters.dnn import read_net  # noqa: E402
from bgblur.segmenters.maskrcnn import GRAPH, LABELS, TEXT_GRAPH, set_keep_top_k  # noqa: E402
from bgblur.simulated import SimulatedCamera  # noqa: E402
from bgblur.sources import Frame, LiveSource, Source, VideoFileSource  # noqa: E402

SHARED = Path(os.environ.get("BGBLUR_SHARED", REPO.parent / "shared"))
DEFAULT_CLIP = SHARED / "testdata" / "videos" / "talking_head_bookshelf.mp4"
MODELS = ("selfie", "selfie-landscape", "mask-rcnn")
NAIVE_KERNEL = 41
NAIVE_WIDTH = 600  # the Mask R-CNN tutorial's frame width


# ---------------------------------------------------------------------------------------------- measuring
class MemorySampler:
    """Peak resident memory (MB) of this process while the ``with`` block runs, sampled every 10 ms
    (OpenCV's buffers are invisible to tracemalloc; ru_maxrss never comes down between runs)."""

    def __enter__(self) -> MemorySampler:
        self.peak = self.start = resident_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, resident_mb())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, resident_mb())


def resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


@dataclass
class Row:
    """One line of a results table."""

    model: str
    loop: str
    frames: int
    seconds: float
    times: StageTimes
    peak_mb: float
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    def stage_ms(self, stage: str) -> float:
        values = self.times.samples.get(stage)
        return float(np.median(values) * 1000) if values else float("nan")

    @property
    def inference_rate(self) -> float:
        return self.times.counts.get("inference calls", 0) / self.seconds if self.seconds else 0.0


STAGES = ("capture", "inference", "matte", "warp", "composite", "output")


def print_table(rows: list[Row], extra_columns: tuple[str, ...] = ()) -> None:
    header = ["model", "loop", "frames", "out fps", "infer/s", *(f"{s} ms" for s in STAGES), "peak MB", "x naive"]
    header += list(extra_columns)
    naive_fps = {row.model: row.fps for row in rows if row.loop == "naive"}
    lines = []
    for row in rows:
        ratio = row.fps / naive_fps[row.model] if row.loop != "naive" and naive_fps.get(row.model) else None
        cells = [row.model, row.loop, str(row.frames), f"{row.fps:.1f}", f"{row.inference_rate:.1f}"]
        cells += ["-" if np.isnan(row.stage_ms(s)) else f"{row.stage_ms(s):.1f}" for s in STAGES]
        cells += [f"{row.peak_mb:.0f}", f"{ratio:.2f}" if ratio else "-"]
        cells += [f"{row.extra[c]:.1f}" if c in row.extra else "-" for c in extra_columns]
        lines.append(cells)
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for line in lines:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |")
    print(flush=True)


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
    args = build_parser().parse_args(argv)
    segmenter = build_segmenter(args)
    return segmenter, build_matte_maker(args, segmenter), build_effect(args)


class NaiveSelfie:
    """Tutorial 4's loop body: forward at the model's size, hard 0.5 mask at full size."""

    def __init__(self, model: str) -> None:
        self.net = read_net(BUILTIN_MODELS[model])
        self.size = (256, 144) if model == "selfie-landscape" else (256, 256)

    def mask(self, frame: np.ndarray, times: StageTimes) -> np.ndarray:
        start = time.perf_counter()
        self.net.setInput(cv2.dnn.blobFromImage(frame, 1 / 255, self.size, swapRB=True))
        out = self.net.forward()
        times.add("inference", time.perf_counter() - start)
        times.count("inference calls")
        start = time.perf_counter()
        mask = cv2.resize(out[0, 0], (frame.shape[1], frame.shape[0])) > 0.5
        times.add("matte", time.perf_counter() - start)
        return mask


class NaiveMaskRCNN:
    """Tutorial 1's loop body: the graph as shipped (100 detections), the frame at 600 px wide, the top person's
    15x15 mask resized into its box and thresholded at 0.3."""

    def __init__(self, folder: Path) -> None:
        text = (folder / TEXT_GRAPH).read_text(encoding="utf-8")
        with tempfile.TemporaryDirectory() as tmp:  # the unmodified graph: keep_top_k 100
            graph = Path(tmp) / TEXT_GRAPH
            graph.write_text(set_keep_top_k(text, 100), encoding="utf-8")
            self.net = read_net(folder / GRAPH, graph)

    def mask(self, frame: np.ndarray, times: StageTimes) -> np.ndarray:
        start = time.perf_counter()
        small = imutils.resize(frame, width=NAIVE_WIDTH)
        self.net.setInput(cv2.dnn.blobFromImage(small, swapRB=True, crop=False))
        boxes, masks = self.net.forward(["detection_out_final", "detection_masks"])
        times.add("inference", time.perf_counter() - start)
        times.count("inference calls")
        start = time.perf_counter()
        h, w = frame.shape[:2]
        mask = np.zeros((h, w), bool)
        for i in np.argsort(-boxes[0, 0, :, 2]):
            class_id, score = int(boxes[0, 0, i, 1]), boxes[0, 0, i, 2]
            if class_id != 0 or score < 0.5:
                continue
            x0, y0, x1, y1 = (boxes[0, 0, i, 3:7] * [w, h, w, h]).astype(int)
            x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
            if x1 > x0 and y1 > y0:
                mask[y0:y1, x0:x1] = cv2.resize(masks[i, class_id], (x1 - x0, y1 - y0)) > 0.3
            break
        times.add("matte", time.perf_counter() - start)
        return mask


def naive_segmenter(model: str, mrcnn: Path):
    return NaiveMaskRCNN(mrcnn) if model == "mask-rcnn" else NaiveSelfie(model)


def naive_frame(naive, frame: np.ndarray, times: StageTimes) -> np.ndarray:
    """One frame the tutorials' way: hard mask, whole frame blurred at full size, pasted with np.where."""
    mask = naive.mask(frame, times)
    start = time.perf_counter()
    blurred = cv2.GaussianBlur(frame, (NAIVE_KERNEL, NAIVE_KERNEL), 0)
    result = np.where(mask[..., None], frame, blurred)
    times.add("composite", time.perf_counter() - start)
    return result


# ---------------------------------------------------------------------------------------------- sources
class LimitedSource(Source):
    """At most ``limit`` frames of another source."""

    def __init__(self, inner: Source, limit: int) -> None:
        self.inner = inner
        self.limit = limit
        self.is_live = inner.is_live
        self.fps, self.size, self.description = inner.fps, inner.size, inner.description
        self.frame_count = min(limit, inner.frame_count or limit)
        self.read_count = 0

    def read(self) -> Frame | None:
        if self.read_count >= self.limit:
            return None
        frame = self.inner.read()
        self.read_count += frame is not None
        return frame

    def close(self) -> None:
        self.inner.close()


class CountingSink:
    """Counts written frames and drops them (both loops write nowhere)."""

    def __init__(self) -> None:
        self.frames = 0

    def write(self, image: np.ndarray) -> None:
        self.frames += 1

    def close(self) -> None:
        pass


def clip_frames(clip: Path, count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(clip))
    frames = []
    while len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


# ---------------------------------------------------------------------------------------------- runs
def timed_run(pipeline: Pipeline) -> tuple[float, float]:
    """Run ``pipeline`` to its end: wall-clock seconds and peak resident MB."""
    with MemorySampler() as memory:
        start = time.perf_counter()
        pipeline.run()
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
    pipeline = Pipeline(source, segmenter, matte_maker, effect, output=sink, progress=False)
    seconds, peak = timed_run(pipeline)
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
    sink = CountingSink()
    options = {"sync": True} if sync else {}  # (lets this script time older bgblur versions too)
    pipeline = Pipeline(
        camera,
        segmenter,
        matte_maker,
        effect,
        output=sink,
        progress=False,
        **options,
    )
    elapsed, peak = timed_run(pipeline)
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


def composite_benchmark(clip: Path, repeats: int = 200) -> None:
    """The compositing stage alone on a 720p frame with the selfie model's soft matte, vs the naive way."""
    frame = clip_frames(clip, 1)[0]
    segmenter, matte_maker, effect = bgblur_parts("selfie", Path(), 0)
    alpha = matte_maker(segmenter.segment(frame), frame)
    hard = alpha > 0.5

    def median_ms(work: Callable[[], object]) -> float:
        for _ in range(5):
            work()
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            work()
            samples.append(time.perf_counter() - start)
        return float(np.median(samples) * 1000)

    ours = median_ms(lambda: effect(frame, alpha))
    naive = median_ms(lambda: np.where(hard[..., None], frame, cv2.GaussianBlur(frame, (41, 41), 0)))
    h, w = frame.shape[:2]
    print(f"composite {w}x{h}, soft matte, kernel 41, median of {repeats}:")
    print(f"  bgblur BlurBackground (halo-free, soft) {ours:.2f} ms")
    print(f"  naive GaussianBlur 41 + np.where     {naive:.2f} ms\n")


def detections_sweep(
    clip: Path,
    mrcnn: Path,
    settings: tuple[tuple[int, int], ...] = ((100, 600), (50, 600), (20, 600), (10, 600), (20, 400), (20, 800)),
    repeats: int = 3,
) -> None:
    """Mask R-CNN time per (detections kept, input width) (stand-in weights: same compute, meaningless boxes)."""
    frames = clip_frames(clip, repeats)
    print("Mask R-CNN (stand-in weights): forward + post-processing per 1280x720 frame")
    print("| detections | input width | median ms | frames/s | people found (mean) |")
    print("|---|---|---|---|---|")
    for count, width in settings:
        segmenter = create_segmenter(None, mrcnn, detections=count, input_width=width)
        segmenter.segment(frames[0])  # warm-up (allocations, first-run paths)
        samples, people = [], []
        for frame in frames:
            start = time.perf_counter()
            found = segmenter.detect(frame)
            segmenter.matte_from(found, (frame.shape[1], frame.shape[0]))
            samples.append(time.perf_counter() - start)
            people.append(sum(d.class_id == 0 for d in found))
        ms = float(np.median(samples) * 1000)
        print(f"| {count} | {width} | {ms:.0f} | {1000 / ms:.2f} | {np.mean(people):.1f} |")
    print(flush=True)


# ---------------------------------------------------------------------------------------------- soak
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ServedStream:
    """ffmpeg serving ``clip`` in a loop, in real time, as MPEG-TS on a loopback TCP port (a camera stand-in)."""

    clip: Path
    port: int = field(default_factory=free_port)

    def __enter__(self) -> str:
        if shutil.which("ffmpeg") is None:
            raise SystemExit("bench.py: error: --soak needs ffmpeg on PATH (Debian: apt-get install ffmpeg)")
        command = ["ffmpeg", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", str(self.clip)]
        command += ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "15"]
        command += ["-pix_fmt", "yuv420p", "-an", "-f", "mpegts", f"tcp://127.0.0.1:{self.port}?listen=1"]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        return f"tcp://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def soak(clip: Path, frames: int, model: str, mrcnn: Path, detections: int) -> None:
    """``frames`` frames of a looping live stream through the real live pipeline; resources before and after."""
    segmenter, matte_maker, effect = bgblur_parts(model, mrcnn, detections)
    before = {"resident MB": resident_mb(), "threads": os_threads(), "open fds": open_fds()}
    with ServedStream(clip) as url:
        time.sleep(0.5)
        source = LimitedSource(LiveSource(url, open_timeout=10, read_timeout=5, reconnect_for=5), frames)
        sink = CountingSink()
        pipeline = Pipeline(source, segmenter, matte_maker, effect, output=sink, progress=False)
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
                pipeline.run()
            finally:
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
    p.add_argument("--rounds", type=int, default=3, help="file mode: runs of each loop, alternating (3)")
    p.add_argument("--no-naive", action="store_true", help="skip the naive loop")
    p.add_argument("--composite", action="store_true", help="only the compositing micro-benchmark")
    p.add_argument(
        "--detections-sweep", action="store_true", help="Mask R-CNN time for 100/50/20/10 detections, 400/600/800 px"
    )
    p.add_argument("--soak", type=int, metavar="N", help="N frames of a looping live stream through the pipeline")
    p.add_argument("--soak-model", default="selfie", choices=MODELS, help="model for --soak (selfie)")
    p.add_argument("--cache", type=Path, default=REPO / ".cache" / "mask-rcnn-coco", help="stand-in weights folder")
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
    print(f"clip {args.clip.name}, OpenCV {cv2.__version__}, {os.cpu_count()} CPUs, {cv2.getNumThreads()} cv2 threads")
    print()
    if args.composite:
        composite_benchmark(args.clip)
        return 0
    if args.detections_sweep:
        detections_sweep(args.clip, mrcnn)
        return 0
    if args.soak:
        soak(args.clip, args.soak, args.soak_model, mrcnn, args.detections)
        return 0
    composite_benchmark(args.clip)
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
    return 0


def median_run(runs: list[Row]) -> Row:
    """The run with the median frame rate (its stage timings with it); the spread of all runs as extra columns."""
    ranked = sorted(runs, key=lambda row: row.fps)
    row = ranked[len(ranked) // 2]
    row.extra.update({"fps min": ranked[0].fps, "fps max": ranked[-1].fps})
    return row


if __name__ == "__main__":
    sys.exit(main())
