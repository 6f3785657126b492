"""Drive a GUI program the way a person does: find its window, type keys, take screenshots, close it.

What the helpers rely on (see ``/work/shared/docs/platform.md``):

* ``xdotool`` finds windows and types keys (the window must have focus; keys closer than ~250 ms
  collapse into one ``waitKey`` result, so :func:`send_key` spaces them out).
* ``import`` (ImageMagick) takes screenshots of one window.
* Closing a window like a person clicking its close button means sending the ICCCM ``WM_DELETE_WINDOW``
  client message (what a window manager sends). :func:`close_window` does that with ``ctypes`` on libX11.
  ``xdotool windowclose`` is NOT equivalent: it calls ``XDestroyWindow`` behind Qt's back, the OpenCV app
  never notices and keeps running.

Every wait here is bounded: each external command runs with a timeout and every poll has a deadline.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import re
import subprocess
import threading
import time
from collections.abc import Callable

import cv2
import numpy as np

from .processes import run_command, wait_until

#: Minimum spacing between two keys on one display (platform.md: closer keys collapse into one).
KEY_GAP_S = 0.25


def list_windows(name_regex: str, display: str, pid: int | None = None, visible_only: bool = True) -> list[int]:
    """Ids of windows whose title matches ``name_regex`` (and belong to ``pid`` if given), without waiting."""
    args = ["xdotool", "search", "--all"]
    if visible_only:
        args.append("--onlyvisible")
    if pid is not None:
        args += ["--pid", str(pid)]  # Qt sets _NET_WM_PID; --all makes it AND with the name (default is OR)
    args += ["--name", name_regex]
    try:
        result = run_command(args, display=display, timeout=5)
    except subprocess.TimeoutExpired:
        return []
    return [int(w) for w in result.stdout.split()]


def find_window(
    name_regex: str,
    display: str,
    timeout: float = 10.0,
    pid: int | None = None,
    proc: subprocess.Popen | None = None,
) -> int:
    """Wait (at most ``timeout`` s) until a visible window titled ``name_regex`` exists and return its id.

    Polls ``xdotool search`` instead of ``--sync`` so it cannot hang. Give ``proc`` to fail fast (with its exit
    status) when the app dies before showing its window; ``pid`` restricts the search to that process's windows.
    """

    def probe() -> int | None:
        windows = list_windows(name_regex, display, pid=pid)
        if windows:
            return windows[0]
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"app exited with {proc.returncode} before showing a window {name_regex!r}")
        return None

    return wait_until(probe, timeout, 0.1, f"no window {name_regex!r} on {display}")


def window_exists(wid: int, display: str) -> bool:
    """True while the X window ``wid`` exists (``xwininfo`` can query it)."""
    try:
        return run_command(["xwininfo", "-id", str(wid)], display=display, timeout=5).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def window_geometry(wid: int, display: str) -> tuple[int, int]:
    """``(width, height)`` of window ``wid`` in pixels (from ``xdotool getwindowgeometry --shell``)."""
    result = run_command(["xdotool", "getwindowgeometry", "--shell", str(wid)], display=display)
    if result.returncode != 0:
        raise RuntimeError(f"getwindowgeometry {wid} failed: {result.stderr.decode(errors='replace').strip()}")
    values = dict(re.findall(r"^(\w+)=(\d+)$", result.stdout.decode(), flags=re.MULTILINE))
    return int(values["WIDTH"]), int(values["HEIGHT"])


def settled_geometry(wid: int, display: str, expected: tuple[int, int], timeout: float = 10.0) -> tuple[int, int]:
    """The window's size once it equals ``expected``, or the last size seen after ``timeout`` seconds.

    A HighGUI window is mapped at a default size (98x69 under Xvfb) and sized to the picture by the first
    ``imshow``, so right after :func:`find_window` it may not have its final size yet.
    """
    seen = [window_geometry(wid, display)]
    deadline = time.monotonic() + timeout
    while seen[-1] != expected and time.monotonic() < deadline:
        time.sleep(0.05)
        seen.append(window_geometry(wid, display))
    return seen[-1]


_last_key_at: dict[str, float] = {}
_key_lock = threading.Lock()


def send_key(wid: int, key: str, display: str, gap: float = KEY_GAP_S) -> None:
    """Focus window ``wid`` and press ``key`` (xdotool key syntax: ``p``, ``q``, ``Escape``, ``ctrl+s``, ``space``).

    Keys on one display are spaced at least ``gap`` seconds apart: OpenCV's ``waitKey`` only reports the last key
    that arrived since its previous call, so keys sent closer together get lost.
    """
    with _key_lock:
        wait = _last_key_at.get(display, 0.0) + gap - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        result = run_command(["xdotool", "windowfocus", "--sync", str(wid), "key", key], display=display)
        _last_key_at[display] = time.monotonic()
    if result.returncode != 0:
        raise RuntimeError(f"xdotool key {key!r} to {wid} failed: {result.stderr.decode(errors='replace').strip()}")


def screenshot(wid: int, display: str) -> np.ndarray:
    """What window ``wid`` shows now, as a BGR ``uint8`` array (``import -window WID png:-``)."""
    result = run_command(["import", "-display", display, "-window", str(wid), "png:-"], display=display)
    if result.returncode != 0 or not result.stdout:
        raise RuntimeError(f"screenshot of {wid} failed: {result.stderr.decode(errors='replace').strip()}")
    image = cv2.imdecode(np.frombuffer(result.stdout, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise RuntimeError(f"screenshot of {wid}: could not decode {len(result.stdout)} bytes of PNG")
    return image


def wait_for_screenshot(
    wid: int, display: str, condition: Callable[[np.ndarray], bool], timeout: float = 10.0, what: str = "picture"
) -> np.ndarray:
    """The first screenshot of ``wid`` (polled every 0.2 s) that satisfies ``condition``; :class:`TimeoutError`
    naming ``what`` after ``timeout`` seconds."""
    return wait_until(lambda: [s for s in [screenshot(wid, display)] if condition(s)], timeout, 0.2, what)[0]


class _XClientMessageEvent(ctypes.Structure):
    _fields_ = (
        ("type", ctypes.c_int),
        ("serial", ctypes.c_ulong),
        ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("window", ctypes.c_ulong),
        ("message_type", ctypes.c_ulong),
        ("format", ctypes.c_int),
        ("data", ctypes.c_long * 5),
    )


class _XEvent(ctypes.Union):
    _fields_ = (("xclient", _XClientMessageEvent), ("pad", ctypes.c_long * 24))


_X_ERROR_HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
_CLIENT_MESSAGE = 33


def _libx11() -> ctypes.CDLL:
    name = ctypes.util.find_library("X11") or "libX11.so.6"
    lib = ctypes.CDLL(name)
    lib.XOpenDisplay.restype = ctypes.c_void_p
    lib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    lib.XInternAtom.restype = ctypes.c_ulong
    lib.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    lib.XSendEvent.restype = ctypes.c_int
    lib.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.POINTER(_XEvent)]
    lib.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.XCloseDisplay.argtypes = [ctypes.c_void_p]
    lib.XSetErrorHandler.restype = ctypes.c_void_p
    lib.XSetErrorHandler.argtypes = [ctypes.c_void_p]
    return lib


def close_window(wid: int, display: str) -> None:
    """Close window ``wid`` the way a person clicking its title-bar close button does.

    Sends the ICCCM ``WM_PROTOCOLS``/``WM_DELETE_WINDOW`` client message, which is what a window manager sends on
    that click. Qt then closes the window and OpenCV's ``getWindowProperty(name,
    WND_PROP_VISIBLE)`` reports it: with OpenCV 5 / Qt it even raises ``cv2.error`` ("NULL guiReceiver") once the
    last window is gone, so an app must treat that error as "closed" too. Raises :class:`RuntimeError` if the
    window does not exist.
    """
    lib = _libx11()
    dpy = lib.XOpenDisplay(display.encode())
    if not dpy:
        raise RuntimeError(f"cannot open X display {display}")
    errors: list[int] = []

    @_X_ERROR_HANDLER
    def on_error(_dpy: int, _event: int) -> int:  # the default handler would exit() this whole process
        errors.append(1)
        return 0

    previous = lib.XSetErrorHandler(ctypes.cast(on_error, ctypes.c_void_p))
    try:
        event = _XEvent()
        event.xclient.type = _CLIENT_MESSAGE
        event.xclient.window = wid
        event.xclient.message_type = lib.XInternAtom(dpy, b"WM_PROTOCOLS", 0)
        event.xclient.format = 32
        event.xclient.data[0] = lib.XInternAtom(dpy, b"WM_DELETE_WINDOW", 0)
        event.xclient.data[1] = 0  # CurrentTime
        lib.XSendEvent(dpy, wid, 0, 0, ctypes.byref(event))
        lib.XSync(dpy, 0)  # deliver now and collect any BadWindow error
    finally:
        lib.XSetErrorHandler(previous)
        lib.XCloseDisplay(dpy)
    if errors:
        raise RuntimeError(f"close_window: no window {wid} on {display}")


def destroy_window(wid: int, display: str) -> None:
    """``xdotool windowclose``: destroy the X window behind the app's back. NOT what a person does (see module doc)."""
    run_command(["xdotool", "windowclose", str(wid)], display=display)


def sharpness(image: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Variance of the Laplacian of the grayscale image, over ``mask`` (non-zero pixels) if given.

    High on sharp detail, low on blurred areas: compare the person region against the background, or a window
    before and after blurring. Returns 0.0 for an empty mask.
    """
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    lap = cv2.Laplacian(gray, cv2.CV_64F)
    if mask is None:
        return float(lap.var())
    if mask.shape[:2] != gray.shape[:2]:
        raise ValueError(f"mask shape {mask.shape[:2]} differs from image shape {gray.shape[:2]}")
    values = lap[(mask if mask.ndim == 2 else mask[..., 0]) > 0]
    return float(values.var()) if values.size else 0.0
