"""A faster way to run a segmentation model's last layer when it is a transposed convolution.

Many small segmentation models (the MediaPipe selfie models among them) end in a transposed convolution whose
kernel equals its stride: each input pixel expands into its own kernel-sized block of output, with no overlap.
OpenCV 5's ``Deconvolution`` layer is slow at this (4.6 of the selfie model's 8.8 ms here), yet it is only one
small matrix product followed by a pixel shuffle. :func:`split_head` finds such a head, checks that doing it here
gives OpenCV's own answer on a probe picture, and returns it; the net is then run up to the head's input only.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# The activation a head may end with, after the transposed convolution (OpenCV layer type → function).
ACTIVATIONS = ("Sigmoid",)
TOLERANCE = 1e-4  # largest difference from OpenCV's own output accepted, absolute and relative (float32 rounding)


@dataclass
class TransposedConvHead:
    """A non-overlapping transposed convolution (kernel == stride) with an optional sigmoid."""

    input_name: str  # the layer whose output feeds the head
    weights: np.ndarray  # (out_channels * k * k, in_channels): one row per output channel and kernel position
    bias: np.ndarray  # (out_channels,)
    kernel: int
    sigmoid: bool

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """(1, C, h, w) features → (1, out_channels, h * k, w * k), as the model's last layers would give."""
        _, channels, height, width = features.shape
        k = self.kernel
        out_channels = self.bias.shape[0]
        # cv2.gemm, not numpy's matmul: OpenBLAS's threads keep spinning after a product and slow the next
        # forward pass by half on a 2-core machine (measured: trunk 4.8 → 6.7 ms).
        blocks = cv2.gemm(self.weights, features.reshape(channels, height * width), 1.0, None, 0.0)
        # (out, ky, kx, h, w) → (out, h, ky, w, kx): each input pixel's k x k block lands in place.
        out = blocks.reshape(out_channels, k, k, height, width).transpose(0, 3, 1, 4, 2)
        out = out.reshape(1, out_channels, height * k, width * k) + self.bias.reshape(1, -1, 1, 1)
        if self.sigmoid:  # as tanh, which cannot overflow: sigmoid(x) = (tanh(x / 2) + 1) / 2
            out *= 0.5
            np.tanh(out, out=out)
            out += 1.0
            out *= 0.5
        return out


def split_head(net: cv2.dnn.Net, output_name: str | None, probe: np.ndarray) -> TransposedConvHead | None:
    """The net's head as a :class:`TransposedConvHead` if it is one and gives the net's own answer on ``probe``
    (an input blob); None otherwise, and the net is run whole as before."""
    names = list(net.getLayerNames())
    outputs = list(net.getUnconnectedOutLayersNames())
    last = output_name or (outputs[0] if len(outputs) == 1 else None)
    if last not in names:
        return None
    index = names.index(last)
    while index > 0 and net.getLayer(names[index]).type == "Identity":  # importers' pass-through output nodes
        index -= 1
    sigmoid = net.getLayer(names[index]).type in ACTIVATIONS
    deconv_index = index - 1 if sigmoid else index
    if deconv_index < 1:
        return None
    deconv = net.getLayer(names[deconv_index])
    if deconv.type != "Deconvolution" or len(deconv.blobs) not in (1, 2):
        return None
    weights = deconv.blobs[0]  # (in_channels, out_channels, k, k)
    if weights.ndim != 4 or weights.shape[2] != weights.shape[3]:
        return None
    in_channels, out_channels, k, _ = weights.shape
    bias = deconv.blobs[1].reshape(-1) if len(deconv.blobs) == 2 else np.zeros(out_channels, np.float32)
    head = TransposedConvHead(
        input_name=names[deconv_index - 1],
        weights=np.ascontiguousarray(weights.transpose(1, 2, 3, 0).reshape(out_channels * k * k, in_channels)),
        bias=bias.astype(np.float32),
        kernel=k,
        sigmoid=sigmoid,
    )
    # The layer order is not the graph: only OpenCV's own answer says the head's input and stride are right.
    try:
        net.setInput(probe)
        expected = net.forward(last)
        net.setInput(probe)
        features = net.forward(head.input_name)
    except cv2.error:
        return None
    if features.ndim != 4 or features.shape[1] != in_channels:
        return None
    ours = head(features)
    if ours.shape != expected.shape or not np.allclose(ours, expected, atol=TOLERANCE, rtol=TOLERANCE):
        return None
    return head
