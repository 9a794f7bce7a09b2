"""PDF documents through PDFium (pypdfium2): text with positions, metadata, rendering."""

from __future__ import annotations

import ctypes
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from itertools import repeat
from typing import Literal, TypeVar

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

from mcp_docvl.documents import codepoints
from mcp_docvl.documents.accents import attach_accents
from mcp_docvl.documents.base import TextLayer
from mcp_docvl.documents.fonts import FLAG_NONSYMBOLIC, FontStyle, font_style
from mcp_docvl.documents.glyph_names import GlyphNames
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
        # The glyph names of fonts PDFium cannot map (glyph_names.py), read only when a page needs them.
        self._glyph_names = GlyphNames(data, password)
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
        def names() -> dict[tuple[str, int], str]:
            return self._glyph_names.control_code_texts(index)
        return self.with_page(index, lambda page: _extract_text_layer(page, names))

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


NamesLookup = Callable[[], dict[tuple[str, int], str]]


@dataclass(frozen=True, slots=True)
class WordSettings:
    """How a word's size is taken and its characters are told to be sub- or superscripts."""

    # A font size more than this many times its word's loose box height (ascent to descent, ~1-1.3 sizes) is
    # nominal: the matrix scales the glyphs down (invisible OCR text over a scan), and the box height is used.
    nominal_size: float = 2.5

    # A sub- or superscript is set at 55-75 % of its base's size (LaTeX 70 %, word processors 58-65 %); text this
    # much smaller than its neighbour may be a script.
    script_size: float = 0.85
    # ...when its baseline is off the neighbour's by more than this share of the larger size: scripts are shifted
    # by a third of their size or more, while kerning and rounding move a baseline by a few hundredths.
    script_shift: float = 0.12


WORDS = WordSettings()


def _extract_text_layer(page: pdfium.PdfPage, glyph_names: NamesLookup | None = None) -> TextLayer:
    textpage = page.get_textpage()
    try:
        return _words_from_textpage(page, textpage, glyph_names)
    finally:
        textpage.close()


