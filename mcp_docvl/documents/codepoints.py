"""What each code point of a text layer is to the reader: a space, junk to leave out, unreadable, a hyphen marker,
right-to-left.

PDFium gives one code per character of the page. Most are text; some are not: control codes that a font without a
Unicode map passes through as raw glyph codes, halves of a surrogate pair, PDFium's own marker for a hyphen at a
line end (U+0002 from FPDFText_GetUnicode, U+FFFE from FPDFText_GetText). The tables here classify codes in bulk
(numpy lookups), so the text-layer path stays vectorised.
"""

from __future__ import annotations

import functools
import unicodedata

import numpy as np

from mcp_docvl.documents.accents import COMBINING

SPACE = 1  # separates words
JUNK = 2  # carries no text (control codes, noncharacters, lone surrogate halves): left out, not a word break
UNREADABLE = 4  # counts against the text layer's readability (junk, private use, U+FFFD)
HYPHEN_MARK = 8  # PDFium's line-end hyphen marker, or a soft hyphen: a hyphen if FPDFText_IsHyphen says so
RTL = 16  # a strong right-to-left letter (bidi class R or AL)
CONTINUATION = 32  # the second half of a surrogate pair joined into the index before it: no character at all
ACCENT = 64  # a spacing accent (´ ˆ ¨ ...): drawn over a letter it belongs to that letter (accents.py)

# Noncharacters that stand in the codes for a ligature's several letters until the words' text is built.
PLACEHOLDERS = tuple(range(0xFDD0, 0xFDF0))

HYPHEN = 0x2D
SPACE_CODE = 0x20
SOFT_HYPHEN = 0xAD
MAX_CODE = 0x10FFFF


def _class_table() -> np.ndarray:
    table = np.zeros(0x10000, dtype=np.uint8)
    # C0 and C1 control codes carry no text: fonts without a Unicode map pass glyph codes through as these.
    table[0x00:0x20] = JUNK | UNREADABLE
    table[0x7F:0xA0] = JUNK | UNREADABLE
    table[0xD800:0xE000] = JUNK | UNREADABLE  # a surrogate half left over once pairs are combined
    table[[0xFFFF, 0xFEFF]] = JUNK | UNREADABLE  # a noncharacter; a zero-width no-break space (BOM)
    table[0xE000:0xF900] = UNREADABLE  # private use: kept (icon fonts, bullets), but says nothing to a reader
    table[0xFFFD] = UNREADABLE
    # Whitespace (NUL too: some producers emit it between words). Tab, line feed and carriage return are the
    # breaks PDFium itself generates.
    spaces = [0x00, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200C), 0x2028,
              0x2029, 0x202F, 0x205F, 0x3000, 0xFFFE]
    table[spaces] = SPACE
    table[[0x02, 0xFFFE, SOFT_HYPHEN]] |= HYPHEN_MARK
    table[list(COMBINING)] |= ACCENT
    # Strong right-to-left letters live in these blocks (Hebrew to Arabic Extended-A; presentation forms).
    for start, stop in ((0x0590, 0x0900), (0xFB1D, 0xFE00), (0xFE70, 0xFF00)):
        for code in range(start, stop):
            if unicodedata.bidirectional(chr(code)) in ("R", "AL"):
                table[code] |= RTL
    return table


CLASSES = _class_table()


def classify(codes: np.ndarray) -> np.ndarray:
    """The class bits of each code (uint32 array of code points)."""
    classes = CLASSES[np.minimum(codes, 0xFFFF)]
    beyond = codes > 0xFFFF
    if beyond.any():
        # Outside the BMP: text (math alphanumerics, emoji, rare CJK), except supplementary private use, the
        # noncharacters ending in FFFE/FFFF and anything past U+10FFFF.
        big = codes[beyond]
        bits = np.where(big >= 0xF0000, UNREADABLE, 0)
        bits = np.where(((big & 0xFFFE) == 0xFFFE) | (big > MAX_CODE), JUNK | UNREADABLE, bits)
        classes = classes.copy()
        classes[beyond] = bits
    return classes


def combine_surrogates(codes: np.ndarray) -> np.ndarray:
    """Surrogate pairs (PDFium keeps a character outside the BMP as two indices) joined into the first index.

    Returns the positions of the second halves, which now carry nothing; `codes` is changed in place.
    """
    high = (codes[:-1] >= 0xD800) & (codes[:-1] < 0xDC00)
    low = (codes[1:] >= 0xDC00) & (codes[1:] < 0xE000)
    first = np.flatnonzero(high & low)
    if first.size:
        codes[first] = 0x10000 + ((codes[first] - 0xD800) << 10) + (codes[first + 1] - 0xDC00)
    return first + 1


def to_text(codes: np.ndarray) -> str:
    """A string with one character per code (callers have left out surrogates and codes past U+10FFFF)."""
    return codes.astype("<u4").tobytes().decode("utf-32-le")


@functools.cache
def _direction_table() -> np.ndarray:
    # Built on first use (about 30 ms): only pages with right-to-left letters need it.
    kinds = np.array([unicodedata.bidirectional(chr(code)) for code in range(0x10000)])
    return np.where(kinds == "L", 1, np.where((kinds == "R") | (kinds == "AL"), -1, 0)).astype(np.int8)


def directions(codes: np.ndarray) -> np.ndarray:
    """+1 for strong left-to-right characters, -1 for strong right-to-left, 0 for the rest (digits, punctuation,
    spaces, marks), per code (at most U+10FFFF). Codes outside the BMP count as left-to-right when alphabetic."""
    table = _direction_table()
    out = table[np.minimum(codes, 0xFFFF)]
    beyond = codes > 0xFFFF
    if beyond.any():
        out = out.copy()
        out[beyond] = [1 if chr(int(c)).isalpha() else 0 for c in codes[beyond]]
    return out
