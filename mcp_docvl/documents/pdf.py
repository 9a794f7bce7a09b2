"""PDF documents through PDFium (pypdfium2): text with positions, metadata, rendering."""

from __future__ import annotations

import ctypes
import math
import threading
from collections.abc import Callable
from itertools import repeat
from typing import Literal, TypeVar

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

from mcp_docvl.documents.base import TextLayer
from mcp_docvl.documents.model import Word
from mcp_docvl.documents.pdfium_calls import direct_call
from mcp_docvl.documents.pdfium_calls import to_frame as _to_frame
from mcp_docvl.documents.rulings import Rulings, rulings_from_pdf_page
from mcp_docvl.errors import DocumentCorrupt, InvalidArgument, LimitExceeded, PasswordRequired

# PDFium is not thread-safe: one lock serialises every call into it across the process.
PDFIUM_LOCK = threading.RLock()

T = TypeVar("T")

_META_KEYS = {"Title": "title", "Author": "author", "Subject": "subject", "Keywords": "keywords",
              "Creator": "creator", "Producer": "producer", "CreationDate": "created", "ModDate": "modified"}


class PdfDocument:
    media_type = "application/pdf"

    def __init__(self, data: bytes, password: str | None = None, max_page_pixels: int = 40_000_000) -> None:
        if password is not None and "\x00" in password:
            # PDFium takes a C string: everything from the NUL on would be dropped without a word.
            raise InvalidArgument("The password contains a NUL character, which a PDF password cannot hold.",
                                  "Pass the password without control characters.")
        self._max_page_pixels = max_page_pixels
        self._open_page: tuple[int, pdfium.PdfPage] | None = None
        with PDFIUM_LOCK:
            try:
                self._pdf = pdfium.PdfDocument(data, password=password)
            except pdfium.PdfiumError as exc:
                raise _load_error(exc, password) from None
            self.page_count = len(self._pdf)
        if self.page_count == 0:
            raise DocumentCorrupt("The PDF has no pages.", "Check that the file is complete.")

    def metadata(self) -> dict[str, str]:
        with PDFIUM_LOCK:
            raw = self._pdf.get_metadata_dict(skip_empty=True)
        return {_META_KEYS[k]: v.strip() for k, v in raw.items() if k in _META_KEYS and v.strip()}

    def page_size(self, index: int) -> tuple[float, float, Literal["pt", "px"]]:
        with PDFIUM_LOCK:
            w, h = self._pdf.get_page_size(index)
        return w, h, "pt"

    def text_layer(self, index: int) -> TextLayer:
        return self.with_page(index, _extract_text_layer)

    def is_blank(self, index: int) -> bool:
        return self.with_page(index, lambda page: pdfium_c.FPDFPage_CountObjects(page) == 0)

    def image_coverage(self, index: int) -> float:
        def coverage(page: pdfium.PdfPage) -> float:
            w, h = page.get_size()
            area = 0.0
            for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=3):
                left, bottom, right, top = obj.get_bounds()
                area += max(0.0, right - left) * max(0.0, top - bottom)
            return min(1.0, area / max(w * h, 1.0))

        return self.with_page(index, coverage)

    def render(self, index: int, dpi: float) -> Image.Image:
        def draw(page: pdfium.PdfPage) -> Image.Image:
            w, h = page.get_size()
            scale = dpi / 72.0
            pixels = w * scale * h * scale
            if pixels > self._max_page_pixels:
                # Huge pages are rendered smaller rather than refused: the text stays legible far below this.
                scale = math.sqrt(self._max_page_pixels / max(w * h, 1.0))
            if scale * max(w, h) < 1:
                raise LimitExceeded("The page is too small to render.", "Check the page size.")
            bitmap = page.render(scale=scale, may_draw_forms=True)
            return bitmap.to_pil().convert("RGB")

        return self.with_page(index, draw)

    def bookmarks(self, limit: int = 1000) -> list[tuple[int, str, int | None]]:
        """The table of contents as (depth from 0, title, 1-based target page or None), in document order."""
        out: list[tuple[int, str, int | None]] = []
        with PDFIUM_LOCK:
            for mark in self._pdf.get_toc(max_depth=16):
                if len(out) >= limit:
                    break
                dest = pdfium_c.FPDFBookmark_GetDest(self._pdf, mark)
                if not dest:  # many producers link through a GoTo action instead of a direct destination
                    action = pdfium_c.FPDFBookmark_GetAction(mark)
                    dest = pdfium_c.FPDFAction_GetDest(self._pdf, action) if action else None
                index = pdfium_c.FPDFDest_GetDestPageIndex(self._pdf, dest) if dest else -1
                out.append((mark.level, mark.get_title().strip(), index + 1 if index >= 0 else None))
        return out

    def vector_rulings(self, index: int, rotation: int = 0) -> Rulings:
        """The rules the page's vector paths draw, in the upright frame of a text layer turned by `rotation`."""
        return self.with_page(index, lambda page: rulings_from_pdf_page(page, rotation))

    def with_page(self, index: int, read: Callable[[pdfium.PdfPage], T]) -> T:
        """`read(page)` with page `index` open and PDFIUM_LOCK held, for extractors of page objects (rules).

        The last page stays open: one page is read by several extractors in a row (text, rules, images), and
        loading it is a large share of reading a digital page.
        """
        with PDFIUM_LOCK:
            if self._open_page is None or self._open_page[0] != index:
                self._close_page()
                self._open_page = (index, self._pdf[index])
            return read(self._open_page[1])

    def _close_page(self) -> None:
        if self._open_page is not None:
            self._open_page[1].close()
            self._open_page = None

    def close(self) -> None:
        with PDFIUM_LOCK:
            self._close_page()
            self._pdf.close()


