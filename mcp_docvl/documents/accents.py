"""Accents drawn as glyphs of their own, put back onto their letters.

TeX and some older producers set an accented letter as two glyphs: the base letter, and a spacing accent (´ ˆ ˇ ¨ ˜
...) placed over (or, for a cedilla or ogonek, under) it. The accent's character often comes elsewhere in the
content stream than its letter (after the word, at the end of the line), so read as it is the text says
"Lo ´pez" or "Rhone-Alpes ... ˆ". Geometry tells where it belongs: the accent has no advance of its own, so its
centre falls inside one letter's box on the same line (PDFium's loose boxes span the font's ascent to descent, so
the accent's and the letter's boxes share a vertical centre). That letter and the accent make one precomposed
character ("ó", "ô", "ž"); an accent that stands over no letter (one set in its own slot, a prime after a
letter), or whose pair has no precomposed form, stays as it is.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np

# Spacing accents and the combining marks they stand for (Unicode gives most of them as compatibility
# decompositions "<compat> 0020 03xx"; the modifier letters ˆ ˇ ˊ ˋ have none and are named here).
COMBINING: dict[int, str] = {
    0x00A8: "\u0308", 0x00AF: "\u0304", 0x00B4: "\u0301", 0x00B8: "\u0327", 0x02C6: "\u0302", 0x02C7: "\u030C",
    0x02CA: "\u0301", 0x02CB: "\u0300", 0x02D8: "\u0306", 0x02D9: "\u0307", 0x02DA: "\u030A", 0x02DB: "\u0328",
    0x02DC: "\u0303", 0x02DD: "\u030B",
}
# TeX accents an i or j on its dotless form: the accented letter is the dotted one's.
_DOTLESS = {"\u0131": "i", "\u0237": "j"}


@dataclass(frozen=True, slots=True)
class AccentSettings:
    # How far (in heights of the letter's box) the accent's vertical centre may be from the letter's: loose boxes
    # on one line share their centre (TeX raises an accent over a capital by a fraction of a height), while the
    # next line is a full line pitch (more than one height) away.
    max_offset: float = 0.5


ACCENTS = AccentSettings()


def attach_accents(codes: np.ndarray, accents: np.ndarray, letters: np.ndarray, x0: np.ndarray, y0: np.ndarray,
                   x1: np.ndarray, y1: np.ndarray, settings: AccentSettings = ACCENTS) -> np.ndarray:
    """Compose each accent in `accents` (character indices) onto the letter under it, in place in `codes`.

    `letters` are the indices that may carry an accent. Returns the indices of the accents that were put onto a
    letter (they are no characters any more).
    """
    if accents.size == 0 or letters.size == 0:
        return accents[:0]
    lx0, ly0, lx1, ly1 = x0[letters], y0[letters], x1[letters], y1[letters]
    heights = np.maximum(ly1 - ly0, 1e-6)
    middles = (ly0 + ly1) / 2
    attached: list[int] = []
    taken: set[int] = set()
    for a in accents.tolist():
        centre = (x0[a] + x1[a]) / 2
        offset = np.abs(middles - (y0[a] + y1[a]) / 2)
        found = np.flatnonzero((lx0 <= centre) & (centre <= lx1) & (offset <= settings.max_offset * heights))
        if found.size == 0:
            continue
        # The nearest letter, in its own size: wide loose boxes of neighbours can both hold the centre.
        across = np.abs((lx0[found] + lx1[found]) / 2 - centre) / np.maximum(lx1[found] - lx0[found], 1e-6)
        best = int(letters[found[np.argmin(offset[found] / heights[found] + across)]])
        if best in taken:
            continue
        base = chr(int(codes[best]))
        composed = unicodedata.normalize("NFC", _DOTLESS.get(base, base) + COMBINING[int(codes[a])])
        if len(composed) != 1:
            continue
        codes[best] = ord(composed)
        taken.add(best)
        attached.append(a)
    return np.array(attached, dtype=np.int64)
