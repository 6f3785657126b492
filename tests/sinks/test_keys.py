"""The window's keys and what they change in the controls (state only: the window maps keys onto it)."""

from __future__ import annotations

from bgblur.frames import Controls
from bgblur.sinks.window import apply_key


def test_controls_keys() -> None:
    controls = Controls(choices=3, kernel=41)
    apply_key(controls, ord("d"))
    assert controls.choice == 1
    apply_key(controls, ord("d"))
    apply_key(controls, ord("b"))  # replace → blur
    assert controls.choice == 0
    apply_key(controls, ord("b"))  # blur → the background last used
    assert controls.choice == 2
    apply_key(controls, ord("d"))  # wraps round to blur
    assert controls.choice == 0
    apply_key(controls, ord("a"))
    assert controls.choice == 2
    apply_key(controls, ord("]"))
    assert controls.kernel == 51
    for _ in range(10):
        apply_key(controls, ord("["))
    assert controls.kernel == 1  # floor, still odd
    controls.kernel = 495
    apply_key(controls, ord("]"))
    assert controls.kernel == 501 and controls.kernel % 2 == 1
    for key, flag in ((ord("v"), "show_mask"), (ord("f"), "show_fps"), (ord("z"), "auto_frame")):
        apply_key(controls, key)
        assert getattr(controls, flag)
        apply_key(controls, key)
        assert not getattr(controls, flag)
    alone = Controls()  # nothing to cycle through: b, a, d do nothing
    for key in (ord("a"), ord("d"), ord("b")):
        apply_key(alone, key)
    assert alone.choice == 0
