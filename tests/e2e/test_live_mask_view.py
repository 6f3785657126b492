"""A live stream in the real window: with privacy off, ``v`` still shows the person's matte beside the picture.

The live loop used to run the model only while privacy was on, so the matte view showed black; both loops now
ask the pipeline whether any output needs the matte (the effect, the matte view or a matte file)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from harness import processes, streams, windows
from util import start_bgblur

SIZE = (480, 270)  # the stream; the matte view doubles its width
STATUS_ROWS = 30


@pytest.mark.e2e
def test_v_with_privacy_off_shows_the_matte_of_a_live_stream(xdisplay: str, testdata: Path) -> None:
    width, height = SIZE
    with streams.LiveStream(testdata / "videos" / "talking_head_bookshelf.mp4", size=SIZE, fps=30) as camera:
        app = start_bgblur("--source", camera.url, "--quiet", display=xdisplay)
        try:
            window = windows.find_window("^bgblur$", xdisplay, timeout=30, pid=app.pid, proc=app)
            windows.wait_for_screenshot(
                window, xdisplay, lambda s: s.shape[:2] == (height, width) and s.mean() > 20, 15, "the stream"
            )
            windows.send_key(window, "p", xdisplay)  # privacy off: the room is shown as it is
            windows.send_key(window, "v", xdisplay)

            def matte_of_a_person(shot: np.ndarray) -> bool:
                if shot.shape[:2] != (height, 2 * width):
                    return False
                matte = cv2.cvtColor(shot[: height - STATUS_ROWS, width:], cv2.COLOR_BGR2GRAY)
                return 0.05 < (matte > 200).mean() < 0.8  # a person-sized white shape, not black

            shot = windows.wait_for_screenshot(window, xdisplay, matte_of_a_person, 15, "the matte beside the stream")
            # Privacy is off: the left half is the stream itself, sharp (not the blurred room).
            assert windows.sharpness(shot[: height - STATUS_ROWS, :width]) > 50
            windows.send_key(window, "q", xdisplay)
            assert app.wait(timeout=15) == 0
        finally:
            if app.poll() is None:
                processes.stop_process(app)
            _, err = app.communicate(timeout=10)
    assert "Traceback" not in err, err
