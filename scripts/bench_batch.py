#!/usr/bin/env python3
"""Folder runs: files per minute with 1 and 2 workers, on the local process pool and on Ray's local runtime.

    python scripts/bench_batch.py                 # the shared clips, each copied --copies times (2), all four runs
    python scripts/bench_batch.py --copies 4 --workers 1 2 4 --no-ray

Each run is the real command (``bgblur --source IN --output OUT --jobs N [--ray] --report R``) in a subprocess,
into a fresh output folder, timed from start to exit (pool or Ray start-up included). From its report: the
frames made and each file's own seconds, so a worker's throughput (frames per busy second) is told apart from the
run's. The load average is printed: on a machine shared with other work, compare rows of one run, not runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("BGBLUR_SHARED", REPO.parent / "shared"))
CLIPS = ("davis_hike.mp4", "davis_cows_noperson.mp4", "talking_head_bookshelf.mp4")


def make_library(folder: Path, copies: int) -> list[Path]:
    """Symbolic links to the shared clips, ``copies`` of each (the decoder reads the same bytes either way)."""
    folder.mkdir(parents=True)
    files = []
    for copy in range(copies):
        for clip in CLIPS:
            source = SHARED / "testdata" / "videos" / clip
            if not source.is_file():
                sys.exit(f"bench_batch: missing {source} (set BGBLUR_SHARED to the shared folder)")
            link = folder / f"{Path(clip).stem}-{copy}.mp4"
            link.symlink_to(source)
            files.append(link)
    return files


def run(library: Path, work: Path, workers: int, ray: bool) -> dict[str, float]:
    out = work / f"out-{'ray' if ray else 'pool'}-{workers}"
    report = work / f"{out.name}.json"
    command = [sys.executable, "-m", "bgblur", "--source", str(library), "--output", str(out), "--quiet"]
    command += ["--jobs", str(workers), "--report", str(report)] + (["--ray"] if ray else [])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    env.pop("RAY_ADDRESS", None)
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU of the command and the pool workers it waited for (Ray's workers belong to its raylet: not counted).
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if result.returncode != 0:
        sys.exit(f"bench_batch: {' '.join(command)} failed:\n{result.stderr}")
    files = [f for f in json.loads(report.read_text())["files"] if f["status"] == "done"]
    clips: dict[str, list[tuple[float, float]]] = {}
    for f in files:
        clip = Path(f["source"]).stem.rsplit("-", 1)[0]
        clips.setdefault(clip, []).append((f["frames"] / f["seconds"], 1000 * f["cpu_seconds"] / f["frames"]))
    frames = sum(f["frames"] for f in files)
    busy = sum(f["seconds"] for f in files)
    return {
        "files": len(files),
        "frames": frames,
        "wall": wall,
        "files_per_min": 60 * len(files) / wall,
        "frames_per_s": frames / wall,
        "worker_frames_per_s": frames / busy,
        "file_seconds": busy / len(files),
        "load": load,
        "cores_busy": cpu / wall,
        "cpu_ms_per_frame": 1000 * sum(f["cpu_seconds"] for f in files) / frames,
        "clips": {clip: [sum(x) / len(v) for x in zip(*v, strict=True)] for clip, v in clips.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=2, help="copies of each of the 3 shared clips (2: 6 files)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to run (1 2)")
    parser.add_argument("--no-ray", action="store_true", help="the local pool only")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        work = Path(tmp)
        files = make_library(work / "in", args.copies)
        print(f"{len(files)} files: {', '.join(CLIPS)} x{args.copies}; {os.cpu_count()} cores", flush=True)
        for ray in (False, True) if not args.no_ray else (False,):
            for workers in args.workers:
                row = run(work / "in", work, workers, ray)
                rows.append(("ray" if ray else "pool", workers, row))
                print(f"  {'ray' if ray else 'pool'} x{workers}: {row['wall']:.1f} s", file=sys.stderr, flush=True)
    print()
    print(
        "| runner | workers | files | frames | wall s | files/min | frames/s | per-file s | worker frames/s "
        "| CPU ms/frame | cores busy | load |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for runner, workers, r in rows:
        busy = f"{r['cores_busy']:.2f}" if runner == "pool" else "-"
        print(
            f"| {runner} | {workers} | {r['files']} | {r['frames']} | {r['wall']:.1f} | {r['files_per_min']:.1f} "
            f"| {r['frames_per_s']:.1f} | {r['file_seconds']:.2f} | {r['worker_frames_per_s']:.1f} "
            f"| {r['cpu_ms_per_frame']:.1f} | {busy} "
            f"| {r['load']:.1f} |"
        )
    print()
    print("per clip: worker frames/s (frames / the file's own seconds) and CPU ms/frame (the worker's threads: model")
    print("load, decode, model, matte, blur, encode; the ffmpeg audio copy runs in a child and is not counted):")
    print("| clip | " + " | ".join(f"{runner} x{workers}" for runner, workers, _ in rows) + " |")
    print("|---|" + "---|" * len(rows))
    for clip in (Path(c).stem for c in CLIPS):
        cells = [r["clips"].get(clip, (0.0, 0.0)) for _, _, r in rows]
        print(f"| {clip} | " + " | ".join(f"{fps:.1f} fps, {ms:.1f} ms" for fps, ms in cells) + " |")


if __name__ == "__main__":
    main()
