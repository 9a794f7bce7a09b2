"""Columns of running text: gutters found as whitespace rivers, lines split at them, spanning lines set apart.

How pages are made: columns are separated by a gutter, a strip of white that runs down most of the columns'
height; text never crosses it except for things laid across the columns on purpose (titles, figures and their
captions, a footer), which cut the page into horizontal bands that are read one after the other. Word gaps inside
a column fall at random places from one line to the next, so a strip that stays white over many lines with text
on both sides is a gutter even when it is narrower than the gap that separates line segments.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from itertools import pairwise

from mcp_docvl.documents.model import Line


@dataclass(frozen=True)
class ColumnSettings:
    # A gap between two words wider than this many font sizes may be a gutter (word spaces in justified text
    # stay below ~0.35 em; gutters are rarely under ~0.6 em).
    candidate_gap: float = 0.45
    # A gutter inside a merged row is this many times wider than the row's typical word space at least (a title
    # laid across the columns has one of its ordinary spaces over the gutter now and then).
    space_ratio: float = 2.0
    # ... or this many times, when the word after the gap starts at a column's left edge (see `_starts_column`):
    # a title's ordinary space over the gutter rarely ends exactly where the column's lines start.
    aligned_space_ratio: float = 1.25
    # Lines start at the same left edge within this many font sizes (a scan's jitter, a glyph's side bearing).
    edge_tolerance: float = 0.3
    # Loosely justified lines stretch word spaces up to about this many font sizes; a wider gap is never a space.
    max_word_space: float = 2.0
    # Rows looked at above and below a candidate gap, in line heights: the neighbourhood that must share the river.
    window_rows: float = 6.0
    # Lines with text on each side of the river needed to call it one: one line can be white there by chance
    # (a short line, a tab), several cannot.
    river_rows: int = 3
    # The white core of a river must be at least this many font sizes wide (a glyph's side bearing is ~0.1 em).
    river_core: float = 0.2
    # Text within this many font sizes of a river's side counts as a column beside it (a ragged right edge
    # ends lines up to a few words short).
    column_reach: float = 4.0
    # A river may be crossed by at most this share of a region's lines (titles, captions, figures laid across
    # the columns); more crossings mean the white strip is an accident of short lines, not a gutter.
    max_spanning_share: float = 0.25
    # Each side of a river needs this many lines of its own to be a column.
    min_column_lines: int = 3
    # A word without letters set in type smaller than this share of the words beside it may be a mark set in the
    # gutter (the line numbers a patent prints between its columns every fifth line); the white on both sides of
    # it together is then what must be a river. (Letters are left out: OCR layers size each word by its box, and
    # a short lowercase word comes out smaller than its neighbours.)
    mark_size: float = 0.8
    # A river narrower than this many font sizes between line segments is not a gutter between regions. On a
    # scan turned by a fraction of a degree the columns' edges drift across the page, and the strip that stays
    # white from top to bottom is narrower than the gutter on any one line: half a degree over a page narrows
    # an 8 pt gutter to 3 pt. Word spaces never line up into a white strip over many lines, so a narrow strip
    # with columns of text on both sides is still a gutter.
    gutter: float = 0.3


SETTINGS = ColumnSettings()


def split_at_gutters(lines: list[Line], settings: ColumnSettings = SETTINGS) -> list[Line]:
    """Line segments re-cut at gutters: segments of one row joined across wide word spaces that are no gutter
    (loosely justified lines), and split where they run across one (a narrow gutter is no wider than the gap
    that separates segments, so whole rows of neighbouring columns come merged)."""
    rows = sorted(lines, key=lambda ln: ln.bbox[1] + ln.bbox[3])
    mids = [(ln.bbox[1] + ln.bbox[3]) / 2 for ln in rows]
    changed = False
    joined: list[Line] = []
    for row in _rows(rows):
        row.sort(key=lambda ln: ln.bbox[0])
        current = row[0]
        for line in row[1:]:
            if _joins(current, line, rows, mids, settings):
                current = Line.of(current.words + line.words)
                changed = True
            else:
                joined.append(current)
                current = line
        joined.append(current)
    out: list[Line] = []
    for line in joined:
        pieces = _split_line(line, rows, mids, settings)
        changed = changed or len(pieces) > 1
        out.extend(pieces)
    if not changed:
        return lines
    _count_row_segments(out)
    return out


def _joins(left: Line, right: Line, rows: list[Line], mids: list[float], settings: ColumnSettings) -> bool:
    """Two segments of one row are one line when the gap between them is a wide word space, not a gutter."""
    size = max(left.size, right.size, 1e-6)
    gap = right.bbox[0] - left.bbox[2]
    return (
        0 <= gap <= settings.max_word_space * size
        and abs(left.size - right.size) <= 0.15 * size
        and not _is_river(left, left.bbox[2], right.bbox[0], rows, mids, settings)
    )


def _rows(ordered: list[Line]) -> list[list[Line]]:
    """Lines (sorted by centre) grouped into rows of segments level with each other."""
    rows: list[list[Line]] = []
    for line in ordered:
        if rows and _level(rows[-1][0], line):
            rows[-1].append(line)
        else:
            rows.append([line])
    return rows


def _split_line(line: Line, rows: list[Line], mids: list[float], settings: ColumnSettings) -> list[Line]:
    words = line.words
    if len(words) < 2:
        return [line]
    size = max(line.size, 1e-6)
    gaps = sorted(words[i].bbox[0] - words[i - 1].bbox[2] for i in range(1, len(words)))
    least = max(settings.candidate_gap * size, settings.space_ratio * gaps[len(gaps) // 2] if len(gaps) >= 3 else 0)
    # Where the next word starts at the left edge the lines of a column below and above share, the gap may be
    # closer to the row's word spaces: a loosely spaced row (an OCR layer, a justified line merged from several
    # columns) has a median space not far below its gutters.
    aligned_least = max(settings.candidate_gap * size,
                        settings.aligned_space_ratio * gaps[len(gaps) // 2] if len(gaps) >= 3 else 0)
    cuts: list[int] = []
    for i in range(1, len(words)):
        a, b = words[i - 1].bbox[2], words[i].bbox[0]
        if (b - a >= least or (b - a >= aligned_least and _starts_column(line, b, rows, mids, settings))) and (
                _is_river(line, a, b, rows, mids, settings)):
            cuts.append(i)
    last = len(words) - 1
    for i, word in enumerate(words):
        # A mark in the gutter: smaller type than the words beside it, and the white around it (the mark left
        # out) is a river. At a segment's end the mark's own outer edge bounds that white.
        beside = min(words[i - 1].size if i else 1e30, words[i + 1].size if i < last else 1e30)
        if word.size >= settings.mark_size * beside or any(c.isalpha() for c in word.text):
            continue
        a = words[i - 1].bbox[2] if i else word.bbox[0]
        b = words[i + 1].bbox[0] if i < last else word.bbox[2]
        if b - a >= least and _is_river(line, a, b, rows, mids, settings):
            cuts += [i, i + 1]
    cuts = sorted({c for c in cuts if 0 < c < len(words)})
    if not cuts:
        return [line]
    pieces, start = [], 0
    for cut in [*cuts, len(words)]:
        pieces.append(Line.of(words[start:cut]))
        start = cut
    return pieces


def _starts_column(line: Line, x: float, rows: list[Line], mids: list[float], settings: ColumnSettings) -> bool:
    """Whether several lines near `line`, above it and below it, have a word starting where x is: the left
    edge of a column that `line` is inside of (rows of neighbouring columns often come merged into one line, so
    words are looked at, not line starts). A footer or a caption under the columns has none below it."""
    height = max(line.bbox[3] - line.bbox[1], 1e-6)
    mid = (line.bbox[1] + line.bbox[3]) / 2
    lo = bisect_left(mids, mid - settings.window_rows * height)
    hi = bisect_right(mids, mid + settings.window_rows * height)
    reach = settings.edge_tolerance * max(line.size, 1e-6)
    above = below = 0
    for other, other_mid in zip(rows[lo:hi], mids[lo:hi], strict=True):
        if other is not line and other.bbox[0] - reach <= x <= other.bbox[2] and any(
                abs(w.bbox[0] - x) <= reach for w in other.words):
            above += other_mid < mid
            below += other_mid > mid
    return above >= 1 and below >= 1 and above + below >= settings.river_rows


def _is_river(line: Line, a: float, b: float, rows: list[Line], mids: list[float], settings: ColumnSettings) -> bool:
    """Whether the white between x=a and x=b on `line` continues through nearby lines with text on both sides.

    A few lines may cross it (a caption or a title laid across the columns), most must leave it white.
    """
    height = max(line.bbox[3] - line.bbox[1], 1e-6)
    size = max(line.size, 1e-6)
    mid = (line.bbox[1] + line.bbox[3]) / 2
    lo = bisect_left(mids, mid - settings.window_rows * height)
    hi = bisect_right(mids, mid + settings.window_rows * height)
    reach = settings.column_reach * size
    mark = settings.mark_size  # marks set in the gutter do not fill it
    covering: list[tuple[float, float]] = []
    left = right = 0
    for other in rows[lo:hi]:
        x0, x1 = other.bbox[0], other.bbox[2]
        if other is line or x1 < a - reach or x0 > b + reach:
            continue
        left += x0 < a and x1 > a - reach
        right += x1 > b and x0 < b + reach
        if x1 > a and x0 < b:
            covering.extend((max(w.bbox[0], a), min(w.bbox[2], b)) for w in other.words
                            if w.bbox[2] > a and w.bbox[0] < b and w.size >= mark * other.size)
    if min(left, right) < settings.river_rows:
        return False
    allowed = int(settings.max_spanning_share * min(left, right))
    return _least_covered(a, b, covering, settings.river_core * size) <= allowed


def _least_covered(a: float, b: float, spans: list[tuple[float, float]], core: float) -> int:
    """The fewest spans over any stretch of [a, b] at least `core` wide (a large number when none is)."""
    events = sorted([(x0, 1) for x0, _ in spans] + [(x1, -1) for _, x1 in spans] + [(a, 0), (b, 0)])
    best = 1 << 30
    depth = 0
    for (x, step), (nxt, _) in pairwise(events):
        depth += step
        if x >= a and nxt <= b and nxt - x >= core:
            best = min(best, depth)
    return best


def _count_row_segments(lines: list[Line]) -> None:
    """Recount how many segments share each line's row (headings stand alone on theirs)."""
    for row in _rows(sorted(lines, key=lambda ln: ln.bbox[1] + ln.bbox[3])):
        for member in row:
            member.row_segments = len(row)