def _load_error(exc: pdfium.PdfiumError, password: str | None) -> Exception:
    message = str(exc).lower()
    if "password" in message:
        if password:
            return PasswordRequired("The PDF password is wrong.", "Pass the correct `password`.")
        return PasswordRequired("The PDF is encrypted.", "Pass its `password` argument to open it.")
    if "security" in message:
        return DocumentCorrupt("The PDF uses an unsupported security handler.", "Remove the encryption and retry.")
    return DocumentCorrupt(
        f"The PDF cannot be parsed ({exc}).",
        "The file is damaged or not really a PDF; re-export or repair it (e.g. `qpdf in.pdf out.pdf`).",
    )


def _extract_text_layer(page: pdfium.PdfPage) -> TextLayer:
    textpage = page.get_textpage()
    try:
        return _words_from_textpage(page, textpage)
    finally:
        textpage.close()


def _words_from_textpage(page: pdfium.PdfPage, textpage: pdfium.PdfTextPage) -> TextLayer:
    left, bottom, right, top = page.get_cropbox()
    width, height = right - left, top - bottom
    n = pdfium_c.FPDFText_CountChars(textpage)
    if n <= 0:
        w, h = page.get_size()
        return TextLayer(words=[], width=w, height=h, chars=0, readable_chars=0)
    text = textpage.get_text_range(0, n)
    if len(text) != n:
        # Characters outside the BMP come back as surrogate pairs: fall back to one code point per index.
        text = "".join(chr(pdfium_c.FPDFText_GetUnicode(textpage, i) or 0xFFFD) for i in range(n))

    chars = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    space = _IS_SPACE[np.minimum(chars, 0xFFFF)]
    handle = ctypes.cast(textpage.raw, ctypes.c_void_p).value
    rotation = _text_rotation(handle, n, space)

    # One ctypes call per visible character is the cost floor of positional text: each call writes straight
    # into one shared array, and everything after is vectorised. Whitespace needs no box.
    rects = (pdfium_c.FS_RECTF * n)()
    visible = np.flatnonzero(~space)
    list(map(_LOOSE_CHAR_BOX, repeat(handle, visible.size), visible.tolist(),
             (ctypes.addressof(rects) + 16 * visible).tolist()))
    ltrb = np.frombuffer(rects, dtype=np.float32).reshape(n, 4).astype(np.float64)  # left, top, right, bottom
    boxes = ltrb[:, [0, 3, 2, 1]]  # -> left, bottom, right, top

    # Into the upright frame: top-left origin, y down.
    x0, y0, x1, y1 = _to_frame(boxes, rotation, left, top, width, height)
    frame_w, frame_h = (height, width) if rotation in (90, 270) else (width, height)

    keep = visible
    if keep.size == 0:
        return TextLayer(words=[], width=frame_w, height=frame_h, chars=0, readable_chars=0, rotation=rotation)
    kx0, ky0, kx1, ky1 = x0[keep], y0[keep], x1[keep], y1[keep]
    kh = np.maximum(ky1 - ky0, 0.1)
    # A word ends at whitespace, at a horizontal gap wider than a quarter of the glyph height, at a step back
    # or at a vertical jump (a new line drawn without a line break).
    gap = kx0[1:] - kx1[:-1]
    yc = (ky0 + ky1) / 2
    breaks = (
        (keep[1:] != keep[:-1] + 1)
        | (gap > 0.25 * kh[:-1])
        | (gap < -0.5 * kh[:-1])
        | (np.abs(yc[1:] - yc[:-1]) > 0.5 * kh[:-1])
    )
    starts = np.concatenate(([0], np.flatnonzero(breaks) + 1))
    ends = np.concatenate((starts[1:], [keep.size]))
    wx0 = np.minimum.reduceat(kx0, starts)
    wy0 = np.minimum.reduceat(ky0, starts)
    wx1 = np.maximum.reduceat(kx1, starts)
    wy1 = np.maximum.reduceat(ky1, starts)

    # Plain Python numbers from here on: numpy scalars are slow to convert one by one.
    first_chars = keep[starts].tolist()
    last_chars = keep[ends - 1].tolist()
    font_sizes = np.array(list(map(_FONT_SIZE, repeat(handle, starts.size), first_chars)))
    # Some producers set size 1 and scale with the matrix: the box height is then the better measure.
    sizes = np.where(font_sizes > 1.5, font_sizes, wy1 - wy0).tolist()
    bold = [weight >= 600 for weight in map(_FONT_WEIGHT, repeat(handle, starts.size), first_chars)]
    bboxes = zip(wx0.tolist(), wy0.tolist(), wx1.tolist(), wy1.tolist(), strict=True)
    # A hostile content stream can place text at infinity or scale it by NaN: such a word has no place on the page.
    words = [Word(text[a : b + 1], bbox, size, heavy)
             for a, b, bbox, size, heavy in zip(first_chars, last_chars, bboxes, sizes, bold, strict=True)
             if math.isfinite(size) and all(map(math.isfinite, bbox))]
    kept_chars = chars[keep]
    readable = int(np.count_nonzero((kept_chars != 0xFFFD) & ((kept_chars < 0xE000) | (kept_chars > 0xF8FF))))
    return TextLayer(
        words=words, width=frame_w, height=frame_h, chars=int(keep.size), readable_chars=readable, rotation=rotation
    )