def _words_from_textpage(page: pdfium.PdfPage, textpage: pdfium.PdfTextPage,
                         glyph_names: NamesLookup | None = None) -> TextLayer:
    left, bottom, right, top = page.get_cropbox()
    width, height = right - left, top - bottom
    n = pdfium_c.FPDFText_CountChars(textpage)
    if n <= 0:
        w, h = page.get_size()
        return TextLayer(words=[], width=w, height=h, chars=0, readable_chars=0)
    handle = ctypes.cast(textpage.raw, ctypes.c_void_p).value
    codes, classes = _char_codes(handle, n)
    space = (classes & codepoints.SPACE) != 0
    rotation = _text_rotation(handle, n, space)
    # The second halves of surrogate pairs are no characters: they neither count nor break a word.
    continuation = (classes & codepoints.CONTINUATION) != 0

    # One ctypes call per visible character is the cost floor of positional text: each call writes straight
    # into one shared array, and everything after is vectorised. Whitespace needs no box.
    rects = (pdfium_c.FS_RECTF * n)()
    keep = np.flatnonzero(~(space | continuation))
    list(map(_LOOSE_CHAR_BOX, repeat(handle, keep.size), keep.tolist(), (ctypes.addressof(rects) + 16 * keep).tolist()))
    ltrb = np.frombuffer(rects, dtype=np.float32).reshape(n, 4).astype(np.float64)  # left, top, right, bottom
    boxes = ltrb[:, [0, 3, 2, 1]]  # -> left, bottom, right, top

    # Into the upright frame: top-left origin, y down.
    x0, y0, x1, y1 = _to_frame(boxes, rotation, left, top, width, height)
    frame_w, frame_h = (height, width) if rotation in (90, 270) else (width, height)
    accents = keep[(classes[keep] & codepoints.ACCENT) != 0]
    if accents.size:
        letters = keep[np.char.isalpha(np.array(list(codepoints.to_text(codes[keep]))))
                       & ((classes[keep] & codepoints.ACCENT) == 0)]
        attached = attach_accents(codes, accents, letters, x0, y0, x1, y1)
        keep = np.setdiff1d(keep, attached, assume_unique=True)

    # Control codes that the font's encoding names (ligatures "f_i", "T_h") become their text.
    expansions: dict[int, str] = {}
    control = keep[((classes[keep] & codepoints.JUNK) != 0) & (codes[keep] < 0x20)]
    if control.size and glyph_names is not None:
        expansions = _name_control_codes(handle, codes, classes, control, glyph_names)

    # Junk (control codes from fonts without a Unicode map) keeps its place in the geometry, so a word with an
    # unmapped ligature glyph in it stays one word, but leaves the text.
    junk = (classes[keep] & codepoints.JUNK) != 0
    dropped = int(np.count_nonzero(junk))
    readable = int(keep.size) - int(np.count_nonzero(classes[keep] & codepoints.UNREADABLE))
    if dropped == keep.size:
        return TextLayer(words=[], width=frame_w, height=frame_h, chars=int(keep.size), readable_chars=readable,
                         rotation=rotation, dropped_chars=dropped)
    kx0, ky0, kx1, ky1 = x0[keep], y0[keep], x1[keep], y1[keep]
    kcodes = codes[keep]
    kcodes[junk] = 0  # a placeholder, taken out of the words' text below
    rtl = (classes[keep] & codepoints.RTL) != 0
    starts = _word_starts(keep, space, kx0, ky0, kx1, ky1, kcodes, rtl)
    ends = np.concatenate((starts[1:], [keep.size]))
    wx0 = np.minimum.reduceat(kx0, starts)
    wy0 = np.minimum.reduceat(ky0, starts)
    wx1 = np.maximum.reduceat(kx1, starts)
    wy1 = np.maximum.reduceat(ky1, starts)

    # Plain Python numbers from here on: numpy scalars are slow to convert one by one.
    first_chars = keep[starts].tolist()
    font_sizes = np.array(list(map(_FONT_SIZE, repeat(handle, starts.size), first_chars)))
    # Some producers set size 1 and scale with the matrix, others (OCR layers of scans) a nominal size the matrix
    # shrinks several times: the box height is then the better measure. A loose box spans the font's ascent and
    # descent, about 1-1.3 font sizes, so a size many times the box's height was never drawn at that size.
    heights = wy1 - wy0
    sizes = np.where((font_sizes > 1.5) & (font_sizes < WORDS.nominal_size * heights), font_sizes, heights).tolist()
    styles = _word_styles(handle, first_chars)
    rtl_words = (np.add.reduceat(rtl, starts) > 0).tolist() if rtl.any() else [False] * starts.size
    # A sub- or superscript inside a word is set off by spaces in the text ("x 4", "Ca 2+", "note 12"), as
    # readers and reference converters write it, while the word keeps one box for the layout.
    scripts = _script_starts(handle, keep, starts, ky1 - ky0, rotation, WORDS)
    if scripts.size:
        text = codepoints.to_text(np.insert(kcodes, scripts, codepoints.SPACE_CODE))
        starts_at, ends_at = starts + np.searchsorted(scripts, starts), ends + np.searchsorted(scripts, ends)
    else:
        text = codepoints.to_text(kcodes)
        starts_at, ends_at = starts, ends
    bboxes = zip(wx0.tolist(), wy0.tolist(), wx1.tolist(), wy1.tolist(), strict=True)
    # A hostile content stream can place text at infinity or scale it by NaN: such a word has no place on the page.
    # Small capitals are upper case on the page: lowercase codes in a caps font are read as the capitals drawn.
    words = [Word(text[a:b].upper() if style.caps else text[a:b], bbox, size, style.bold, 1.0, style.italic,
                  style.name, right_to_left)
             for a, b, bbox, size, style, right_to_left
             in zip(starts_at.tolist(), ends_at.tolist(), bboxes, sizes, styles, rtl_words, strict=True)
             if math.isfinite(size) and all(map(math.isfinite, bbox))]
    if expansions:
        table = str.maketrans(expansions)
        for word in words:
            word.text = word.text.translate(table)
    if dropped:
        for word in words:
            word.text = word.text.replace("\0", "")
        words = [word for word in words if word.text]
    return TextLayer(words=words, width=frame_w, height=frame_h, chars=int(keep.size), readable_chars=readable,
                     rotation=rotation, dropped_chars=dropped)