def _level(a: Line, b: Line) -> bool:
    overlap = min(a.bbox[3], b.bbox[3]) - max(a.bbox[1], b.bbox[1])
    return overlap >= 0.5 * min(a.bbox[3] - a.bbox[1], b.bbox[3] - b.bbox[1])


def spanning_bands(region: list[Line], size: float,
                   settings: ColumnSettings = SETTINGS) -> tuple[list[list[Line]], tuple[float, float]] | None:
    """The region cut into horizontal bands at the lines that cross its gutter, and the gutter (x0, x1); None
    when it has no gutter. One band when no line crosses it.

    The gutter is the white vertical strip crossed by the fewest lines, with columns of text on both sides;
    the lines crossing it (titles, captions, figures laid across the columns) become bands of their own, and
    the lines between them bands in which the gutter is clear.
    """
    if len(region) < 2 * settings.min_column_lines:
        return None
    river = _best_river(region, size, settings)
    if river is None:
        return None
    x0, x1 = river
    spanning = {id(ln) for ln in region if ln.bbox[0] < x1 and ln.bbox[2] > x0}
    left = [ln for ln in region if ln.bbox[2] <= x0]
    right = [ln for ln in region if ln.bbox[0] >= x1]
    if len(left) < settings.min_column_lines or len(right) < settings.min_column_lines:
        return None
    # The columns must stand side by side, not one above the other.
    top = max(min(ln.bbox[1] for ln in left), min(ln.bbox[1] for ln in right))
    bottom = min(max(ln.bbox[3] for ln in left), max(ln.bbox[3] for ln in right))
    if bottom <= top:
        return None
    bands: list[list[Line]] = []
    current: list[Line] = []
    current_spans: bool | None = None
    for line in sorted(region, key=lambda ln: (ln.bbox[1], ln.bbox[0])):
        spans = id(line) in spanning
        if current and (spans != current_spans):
            bands.append(current)
            current = []
        current.append(line)
        current_spans = spans
    if current:
        bands.append(current)
    return bands, river


