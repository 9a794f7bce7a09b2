"""PDFium's C calls with plain integer arguments, and the map from PDF user space to the page's upright frame.

Shared by the text layer (pdf.py) and the vector rules (rulings.py): hot loops there pass integers instead of
converting wrapper objects (or building a ctypes pointer) on every call.
"""

from __future__ import annotations

import ctypes

import numpy as np


def direct_call(function, restype, *argtypes):
    """`function` (a pypdfium2.raw function) callable with plain integers for its pointer arguments."""
    return ctypes.CFUNCTYPE(restype, *argtypes)(ctypes.cast(function, ctypes.c_void_p).value)


def to_frame(boxes: np.ndarray, rotation: int, left: float, top: float, width: float, height: float):
    """Map user-space boxes (left, bottom, right, top) to the upright frame with a top-left origin."""
    u0 = boxes[:, 0] - left
    u1 = boxes[:, 2] - left
    v0 = top - boxes[:, 3]
    v1 = top - boxes[:, 1]
    if rotation == 0:
        return u0, v0, u1, v1
    if rotation == 180:
        return width - u1, height - v1, width - u0, height - v0
    # Text running anticlockwise by `rotation`: turn the frame clockwise by as much.
    if rotation == 90:
        return height - v1, u0, height - v0, u1
    return v0, width - u1, v1, width - u0
