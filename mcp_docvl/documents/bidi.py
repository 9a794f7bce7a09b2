"""Words of a line in reading order when the line holds right-to-left script (Arabic, Hebrew).

Lines are assembled from word boxes sorted left to right, which is the visual order. Reading order (the logical
order of the Unicode bidirectional algorithm) differs for right-to-left runs: a right-to-left line reads from its
rightmost word, and runs of left-to-right words inside it ("R و Python", a number) keep their own left-to-right
order. At word granularity with two embedding levels this is rule L2 of UAX #9: reversing every run at level 1 or
above and then every run at level 2 turns logical into visual order, and the same two reversals turn visual back
into logical. The words' own characters are already in logical order (PDFium keeps the content order).
"""

from __future__ import annotations

from mcp_docvl.documents.model import Word

# Word classes for the reordering: strong right-to-left, strong left-to-right, neutral (numbers, punctuation).
_R, _L, _N = -1, 1, 0


def logical_order(words: list[Word], rtl_context: bool = False) -> list[Word]:
    """`words` (one line segment, left to right) in reading order.

    The line reads right to left when most of its letters are right-to-left, or, with `rtl_context` (most
    letters around it are: the page's), when it holds any right-to-left word: a line of an Arabic paragraph that
    names "R و Python" still starts at its right end (the paragraph's direction, rule P2/P3, taken from the
    surrounding text since a line's first letter in reading order is what is being found).
    """
    kinds = [_kind(w) for w in words]
    _resolve_neutrals(kinds)
    rtl_chars = sum(len(w.text) for w, k in zip(words, kinds, strict=True) if k == _R)
    ltr_chars = sum(len(w.text) for w, k in zip(words, kinds, strict=True) if k == _L)
    if rtl_chars > ltr_chars or (rtl_context and rtl_chars):
        # A right-to-left line: read from the right; left-to-right runs inside it keep their order.
        out = list(reversed(words))
        return _reverse_runs(out, list(reversed(kinds)), _L)
    # A left-to-right line with right-to-left phrases: each phrase reads from its right end.
    return _reverse_runs(list(words), kinds, _R)


def _kind(word: Word) -> int:
    if word.rtl:
        return _R
    return _L if any(c.isalpha() for c in word.text) else _N


def _resolve_neutrals(kinds: list[int]) -> None:
    """A neutral word between two words of the same direction takes that direction (rule N1, at word level);
    others stay neutral and so keep the line's direction."""
    previous = _N
    for i, kind in enumerate(kinds):
        if kind != _N:
            previous = kind
            continue
        following = next((k for k in kinds[i + 1:] if k != _N), _N)
        if previous == following != _N:
            kinds[i] = previous


def _reverse_runs(words: list[Word], kinds: list[int], kind: int) -> list[Word]:
    out: list[Word] = []
    run: list[Word] = []
    for word, k in zip(words, kinds, strict=True):
        if k == kind:
            run.append(word)
            continue
        out.extend(reversed(run))
        run = []
        out.append(word)
    out.extend(reversed(run))
    return out


def mostly_rtl(words: list[Word]) -> bool:
    """Whether most letters of `words` are right-to-left (the direction of the text around a line)."""
    rtl = ltr = 0
    for word in words:
        if word.rtl:
            rtl += len(word.text)
        elif any(c.isalpha() for c in word.text):
            ltr += len(word.text)
    return rtl > ltr
