"""Which lines are headings, and their levels, from how documents set headings apart.

A heading is set apart from running text by size, by weight, by a section number, or by space alone, and it is
short, stands alone on its row, does not end a sentence, and introduces the text below it. Each cue is a named
function; every figure is in `HeadingSettings` with its reason. The same cues serve text layers (font sizes) and
recognised text (box heights, no font), since both give every line a size.

Levels rank the distinct heading styles of the page (larger first, bold before regular at one size); section
numbers add their depth within a style ("5" above "5.1").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from itertools import pairwise
from statistics import median

from mcp_docvl.documents.model import BBox, Line


@dataclass(frozen=True, slots=True)
class HeadingSettings:
    """Thresholds of heading detection, each with the reason for its value."""

    # A line this much larger than the body is set apart by size. Body text keeps one size (rounding aside: a few
    # per cent); headings one step up a type scale are 10-20 % larger.
    larger: float = 1.08
    # This much larger stands out on its own: a title need not be followed by running text (a cover page).
    much_larger: float = 1.3
    # Headings set by weight or number are at least body size: smaller bold text is a caption, a label inside a
    # figure or a table, or a footnote.
    emphasis_min: float = 0.95
    # Headings are short: at most this many words when set at body size, on one line or over several (a
    # sentence-long bold line is a bold paragraph, a bold question in a questionnaire), ...
    max_words: int = 14
    # ... and at most this many characters when set larger (long titles wrap to a few lines of this each).
    max_chars: int = 200
    # A heading spans at most this many lines; more of the same style is a paragraph set in that style.
    max_lines: int = 3
    # Space above a heading exceeds the leading between the lines of a paragraph by at least this many line
    # heights (headings are spaced off what comes before).
    space_above: float = 0.5
    # The text a heading introduces starts within this many line heights below it.
    follow_gap: float = 2.5
    # A table it introduces may start up to this many line heights above the heading's bottom: the table's box is
    # its frame, whose top rule may run close under (or through the descenders of) the heading.
    table_overlap: float = 0.5
    # ... and is running text: a line of at least this many words (or another heading). Labels in a figure are
    # followed by other labels or by nothing.
    follow_words: int = 4
    # Headings by space alone (no size, weight or number): at most this many words, with space below as well as
    # above (the line stands as a block of its own).
    isolated_words: int = 10
    # Levels beyond this are not told apart in Markdown outlines that agents read.
    max_level: int = 6


HEADINGS = HeadingSettings()

# A section number: "5", "5.1", "5.1.2", "(1)", "A.2", "IV." followed by a space and the title. Digits of any script
# (\d is Unicode-aware); a letter numbering is one capital followed by a dotted number, roman numerals end in a dot.
_NUMBERING = re.compile(
    r"^(?:\(\d{1,3}\)|\d{1,3}(?:[.．]\d{1,3}){0,4}[.．)]?|[A-Z](?:[.．]\d{1,3}){1,4}[.．]?|[IVXLC]{1,6}[.．])\s+(\S)")
# What ends a sentence or a clause: a line ending so continues or closes running text, it does not head it.
_SENTENCE_END = (".", ",", ";", ":", "!", "。", "，", "；", "：", "！", "،", "؛")


def body_size(lines: list[Line]) -> float:
    """The most common font size of running text, weighted by characters (to a tenth of a point).

    Only lines of several words count when there are any: a page of small-print tables would otherwise make
    every sentence of normal size look like a heading.
    """
    running = [line for line in lines if len(line.words) >= 4] or lines
    weights: dict[float, int] = {}
    for line in running:
        for word in line.words:
            key = round(word.size, 1)
            weights[key] = weights.get(key, 0) + len(word.text)
    return max(weights, key=lambda k: weights[k]) if weights else 10.0


def is_emphasised(line: Line) -> bool:
    """Whether the whole line is set in an emphasised face, bold or italic (headings are set in italics as often
    as in bold): the one place that reads the page model's style attributes."""
    return line.bold or (bool(line.words) and all(w.italic for w in line.words))


