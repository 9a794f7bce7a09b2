"""From positioned words to lines, reading order and blocks (headings, paragraphs, list items).

Reading order is a recursive XY-cut over line segments: columns are separated before rows are read, so a
multi-column page reads column by column instead of interleaving them.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from statistics import median

from mcp_docvl.documents.bidi import logical_order, mostly_rtl
from mcp_docvl.documents.model import BBox, Block, Line, Word, union_bbox
from mcp_docvl.extract.columns import spanning_bands, split_at_gutters
from mcp_docvl.extract.headings import heading_levels
from mcp_docvl.extract.rows import mid_y, rows_of

# A gap wider than this many font sizes ends a line segment (columns, table cells, label/value pairs).
_SEGMENT_GAP = 1.0
# A blank band taller than this many line heights is a section break, cut before anything else.
_SECTION_GAP = 1.5
# A blank column wider than this many font sizes is a gutter between text columns (gutters of 0.7-0.9 em are
# common in magazines and forms; word spaces never line up into a blank column).
_GUTTER = 0.6

# A strip of lines beside a gutter no wider than this many font sizes holds no running text: when its lines
# do not sit level with the rows beside it (a notice set sideways, stacked letter by letter) it is read apart
# from the body. A table's label column sits level with its rows in the same type and stays with them.
_MARGIN_STRIP = 2.5
# Lines a strip needs to be marginalia rather than a stray mark.
_MARGIN_LINES = 3
# A narrow strip set in type smaller than this share of the lines beside it, or larger by its inverse, holds
# marks (the line numbers a patent prints in its gutter, a section tab's letters stacked down the edge), read
# apart even though some sit level with the rows. "Narrow" is measured in the strip's own type too.
_MARK_SIZE = 0.8
# A strip's line sits level with the body when a body line's centre is within this share of its height (rows of
# one page share baselines; text set sideways or stacked meets them only by chance)...
_LEVEL_SHARE = 0.25
# ...and the strip belongs to its rows when at least this share of its lines sit level.
_LEVEL_LINES = 0.5

_BULLET = re.compile(r"^(?:[•·▪◦‣⁃●○■□►▶–—-]|\(?\d{1,3}[.)]|\(?[a-zA-Z][.)]|\(?[ivxlcIVXLC]{1,5}[.)])\s")


def build_lines(words: list[Word]) -> list[Line]:
    """Group words into line segments: same baseline, no wide gap."""
    if not words:
        return []
    # The comparisons below are spelled out rather than calling min()/max() (with the same results, ties
    # included): this loop runs for every word of every page, several times.
    rows: list[list[Word]] = []
    row: list[Word] = []
    row_top = row_bottom = 0.0
    for word in sorted(words, key=_centre_y):
        _, top, _, bottom = word.bbox
        if row:
            low = row_bottom if row_bottom < bottom else bottom
            high = row_top if row_top > top else top
            height, row_height = bottom - top, row_bottom - row_top
            if low - high >= 0.5 * (row_height if row_height < height else height):
                row.append(word)
                continue
        row = [word]
        rows.append(row)
        row_top, row_bottom = top, bottom
    lines: list[Line] = []
    # Lines holding right-to-left script read from their right end (documents/bidi.py).
    bidi = any([w.rtl for w in words])
    rtl_page = bidi and mostly_rtl(words)
    for row in rows:
        row.sort(key=_left)
        first = len(lines)
        prev = row[0]
        segment: list[Word] = [prev]
        for word in row[1:]:
            if word.text == prev.text and _is_duplicate(prev, word):
                continue  # fake bold: the same glyphs drawn twice, slightly offset
            gap = word.bbox[0] - prev.bbox[2]
            size = word.size if word.size > prev.size else prev.size
            if gap > _SEGMENT_GAP * (1.0 if size < 1.0 else size) and not (
                # A bullet is set apart from its text by a tab stop; it still belongs to the line.
                len(segment) == 1 and _BULLET.match(prev.text + " ") is not None
            ):
                lines.append(Line.of(logical_order(segment, rtl_page) if bidi else segment))
                segment = [word]
            else:
                segment.append(word)
            prev = word
        lines.append(Line.of(logical_order(segment, rtl_page) if bidi else segment))
        if len(lines) - first > 1:
            for line in lines[first:]:
                line.row_segments = len(lines) - first
    return lines


def _centre_y(word: Word) -> float:
    return (word.bbox[1] + word.bbox[3]) / 2


def _left(word: Word) -> float:
    return word.bbox[0]


def _is_duplicate(a: Word, b: Word) -> bool:
    """`b` repeats `a` over the same place (callers have checked that the texts are equal)."""
    width = max(a.bbox[2] - a.bbox[0], 1e-6)
    overlap = min(a.bbox[2], b.bbox[2]) - max(a.bbox[0], b.bbox[0])
    return overlap > 0.8 * width


def reading_order(lines: list[Line]) -> list[Line]:
    """Lines in the order a person reads them (columns first, then top to bottom)."""
    if len(lines) <= 1:
        return list(lines)
    lines = split_at_gutters(lines)
    size = median(line.size for line in lines) or 1.0
    height = median(line.bbox[3] - line.bbox[1] for line in lines) or 1.0
    out: list[Line] = []
    _xycut(lines, size, height, out)
    return out


def _set_aside(parts: list[list[Line]], size: float) -> list[list[Line]] | None:
    """The body (the parts between the outermost gutters) followed by the strips of marginalia outside them, each
    read apart instead of row by row with the body; None when there is no such strip."""
    first, last = 0, len(parts)
    while first < last - 1 and _marginal(parts[first], parts[first + 1], size):
        first += 1
    while last > first + 1 and _marginal(parts[last - 1], parts[last - 2], size):
        last -= 1
    if first == 0 and last == len(parts):
        return None
    return [[ln for part in parts[first:last] for ln in part], *parts[:first], *parts[last:]]


def _marginal(strip: list[Line], beside: list[Line], size: float) -> bool:
    """A narrow strip of several lines that are set in another size of type than the lines beside them (line
    numbers in a gutter, a section tab's letters stacked down the edge) or do not sit level with them (text
    running along the margin): not a column of labels or numbers that belongs to its rows."""
    if len(strip) < _MARGIN_LINES:
        return False
    own, body = median(ln.size for ln in strip), median(ln.size for ln in beside)
    if max(ln.bbox[2] for ln in strip) - min(ln.bbox[0] for ln in strip) > _MARGIN_STRIP * max(size, own):
        return False
    if own < _MARK_SIZE * body or body < _MARK_SIZE * own:
        return True
    mids = sorted(mid_y(ln) for ln in beside)
    level = 0
    for line in strip:
        at = bisect_left(mids, mid_y(line))
        near = min((abs(mids[i] - mid_y(line)) for i in (at - 1, at) if 0 <= i < len(mids)), default=1e9)
        level += near <= _LEVEL_SHARE * (line.bbox[3] - line.bbox[1])
    return level < _LEVEL_LINES * len(strip)


def _gaps(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Blank stretches between the merged intervals, as (start, end)."""
    intervals = sorted(intervals)
    gaps: list[tuple[float, float]] = []
    end = intervals[0][1]
    for start, stop in intervals[1:]:
        if start > end:
            gaps.append((end, start))
        end = max(end, stop)
    return gaps


