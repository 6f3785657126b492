"""A private X display for window tests: Xvfb on a free display number, and a window manager on it.

* ``Xvfb`` gives a real X display; OpenCV's Qt windows draw on it (never set ``QT_QPA_PLATFORM``).
* A window manager (``openbox``) runs on the test display, as on a desktop: without one, Qt sometimes leaves a
  window black on a busy machine (see :func:`start_window_manager`).

See ``/work/shared/docs/platform.md``. Every wait is bounded.
"""

from __future__ import annotations

import random
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .processes import display_env, run_command, stop_process, wait_until


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
        return run_command(["xdpyinfo", "-display", display], timeout=5).returncode == 0
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
        result = run_command(["xprop", "-root", "_NET_SUPPORTING_WM_CHECK"], display=display, timeout=5)
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
