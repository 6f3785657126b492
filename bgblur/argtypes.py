"""Argument types of the command line: each parses one option's text or says, in one line, why it cannot."""

from __future__ import annotations

import argparse

from bgblur.frames import KERNEL_LIMITS


def number_in(low: float, high: float, why: str = ""):
    """A number from ``low`` to ``high`` (both included); ``why`` is added to the refusal in brackets."""
    note = f" ({why})" if why else ""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is outside {low:g}..{high:g}{note}")
        return value

    return parse


fraction = number_in(0.0, 1.0)
zoom = number_in(1.0, 8.0, "how far the view may zoom in; 2 is the default")


def kernel_size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    low, high = KERNEL_LIMITS
    if value < low or value > high:
        raise argparse.ArgumentTypeError(f"{value} is outside {low}..{high} (41 is the default)")
    if value % 2 == 0:
        raise argparse.ArgumentTypeError(f"{value} is even: a Gaussian kernel needs a centre pixel, try {value + 1}")
    return value


def positive(kind: type):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text} must be above 0")
        return value

    return parse


def frame_index(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is below 0 (the first frame is 0)")
    return value


def size(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT, e.g. 1280x720")
    return int(parts[0]), int(parts[1])