def _name_control_codes(handle: int, codes: np.ndarray, classes: np.ndarray, control: np.ndarray,
                        glyph_names: NamesLookup) -> dict[int, str]:
    """Give the control codes in `control` (character indices) the text their font's glyph names say, in place.

    Only text fonts (descriptor flag Nonsymbolic) are asked: their encodings name glyphs of the standard Latin
    set, ligatures among them, while a symbolic font's (math, pi, dingbats) names, when it has any, are its own;
    so the file is read for names only when a page has such a code in a text font. A one-character text replaces
    the code; a longer one (a ligature) is stood for by a noncharacter (codepoints.PLACEHOLDERS) that the words'
    text expands afterwards. Returns placeholder -> text.
    """
    fonts: dict[int | None, str | None] = {}  # font -> base name, None for a symbolic font
    names: dict[tuple[str, int], str] | None = None
    placeholders: dict[str, int] = {}
    for i in control.tolist():
        font = _TEXT_OBJECT_FONT(_TEXT_OBJECT(handle, i))
        if font not in fonts:
            fonts[font] = _font_name(font) if font and _FONT_FLAGS(font) & FLAG_NONSYMBOLIC else None
        if fonts[font] is None:
            continue
        if names is None:
            names = glyph_names()
        text = names.get((fonts[font], int(codes[i])))
        if not text:
            continue
        if len(text) > 1:
            if text not in placeholders and len(placeholders) == len(codepoints.PLACEHOLDERS):
                continue
            code = placeholders.setdefault(text, codepoints.PLACEHOLDERS[len(placeholders)])
        else:
            code = ord(text)
        codes[i] = code
        classes[i] = codepoints.classify(np.array([code], dtype=np.uint32))[0]
    return {chr(code): text for text, code in placeholders.items()}


