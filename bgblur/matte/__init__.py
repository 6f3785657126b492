"""From the model's person probability to the alpha matte (uint8, 255 = person): the ramp, edge refinement,
smoothing over time, which people to keep, the presence check, and carrying a matte along optical flow."""

from __future__ import annotations

from bgblur.matte.maker import MatteMaker

__all__ = ["MatteMaker"]
