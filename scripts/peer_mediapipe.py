#!/usr/bin/env python3
"""The loop people build on MediaPipe's own runtime, as a benchmark peer for bgblur (issue 15).

cvzone's ``SelfiSegmentation`` / Linux-Fake-Background-Webcam style, per frame: BGR→RGB,
``mediapipe.solutions.selfie_segmentation.SelfieSegmentation(model_selection=1)``, a full-size GaussianBlur
of the whole frame, ``np.where(mask > threshold, frame, blurred)``, written to an mp4v file. Frames are read in
the same loop (``cap.read()``, as cvzone's examples do): on a live stream a slow loop falls behind.

Run it from a separate venv holding ``mediapipe==0.10.14`` (it pulls opencv-contrib-python, which must never
share an environment with bgblur's opencv-python); it imports only mediapipe, its cv2 and numpy:

    /path/to/mp-venv/bin/python scripts/peer_mediapipe.py --source clip.mp4 --output out.mp4 --frames 300
    /path/to/mp-venv/bin/python scripts/peer_mediapipe.py --source tcp://127.0.0.1:PORT --output out.mp4 \
        --warm-seconds 2 --seconds 10

Prints one JSON line: frames, seconds (wall, timed loop), cpu_seconds (this process, all threads, same span),
fps, cpu_ms_per_frame, cores_busy, peak_rss_mb, and the versions used. The first frame (graph start-up) and
the frames of --warm-seconds are processed before the clock starts and are not counted. SIGINT or SIGTERM end
the loop early and still print the line.
"""

from __future__ import annotations

import argparse
import json
import resource
import signal
import sys
import time

import cv2
import mediapipe as mp
import numpy as np


def open_source(source: str) -> cv2.VideoCapture:
    if "://" in source:  # a live stream: bound the hangs (default: 30 s of waiting)
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 10000, cv2.CAP_PROP_READ_TIMEOUT_MSEC, 3000]
        capture = cv2.VideoCapture(source, cv2.CAP_FFMPEG, params)
    else:
        capture = cv2.VideoCapture(source)
    if not capture.isOpened():
        raise SystemExit(f"peer_mediapipe.py: error: cannot open {source}")
    return capture


def peak_resident_mb() -> float:
    """This process's peak resident memory (VmHWM; ru_maxrss also counts the parent it was forked from)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--source", required=True, help="video file or stream URL (tcp://127.0.0.1:PORT)")
    p.add_argument("--output", required=True, help="mp4v video file to write")
    p.add_argument("--frames", type=int, default=0, help="stop after N timed frames (0: no limit)")
    p.add_argument("--seconds", type=float, default=0.0, help="stop after S seconds of timed loop (0: no limit)")
    p.add_argument(
        "--warm-seconds",
        type=float,
        default=0.0,
        help="run this long before the clock starts (frames processed and written, not counted): a live stream's "
        "backlog from start-up is drained at full speed and would inflate the rate (0)",
    )
    p.add_argument("--model-selection", type=int, default=1, help="0 general 256x256, 1 landscape 256x144 (1)")
    p.add_argument("--threshold", type=float, default=0.1, help="mask > threshold is person (cvzone's 0.1)")
    p.add_argument("--kernel", type=int, default=41, help="GaussianBlur kernel of the whole frame (41)")
    args = p.parse_args(argv)
    stop = []  # SIGINT/SIGTERM end the loop cleanly: the JSON line is still printed
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.append(True))

    capture = open_source(args.source)
    ok, frame = capture.read()
    if not ok:
        raise SystemExit(f"peer_mediapipe.py: error: no frame from {args.source}")
    height, width = frame.shape[:2]
    fps = capture.get(cv2.CAP_PROP_FPS)
    fps = fps if 1 <= fps <= 120 else 30.0
    writer = cv2.VideoWriter(args.output, cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise SystemExit(f"peer_mediapipe.py: error: cannot write {args.output}")
    kernel = (args.kernel, args.kernel)

    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=args.model_selection) as segmentation:

        def process(image: np.ndarray) -> None:
            rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
            mask = segmentation.process(rgb).segmentation_mask
            condition = np.stack((mask,) * 3, axis=-1) > args.threshold
            blurred = cv2.GaussianBlur(image, kernel, 0)
            writer.write(np.where(condition, image, blurred))

        process(frame)  # warm-up: graph start-up, untimed and not counted
        warm = 1
        warm_until = time.perf_counter() + args.warm_seconds
        while not stop and time.perf_counter() < warm_until:
            ok, frame = capture.read()
            if not ok:
                break
            process(frame)
            warm += 1
        frames = 0
        cpu_start, start = time.process_time(), time.perf_counter()
        while not stop and (not args.frames or frames < args.frames):
            if args.seconds and time.perf_counter() - start >= args.seconds:
                break
            ok, frame = capture.read()
            if not ok:
                break
            process(frame)
            frames += 1
        seconds = time.perf_counter() - start
        cpu_seconds = time.process_time() - cpu_start
    writer.release()
    capture.release()
    result = {
        "loop": "mediapipe-peer",
        "source": args.source,
        "size": f"{width}x{height}",
        "frames": frames,
        "warm_frames": warm,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "fps": round(frames / seconds, 2) if seconds else 0.0,
        "cpu_ms_per_frame": round(cpu_seconds / frames * 1000, 2) if frames else None,
        "cores_busy": round(cpu_seconds / seconds, 2) if seconds else None,
        "peak_rss_mb": round(peak_resident_mb(), 1),
        "mediapipe": mp.__version__,
        "opencv": cv2.__version__,
        "numpy": np.__version__,
    }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
