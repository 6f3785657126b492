"""bench.py's yardsticks besides the tutorials' loop (issue 15): the codec floor, run in this process, and
loops run as child processes — bgblur's own CLI and the MediaPipe-runtime peer (scripts/peer_mediapipe.py in
its own venv) — on the clip and on a live ffmpeg stream.

A child's CPU is measured from outside, the same way for every loop: its process CPU (all threads, from
/proc/PID/stat) over a steady window that starts once start-up is over and ends when bench.py stops it,
divided by the window → cores busy; divided by the frames shown per second the loop reports itself → CPU per
shown frame. Beside it: each loop's own figure over its own loop (the peer's JSON line, bgblur's ``--stats``),
and the whole run, start-up included (os.wait4). In file mode, where runs are short, the loops' own figures.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import cv2

from benchlib.children import Child, run_child, served_stream
from benchlib.measure import print_markdown

SCRIPTS = Path(__file__).resolve().parents[1]
REPO = SCRIPTS.parent
PEER_SCRIPT = SCRIPTS / "peer_mediapipe.py"


# ---------------------------------------------------------------------------------------------- results
@dataclass
class LoopResult:
    """One loop's run. ``fps``: frames shown (written) per second of its loop; ``cores``: process CPU seconds per
    wall second over the steady window (nan when not measured)."""

    loop: str
    frames: int
    fps: float
    cores: float = float("nan")
    cpu_ms_whole: float = float("nan")  # whole process, start-up included, per frame shown
    peak_mb: float = float("nan")
    note: str = ""
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def cpu_ms(self) -> float:
        return self.cores / self.fps * 1000 if self.fps else float("nan")


# ---------------------------------------------------------------------------------------------- the codec floor
def codec_floor(clip: Path, frames: int = 0) -> LoopResult:
    """Decode every frame of ``clip`` and encode it again as mp4v, nothing else (``frames``: at most that many;
    0 = all). The floor under any file run that writes mp4v with OpenCV."""
    capture = cv2.VideoCapture(str(clip))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    with tempfile.TemporaryDirectory() as tmp:
        writer = cv2.VideoWriter(str(Path(tmp) / "floor.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
        done = 0
        cpu_start, start = time.process_time(), time.perf_counter()
        while not frames or done < frames:
            ok, frame = capture.read()
            if not ok:
                break
            writer.write(frame)
            done += 1
        writer.release()  # the encoder's tail is part of the work
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
    capture.release()
    result = LoopResult("codec floor (decode + mp4v)", done, done / seconds if seconds else 0.0)
    result.cores = cpu / seconds if seconds else float("nan")
    return result


def child_failed(name: str, child: Child) -> LoopResult:
    tail = (child.stderr.strip().splitlines() or ["(no output)"])[-1]
    return LoopResult(name, 0, 0.0, note=f"failed (exit {child.returncode}): {tail[:200]}")


# ---------------------------------------------------------------------------------------------- the peer
def run_peer(
    peer_python: Path, source: str, output: Path, timeout: float, live_seconds: float = 0, warm: float = 0
) -> LoopResult:
    """scripts/peer_mediapipe.py in its own interpreter on ``source``: the clip to its end (``live_seconds`` 0)
    or the live stream for ``live_seconds`` after ``warm`` seconds of start-up."""
    name = "MediaPipe-runtime peer"
    argv = [str(peer_python), str(PEER_SCRIPT), "--source", source, "--output", str(output)]
    if live_seconds:
        argv += ["--warm-seconds", f"{warm / 2:g}"]  # its own count starts once its start-up backlog is drained
        child = run_child(argv, timeout, warm=warm, stop_after=warm + live_seconds)
    else:
        child = run_child(argv, timeout)
    lines = [line for line in child.stdout.splitlines() if line.startswith("{")]
    if child.returncode != 0 or not lines:
        return child_failed(name, child)
    report = json.loads(lines[-1])
    counted = report["frames"] + report.get("warm_frames", 1)
    result = LoopResult(name, report["frames"], report["fps"], peak_mb=child.peak_mb)
    result.cores = child.window_cores if live_seconds else report["cores_busy"]
    result.cpu_ms_whole = child.cpu / counted * 1000 if counted else float("nan")
    result.extra["own CPU ms"] = report["cpu_ms_per_frame"] or float("nan")  # its process_time over its own count
    result.note = f"mediapipe {report['mediapipe']}, OpenCV {report['opencv']}"
    return result


# ---------------------------------------------------------------------------------------------- bgblur's CLI
SHOWN = re.compile(r"frames shown: (\d+) \(([\d.]+)/s over ([\d.]+) s\)")
AGE = re.compile(r"matte age \(frames\): median ([\d.]+)")
OWN_CPU = re.compile(r"CPU: [\d.]+ s over [\d.]+ s = ([\d.]+) cores busy, ([\d.]+) ms per frame shown")


def run_bgblur_cli(
    source: Path | str, output: Path, options: list[str], timeout: float, live_seconds: float = 0, warm: float = 0
) -> LoopResult:
    """``bgblur --source SOURCE --output OUTPUT --no-window --stats`` as a user runs it, in a child process; its
    frames shown per second come from its own ``--stats``."""
    name = "bgblur " + " ".join(options) if options else "bgblur"
    argv = [sys.executable, "-m", "bgblur", "--source", str(source), "--output", str(output), "--no-window"]
    argv += ["--stats", "--quiet", "--overwrite", *options]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    if live_seconds:
        child = run_child(argv, timeout, warm=warm, stop_after=warm + live_seconds, env=env)
    else:
        child = run_child(argv, timeout, env=env)
    shown = SHOWN.search(child.stderr)
    if child.returncode not in (0, 130) or not shown:
        return child_failed(name, child)
    frames, fps, seconds = int(shown[1]), float(shown[2]), float(shown[3])
    result = LoopResult(name, frames, fps, peak_mb=child.peak_mb)
    own = OWN_CPU.search(child.stderr)  # its --stats: process CPU over its own loop (bgblur since the stage layout)
    if own:
        result.extra["own CPU ms"] = float(own[2])
    # a file run has no steady window: its own figure over its loop, when it gives one
    result.cores = child.window_cores if live_seconds else float(own[1]) if own else float("nan")
    result.cpu_ms_whole = child.cpu / frames * 1000 if frames else float("nan")
    age = AGE.search(child.stderr)
    if age:
        result.extra["matte age"] = float(age[1])
    result.extra["loop s"] = seconds
    return result


# ---------------------------------------------------------------------------------------------- tables
def fmt(value: float, digits: int = 1) -> str:
    return "-" if value != value else f"{value:.{digits}f}"  # nan → "-"


def print_loops(results: list[LoopResult], live: bool) -> None:
    if live:
        header = ["loop", "frames", "shown/s", "cores busy", "CPU ms/shown frame", "range", "own CPU ms/frame"]
        header += ["whole-run CPU ms/frame", "peak MB", "matte age", "note"]
    else:
        header = ["loop", "frames", "fps", "cores busy", "CPU ms/frame", "peak MB", "note"]
    lines = []
    for r in results:
        if live:
            nan = float("nan")
            own = r.extra.get("own CPU ms", nan)
            spread = f"{fmt(r.extra.get('CPU min', nan))}-{fmt(r.extra.get('CPU max', nan))}"
            cells = [r.loop, str(r.frames), fmt(r.fps), fmt(r.cores, 2), fmt(r.cpu_ms), spread, fmt(own)]
            cells.append(fmt(r.cpu_ms_whole))
            cells += [fmt(r.peak_mb, 0), fmt(r.extra.get("matte age", float("nan"))), r.note]
        else:
            cells = [r.loop, str(r.frames), fmt(r.fps), fmt(r.cores, 2), fmt(r.cpu_ms), fmt(r.peak_mb, 0), r.note]
        lines.append(cells)
    print_markdown(header, lines)


def print_ratio(text: str, numerator: float, denominator: float) -> None:
    ok = numerator == numerator and denominator == denominator and denominator > 0 and numerator > 0
    print(f"  {text}: {numerator / denominator:.2f}" if ok else f"  {text}: -")


# ---------------------------------------------------------------------------------------------- comparisons
PEER_SKIPPED = (
    "MediaPipe-runtime peer: skipped (no --peer-python; make one with `python3 -m venv V && "
    "V/bin/pip install mediapipe==0.10.14`, then --peer-python V/bin/python)"
)


def median_result(runs: list[LoopResult]) -> LoopResult:
    """The median run by frames/s (a file run's measure), with the range beside it."""
    ranked = sorted(runs, key=lambda r: r.fps)
    result = ranked[len(ranked) // 2]
    result.extra.update({"fps min": ranked[0].fps, "fps max": ranked[-1].fps})
    return result


def median_live_result(runs: list[LoopResult]) -> LoopResult:
    """The median run by CPU per shown frame (a live run's measure: every loop shows the camera's 30/s), with the
    range beside it; failed runs (nan) rank last."""
    ranked = sorted(runs, key=lambda r: (r.cpu_ms != r.cpu_ms, r.cpu_ms))
    result = ranked[len(ranked) // 2]
    measured = [r.cpu_ms for r in runs if r.cpu_ms == r.cpu_ms]
    if measured:
        result.extra.update({"CPU min": min(measured), "CPU max": max(measured)})
    return result


def compare_file(
    clip: Path, models: list[str], peer_python: Path | None, rounds: int, in_process: dict[str, float]
) -> list[LoopResult]:
    """Every frame of ``clip``, written as mp4v: the codec floor, bgblur's CLI per model and the peer, ``rounds``
    times alternating (the median run of each is shown); ratios against the floor and the peer.
    ``in_process``: bench.py's own bgblur rows (frames/s, no output written) to set against the floor too."""
    with tempfile.TemporaryDirectory() as tmp:
        loops = [lambda: codec_floor(clip)]
        for model in models:
            out = Path(tmp) / f"bgblur-{model}.mp4"
            loops.append(lambda out=out, model=model: run_bgblur_cli(clip, out, ["--model", model], 600))
        if peer_python is not None:
            loops.append(lambda: run_peer(peer_python, str(clip), Path(tmp) / "peer.mp4", 600))
        runs: list[list[LoopResult]] = [[] for _ in loops]
        for _ in range(rounds):  # alternating: a slow spell of the shared machine hits every loop alike
            for loop, done in zip(loops, runs, strict=True):
                done.append(loop())
    results = [median_result(done) for done in runs]
    print(f"file mode against the yardsticks: every frame of {clip.name}, written as mp4v; median of {rounds} runs")
    print_loops(results, live=False)
    if peer_python is None:
        print(PEER_SKIPPED)
    floor, bgblur_rows = results[0], results[1 : 1 + len(models)]
    peer = results[-1] if peer_python is not None else None
    if models or peer is not None:
        print("ratios:")
    for model, row in zip(models, bgblur_rows, strict=True):
        print_ratio(f"{row.loop} file fps / codec floor fps", row.fps, floor.fps)
        if model in in_process:
            print_ratio(f"bgblur {model} in-process (no output) fps / codec floor fps", in_process[model], floor.fps)
    if peer is not None:
        print_ratio("peer file fps / codec floor fps", peer.fps, floor.fps)
        for row in bgblur_rows:
            print_ratio(f"{row.loop} file fps / peer file fps", row.fps, peer.fps)
    print(flush=True)
    return results


def compare_live(
    clip: Path,
    models: list[str],
    peer_python: Path | None,
    seconds: float,
    warm: float,
    max_cpu: tuple[float, ...] = (),
    rounds: int = 1,
):
    """bgblur's CLI per model (and per ``--max-cpu`` budget) and the peer, each on its own fresh live stream of
    ``clip`` (ffmpeg, 30 fps, on 127.0.0.1) for ``warm`` + ``seconds``, each recording it as mp4v: frames shown per
    second, cores busy and CPU per shown frame over the last ``seconds``; ``rounds`` times alternating (the median run
    of each shown, by CPU per shown frame); ratios bgblur / peer, of the medians and round by round."""
    with tempfile.TemporaryDirectory() as tmp:

        def bgblur_loop(model: str, budget: float | None) -> LoopResult:
            options = ["--model", model] + ([] if budget is None else ["--max-cpu", f"{budget:g}"])
            with served_stream(clip) as camera:
                # mp4v, as the peer records: OpenCV's MJPEG writer (.avi) costs 9.2 ms a 720p frame, mp4v 4.0
                out = Path(tmp) / f"bgblur-{model}.mp4"
                return run_bgblur_cli(camera.url, out, options, 120 + seconds + warm, seconds, warm)

        def peer_loop() -> LoopResult:
            with served_stream(clip) as camera:
                return run_peer(peer_python, camera.url, Path(tmp) / "peer.mp4", 120 + seconds + warm, seconds, warm)

        loops = [partial(bgblur_loop, model, budget) for model in models for budget in (None, *max_cpu)]
        if peer_python is not None:
            loops.append(peer_loop)
        runs: list[list[LoopResult]] = [[] for _ in loops]
        for _ in range(rounds):  # alternating: the peer's CPU varied 26-34 ms a frame from run to run here
            for loop, done in zip(loops, runs, strict=True):
                done.append(loop())
    results = [median_live_result(done) for done in runs]
    print(
        f"live stream: {clip.name} served by ffmpeg at its own rate on 127.0.0.1, recorded as mp4v; "
        f"CPU over {seconds:g} s after {warm:g} s of start-up (process CPU, all threads); median of {rounds} runs"
    )
    print_loops(results, live=True)
    if peer_python is None:
        print(PEER_SKIPPED)
    else:
        peer = results[-1]
        print("ratios:")
        for row, done in zip(results[:-1], runs[:-1], strict=True):
            print_ratio(f"{row.loop} CPU per shown frame / peer CPU per shown frame", row.cpu_ms, peer.cpu_ms)
            if rounds > 1:
                paired = [f"{mine.cpu_ms / theirs.cpu_ms:.2f}" for mine, theirs in zip(done, runs[-1], strict=True)]
                print(f"    round by round: {' '.join(paired)}")
            print_ratio(f"{row.loop} frames shown/s / peer frames shown/s", row.fps, peer.fps)
            print_ratio(f"{row.loop} cores busy / peer cores busy", row.cores, peer.cores)
    print(flush=True)
    return results