def heading_levels(ordered: list[Line], body: float | None = None, settings: HeadingSettings = HEADINGS,
                   tables: list[BBox] | None = None) -> list[int]:
    """For each line in reading order, its heading level (1 = top) or 0 for running text.

    `tables`: boxes of the page's tables, whose words are not among `ordered`: a heading may introduce a table."""
    if not ordered:
        return []
    body = body or body_size(ordered)
    leading = _leading(ordered)
    cues = [_cue(i, ordered, body, leading, settings) for i in range(len(ordered))]
    heads = [cue is not None for cue in cues]
    _drop_long_runs(ordered, cues, heads, leading, settings)
    # From the bottom up, so that a heading counts as introduced by the heading below it only when that one
    # introduces something itself (a chain of set-apart lines at the foot of a page, a running footer, heads
    # nothing).
    for i in reversed(range(len(ordered))):
        if heads[i] and not _introduces_text(i, ordered, heads, body, settings, tables or []):
            heads[i] = False
    return _levels(ordered, heads, body, settings)


def _cue(i: int, ordered: list[Line], body: float, leading: float, settings: HeadingSettings) -> str | None:
    """What sets line `i` apart as a heading ("size", "bold", "number", "space"), or None."""
    line = ordered[i]
    if not _heading_text(line, settings) or not _alone_in_column(i, ordered):
        return None
    ratio = _letter_size(line) / body if body > 0 else 1.0
    if ratio >= settings.larger and len(line.text) <= settings.max_chars:
        return "size"
    if ratio < settings.emphasis_min or len(line.words) > settings.max_words or _wraps(i, ordered, leading, settings):
        return None
    above = _space_above(i, ordered, leading, settings)
    nxt = _neighbour(ordered, i, 1)
    # Emphasis sets a heading apart when space does, or when the text below is set plainly (a bold heading right
    # above its paragraph), or when it goes on an emphasised heading line above.
    plain_below = nxt is not None and not is_emphasised(nxt)
    if is_emphasised(line) and (above or plain_below or _continues_heading(i, ordered)):
        return "bold"
    if above and _numbered(line):
        return "number"
    if (above and len(line.words) <= settings.isolated_words and not line.text[:1].islower()
            and _space_below(i, ordered, leading, settings)):
        return "space"
    return None


def _heading_text(line: Line, settings: HeadingSettings) -> bool:
    """Text that can be a heading: holds a word (two letters or more), starts with a letter, a digit or an opening
    mark (not a rule, a box or a bullet), does not start in lower case (the rest of a sentence) and does not end a
    sentence or clause."""
    text = line.text.strip()
    first = unicodedata.category(text[:1] or " ")
    # A section number written right to left ("۳-") comes out of the text layer dash first ("-3"): a dash before a
    # digit opens a number, where a dash before a word is a list mark or a rule.
    numbered_dash = first == "Pd" and text[1:2].isdigit()
    return (sum(c.isalpha() for c in text) >= 2 and (first[0] in "LN" or first in ("Ps", "Pi") or numbered_dash)
            and not text[0].islower() and not text.endswith(_SENTENCE_END) and len(text) <= settings.max_chars)