def _split(lines: list[Line], axis: int, cuts: list[float]) -> list[list[Line]]:
    """Lines into the bands between `cuts` (ascending) along `axis` (0: x, 1: y), by their centres."""
    parts: list[list[Line]] = [[] for _ in range(len(cuts) + 1)]
    for line in lines:
        parts[bisect_left(cuts, (line.bbox[axis] + line.bbox[axis + 2]) / 2)].append(line)
    return [p for p in parts if p]


def _xycut(lines: list[Line], size: float, height: float, out: list[Line]) -> None:
    # An explicit stack instead of recursion: pages with thousands of lines would otherwise go deep.
    stack: list[list[Line]] = [lines]
    while stack:
        region = stack.pop()
        parts = _cut(region, size, height)
        if parts is None:
            out.extend(rows_in_order(region))
        else:
            stack.extend(reversed(parts))


def _cut(region: list[Line], size: float, height: float) -> list[list[Line]] | None:
    if len(region) <= 1:
        return None
    # Columns of running text first: a gutter clear from top to bottom is read column by column, even when
    # paragraph breaks in the columns line up into blank bands across the page.
    x_gaps = _gaps([(ln.bbox[0], ln.bbox[2]) for ln in region])
    gutters = [(a + b) / 2 for a, b in x_gaps if b - a >= _GUTTER * size]
    if gutters and _columns_hold_text(region, gutters):
        return _split(region, 0, gutters)
    if gutters and (aside := _set_aside(_split(region, 0, gutters), size)):
        return aside
    # A gutter crossed by a few lines laid across the columns (a title, a caption): bands at those lines.
    found = spanning_bands(region, size)
    if found is not None:
        bands, (x0, x1) = found
        beside = [ln for ln in region if ln.bbox[2] <= x0 or ln.bbox[0] >= x1]
        holds_text = _columns_hold_text(beside, [(x0 + x1) / 2])
        if holds_text and len(bands) > 1:
            return bands
        if len(bands) == 1:
            parts = _split(region, 0, [(x0 + x1) / 2])
            if holds_text:
                return parts
            if aside := _set_aside(parts, size):
                return aside
    y_gaps = _gaps([(ln.bbox[1], ln.bbox[3]) for ln in region])
    section = [(a + b) / 2 for a, b in y_gaps if b - a >= _SECTION_GAP * height]
    if section:
        return _split(region, 1, section)
    if y_gaps:
        widths = sorted((b - a for a, b in y_gaps), reverse=True)
        # One band clearly wider than the rest (a title's spacing) is cut alone, so what lies under it can
        # still be split into columns; uniform leading is cut everywhere (one column, read top down).
        if len(widths) > 1 and widths[0] > 1.3 * widths[1] + 0.1 * height:
            a, b = max(y_gaps, key=lambda g: g[1] - g[0])
            return _split(region, 1, [(a + b) / 2])
        return _split(region, 1, [(a + b) / 2 for a, b in y_gaps])
    # No blank band at all: lines chain into each other vertically (a skewed scan, a tight form). Read it row by
    # row rather than column by column; that is how labels and their values belong together.
    return None


