"""Drive a GUI program the way a person does: a virtual X display, a fake live camera, keys, screenshots.

What the helpers rely on (see ``/work/shared/docs/platform.md``):

* ``Xvfb`` gives a real X display; OpenCV's Qt windows draw on it (never set ``QT_QPA_PLATFORM``).
* ``ffmpeg`` serving MPEG-TS on ``tcp://127.0.0.1:PORT?listen=1`` behaves like a camera for
  ``cv2.VideoCapture`` (live rate, drops frames when the reader is slow). It serves ONE client: when that
  client disconnects, ffmpeg exits. Use one :class:`LiveStream` per reader.
* ``xdotool`` finds windows and types keys (the window must have focus; keys closer than ~250 ms
  collapse into one ``waitKey`` result, so :func:`send_key` spaces them out).
* ``import`` (ImageMagick) takes screenshots of one window.
* Closing a window like a person clicking its close button means sending the ICCCM ``WM_DELETE_WINDOW``
  client message (what a window manager sends). :func:`close_window` does that with ``ctypes`` on libX11.
  ``xdotool windowclose`` is NOT equivalent: it calls ``XDestroyWindow`` behind Qt's back, the OpenCV app
  never notices and keeps running.
* A window manager (``openbox``) runs on the test display, as on a desktop: without one, Qt sometimes leaves a
  window black on a busy machine (see :func:`start_window_manager`).

Every wait here is bounded: each external command runs with a timeout and every poll has a deadline.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import random
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np

T = TypeVar("T")

#: Minimum spacing between two keys on one display (platform.md: closer keys collapse into one).
KEY_GAP_S = 0.25
#: Timeout for one short external command (xdotool, xwininfo, import, xdpyinfo).
COMMAND_TIMEOUT_S = 10.0


# --------------------------------------------------------------------------------------------------------------------
# Waiting and processes
# --------------------------------------------------------------------------------------------------------------------


def wait_until(
    predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.05, message: str | None = None
) -> T:
    """Call ``predicate`` until it returns something truthy and return that value.

    Raises :class:`TimeoutError` (with ``message`` and the last value) after ``timeout`` seconds. The predicate is
    always tried at least once, and once more right at the deadline.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"{message or 'condition not met'} within {timeout:.1f} s (last value: {value!r})")
        time.sleep(min(interval, remaining))


def stop_process(proc: subprocess.Popen, timeout: float = 5.0) -> int | None:
    """Stop ``proc`` for sure: SIGCONT (in case it is stopped), SIGTERM, then SIGKILL after ``timeout`` s.

    Always reaps the process (no zombie) and returns its exit status (None only if it could not be reaped).
    """
    if proc.poll() is not None:
        return proc.returncode
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGCONT)  # a SIGSTOPped process would hold SIGTERM pending forever
        proc.terminate()
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None


# Processes of the session's shared X display (Xvfb and its window manager), which outlive single tests.
SESSION_PIDS: set[int] = set()


