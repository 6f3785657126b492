"""The window's overlays: the matte view beside the output (mirrored with it) and the FPS meter."""

from __future__ import annotations

import numpy as np

from bgblur.frames import Controls, Frame, Matte
from bgblur.run import Outputs, Pipeline
from bgblur.sinks.overlays import FpsMeter, side_by_side


class SeenByWindow:
    """Stands in for the window: keeps the picture and the matte the pipeline hands it."""

    def __init__(self) -> None:
        self.shown: list[tuple[np.ndarray, np.ndarray | None]] = []

    def present(self, result: np.ndarray, alpha: np.ndarray | None, controls: Controls) -> None:
        self.shown.append((result.copy(), None if alpha is None else alpha.copy()))

    def close(self) -> None:
        pass


def test_side_by_side_puts_the_matte_right_of_the_output() -> None:
    result = np.full((40, 60, 3), 7, np.uint8)
    alpha = np.zeros((40, 60), np.uint8)
    alpha[:, :20] = 255
    view = side_by_side(result, alpha)
    assert view.shape == (40, 120, 3)
    assert (view[:, :60] == 7).all() and (view[:, 60:80] == 255).all() and (view[:, 80:] == 0).all()
    # Mirrored (m), the pipeline flips the matte with the picture, so the view shows both flipped.
    window = SeenByWindow()
    controls = Controls(privacy=False, mirror=True, show_mask=True)
    pipeline = Pipeline(None, None, None, Outputs(window=window), controls=controls)  # type: ignore[arg-type]
    picture = result.copy()
    picture[:, :20] = 200
    pipeline.step(Frame(picture, 0, 0.0), Matte(alpha, 0, 0.0))
    mirrored = side_by_side(*window.shown[-1])
    assert (mirrored[:, 100:] == 255).all() and (mirrored[:, 60:100] == 0).all()
    assert (mirrored[:, 40:60] == 200).all() and (mirrored[:, :40] == 7).all()


def test_fps_meter_counts_the_recent_window_only() -> None:
    meter = FpsMeter(window=1.0)
    for i in range(30):  # 10 fps for 3 s...
        meter.tick(i * 0.1)
    assert abs(meter.fps - 10.0) < 0.01
    for i in range(1, 31):  # ...then 30 fps for 1 s: the old rate must not linger
        meter.tick(2.9 + i / 30)
    assert abs(meter.fps - 30.0) < 1.0
