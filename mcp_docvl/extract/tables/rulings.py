"""Ruling lines (the strokes that draw a table's grid), from PDF vector paths or from a page image.

Both sources give the same thing: horizontal and vertical segments in the page's upright frame (top-left
origin, y down), in the page's unit. Thin filled rectangles count as lines (many producers draw rules that
way), and the edges of larger rectangles count too (cell shading marks cell borders).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field

import numpy as np
from PIL import Image


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
    import pypdfium2.raw as pdfium_c

    left, bottom, right, top = page.get_cropbox()
    width, height = right - left, top - bottom
    boxes: list[tuple[float, float, float, float]] = []  # user space: x0, y0, x1, y1 (y up)
    bounds = [ctypes.c_float() for _ in range(4)]
    refs = [ctypes.byref(v) for v in bounds]
    # The raw API rather than pypdfium2's object wrappers: a page can hold tens of thousands of objects, and
    # only the paths matter here.
    for obj in _path_objects(page.raw, pdfium_c):
        pdfium_c.FPDFPageObj_GetBounds(obj, *refs)
        x0, y0, x1, y1 = (v.value for v in bounds)
        w, h = x1 - x0, y1 - y0
        if max(w, h) < _MIN_LENGTH:
            continue
        if w <= _THIN or h <= _THIN:
            boxes.append((x0, y0, x1, y1))
            continue
        boxes.extend(_path_edges(obj, pdfium_c))
    if not boxes:
        return Rulings()
    arr = np.asarray(boxes, dtype=np.float64)
    # Into the upright frame the text layer uses (left, bottom, right, top order for _to_frame).
    from mcp_docvl.documents.pdf import _to_frame

    fx0, fy0, fx1, fy1 = _to_frame(arr, rotation, left, top, width, height)
    out = Rulings()
    for a, b, c, d in zip(fx0, fy0, fx1, fy1, strict=True):
        if (c - a) >= (d - b):
            out.horizontal.append(((b + d) / 2, float(a), float(c)))
        else:
            out.vertical.append(((a + c) / 2, float(b), float(d)))
    return out


class _PathCalls:
    """PDFium's path-segment calls with plain integer arguments (a grid can have thousands of segments)."""

    def __init__(self) -> None:
        import pypdfium2.raw as pdfium_c

        def direct(function, restype, *argtypes):
            return ctypes.CFUNCTYPE(restype, *argtypes)(ctypes.cast(function, ctypes.c_void_p).value)

        vp = ctypes.c_void_p
        self.count = direct(pdfium_c.FPDFPath_CountSegments, ctypes.c_int, vp)
        self.segment = direct(pdfium_c.FPDFPath_GetPathSegment, vp, vp, ctypes.c_int)
        self.point = direct(pdfium_c.FPDFPathSegment_GetPoint, ctypes.c_int, vp, vp, vp)
        self.kind = direct(pdfium_c.FPDFPathSegment_GetType, ctypes.c_int, vp)
        self.closes = direct(pdfium_c.FPDFPathSegment_GetClose, ctypes.c_int, vp)


_calls = _PathCalls()


def _path_objects(container, pdfium_c, depth: int = 0):
    """Path objects of a page (or form XObject), looking into forms up to two levels deep."""
    is_form = depth > 0
    count = (pdfium_c.FPDFFormObj_CountObjects if is_form else pdfium_c.FPDFPage_CountObjects)(container)
    get = pdfium_c.FPDFFormObj_GetObject if is_form else pdfium_c.FPDFPage_GetObject
    for i in range(max(count, 0)):
        obj = get(container, i)
        kind = pdfium_c.FPDFPageObj_GetType(obj)
        if kind == pdfium_c.FPDF_PAGEOBJ_PATH:
            yield obj
        elif kind == pdfium_c.FPDF_PAGEOBJ_FORM and depth < 2:
            yield from _path_objects(obj, pdfium_c, depth + 1)


def _path_edges(obj, pdfium_c) -> list[tuple[float, float, float, float]]:
    """The axis-aligned straight pieces of a larger path (grids drawn as one path, rectangles)."""
    matrix = pdfium_c.FS_MATRIX()
    pdfium_c.FPDFPageObj_GetMatrix(obj, ctypes.byref(matrix))
    a, b, c, d, e, f = matrix.a, matrix.b, matrix.c, matrix.d, matrix.e, matrix.f
    handle = ctypes.cast(obj, ctypes.c_void_p).value
    n = _calls.count(handle)
    if n <= 0 or n > 5000:
        return []
    x = ctypes.c_float()
    y = ctypes.c_float()
    px_ref, py_ref = ctypes.addressof(x), ctypes.addressof(y)
    points: list[tuple[float, float, int, bool]] = []
    for i in range(n):
        seg = _calls.segment(handle, i)
        _calls.point(seg, px_ref, py_ref)
        px, py = x.value, y.value
        points.append((a * px + c * py + e, b * px + d * py + f, _calls.kind(seg), bool(_calls.closes(seg))))
    edges: list[tuple[float, float, float, float]] = []
    start = None
    prev = None
    for px, py, kind, closes in points:
        if kind == pdfium_c.FPDF_SEGMENT_MOVETO or prev is None:
            start = prev = (px, py)
            continue
        if kind == pdfium_c.FPDF_SEGMENT_LINETO:
            _add_edge(edges, prev, (px, py))
        prev = (px, py)
        if closes and start is not None:
            _add_edge(edges, prev, start)
            prev = start
    return edges


def _add_edge(edges: list, p: tuple[float, float], q: tuple[float, float]) -> None:
    dx, dy = abs(q[0] - p[0]), abs(q[1] - p[1])
    if max(dx, dy) < _MIN_LENGTH or min(dx, dy) > 1.0:
        return  # too short, or slanted (chart lines)
    edges.append((min(p[0], q[0]), min(p[1], q[1]), max(p[0], q[0]), max(p[1], q[1])))


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
