"""Test helpers that drive bgblur as a person and the outside world would, split by job:

- :mod:`harness.processes`: bounded waits, stopping processes for sure, finding leftovers;
- :mod:`harness.x11`: a private Xvfb display with a window manager;
- :mod:`harness.windows`: windows, keys, screenshots and closing a window as a person does;
- :mod:`harness.streams`: fake live cameras (ffmpeg over TCP), also used by ``scripts/bench.py``.

This package imports nothing itself: ``from harness.streams import LiveStream`` loads only what it needs.
"""
