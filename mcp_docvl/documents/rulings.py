"""Ruling lines (the strokes that draw a table's grid), from PDF vector paths or from a page image.

Both sources give the same thing: horizontal and vertical segments in the page's upright frame (top-left
origin, y down), in the page's unit. Thin filled rectangles count as lines (many producers draw rules that
way), and the edges of larger rectangles count too (cell shading marks cell borders).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from itertools import repeat

import numpy as np
from PIL import Image

from mcp_docvl.documents.pdfium_calls import direct_call as direct
from mcp_docvl.documents.pdfium_calls import to_frame


@dataclass(slots=True)
class Rulings:
    # (y, x0, x1) for horizontal and (x, y0, y1) for vertical segments.
    horizontal: list[tuple[float, float, float]] = field(default_factory=list)
    vertical: list[tuple[float, float, float]] = field(default_factory=list)

    def scaled(self, sx: float, sy: float) -> Rulings:
        return Rulings(
            horizontal=[(y * sy, a * sx, b * sx) for y, a, b in self.horizontal],
            vertical=[(x * sx, a * sy, b * sy) for x, a, b in self.vertical],
        )


# A stroke or rectangle thinner than this (points) is a line, not an area.
_THIN = 3.0
# Shorter segments are glyph parts, tick marks or bullets, not rules.
_MIN_LENGTH = 4.0


def rulings_from_pdf_page(page, rotation: int = 0) -> Rulings:
    """Axis-aligned segments drawn by the page's path objects. Call with PDFIUM_LOCK held.

    `rotation` is the text layer's rotation, so the lines land in the same upright frame as the words.
    """
    left, bottom, right, top = page.get_cropbox()
    width, height = right - left, top - bottom
    boxes: list[tuple[float, float, float, float]] = []  # user space: x0, y0, x1, y1 (y up)
    outlines: list[int] = []  # larger paths, whose straight edges may be rules
    bounds = (ctypes.c_float * 4)()
    at = ctypes.addressof(bounds)
    # The raw API rather than pypdfium2's object wrappers: a page can hold tens of thousands of objects, and
    # only the paths matter here.
    for obj in _path_objects(ctypes.cast(page.raw, ctypes.c_void_p).value):
        _calls.bounds(obj, at, at + 4, at + 8, at + 12)
        x0, y0, x1, y1 = bounds
        w, h = x1 - x0, y1 - y0
        if max(w, h) < _MIN_LENGTH:
            continue
        if w <= _THIN or h <= _THIN:
            boxes.append((x0, y0, x1, y1))
        else:
            outlines.append(obj)
    edges = _path_edges(outlines)
    if not boxes and not len(edges):
        return Rulings()
    arr = np.concatenate((np.asarray(boxes, dtype=np.float64).reshape(-1, 4), edges))
    # Into the upright frame the text layer uses (left, bottom, right, top order for to_frame).
    fx0, fy0, fx1, fy1 = to_frame(arr, rotation, left, top, width, height)
    out = Rulings()
    for a, b, c, d in zip(fx0.tolist(), fy0.tolist(), fx1.tolist(), fy1.tolist(), strict=True):
        if (c - a) >= (d - b):
            out.horizontal.append(((b + d) / 2, a, c))
        else:
            out.vertical.append(((a + c) / 2, b, d))
    return out


class _PathCalls:
    """PDFium's page-object and path-segment calls with plain integer arguments: a page can hold tens of
    thousands of objects and a grid thousands of segments, and converting wrapper objects on every call would
    cost more than the calls themselves."""

    def __init__(self) -> None:
        import pypdfium2.raw as pdfium_c

        vp, i = ctypes.c_void_p, ctypes.c_int
        self.count_objects = direct(pdfium_c.FPDFPage_CountObjects, i, vp)
        self.get_object = direct(pdfium_c.FPDFPage_GetObject, vp, vp, i)
        self.count_form_objects = direct(pdfium_c.FPDFFormObj_CountObjects, i, vp)
        self.get_form_object = direct(pdfium_c.FPDFFormObj_GetObject, vp, vp, ctypes.c_ulong)
        self.object_type = direct(pdfium_c.FPDFPageObj_GetType, i, vp)
        self.bounds = direct(pdfium_c.FPDFPageObj_GetBounds, i, vp, vp, vp, vp, vp)
        self.matrix = direct(pdfium_c.FPDFPageObj_GetMatrix, i, vp, vp)
        self.count = direct(pdfium_c.FPDFPath_CountSegments, i, vp)
        self.segment = direct(pdfium_c.FPDFPath_GetPathSegment, vp, vp, i)
        self.point = direct(pdfium_c.FPDFPathSegment_GetPoint, i, vp, vp, vp)
        self.kind = direct(pdfium_c.FPDFPathSegment_GetType, i, vp)
        self.closes = direct(pdfium_c.FPDFPathSegment_GetClose, i, vp)
        self.PATH, self.FORM = pdfium_c.FPDF_PAGEOBJ_PATH, pdfium_c.FPDF_PAGEOBJ_FORM
        self.MOVETO, self.LINETO = pdfium_c.FPDF_SEGMENT_MOVETO, pdfium_c.FPDF_SEGMENT_LINETO


_calls = _PathCalls()


def _path_objects(container: int, depth: int = 0) -> list[int]:
    """Path objects (handles) of a page (or form XObject), looking into forms up to two levels deep."""
    is_form = depth > 0
    count = max((_calls.count_form_objects if is_form else _calls.count_objects)(container), 0)
    objects = list(map(_calls.get_form_object if is_form else _calls.get_object, repeat(container, count),
                       range(count)))
    paths: list[int] = []
    for obj, kind in zip(objects, map(_calls.object_type, objects), strict=True):
        if kind == _calls.PATH:
            paths.append(obj)
        elif kind == _calls.FORM and depth < 2:
            paths.extend(_path_objects(obj, depth + 1))
    return paths


def _path_edges(paths: list[int]) -> np.ndarray:
    """The axis-aligned straight pieces of larger paths (grids drawn as one path, rectangles), as rows of
    x0, y0, x1, y1 in user space.

    All paths of a page are walked in one go: pages draw thousands of short paths, and numpy pays off only over
    all their segments together.
    """
    counts = [_calls.count(obj) for obj in paths]
    paths = [obj for obj, n in zip(paths, counts, strict=True) if 0 < n <= 5000]
    counts = [n for n in counts if 0 < n <= 5000]
    total = sum(counts)
    if total == 0:
        return np.empty((0, 4))
    matrices = (ctypes.c_float * (6 * len(paths)))()
    at = ctypes.addressof(matrices)
    list(map(_calls.matrix, paths, range(at, at + 24 * len(paths), 24)))
    segments: list[int] = []
    for obj, n in zip(paths, counts, strict=True):
        segments.extend(map(_calls.segment, repeat(obj, n), range(n)))
    xy = (ctypes.c_float * (2 * total))()
    at = ctypes.addressof(xy)
    list(map(_calls.point, segments, range(at, at + 8 * total, 8), range(at + 4, at + 8 * total, 8)))
    kinds = np.fromiter(map(_calls.kind, segments), dtype=np.int64, count=total)
    closes = np.fromiter(map(_calls.closes, segments), dtype=bool, count=total)
    px, py = np.frombuffer(xy, dtype=np.float32).astype(np.float64).reshape(total, 2).T
    a, b, c, d, e, f = np.repeat(np.frombuffer(matrices, dtype=np.float32).astype(np.float64).reshape(-1, 6),
                                 counts, axis=0).T
    xs = a * px + c * py + e
    ys = b * px + d * py + f

    index = np.arange(total)
    opens = kinds == _calls.MOVETO
    opens[np.cumsum(counts) - counts] = True  # a path's first point starts a figure whatever its type
    start = np.maximum.accumulate(np.where(opens, index, 0))  # each point's figure start
    closing = closes & ~opens
    # A segment is drawn from the point before it, or from its figure's start when the one before closed it.
    prev = index - 1
    prev[1:] = np.where(closing[:-1], start[:-1], index[:-1])
    lines = np.flatnonzero((kinds == _calls.LINETO) & ~opens)
    closed = np.flatnonzero(closing)
    p = np.concatenate((prev[lines], closed))
    q = np.concatenate((lines, start[closed]))
    x0, x1, y0, y1 = xs[p], xs[q], ys[p], ys[q]
    dx, dy = np.abs(x1 - x0), np.abs(y1 - y0)
    # Too short, or slanted (chart lines): not a rule.
    keep = (np.maximum(dx, dy) >= _MIN_LENGTH) & (np.minimum(dx, dy) <= 1.0)
    return np.column_stack((np.minimum(x0, x1), np.minimum(y0, y1), np.maximum(x0, x1), np.maximum(y0, y1)))[keep]


def rulings_from_image(image: Image.Image) -> Rulings:
    """Long horizontal and vertical strokes in a page image, in its pixels (morphological opening)."""
    import cv2

    gray = np.asarray(image.convert("L"))
    binary = cv2.adaptiveThreshold(255 - gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 15, -2)
    h, w = binary.shape
    out = Rulings()
    # A rule is at least ~1/40 of the page wide; text strokes are far shorter.
    kernel_len = max(10, min(w, h) // 40)
    horiz = cv2.morphologyEx(binary, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (kernel_len, 1)))
    vert = cv2.morphologyEx(binary, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, kernel_len)))
    for mask, is_h in ((horiz, True), (vert, False)):
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        for i in range(1, count):
            x, y, bw, bh, _ = stats[i]
            if is_h and bw >= kernel_len and bh <= max(6, h // 200):
                out.horizontal.append((y + bh / 2, float(x), float(x + bw)))
            elif not is_h and bh >= kernel_len and bw <= max(6, w // 200):
                out.vertical.append((x + bw / 2, float(y), float(y + bh)))
    return out