def _letter_size(line: Line) -> float:
    """The line's size as its words with letters have it: a bullet or a box glyph from a symbol font is often set
    larger than the text beside it."""
    sizes = sorted(w.size for w in line.words if any(c.isalpha() for c in w.text))
    return sizes[len(sizes) // 2] if sizes else line.size


def _alone_in_column(i: int, ordered: list[Line]) -> bool:
    """Nothing else on the line's row within its column (the width of the lines above and below it): a label with
    its value beside it, or a table cell, is not a heading; the same row of the next text column does not count,
    nor a section number or a mark set off by a tab (no letters)."""
    line = ordered[i]
    if line.row_segments == 1:
        return True
    left, right = line.bbox[0], line.bbox[2]
    for step in (-1, 1):
        other = _neighbour(ordered, i, step)
        if other is not None and (_stacked(other, line) or _stacked(line, other)):
            left, right = min(left, other.bbox[0]), max(right, other.bbox[2])
    top, bottom = line.bbox[1], line.bbox[3]
    for other in ordered:
        if other is line or not any(c.isalpha() for c in other.text):
            continue
        mid = (other.bbox[1] + other.bbox[3]) / 2
        if top <= mid <= bottom and min(other.bbox[2], right) - max(other.bbox[0], left) > 0:
            return False
    return True


def _wraps(i: int, ordered: list[Line], leading: float, settings: HeadingSettings) -> bool:
    """The line runs to the right edge of the text below it, which follows at paragraph leading: the first line of
    a paragraph (or list item) that wrapped, not a heading above one."""
    line = ordered[i]
    nxt = _neighbour(ordered, i, 1)
    if nxt is None or not _stacked(line, nxt) or _space_below(i, ordered, leading, settings):
        return False
    if not _same_style(line, nxt) or is_emphasised(line):
        return False  # a paragraph's lines keep one style; a bold heading may wrap onto a second line
    height = line.bbox[3] - line.bbox[1]
    return line.bbox[2] >= nxt.bbox[2] - 2 * height


def _numbered(line: Line) -> bool:
    """Starts with a section number followed by a title that does not start in lower case."""
    match = _NUMBERING.match(line.text)
    return match is not None and not match.group(1).islower()


def _depth(line: Line) -> int:
    """How many parts the line's section number has ("5.1.2" -> 3); 0 without one."""
    match = _NUMBERING.match(line.text)
    if match is None:
        return 0
    number = line.text[: match.start(1)].strip().strip("(").rstrip(".．)")
    return len([p for p in re.split(r"[.．]", number) if p])


def _leading(ordered: list[Line]) -> float:
    """The usual blank between consecutive lines of a paragraph, in points (negative when boxes overlap)."""
    gaps = []
    for a, b in pairwise(ordered):
        height = a.bbox[3] - a.bbox[1]
        gap = b.bbox[1] - a.bbox[3]
        if _stacked(a, b) and -0.5 * height <= gap <= 1.5 * height:
            gaps.append(gap)
    return median(gaps) if gaps else 0.0


def _stacked(upper: Line, lower: Line) -> bool:
    """`lower` sits below `upper` in the same column (they overlap horizontally)."""
    return min(upper.bbox[2], lower.bbox[2]) - max(upper.bbox[0], lower.bbox[0]) > 0 and lower.bbox[1] > upper.bbox[1]


def _neighbour(ordered: list[Line], i: int, step: int) -> Line | None:
    j = i + step
    return ordered[j] if 0 <= j < len(ordered) else None


def _space_above(i: int, ordered: list[Line], leading: float, settings: HeadingSettings) -> bool:
    """More space above the line than between the lines of a paragraph (or nothing above it in its column)."""
    prev = _neighbour(ordered, i, -1)
    line = ordered[i]
    if prev is None or not _stacked(prev, line):
        return True
    height = line.bbox[3] - line.bbox[1]
    return line.bbox[1] - prev.bbox[3] >= leading + settings.space_above * height


def _space_below(i: int, ordered: list[Line], leading: float, settings: HeadingSettings) -> bool:
    nxt = _neighbour(ordered, i, 1)
    line = ordered[i]
    if nxt is None or not _stacked(line, nxt):
        return False
    height = line.bbox[3] - line.bbox[1]
    return nxt.bbox[1] - line.bbox[3] >= leading + settings.space_above * height


def _continues_heading(i: int, ordered: list[Line]) -> bool:
    """The line goes on an emphasised line right above it (the second line of a wrapped bold heading)."""
    prev = _neighbour(ordered, i, -1)
    line = ordered[i]
    return prev is not None and is_emphasised(prev) and _stacked(prev, line) and abs(prev.size - line.size) < 0.5


def _drop_long_runs(ordered: list[Line], cues: list[str | None], heads: list[bool], leading: float,
                    settings: HeadingSettings) -> None:
    """A block of lines in a style set apart from the body (larger or bold), stacked at paragraph leading, is a
    heading only if every line of it can be one and it has at most `max_lines` lines: otherwise it is a paragraph
    set in that style (a bold note, a large-print introduction)."""
    start = 0
    while start < len(ordered):
        end = start + 1
        while (end < len(ordered) and _stacked(ordered[end - 1], ordered[end])
               and _same_style(ordered[end - 1], ordered[end]) and not _space_above(end, ordered, leading, settings)):
            end += 1
        run = ordered[start:end]
        set_apart = [cue for cue in cues[start:end] if cue in ("size", "bold")]
        too_long = (end - start > settings.max_lines or sum(len(ln.text) for ln in run) > settings.max_chars
                    or ("bold" in set_apart and sum(len(ln.words) for ln in run) > settings.max_words))
        if set_apart and (too_long or not all(heads[start:end])):
            heads[start:end] = [False] * (end - start)
        start = end


def _same_style(a: Line, b: Line) -> bool:
    return abs(a.size - b.size) <= 0.05 * max(a.size, b.size, 1.0) and is_emphasised(a) == is_emphasised(b)


def _introduces_text(i: int, ordered: list[Line], heads: list[bool], body: float, settings: HeadingSettings,
                     tables: list[BBox]) -> bool:
    """The heading is followed closely by running text, by another heading or by a table (a figure's labels are
    not)."""
    line = ordered[i]
    if line.size >= settings.much_larger * body:
        return True
    height = line.bbox[3] - line.bbox[1]
    if any(_introduces_table(line, table, height, settings) for table in tables):
        return True
    nxt = _neighbour(ordered, i, 1)
    if nxt is None:
        return False
    if heads[i + 1]:
        return True
    return (_stacked(line, nxt) and nxt.bbox[1] - line.bbox[3] <= settings.follow_gap * height
            and len(nxt.words) >= settings.follow_words)


def _introduces_table(line: Line, table: BBox, height: float, settings: HeadingSettings) -> bool:
    """A table starts right below the line, within its width: the line heads the table as it would a paragraph."""
    gap = table[1] - line.bbox[3]
    overlap = min(line.bbox[2], table[2]) - max(line.bbox[0], table[0])
    return -settings.table_overlap * height <= gap <= settings.follow_gap * height and overlap > 0


def _levels(ordered: list[Line], heads: list[bool], body: float, settings: HeadingSettings) -> list[int]:
    """Levels: 1 for the title (Markdown's one H1: the largest heading style, set `much_larger` than the body, used
    once and not numbered), then section levels from 2 by style rank (larger first, emphasised
    before plain at one size; sizes closer than `larger` are one rank), deeper section numbers lower within a
    style."""
    styles = sorted({_style(line) for line, head in zip(ordered, heads, strict=True) if head}, reverse=True)
    rank = _style_ranks(styles, settings)
    # The title is set once (on one line or wrapped over a few) and carries no section number: a top style that
    # heads several sections, or a numbered one ("1.3.1 ..." opening a chapter's page), is a section level.
    top = [s for s in styles if rank[s] == 0]
    titled = (bool(styles) and styles[0][0] >= settings.much_larger * body
              and sum(_headings_in_style(ordered, heads, s) for s in top) == 1
              and not any(head and _style(line) in top and _depth(line)
                          for line, head in zip(ordered, heads, strict=True)))
    first = 1 if titled else 2
    shallowest: dict[tuple[float, bool], int] = {}
    for line, head in zip(ordered, heads, strict=True):
        if head and _depth(line):
            style = _style(line)
            shallowest[style] = min(shallowest.get(style, 99), _depth(line))
    levels = []
    for line, head in zip(ordered, heads, strict=True):
        if not head:
            levels.append(0)
            continue
        style = _style(line)
        level = rank[style] + first
        if _depth(line) and style in shallowest:
            level += _depth(line) - shallowest[style]
        levels.append(min(level, settings.max_level))
    return levels


def _style_ranks(styles: list[tuple[float, bool]], settings: HeadingSettings) -> dict[tuple[float, bool], int]:
    """Each heading style's rank (0 = top), `styles` largest first: a style joins the rank above when it has the
    same weight and is less than `larger` smaller than that rank's largest size (one step of a type scale is more;
    a point less is the same heading set by another hand, or a size rounded differently)."""
    ranks: dict[tuple[float, bool], int] = {}
    head: tuple[float, bool] | None = None  # the largest style of the lowest rank so far
    for style in styles:
        if head is None or head[1] != style[1] or head[0] >= settings.larger * style[0]:
            head = style
            ranks[style] = len(set(ranks.values()))
        else:
            ranks[style] = ranks[head]
    return ranks


def _headings_in_style(ordered: list[Line], heads: list[bool], style: tuple[float, bool]) -> int:
    """How many headings are set in `style`: consecutive heading lines of one style are one heading, wrapped."""
    count, previous = 0, False
    for line, head in zip(ordered, heads, strict=True):
        current = head and _style(line) == style
        count += current and not previous
        previous = current
    return count


def _style(line: Line) -> tuple[float, bool]:
    """A heading style: the size to half a point and the weight."""
    return (round(line.size * 2) / 2, is_emphasised(line))
