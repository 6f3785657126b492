"""bench.py --edge-colours: what the person's own colours at the edge cost a live run (issue 22: at most 2 ms of CPU
per shown frame more than the camera's colours). bgblur's CLI with a replaced background reads a fresh live stream of
the clip, once as it is and once with the edge colours off, in alternated rounds; CPU per shown frame is measured
from outside over the steady window, as for the yardsticks (:mod:`benchlib.peers`)."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

from benchlib.children import run_child, served_stream
from benchlib.measure import print_markdown
from benchlib.peers import REPO, SHOWN

BACKGROUND = "#00ff00"
# The CLI with ReplaceBackground's own_colours defaulting to False (the builder leaves it at its default): a bench-only
# switch, so the product has no option for the rim it exists to remove.
CAMERA_COLOURS = (
    "import sys; import bgblur.effects.replace as replace; "
    "replace.ReplaceBackground.__init__.__defaults__ = (0.0, False); "
    "from bgblur.cli import main; sys.exit(main())"
)
LAUNCHERS = {"camera's colours": ["-c", CAMERA_COLOURS], "own colours": ["-m", "bgblur"]}


def compare_edge_colours(clip: Path, rounds: int, seconds: float, warm: float) -> None:
    """``rounds`` alternated pairs of live runs (``warm`` + ``seconds`` each): CPU per shown frame with the camera's
    colours and with the person's own, per round and their medians."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    figures: dict[str, list[float]] = {name: [] for name in LAUNCHERS}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(rounds):
            for name, launcher in LAUNCHERS.items():
                with served_stream(clip) as camera:
                    argv = [sys.executable, *launcher, "--source", camera.url, "--output", str(Path(tmp) / "e.mp4")]
                    argv += ["--no-window", "--stats", "--quiet", "--overwrite", "--background", BACKGROUND]
                    child = run_child(argv, 120 + warm + seconds, warm=warm, stop_after=warm + seconds, env=env)
                shown = SHOWN.search(child.stderr)
                figures[name].append(child.window_cores / float(shown[2]) * 1000 if shown else float("nan"))
    camera, own = figures["camera's colours"], figures["own colours"]
    print(f"edge colours, live: {clip.name} served at its own rate, --background {BACKGROUND}, CPU per shown frame")
    print(f"over {seconds:g} s after {warm:g} s of start-up, {rounds} alternated rounds (process CPU, all threads)")
    pairs = list(zip(camera, own, strict=True))
    lines = [[str(i + 1), f"{c:.2f}", f"{o:.2f}", f"{o - c:+.2f}"] for i, (c, o) in enumerate(pairs)]
    differences = [o - c for c, o in pairs]
    lines.append(["median", f"{statistics.median(camera):.2f}", f"{statistics.median(own):.2f}"])
    lines[-1].append(f"{statistics.median(differences):+.2f} (median of the rounds' differences)")
    print_markdown(["round", "camera's colours ms", "own colours ms", "own - camera ms"], lines)
    print(flush=True)