_LOOSE_CHAR_BOX = direct_call(pdfium_c.FPDFText_GetLooseCharBox, ctypes.c_int, ctypes.c_void_p, ctypes.c_int,
                          ctypes.c_void_p)
_FONT_SIZE = direct_call(pdfium_c.FPDFText_GetFontSize, ctypes.c_double, ctypes.c_void_p, ctypes.c_int)
_FONT_WEIGHT = direct_call(pdfium_c.FPDFText_GetFontWeight, ctypes.c_int, ctypes.c_void_p, ctypes.c_int)
_CHAR_ANGLE = direct_call(pdfium_c.FPDFText_GetCharAngle, ctypes.c_float, ctypes.c_void_p, ctypes.c_int)
assert ctypes.sizeof(pdfium_c.FS_RECTF) == 16

# Characters that separate words (and NUL, which some producers emit), as a lookup table over the BMP.
_IS_SPACE = np.zeros(0x10000, dtype=bool)
_IS_SPACE[[0x00, 0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x0C, 0xA0, 0x2002, 0x2003, 0x2009, 0x200B, 0x3000, 0xFFFE]] = True


def _text_rotation(handle: int, n: int, space: np.ndarray) -> int:
    """The dominant direction of the text in user space, as 0/90/180/270 degrees (`handle`: the text page)."""
    sample = np.arange(0, n, max(1, n // 200))
    sample = sample[~space[sample]]
    angles = np.array(list(map(_CHAR_ANGLE, repeat(handle, sample.size), sample.tolist())), dtype=np.float64)
    angles = angles[angles >= 0]  # no angle known
    if angles.size == 0:
        return 0
    # PDFium measures clockwise (text running up the page reads 270); we count anticlockwise.
    quarter_turns = (-np.round(np.degrees(angles) / 90.0)).astype(np.int64) % 4
    return int(np.argmax(np.bincount(quarter_turns, minlength=4))) * 90