def _char_codes(handle: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The code point of each of the page's `n` characters, and its class bits (codepoints.py).

    FPDFText_GetText gives one UTF-16 unit per character when nothing was excluded or inserted (the usual case):
    a character outside the BMP is then two indices holding its two halves. Otherwise each index is asked on its
    own. Surrogate pairs are joined into their first index (the second becomes junk); PDFium's hyphen markers
    become '-' where FPDFText_IsHyphen confirms a line-end hyphen and junk (or a space) where it does not.
    """
    buffer = (ctypes.c_ushort * (2 * n + 2))()
    written = _GET_TEXT(handle, 0, n, ctypes.addressof(buffer))
    if written - 1 == n:
        codes = np.frombuffer(buffer, dtype=np.uint16, count=n).astype(np.uint32)
    else:
        codes = np.array(list(map(_UNICODE, repeat(handle, n), range(n))), dtype=np.uint32)
    seconds = codepoints.combine_surrogates(codes)
    classes = codepoints.classify(codes)
    classes[seconds] = codepoints.CONTINUATION
    marks = np.flatnonzero(classes & codepoints.HYPHEN_MARK)
    if marks.size:
        hyphen = np.array(list(map(_IS_HYPHEN, repeat(handle, marks.size), marks.tolist())), dtype=bool)
        soft = codes[marks] == codepoints.SOFT_HYPHEN
        # A confirmed marker, and a soft hyphen anywhere (it is drawn as a hyphen), is the text '-'.
        real = marks[hyphen | soft]
        codes[real] = codepoints.HYPHEN
        classes[real] = 0
    return codes, classes


def _word_starts(keep: np.ndarray, space: np.ndarray, kx0: np.ndarray, ky0: np.ndarray, kx1: np.ndarray,
                 ky1: np.ndarray, kcodes: np.ndarray, rtl: np.ndarray) -> np.ndarray:
    """Where each word starts, as positions into the kept characters.

    A word ends at whitespace, at a horizontal gap wider than a quarter of the glyph height, at a step back, at a
    vertical jump (a new line drawn without a line break), and where the script changes direction. Pieces of one
    ligature glyph (PDFium reports "fi" as two characters sharing one box) never split a word. In right-to-left
    script the next character stands to the left, so the gap is measured leftwards.
    """
    kh = np.maximum(ky1 - ky0, 0.1)
    # Whitespace between two kept characters (junk left out in between is no break).
    spaces_before = np.cumsum(space)[keep]
    tolerance = 0.05 * kh[:-1]
    ligature = ((np.abs(kx0[1:] - kx0[:-1]) <= tolerance) & (np.abs(kx1[1:] - kx1[:-1]) <= tolerance)
                & (np.abs(ky0[1:] - ky0[:-1]) <= tolerance) & (np.abs(ky1[1:] - ky1[:-1]) <= tolerance))
    gap = kx0[1:] - kx1[:-1]
    turned = None
    if rtl.any():
        direction = codepoints.directions(kcodes)
        leftwards = (direction[:-1] < 0) | (direction[1:] < 0)
        gap = np.where(leftwards, kx0[:-1] - kx1[1:], gap)
        turned = direction[:-1] * direction[1:] < 0
        _unreverse_ligatures(kcodes, ligature, rtl)
    yc = (ky0 + ky1) / 2
    breaks = (spaces_before[1:] != spaces_before[:-1]) | (
        ~ligature
        & ((gap > 0.25 * kh[:-1]) | (gap < -0.5 * kh[:-1]) | (np.abs(yc[1:] - yc[:-1]) > 0.5 * kh[:-1]))
    )
    if turned is not None:
        breaks |= turned
    return np.concatenate(([0], np.flatnonzero(breaks) + 1))


def _script_starts(handle: int, keep: np.ndarray, starts: np.ndarray, kh: np.ndarray, rotation: int,
                   settings: WordSettings) -> np.ndarray:
    """Positions (into the kept characters) inside words where a sub- or superscript starts or ends: the font
    size drops or rises by a script's ratio and the baseline moves. Box heights pick the candidates (loose boxes
    scale with the size); the characters' own font sizes and origins decide, so a glyph with an odd box in an
    ordinary word, or small capitals on the baseline, are no script."""
    small = np.minimum(kh[1:], kh[:-1]) < settings.script_size * np.maximum(kh[1:], kh[:-1])
    candidates = np.flatnonzero(small) + 1
    candidates = candidates[~np.isin(candidates, starts)]
    if candidates.size == 0:
        return candidates
    chars = np.unique(np.concatenate((keep[candidates - 1], keep[candidates])))
    sizes = dict(zip(chars.tolist(), map(_FONT_SIZE, repeat(handle, chars.size), chars.tolist()), strict=True))
    across = 0 if rotation in (90, 270) else 1  # the origin's coordinate across the line
    origins = {i: _char_origin(handle, i)[across] for i in chars.tolist()}
    out = []
    for pos in candidates.tolist():
        a, b = int(keep[pos - 1]), int(keep[pos])
        larger = max(sizes[a], sizes[b])
        if min(sizes[a], sizes[b]) < settings.script_size * larger and (
                abs(origins[a] - origins[b]) > settings.script_shift * larger):
            out.append(pos)
    return np.array(out, dtype=np.int64)


def _char_origin(handle: int, index: int) -> tuple[float, float]:
    x, y = ctypes.c_double(0.0), ctypes.c_double(0.0)
    _CHAR_ORIGIN(handle, index, ctypes.addressof(x), ctypes.addressof(y))
    return x.value, y.value


def _unreverse_ligatures(kcodes: np.ndarray, ligature: np.ndarray, rtl: np.ndarray) -> None:
    """Put the letters of right-to-left ligature glyphs back in reading order, in place.

    PDFium turns a right-to-left string (drawn in visual order) into reading order character by character, so
    the letters one ligature glyph stands for (lam-alef "لإ") come out backwards ("إل").
    """
    joined = np.flatnonzero(ligature & rtl[:-1] & rtl[1:])
    if joined.size == 0:
        return
    # Runs of consecutive joined pairs are one glyph's letters: from the first pair's left to the last's right.
    firsts = joined[np.concatenate(([True], np.diff(joined) > 1))]
    lasts = joined[np.concatenate((np.diff(joined) > 1, [True]))] + 1
    for first, last in zip(firsts.tolist(), lasts.tolist(), strict=True):
        kcodes[first:last + 1] = kcodes[first:last + 1][::-1].copy()


def _word_styles(handle: int, first_chars: list[int]) -> list[FontStyle]:
    """The font style of each word (from its first character), worked out once per text object and per font."""
    objects = list(map(_TEXT_OBJECT, repeat(handle, len(first_chars)), first_chars))
    by_font: dict[int | None, FontStyle] = {None: _NO_STYLE}
    by_object: dict[int | None, FontStyle] = {None: _NO_STYLE}
    for obj in set(objects) - by_object.keys():
        font = _TEXT_OBJECT_FONT(obj)
        if font not in by_font:
            by_font[font] = _font_style(font)
        by_object[obj] = by_font[font]
    return list(map(by_object.__getitem__, objects))


_NO_STYLE = FontStyle(name="", bold=False, italic=False)


def _font_name(font: int) -> str:
    size = _FONT_NAME(font, None, 0)
    name = ctypes.create_string_buffer(max(size, 1))
    if size > 0:
        _FONT_NAME(font, ctypes.addressof(name), size)
    return name.value.decode("latin-1")


def _font_style(font: int) -> FontStyle:
    angle = ctypes.c_int(0)
    if not _FONT_ITALIC_ANGLE(font, ctypes.addressof(angle)):
        angle.value = 0
    return font_style(_font_name(font), _FONT_FLAGS(font), _FONT_WEIGHT(font), angle.value)


_LOOSE_CHAR_BOX = direct_call(pdfium_c.FPDFText_GetLooseCharBox, ctypes.c_int, ctypes.c_void_p, ctypes.c_int,
                          ctypes.c_void_p)
_FONT_SIZE = direct_call(pdfium_c.FPDFText_GetFontSize, ctypes.c_double, ctypes.c_void_p, ctypes.c_int)
_CHAR_ORIGIN = direct_call(pdfium_c.FPDFText_GetCharOrigin, ctypes.c_int, ctypes.c_void_p, ctypes.c_int,
                           ctypes.c_void_p, ctypes.c_void_p)
_CHAR_ANGLE = direct_call(pdfium_c.FPDFText_GetCharAngle, ctypes.c_float, ctypes.c_void_p, ctypes.c_int)
_GET_TEXT = direct_call(pdfium_c.FPDFText_GetText, ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                        ctypes.c_void_p)
_UNICODE = direct_call(pdfium_c.FPDFText_GetUnicode, ctypes.c_uint, ctypes.c_void_p, ctypes.c_int)
_IS_HYPHEN = direct_call(pdfium_c.FPDFText_IsHyphen, ctypes.c_int, ctypes.c_void_p, ctypes.c_int)
_TEXT_OBJECT = direct_call(pdfium_c.FPDFText_GetTextObject, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int)
_TEXT_OBJECT_FONT = direct_call(pdfium_c.FPDFTextObj_GetFont, ctypes.c_void_p, ctypes.c_void_p)
_FONT_NAME = direct_call(pdfium_c.FPDFFont_GetBaseFontName, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p,
                         ctypes.c_size_t)
_FONT_FLAGS = direct_call(pdfium_c.FPDFFont_GetFlags, ctypes.c_int, ctypes.c_void_p)
_FONT_WEIGHT = direct_call(pdfium_c.FPDFFont_GetWeight, ctypes.c_int, ctypes.c_void_p)
_FONT_ITALIC_ANGLE = direct_call(pdfium_c.FPDFFont_GetItalicAngle, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
assert ctypes.sizeof(pdfium_c.FS_RECTF) == 16


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