def rows_in_order(region: list[Line]) -> list[Line]:
    """Lines grouped into rows, rows top down, each row left to right (see `rows_of`)."""
    return [line for row in rows_of(region) for line in row]


def _columns_hold_text(region: list[Line], gutters: list[float]) -> bool:
    """True when a vertical cut separates columns of running text rather than the cells of a form or table.

    Text columns hold running text (several words a line on both sides) whose lines do not pair up row by row;
    a form, a receipt or a table has a short value beside each label, and is better read row by row.
    """
    parts = _split(region, 0, gutters)
    if len(parts) < 2:
        return False
    if any(median(len(ln.words) for ln in part) < 3 for part in parts):
        return False
    left, right = parts[0], sorted(parts[1], key=lambda ln: ln.bbox[1])
    tops = [ln.bbox[1] for ln in right]
    tallest = max(ln.bbox[3] - ln.bbox[1] for ln in right)
    paired = 0
    for line in left:
        # Only lines of the right part whose tops lie within its tallest line's height above this line's bottom
        # can overlap it: walk back from there.
        at = bisect_left(tops, line.bbox[3])
        while at > 0 and tops[at - 1] > line.bbox[1] - tallest:
            at -= 1
            other = right[at]
            overlap = min(line.bbox[3], other.bbox[3]) - max(line.bbox[1], other.bbox[1])
            if overlap > 0.5 * (line.bbox[3] - line.bbox[1]):
                paired += 1
                break
    words_per_line = sum(len(ln.words) for ln in region) / len(region)
    return paired < 0.6 * len(left) or words_per_line >= 5 or all(_fills_measure(part) for part in parts)


def _fills_measure(part: list[Line]) -> bool:
    """Lines of running text fill their column's measure: most are nearly as wide as the widest (a paragraph's
    last line and a heading are the exceptions), where a table's or a form's cells vary with their content."""
    if len(part) < 3:
        return False
    widths = sorted(ln.bbox[2] - ln.bbox[0] for ln in part)
    measure = widths[int(0.9 * (len(widths) - 1))]
    return sum(w >= 0.6 * measure for w in widths) >= 0.6 * len(widths)


def make_blocks(ordered: list[Line], body: float | None = None, tables: list[BBox] | None = None) -> list[Block]:
    """Group lines in reading order into headings, paragraphs and list items.

    Which lines are headings, and their levels, is `headings.heading_levels`; a line joins the block above when it
    continues it at the same size and paragraph spacing, and never across a heading's edge (a heading set in bold
    right above same-size text is a block of its own). `tables`: the boxes of the page's tables, which a heading
    may introduce.
    """
    if not ordered:
        return []
    levels = heading_levels(ordered, body, tables=tables)
    blocks: list[Block] = []
    current: list[Line] = []
    kind = "paragraph"
    current_level = 0

    def flush() -> None:
        nonlocal current, kind
        if current:
            blocks.append(Block(kind=kind, lines=current, bbox=union_bbox([ln.bbox for ln in current]),
                                level=current_level if kind == "heading" else 0))
        current, kind = [], "paragraph"

    for line, level in zip(ordered, levels, strict=True):
        starts_item = bool(_BULLET.match(line.text)) and len(line.text) > 2
        if current:
            prev = current[-1]
            same_size = abs(line.size - prev.size) <= 0.15 * max(prev.size, 1.0)
            gap = line.bbox[1] - prev.bbox[3]
            line_h = max(prev.bbox[3] - prev.bbox[1], 1.0)
            x_overlap = min(line.bbox[2], prev.bbox[2]) - max(line.bbox[0], prev.bbox[0])
            continues = (
                same_size
                and -0.3 * line_h <= gap <= 0.8 * line_h
                and x_overlap > 0
                and not starts_item
                and level == current_level
            )
            if not continues:
                flush()
        if not current:
            kind = "heading" if level else ("list_item" if starts_item else "paragraph")
            current_level = level
        current.append(line)
    flush()
    return blocks