def _best_river(region: list[Line], size: float, settings: ColumnSettings) -> tuple[float, float] | None:
    """The interior x-interval crossed by the fewest lines (at most the allowed share), widest among equals."""
    limit = int(settings.max_spanning_share * len(region))
    if limit < 1:
        return None
    events: list[tuple[float, int]] = []
    for ln in region:
        events.append((ln.bbox[0], 1))
        events.append((ln.bbox[2], -1))
    events.sort(key=lambda e: (e[0], -e[1]))
    left_edge = min(ln.bbox[0] for ln in region)
    right_edge = max(ln.bbox[2] for ln in region)
    # A strip with too few lines on one side is a margin beside a stray mark (a page number, a letter of a
    # notice set sideways), not a gutter between columns: it must not hide the gutter crossed by a title.
    ends = sorted(ln.bbox[2] for ln in region)
    starts = sorted(ln.bbox[0] for ln in region)
    least = settings.min_column_lines
    best: tuple[int, float, float, float] | None = None  # crossings, -width, start, end
    depth = 0
    for i, (x, step) in enumerate(events):
        depth += step
        if i + 1 >= len(events):
            break
        nxt = events[i + 1][0]
        if nxt - x < settings.gutter * size or x <= left_edge or nxt >= right_edge or depth > limit:
            continue
        if bisect_right(ends, x) < least or len(starts) - bisect_left(starts, nxt) < least:
            continue
        key = (depth, -(nxt - x), x, nxt)
        if best is None or key < best:
            best = key
    return None if best is None else (best[2], best[3])