def child_processes(pid: int | None = None) -> list[str]:
    """Direct children of ``pid`` (default: this process) as ``"PID command line"`` strings, zombies included.

    Used by the suite to prove that no Xvfb, ffmpeg or app process is left behind.
    """
    result = subprocess.run(
        ["pgrep", "-a", "-P", str(pid or os.getpid())],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    return [line for line in result.stdout.splitlines() if line.strip()]


def _run(args: Sequence[str], display: str | None = None, timeout: float = COMMAND_TIMEOUT_S, **kwargs):
    """Run a short external command with ``DISPLAY`` set, captured output and a hard timeout."""
    env = dict(os.environ)
    if display is not None:
        env["DISPLAY"] = display
    return subprocess.run(
        list(args), env=env, capture_output=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL, **kwargs
    )


def display_env(display: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of ``base`` (default ``os.environ``) with ``DISPLAY`` set, for starting a GUI app on ``display``."""
    env = dict(os.environ if base is None else base)
    env["DISPLAY"] = display
    return env


# --------------------------------------------------------------------------------------------------------------------
# Xvfb
# --------------------------------------------------------------------------------------------------------------------


def _display_in_use(number: int) -> bool:
    return Path(f"/tmp/.X11-unix/X{number}").exists() or Path(f"/tmp/.X{number}-lock").exists()


def _lock_owner(number: int) -> int | None:
    try:
        return int(Path(f"/tmp/.X{number}-lock").read_text().strip())
    except (OSError, ValueError):
        return None


def display_accepts_connections(display: str) -> bool:
    """True if an X server answers on ``display`` (``xdpyinfo`` succeeds)."""
    try:
        return _run(["xdpyinfo", "-display", display], timeout=5).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def start_xvfb(
    screen: str = "1280x720x24",
    first: int | None = None,
    attempts: int = 20,
    timeout: float = 10.0,
) -> tuple[str, subprocess.Popen]:
    """Start ``Xvfb :N -screen 0 SCREEN -nolisten tcp -noreset`` on a free display and return ``(":N", process)``.

    Display numbers start at ``first`` (default: random in 100..899, so parallel sessions rarely even try the same
    one) and skip numbers whose socket or lock file exists. Two sessions racing for the same number are resolved by
    Xvfb's own lock file: the loser exits at once and we try the next number; the winner is confirmed by the lock
    file holding our pid, so we never mistake someone else's server for ours. Raises :class:`RuntimeError` when
    no display could be started.
    """
    number = first if first is not None else random.randint(100, 899)
    errors: list[str] = []
    for _ in range(attempts):
        while _display_in_use(number):
            number += 1
        display = f":{number}"
        with tempfile.TemporaryFile() as log:
            proc = subprocess.Popen(
                ["Xvfb", display, "-screen", "0", screen, "-nolisten", "tcp", "-noreset"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and proc.poll() is None:
                if _lock_owner(number) == proc.pid and display_accepts_connections(display):
                    return display, proc
                time.sleep(0.05)
            stop_process(proc)
            log.seek(0)
            errors.append(f"{display}: exit {proc.returncode}: {log.read().decode(errors='replace').strip()[-300:]}")
        number += 1
    raise RuntimeError("could not start Xvfb:\n" + "\n".join(errors))


def stop_xvfb(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    """Stop an Xvfb started by :func:`start_xvfb` (it removes its own lock file and socket on SIGTERM)."""
    stop_process(proc, timeout=timeout)


# Windows without frame or border at the top-left corner: a 1280x720 frame fills the 1280x720 screen and a
# screenshot is exactly the frame, as without a window manager.
OPENBOX_CONFIG = """<?xml version="1.0" encoding="UTF-8"?>
<openbox_config xmlns="http://openbox.org/3.4/rc">
  <theme><name>bare</name></theme>
  <applications>
    <application class="*">
      <decor>no</decor>
      <position force="yes"><x>0</x><y>0</y></position>
    </application>
  </applications>
</openbox_config>
"""


def start_window_manager(display: str, home: Path, timeout: float = 10.0) -> subprocess.Popen:
    """Start ``openbox`` on ``display`` (its settings written to the folder ``home``, which must outlive it) and
    return once it manages windows, as on any desktop.

    Without a window manager, Qt 5.15 (the opencv-python wheels) now and then never receives the MapNotify of its
    window when the machine is busy, considers it unexposed forever and paints nothing: the window stays black
    (measured with both cores loaded: 4 of 12 starts black without a window manager, 0 of 12 with openbox).
    """
    (home / "rc.xml").write_text(OPENBOX_CONFIG)
    theme = home / "themes" / "bare" / "openbox-3"
    theme.mkdir(parents=True, exist_ok=True)
    (theme / "themerc").write_text("border.width: 0\n")
    proc = subprocess.Popen(
        ["openbox", "--sm-disable", "--config-file", str(home / "rc.xml")],
        env={**display_env(display), "XDG_DATA_HOME": str(home)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def managing() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"openbox exited with {proc.returncode} on {display}")
        result = _run(["xprop", "-root", "_NET_SUPPORTING_WM_CHECK"], display=display, timeout=5)
        return "window id" in result.stdout.decode(errors="replace")

    try:
        wait_until(managing, timeout, 0.05, f"openbox did not take over {display}")
    except BaseException:
        stop_process(proc)
        raise
    return proc


@dataclass
class XServer:
    """A private Xvfb display as a context manager: ``with XServer() as x: ... x.display ...``."""

    screen: str = "1280x720x24"
    display: str = ""
    process: subprocess.Popen | None = field(default=None, repr=False)

    def start(self) -> XServer:
        self.display, self.process = start_xvfb(self.screen)
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_xvfb(self.process)
            self.process = None

    def __enter__(self) -> XServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------------------------------------------------
# A live camera: ffmpeg serving MPEG-TS over TCP
# --------------------------------------------------------------------------------------------------------------------


def free_tcp_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def is_listening(port: int, host: str = "127.0.0.1") -> bool:
    """True if some socket LISTENs on ``host:port``, checked in ``/proc/net/tcp`` WITHOUT connecting.

    Connecting would use up ffmpeg's single ``listen=1`` client and make it exit.
    """
    want = f"{socket.inet_aton(host)[::-1].hex().upper()}:{port:04X}"  # the kernel prints little-endian hex
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return False
    return any(parts[1] == want and parts[3] == "0A" for parts in (line.split() for line in lines))


class LiveStream:
    """A fake camera: ffmpeg serves a looped clip (or ``testsrc``) live as MPEG-TS on ``tcp://127.0.0.1:PORT``.

    >>> with LiveStream(clip, size=(640, 360), fps=30) as cam:
    ...     cap = cv2.VideoCapture(cam.url, cv2.CAP_FFMPEG)

    ``source=None`` serves ffmpeg's ``testsrc`` pattern (default 640x480 at 30 fps). Encoding follows
    platform.md: libx264 ultrafast/zerolatency, GOP 15, yuv420p, no audio, ``-re`` pacing, clip looped forever.
    The stream starts (from the beginning of the clip) when the one client connects, and ffmpeg exits when that
    client goes away. ``pause()``/``resume()`` freeze the camera with SIGSTOP/SIGCONT; ``kill()`` makes it vanish.
    Leaving the ``with`` block always ends ffmpeg, even a paused one.
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | None = None,
        size: tuple[int, int] | None = None,
        fps: float | None = None,
        ready_timeout: float = 10.0,
        attempts: int = 5,
    ) -> None:
        self.source = None if source is None else Path(source)
        self.size = size
        self.fps = fps
        self.ready_timeout = ready_timeout
        self.attempts = attempts
        self.port = 0
        self.process: subprocess.Popen | None = None
        self._log: tempfile._TemporaryFileWrapper | None = None

    @property
    def url(self) -> str:
        """What to pass to ``cv2.VideoCapture`` or ``bgblur --source``."""
        return f"tcp://127.0.0.1:{self.port}"

    def command(self, port: int) -> list[str]:
        """The ffmpeg command line serving on ``port``."""
        cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error"]
        if self.source is None:
            w, h = self.size or (640, 480)
            cmd += ["-re", "-f", "lavfi", "-i", f"testsrc=size={w}x{h}:rate={self.fps or 30}"]
            filters: list[str] = []
        else:
            if not self.source.is_file():
                raise FileNotFoundError(self.source)
            cmd += ["-re", "-stream_loop", "-1", "-i", str(self.source)]
            filters = []
            if self.size:
                filters.append(f"scale={self.size[0]}:{self.size[1]}")
            if self.fps:
                filters.append(f"fps={self.fps}")
        if filters:
            cmd += ["-vf", ",".join(filters)]
        cmd += ["-an", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "15"]
        cmd += ["-pix_fmt", "yuv420p", "-f", "mpegts", f"tcp://127.0.0.1:{port}?listen=1"]
        return cmd

    def start(self) -> LiveStream:
        """Start ffmpeg and wait until it listens (retrying on another port if the chosen one got taken)."""
        for _ in range(self.attempts):
            self.port = free_tcp_port()
            self._log = tempfile.NamedTemporaryFile(prefix="livestream-", suffix=".log", delete=False)  # noqa: SIM115
            self.process = subprocess.Popen(
                self.command(self.port), stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log
            )
            deadline = time.monotonic() + self.ready_timeout
            while time.monotonic() < deadline and self.process.poll() is None:
                if is_listening(self.port):
                    return self
                time.sleep(0.02)
            log = self.log()
            self.stop()
            if "Address already in use" not in log:
                raise RuntimeError(f"ffmpeg did not start listening on {self.url}:\n{log[-2000:]}")
        raise RuntimeError(f"ffmpeg could not find a free port in {self.attempts} attempts")

    def log(self) -> str:
        """What ffmpeg wrote to stderr so far (errors only)."""
        if self._log is None:
            return ""
        try:
            return Path(self._log.name).read_text(errors="replace")
        except OSError:
            return ""

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def pause(self) -> None:
        """Freeze the camera (SIGSTOP): the reader gets no more bytes, but the connection stays open."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Undo :meth:`pause` (SIGCONT)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """Make the camera vanish abruptly (SIGKILL): the reader sees the connection close."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)

    def stop(self) -> None:
        """End ffmpeg for sure (also when paused) and remove its log."""
        if self.process is not None:
            stop_process(self.process, timeout=3)
        if self._log is not None:
            self._log.close()
            with contextlib.suppress(OSError):
                os.unlink(self._log.name)
            self._log = None

    def __enter__(self) -> LiveStream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class NeverOpeningStream:
    """A TCP server on 127.0.0.1 that accepts connections and never sends a byte: a camera that never opens.

    ``with NeverOpeningStream() as dead: cv2.VideoCapture(dead.url, ...)`` must give up after its open timeout.
    """

    def __init__(self) -> None:
        self._server: socket.socket | None = None
        self._clients: list[socket.socket] = []
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.port = 0
        self.accepted = 0

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        assert self._server is not None
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._clients.append(client)  # hold it open, silent
            self.accepted += 1

    def __enter__(self) -> NeverOpeningStream:
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(8)
        self._server.settimeout(0.1)
        self.port = self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name="NeverOpeningStream", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        for sock in [*self._clients, self._server]:
            if sock is not None:
                sock.close()
        self._clients.clear()


# --------------------------------------------------------------------------------------------------------------------
# Windows, keys, screenshots
# --------------------------------------------------------------------------------------------------------------------


def list_windows(name_regex: str, display: str, pid: int | None = None, visible_only: bool = True) -> list[int]:
    """Ids of windows whose title matches ``name_regex`` (and belong to ``pid`` if given), without waiting."""
    args = ["xdotool", "search", "--all"]
    if visible_only:
        args.append("--onlyvisible")
    if pid is not None:
        args += ["--pid", str(pid)]  # Qt sets _NET_WM_PID; --all makes it AND with the name (default is OR)
    args += ["--name", name_regex]
    try:
        result = _run(args, display=display, timeout=5)
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
        return _run(["xwininfo", "-id", str(wid)], display=display, timeout=5).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def window_geometry(wid: int, display: str) -> tuple[int, int]:
    """``(width, height)`` of window ``wid`` in pixels (from ``xdotool getwindowgeometry --shell``)."""
    result = _run(["xdotool", "getwindowgeometry", "--shell", str(wid)], display=display)
    if result.returncode != 0:
        raise RuntimeError(f"getwindowgeometry {wid} failed: {result.stderr.decode(errors='replace').strip()}")
    values = dict(re.findall(r"^(\w+)=(\d+)$", result.stdout.decode(), flags=re.MULTILINE))
    return int(values["WIDTH"]), int(values["HEIGHT"])


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
        result = _run(["xdotool", "windowfocus", "--sync", str(wid), "key", key], display=display)
        _last_key_at[display] = time.monotonic()
    if result.returncode != 0:
        raise RuntimeError(f"xdotool key {key!r} to {wid} failed: {result.stderr.decode(errors='replace').strip()}")


def screenshot(wid: int, display: str) -> np.ndarray:
    """What window ``wid`` shows now, as a BGR ``uint8`` array (``import -window WID png:-``)."""
    result = _run(["import", "-display", display, "-window", str(wid), "png:-"], display=display)
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
    _run(["xdotool", "windowclose", str(wid)], display=display)


# --------------------------------------------------------------------------------------------------------------------
# Image measures
# --------------------------------------------------------------------------------------------------------------------


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


@contextlib.contextmanager
def running(args: Sequence[str], display: str | None = None, **popen_kwargs) -> Iterator[subprocess.Popen]:
    """Start a program (with ``DISPLAY`` set if given) and stop it for sure when the block ends."""
    env = popen_kwargs.pop("env", None)
    if display is not None:
        env = display_env(display, env)
    proc = subprocess.Popen(list(args), env=env, stdin=subprocess.DEVNULL, **popen_kwargs)
    try:
        yield proc
    finally:
        stop_process(proc)
