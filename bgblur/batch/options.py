"""The command line's folder-run options, and the rule that sends a run down the folder path. Light: no OpenCV."""

from __future__ import annotations

import argparse
from pathlib import Path

from bgblur.argtypes import positive
from bgblur.errors import UsageError


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


def is_folder_run(args: argparse.Namespace) -> bool:
    """A folder as the source with an output: the folder path. (A folder alone is refused by open_source.)"""
    return Path(args.source).is_dir() and args.output is not None


def refuse_folder_options(args: argparse.Namespace) -> None:
    """The folder options on a single-file run: say what they need."""
    given = [
        name
        for name, on in (
            ("--recursive", args.recursive),
            ("--jobs", args.jobs is not None),
            ("--ray", args.ray is not None),
            ("--report", args.report is not None),
        )
        if on
    ]
    if given:
        raise UsageError(f"{', '.join(given)}: for a folder as --source with --output FOLDER")
