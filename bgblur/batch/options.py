"""The command line's folder-run options. Light: no OpenCV."""

from __future__ import annotations

import argparse
from pathlib import Path

from bgblur.argtypes import positive


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "folders (--source IN_DIR --output OUT_DIR: every video and picture, each as a single file would be)"
    )
    group.add_argument("--recursive", action="store_true", help="also the subfolders, keeping their layout")
    group.add_argument("--jobs", type=positive(int), metavar="N", help="files processed at once (one per core)")
    group.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help="run the files as Ray tasks: a local runtime, or the cluster at ADDRESS (or $RAY_ADDRESS); "
        "the folders must be shared by every node (pip install 'bgblur[ray]')",
    )
    group.add_argument("--report", type=Path, metavar="FILE.json", help="write each file's status, frames, seconds")
