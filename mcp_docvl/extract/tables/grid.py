"""Finding tables among positioned words and ruling lines, and recovering their rows, columns and merged cells.

The same geometry serves digital pages (text-layer words, vector rules) and scans (OCR words, rules found in
the pixels): every threshold is a multiple of the median word height, so the unit does not matter.

Detection has two sources that are merged: ruled regions (a connected grid of rules, or a stack of
horizontal rules of similar width) and text runs (consecutive rows that break into several short, aligned
segments). Structure is a grid of slots: column boundaries come from vertical rules and from blank vertical
bands in the text; rows from rules where every row is ruled, otherwise from text lines, with wrapped lines
joined to their row. Slots are then merged where a rule is missing (ruled tables) or where text runs across
a boundary (spanning headers), which gives row and column spans.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, replace
from itertools import pairwise
from statistics import median

import numpy as np

from mcp_docvl.documents.bidi import logical_order
from mcp_docvl.documents.model import BBox, Line, Table, TableCell, Word, union_bbox
from mcp_docvl.documents.rulings import Rulings
from mcp_docvl.extract.layout import build_lines
from mcp_docvl.extract.render import join_lines
from mcp_docvl.extract.rows import bands

Segment = tuple[float, float, float]  # position across, start and end along the rule


@dataclass(frozen=True, slots=True)
class GridStructure:
    """Figures of a table's structure, in line heights (em), each with its reason."""

    # Cell padding is well under a line height: a horizontal rule that ends this close inside the vertical borders
    # on both sides (and further than the drawing tolerance) is shading set inside the cell, not a row border.
    padding: float = 1.0


STRUCTURE = GridStructure()

_NUMBER = re.compile(r"^[-+−(]?[$€£%]?\d[\d.,\s]*%?\)?$")
# Years head columns ("2009 | 2010") far more often than they fill them.
_YEAR = re.compile(r"^(19|20)\d\d$")
_CAPTION = re.compile(r"^(table|figure|fig\.|source|note|chart)\b", re.IGNORECASE)


def find_tables(words: list[Word], rulings: Rulings, lines: list[Line] | None = None) -> list[Table]:
    """Every table on a page, top to bottom. `lines`, the page's lines of `words` if already built, saves work."""
    originals = {id(w): w for w in words}
    page_words = words
    words, rule_words, leader_words = _without_leaders(words, originals)
    # The caller's lines hold only while no word was trimmed or set apart as a typed rule.
    if lines is not None and (
        len(words) != len(page_words) or any(a is not b for a, b in zip(words, page_words, strict=True))
    ):
        lines = None
    if len(words) < 4:
        return []
    em = median(w.bbox[3] - w.bbox[1] for w in words) or 1.0
    tol = 0.3 * em
    typed_rules = [((w.bbox[1] + w.bbox[3]) / 2, w.bbox[0], w.bbox[2]) for w in rule_words]
    horizontal = _merge_segments(rulings.horizontal + typed_rules, tol, em)
    vertical = _merge_segments(rulings.vertical, tol, em)
    grids, stacks = _ruled_regions(horizontal, vertical, tol, em)
    grids = _merge_regions(_without_frames(grids, tol), tol)
    stacks = _below_captions(stacks, words, tol)
    # A grid is the table's own outline; rule stacks and text runs only add tables where there is no grid.
    others = [r for r in stacks + _text_regions(words, em, tol, lines)
              if not any(_overlaps(r, g, tol) for g in grids)]
    regions = grids + _merge_regions(others, tol)
    tables: list[Table] = []
    used: set[int] = set()
    # Words by vertical centre, so each region looks only at its own band of the page (a page of tens of
    # thousands of words and a hundred candidate regions would otherwise cost millions of checks).
    by_centre = sorted(range(len(words)), key=lambda i: (words[i].bbox[1] + words[i].bbox[3]) / 2)
    centres = [(words[i].bbox[1] + words[i].bbox[3]) / 2 for i in by_centre]
    for k, region in enumerate(regions):
        band = by_centre[bisect_left(centres, region[1] - tol): bisect_right(centres, region[3] + tol)]
        inside = [words[i] for i in sorted(band)
                  if id(words[i]) not in used and _centre_in(words[i].bbox, region, tol)]
        table = _build_table(region, inside, horizontal, vertical, em, tol, is_grid=k < len(grids))
        found = [table] if table is not None else _tables_within(inside, horizontal, vertical, em, tol,
                                                                 runs=k < len(grids))
        for table in found:
            tables.append(table)
            used.update(id(w) for w in table.words)
    for table in tables:
        # Callers match consumed words by identity: hand back the page's own words, not the trimmed copies.
        table.words = [originals.get(id(w), w) for w in table.words]
        table.words += [w for w in rule_words + leader_words if _centre_in(w.bbox, table.bbox, tol)]
    tables.sort(key=lambda t: (t.bbox[1], t.bbox[0]))
    return tables


_LEADER = re.compile(r"([.·…_]\s?){3,}$")
_TYPED_RULE = re.compile(r"^[-_=─━]{3,}$")
# A word that is nothing but leader dots: contents pages space their dots apart, one dot a word.
_LEADER_DOTS = re.compile(r"^[.·…]+$")


def _without_leaders(words: list[Word], originals: dict[int, Word]) -> tuple[list[Word], list[Word], list[Word]]:
    """Words with dot leaders ("Total ........ 12") cut off, since the dots would bridge the gap between columns,
    rules typed as characters ("-------") set apart: they are rules, not text; and leaders set as dots of their own
    (". . . . .", a contents page) set apart too.

    `originals` learns the page word behind each trimmed copy. Returns the words, the typed rules, the leaders.
    """
    out: list[Word] = []
    rules: list[Word] = []
    leaders: list[Word] = []
    for word in words:
        text = word.text
        # The patterns only match words that start with a rule character or end with a leader (or a space after
        # one): testing those characters first keeps the regexes off almost every word.
        if text[:1] in "-_=─━" and _TYPED_RULE.match(text):
            rules.append(word)
            continue
        if text[:1] in ".·…" and _LEADER_DOTS.match(text):
            leaders.append(word)
            continue
        match = _LEADER.search(text) if text[-1:] in ".·…_" or text[-1:].isspace() else None
        if match is None:
            out.append(word)
            continue
        kept = word.text[: match.start()].rstrip()
        if kept:
            x0, y0, x1, y1 = word.bbox
            right = x0 + (x1 - x0) * len(kept) / len(word.text)
            trimmed = replace(word, text=kept, bbox=(x0, y0, right, y1))
            originals[id(trimmed)] = word
            out.append(trimmed)
    return out, rules, leaders


# ---------------------------------------------------------------------------------------------------------------
# Rules


def _merge_segments(segments: list[Segment], tol: float, em: float) -> list[Segment]:
    """Collinear pieces joined (dashed rules, double strokes, cell borders drawn cell by cell), short ones dropped."""
    out: list[Segment] = []
    cluster: list[Segment] = []

    def flush() -> None:
        pos = median(s[0] for s in cluster)
        runs: list[list[float]] = []
        for _, a, b in sorted(cluster, key=lambda s: s[1]):
            if runs and a <= runs[-1][1] + tol:
                runs[-1][1] = max(runs[-1][1], b)
            else:
                runs.append([a, b])
        out.extend((float(pos), a, b) for a, b in runs if b - a >= 1.5 * em)

    for seg in sorted(segments):
        if cluster and seg[0] - cluster[-1][0] > tol:
            flush()
            cluster = []
        cluster.append(seg)
    if cluster:
        flush()
    return out


def _below_captions(stacks: list[BBox], words: list[Word], tol: float) -> list[BBox]:
    """Rule stacks start under a caption ("Table 3. ...") inside them: what is above belongs to something else."""
    out: list[BBox] = []
    for x0, y0, x1, y1 in stacks:
        top = y0
        for w in words:
            inside = y0 - tol <= w.bbox[1] and w.bbox[3] <= y1 + tol and x0 - tol <= w.bbox[0] <= x1
            if inside and _CAPTION.match(w.text):
                top = max(top, w.bbox[3])
        if y1 - top > tol:
            out.append((x0, top, x1, y1))
    return out


def _without_frames(grids: list[BBox], tol: float) -> list[BBox]:
    """Grids that hold no other grid: one around others is a page border or a panel joined to a table's rules,
    layout rather than a table (its text outside the inner grids is running text)."""
    def inside(inner: BBox, outer: BBox) -> bool:
        return (outer[0] - tol <= inner[0] and inner[2] <= outer[2] + tol
                and outer[1] - tol <= inner[1] and inner[3] <= outer[3] + tol)

    return [g for g in grids if not any(other is not g and inside(other, g) for other in grids)]


def _overlaps(a: BBox, b: BBox, tol: float) -> bool:
    return min(a[2], b[2]) - max(a[0], b[0]) > tol and min(a[3], b[3]) - max(a[1], b[1]) > tol


def _ruled_regions(horizontal, vertical, tol: float, em: float) -> tuple[list[BBox], list[BBox]]:
    """Grids (connected horizontal and vertical rules) and stacks (horizontal rules only)."""
    n_h = len(horizontal)
    parent = list(range(n_h + len(vertical)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, (y, x0, x1) in enumerate(horizontal):
        for j, (x, y0, y1) in enumerate(vertical):
            if x0 - tol <= x <= x1 + tol and y0 - tol <= y <= y1 + tol:
                parent[find(i)] = find(n_h + j)
    groups: dict[int, list[int]] = {}
    for i in range(len(parent)):
        groups.setdefault(find(i), []).append(i)
    regions: list[BBox] = []
    loose: list[tuple[float, float, float]] = []
    for members in groups.values():
        hs = [horizontal[i] for i in members if i < n_h]
        vs = [vertical[i - n_h] for i in members if i >= n_h]
        left = min(min(h[1] for h in hs), min(v[0] for v in vs)) if hs and vs else 0.0
        right = max(max(h[2] for h in hs), max(v[0] for v in vs)) if hs and vs else 0.0
        # A frame (a box with no inner vertical rule) is a page border or a sidebar, not a grid: what lies
        # inside it is found from its horizontal rules and its text like any unruled table.
        inner = [v for v in vs if left + 2 * em < v[0] < right - 2 * em]
        if len(hs) >= 2 and len(vs) >= 2 and inner:
            regions.append((min(x for x, _, _ in vs + [(h[1], 0, 0) for h in hs]),
                            min(h[0] for h in hs), max([h[2] for h in hs] + [v[0] for v in vs]),
                            max(h[0] for h in hs)))
        else:
            loose.extend(hs)
    # Stacks of horizontal rules of about the same width: tables ruled only between header and body.
    loose.sort()
    used = [False] * len(loose)
    stacks: list[BBox] = []
    for i, (y, x0, x1) in enumerate(loose):
        if used[i]:
            continue
        stack = [(y, x0, x1)]
        for j in range(i + 1, len(loose)):
            yj, a, b = loose[j]
            if used[j]:
                continue
            # Rules far apart are separate things (a page header bar and a table below it); the body of a long
            # table between distant rules is found from its text.
            if yj - stack[-1][0] > 8 * em or any(stack[-1][0] - tol <= g[1] and g[3] <= yj + tol for g in regions):
                break
            overlap = min(x1, b) - max(x0, a)
            if overlap >= 0.8 * min(x1 - x0, b - a) and abs((b - a) - (x1 - x0)) <= 0.35 * max(b - a, x1 - x0):
                stack.append((yj, a, b))
                used[j] = True
        if len(stack) >= 2 and stack[-1][0] - stack[0][0] > 1.5 * em:
            stacks.append((min(s[1] for s in stack), stack[0][0], max(s[2] for s in stack), stack[-1][0]))
    return regions, stacks


# ---------------------------------------------------------------------------------------------------------------
# Text runs


def _text_regions(words: list[Word], em: float, tol: float, lines: list[Line] | None = None) -> list[BBox]:
    """Runs of rows that split into several short segments: the shape of a table without rules."""
    rows = bands(lines if lines is not None else build_lines(words))
    regions: list[BBox] = []
    run: list[list] = []
    gap_rows = 0

    def tabular(row: list) -> bool:
        if len(row) < 2:
            return False
        words_per = median(len(s.words) for s in row)
        return words_per <= 6 or sum(_is_number(s.text) for s in row) >= 2

    def close() -> None:
        # Trailing rows that are not tabular are the text after the table.
        while run and not tabular(run[-1]):
            run.pop()
        body = [r for r in run if tabular(r)]
        if len(body) >= 2:
            boxes = [s.bbox for r in run for s in r]
            regions.append(union_bbox(boxes))

    gaps: list[float] = []
    for row in rows:
        box = union_bbox([s.bbox for s in row])
        if run:
            gap = box[1] - max(s.bbox[3] for s in run[-1])
            # A blank wider than usual between rows of this run (or than two lines) ends the table.
            if gap > 2.5 * em or (len(gaps) >= 3 and gap > max(0.9 * em, 6 * median(gaps) + 2 * tol)):
                close()
                run, gap_rows, gaps = [], 0, []
            else:
                gaps.append(max(gap, 0.0))
        if tabular(row):
            run.append(row)
            gap_rows = 0
        elif run and gap_rows < 2 and not _CAPTION.match(row[0].text):
            run.append(row)
            gap_rows += 1
        else:
            close()
            run, gap_rows, gaps = [], 0, []
    if run:
        close()
    return regions


def _tables_within(words: list[Word], horizontal, vertical, em: float, tol: float, runs: bool) -> list[Table]:
    """Tables inside a region that is no table as a whole: a grid of rules around columns of text (a frame), or
    a run of rows that spans a table and the text columns beside it. Each side of the region's widest gutter is
    searched for its own runs of table-like rows; without a gutter, and when `runs` (a frame's text was not
    searched for them), the region's runs are."""
    parts = _columns_within(words, em, tol)
    if not parts and runs:
        parts = [(r, [w for w in words if _centre_in(w.bbox, r, tol)]) for r in _text_regions(words, em, tol)]
    return [t for part, part_words in parts
            if (t := _build_table(part, part_words, horizontal, vertical, em, tol, is_grid=False)) is not None]


def _columns_within(words: list[Word], em: float, tol: float) -> list[tuple[BBox, list[Word]]]:
    """A region of text that is no table, cut at its widest gutter (a blank band down its whole height, wider than
    `_GUTTER` line heights): each side's own runs of table-like rows, with their words. Columns of text beside a
    table put its rows into runs that span both; on its own side the table stands out again."""
    spans = sorted((w.bbox[0], w.bbox[2]) for w in words)
    best, cut = 0.0, None
    reach = spans[0][1] if spans else 0.0
    for start, stop in spans[1:]:
        if start - reach > best:
            best, cut = start - reach, (reach + start) / 2
        reach = max(reach, stop)
    if cut is None or best < _GUTTER * em:
        return []
    out: list[tuple[BBox, list[Word]]] = []
    for side in ([w for w in words if w.bbox[2] <= cut], [w for w in words if w.bbox[0] >= cut]):
        for region in _text_regions(side, em, tol) if len(side) >= 4 else []:
            out.append((region, [w for w in side if _centre_in(w.bbox, region, tol)]))
    return out


# A gutter between columns of text beside a table is wider than this many line heights (wider than the gaps
# between a table's own columns, which its text runs detect).
_GUTTER = 3.0


def _merge_regions(regions: list[BBox], tol: float) -> list[BBox]:
    merged = [list(r) for r in regions]
    changed = True
    while changed:
        changed = False
        for i in range(len(merged)):
            for j in range(i + 1, len(merged)):
                a, b = merged[i], merged[j]
                if min(a[2], b[2]) - max(a[0], b[0]) > tol and min(a[3], b[3]) - max(a[1], b[1]) > -tol:
                    merged[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    del merged[j]
                    changed = True
                    break
            if changed:
                break
    return [tuple(r) for r in merged]  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------------------------
# Structure


def _build_table(region: BBox, words: list[Word], horizontal, vertical, em: float, tol: float,
                 is_grid: bool) -> Table | None:
    if len(words) < 3:
        return None
    x0, y0, x1, y1 = region
    lines = _text_lines(words)
    if len(lines) < 2:
        return None
    # Rules inside the region (the region's own border is not a boundary between cells).
    v_in = [v for v in vertical if x0 + tol < v[0] < x1 - tol and min(v[2], y1) - max(v[1], y0) > 0.5 * em]
    h_in = [h for h in horizontal if y0 + tol < h[0] < y1 - tol and min(h[2], x1) - max(h[1], x0) > 0.5 * em]

    ruled_cols = _dedupe(sorted({round(v[0] / tol) * tol for v in v_in}), 2 * tol)
    mids = [median((w.bbox[1] + w.bbox[3]) / 2 for w in ln) for ln in lines]

    # The vertical extents of the rules at each ruled column.
    spans = {b: [(v[1] - tol, v[2] + tol) for v in v_in if abs(v[0] - b) <= 2 * tol] for b in ruled_cols}

    def covered(x: float, y: float) -> bool:
        return any(top <= y <= bottom for top, bottom in spans[x])

    # A rule that runs down most of the table is a column border, and where it breaks, cells merge. Rules
    # over a few rows only (header cell borders) are hints, like the blank bands in the text.
    full = [b for b in ruled_cols if sum(covered(b, y) for y in mids) >= 0.5 * len(mids)]
    partial = [b for b in ruled_cols if b not in full]
    text_cols = _text_gaps(lines, em, median(w.size for w in words))
    if is_grid and len(full) >= 2:
        # A closed grid says where every column is; blank bands inside its cells are not columns.
        bounds = [(b, True) for b in full]
    else:
        bounds = [(b, True) for b in full] + [(b, False) for b in partial] + [
            (b, False) for b in text_cols if all(abs(b - r) > em for r in ruled_cols)
        ]
    bounds.sort()
    if not bounds:
        return None
    col_x = [b for b, _ in bounds]

    # Rows: ruled when rules separate most neighbouring lines, else text lines with wrapped lines joined.
    pairs = list(pairwise(lines))

    def row_rules(h_in: list[Segment]) -> tuple[list[bool], bool]:
        """Whether a rule runs between each line and the next, and whether rules make the rows."""
        h_rows = [h for h in h_in if min(h[2], x1) - max(h[1], x0) >= 0.4 * (x1 - x0)]
        # Between the lines' middles: loose glyph boxes of tightly ruled rows reach over the rule. Short rules (a
        # shaded label cell, drawn line by line) do not separate rows of the whole table.
        ruled_after = [any(top < h[0] < bottom for h in h_rows) for top, bottom in pairwise(mids)]
        # In a closed grid, rules between some lines and not others mean cells of several lines (wrapped text in
        # scripts without case gives no other sign; labels centred beside them add lines): three rules or more, so
        # a rule under the header and one above a total are not taken for that.
        ruled = len(h_in) >= 2 and bool(pairs) and (
            sum(ruled_after) >= 0.7 * len(pairs)
            or (is_grid and sum(ruled_after) >= 3 and sum(ruled_after) >= 0.2 * len(pairs)))
        return ruled_after, ruled

    # Shading inside cells (rules that stop short of the vertical borders) marks rows only where the grid draws no
    # row borders of its own (striped rows); in a grid that does, it may be drawn line by line and split a cell.
    borders = [h for h in h_in if not _inset(h, vertical, tol, em)]
    ruled_after, ruled_rows = row_rules(borders)
    if ruled_rows:
        h_in = borders
    else:
        ruled_after, ruled_rows = row_rules(h_in)
    rows: list[list[list[Word]]] = [[lines[0]]]
    row_cols = {_column(w, col_x) for w in lines[0]}  # the columns the current row's words fall in
    first_number_row = None
    for (_, line), ruled in zip(pairs, ruled_after, strict=True):
        if ruled_rows:
            join = not ruled
        else:
            cols = {_column(w, col_x) for w in line}
            join = not ruled and _continues(rows[-1], line, cols, row_cols, em, first_number_row is None, col_x)
        if join:
            rows[-1].append(line)
            if not ruled_rows:
                row_cols |= cols
        else:
            if first_number_row is None and any(_is_number(w.text) for ln in rows[-1] for w in ln):
                first_number_row = len(rows) - 1
            rows.append([line])
            if not ruled_rows:
                row_cols = cols

    n_rows, n_cols = len(rows), len(col_x) + 1
    # Whether rules run between the rows as built (rows of several lines, wrapped cells, are ruled between rows
    # though not between lines).
    row_mids = [(_mid(row[-1]), _mid(nxt[0])) for row, nxt in pairwise(rows)]
    ruled_between = sum(any(low < h[0] < high for h in h_in) for low, high in row_mids)
    rows_ruled = len(h_in) >= 2 and (ruled_rows or (bool(row_mids) and ruled_between >= 0.7 * len(row_mids)))
    slot_words: list[list[list[tuple[int, Word]]]] = [[[] for _ in range(n_cols)] for _ in range(n_rows)]
    parent = list(range(n_rows * n_cols))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    row_spans: list[tuple[float, float]] = []
    for r, row in enumerate(rows):
        top = min(w.bbox[1] for ln in row for w in ln)
        bottom = max(w.bbox[3] for ln in row for w in ln)
        row_spans.append((top, bottom))
        mid = (top + bottom) / 2
        # Soft boundaries here: blank bands in the text, and rules that stop short of this row.
        soft = [not hard or not covered(b, mid) for b, hard in bounds]
        for li, line in enumerate(row):
            prev: Word | None = None
            pc = 0
            for word in line:
                c = _column(word, col_x)
                slot_words[r][c].append((li, word))
                # A phrase that runs across a boundary spans the columns on both sides of it.
                if (prev is not None and pc != c
                        and word.bbox[0] - prev.bbox[2] < 0.6 * max(em, 0.5 * (word.size + prev.size) / 2)):
                    for k in range(pc, c):
                        if soft[k]:
                            union(r * n_cols + k, r * n_cols + k + 1)
                prev, pc = word, c
            for word in line:
                # A single word over a soft boundary (centred header text) spans it.
                left, right = word.bbox[0] + tol, word.bbox[2] - tol
                for k in range(bisect_right(col_x, left), bisect_left(col_x, right)):
                    if soft[k]:
                        union(r * n_cols + k, r * n_cols + k + 1)
        # Ruled boundaries that stop short of this row leave its neighbouring slots merged, when text sits on
        # one side only (two texts apart on either side are two cells, whatever the drawing says).
        for k, (_, hard) in enumerate(bounds):
            if hard and soft[k] and not (slot_words[r][k] and slot_words[r][k + 1]):
                union(r * n_cols + k, r * n_cols + k + 1)
    if ruled_rows:
        # Rows split by rules that do not cross a column: the slots above and below belong together.
        edges = [x0, *col_x, x1]
        for r in range(n_rows - 1):
            gap_top = median((w.bbox[1] + w.bbox[3]) / 2 for w in rows[r][-1])
            gap_bottom = median((w.bbox[1] + w.bbox[3]) / 2 for w in rows[r + 1][0])
            for c in range(n_cols):
                cx = (edges[c] + edges[c + 1]) / 2
                if (not (slot_words[r][c] and slot_words[r + 1][c])
                        and not any(gap_top <= h[0] <= gap_bottom and h[1] - tol <= cx <= h[2] + tol for h in h_in)):
                    union(r * n_cols + c, (r + 1) * n_cols + c)

    groups: dict[int, list[int]] = {}
    for i in range(n_rows * n_cols):
        groups.setdefault(find(i), []).append(i)
    cells: list[TableCell] = []
    for members in groups.values():
        if len(members) == 1:  # most cells cover one slot, and most of those hold one word or none
            r, c = divmod(members[0], n_cols)
            slot = slot_words[r][c]
            if len(slot) == 1:
                word = slot[0][1]
                cells.append(TableCell(r, c, 1, 1, word.text.strip(), word.bbox))
                continue
            if slot:
                text, bbox = _cell_text([(r, li, w) for li, w in slot]), union_bbox([w.bbox for _, w in slot])
            else:
                edges = [x0, *col_x, x1]
                text, bbox = "", (edges[c], row_spans[r][0], edges[c + 1], row_spans[r][1])
            cells.append(TableCell(r, c, 1, 1, text, bbox))
            continue
        rs = [i // n_cols for i in members]
        cs = [i % n_cols for i in members]
        r0, r1, c0, c1 = min(rs), max(rs), min(cs), max(cs)
        content: list[tuple[int, int, Word]] = []
        for i in members:
            r, c = divmod(i, n_cols)
            content.extend((r, li, w) for li, w in slot_words[r][c])
        text = _cell_text(content)
        if content:
            bbox = union_bbox([w.bbox for _, _, w in content])
        else:
            edges = [x0, *col_x, x1]
            bbox = (edges[c0], row_spans[r0][0], edges[c1 + 1], row_spans[r1][1])
        cells.append(TableCell(row=r0, col=c0, row_span=r1 - r0 + 1, col_span=c1 - c0 + 1, text=text, bbox=bbox))
    occupied_cols = {c for c in range(n_cols) if any(slot_words[r][c] for r in range(n_rows))}
    kept = [r for r in range(n_rows) if any(slot_words[r])]

    def full_width(r: int) -> bool:
        texts = [c for c in cells if c.text and c.row <= r < c.row + c.row_span]
        return len(texts) == 1 and texts[0].row_span == 1 and texts[0].col_span > 1 and all(
            texts[0].col <= k < texts[0].col + texts[0].col_span for k in occupied_cols)

    # A title above or a note below, inside the table's frame, runs across every column: not a row of the table.
    trimmed = False
    while kept and full_width(kept[0]):
        kept.pop(0)
        trimmed = True
    while kept and full_width(kept[-1]):
        kept.pop()
        trimmed = True
    table = _compact(cells, set(kept), occupied_cols)
    if table is None:
        return None
    if not has_grid_evidence(table, ruled=rows_ruled, em=em):
        return None
    table.words = [w for r in kept for slot in slot_words[r] for _, w in slot]
    table.bbox = union_bbox([w.bbox for w in table.words])
    if len(h_in) + len(v_in) > 0 and not trimmed:
        table.bbox = (min(table.bbox[0], x0), min(table.bbox[1], y0), max(table.bbox[2], x1), max(table.bbox[3], y1))
    table.header_rows = _header_rows(table)
    return table


@dataclass(frozen=True, slots=True)
class GridEvidence:
    """What a table must show beyond blank bands between words, with the reason for each figure."""

    # Rows with two or more filled cells that a ruled grid needs: its rules already say it is a table.
    ruled_rows: int = 2
    # The same for a table seen only in the text's alignment: two rows share column boundaries by chance (a
    # heading beside a date, two lines of two text columns), three or more rarely do unless a grid is meant.
    aligned_rows: int = 3
    # ... except when a row holds this many figures side by side: numbers in a row are a table's body (a header
    # row and one row of figures is the smallest table there is).
    numbers_in_row: int = 2
    # A cell is a line of running text when it is one line of at least this many characters (a line of a narrow
    # newspaper column holds about 30; labels and figures in a table are mostly shorter) ...
    prose_chars: int = 20
    # ... that fills at least this share of its column's width: wrapped text runs to the column's edge on every
    # line but a paragraph's last, while a table column is as wide as its widest cell and most cells are shorter.
    prose_fill: float = 0.75
    # Such lines may be at most this share of the filled cells of an unruled table: one column of descriptions
    # beside short columns is a table; columns read line by line as rows are text columns. (Cells of several
    # lines are not counted: paragraphs in a description column are what tables of terms hold.)
    prose_share: float = 0.5
    # Cells whose text runs on into the cell below (the lower one starts in lower case after no closing
    # punctuation) are wrapped sentences: at most this share of vertical neighbours may do so.
    wrapped_share: float = 0.25
    # At least this share of an unruled table's columns must be columns of short cells (median shorter than
    # `prose_chars`): labels and figures. Text columns read as a table have none or one (a column of stray marks).
    short_columns: float = 0.5
    # A cell box taller than this many line heights holds more than one line.
    one_line: float = 1.6
    # At least this share of a table's filled cells lie in one column: merged cells head a table's columns, its
    # body has a value per column. Labels strewn over the vector lines of a drawing span several "columns" each.
    single_column_cells: float = 0.5


EVIDENCE = GridEvidence()
_SENTENCE_END = (".", "!", "?", ":", ";", "。", "؟", "！", "？")


def has_grid_evidence(table: Table, ruled: bool, em: float, settings: GridEvidence = EVIDENCE) -> bool:
    """Whether `table` shows a grid rather than text that happens to leave blank bands (columns of prose).

    `ruled`: rules run between the table's rows; such a table needs only two filled rows. A table seen in the text
    alone (or between vertical rules only) also needs rows that share its columns, cells that are not lines of
    running text, short columns, and no sentences wrapped from one row into the next. `em` is the line height.
    """
    rows = _filled_rows(table)
    if _single_column_share(table) < settings.single_column_cells:
        return False
    if ruled:
        # Two ruled rows are a table unless a sentence (or a line of code) runs from one into the other.
        return len(rows) >= settings.aligned_rows or (
            len(rows) >= settings.ruled_rows and _wrapped_share(table) <= settings.wrapped_share)
    return (_enough_rows(rows, settings)
            and _prose_share(table, em, settings) <= settings.prose_share
            and _wrapped_share(table) <= settings.wrapped_share
            and _short_columns(table, settings) >= settings.short_columns)


def _enough_rows(rows: list[list[TableCell]], settings: GridEvidence) -> bool:
    """Enough rows of several cells: `aligned_rows`, or two when one of them holds figures side by side."""
    if len(rows) >= settings.aligned_rows:
        return True
    return len(rows) >= settings.ruled_rows and any(
        sum(_is_number(c.text) for c in row) >= settings.numbers_in_row for row in rows)


def _single_column_share(table: Table) -> float:
    """Share of the filled cells that cover a single column."""
    filled = [c for c in table.cells if c.text]
    return sum(c.col_span == 1 for c in filled) / len(filled) if filled else 0.0


def _filled_rows(table: Table) -> list[list[TableCell]]:
    """The rows with text in two or more cells, each as its filled cells that start in it."""
    by_row: dict[int, list[TableCell]] = {}
    for cell in table.cells:
        if cell.text:
            by_row.setdefault(cell.row, []).append(cell)
    return [cells for _, cells in sorted(by_row.items()) if len(cells) >= 2]


def _prose_share(table: Table, em: float, settings: GridEvidence) -> float:
    """Share of the filled cells that are single lines of running text: long, and as wide as their column."""
    filled = [c for c in table.cells if c.text]
    if not filled:
        return 0.0
    # Each column's extent: from its own cells, widened by the cells that span it.
    extent: dict[int, tuple[float, float]] = {}
    for cell in sorted(filled, key=lambda c: c.col_span):
        for col in range(cell.col, cell.col + cell.col_span):
            if cell.col_span == 1 or col not in extent:
                left, right = extent.get(col, (cell.bbox[0], cell.bbox[2]))
                extent[col] = (min(left, cell.bbox[0]), max(right, cell.bbox[2]))
    prose = 0
    for cell in filled:
        if len(cell.text) < settings.prose_chars or cell.bbox[3] - cell.bbox[1] > settings.one_line * em:
            continue
        left = min(extent[c][0] for c in range(cell.col, cell.col + cell.col_span))
        right = max(extent[c][1] for c in range(cell.col, cell.col + cell.col_span))
        if cell.bbox[2] - cell.bbox[0] >= settings.prose_fill * (right - left):
            prose += 1
    return prose / len(filled)


def _wrapped_share(table: Table) -> float:
    """Share of vertical neighbours (two filled cells, one above the other) where a sentence wraps from the upper
    into the lower: what columns of text read row by row look like."""
    grid = table.grid()
    pairs = wrapped = 0
    for upper_row, lower_row in pairwise(grid):
        for upper, lower in zip(upper_row, lower_row, strict=True):
            if upper is None or lower is None or upper is lower or not upper.text or not lower.text:
                continue
            pairs += 1
            if lower.text[:1].islower() and not upper.text.rstrip().endswith(_SENTENCE_END):
                wrapped += 1
    return wrapped / pairs if pairs else 0.0


def _short_columns(table: Table, settings: GridEvidence) -> float:
    """Share of the table's columns whose cells are mostly short (labels, figures), by the median length."""
    lengths: dict[int, list[int]] = {}
    for cell in table.cells:
        if cell.text and cell.col_span == 1:
            lengths.setdefault(cell.col, []).append(len(cell.text))
    if not lengths:
        return 0.0
    return sum(1 for values in lengths.values() if median(values) < settings.prose_chars) / len(lengths)


def _mid(line: list[Word]) -> float:
    return median((w.bbox[1] + w.bbox[3]) / 2 for w in line)


def _text_lines(words: list[Word]) -> list[list[Word]]:
    lines = bands(words)
    for line in lines:
        line.sort(key=lambda w: w.bbox[0])
    return lines


def _text_gaps(lines: list[list[Word]], em: float, font: float) -> list[float]:
    """Centres of vertical blank bands that (almost) no line crosses: the gaps between columns."""
    x0 = np.array([w.bbox[0] for ln in lines for w in ln])
    x1 = np.array([w.bbox[2] for ln in lines for w in ln])
    line_of = np.repeat(np.arange(len(lines)), [len(ln) for ln in lines])
    lo, hi = x0.min(), x1.max()
    # An eighth of a line height, but never more than 4,000 bins: garbage fonts report tiny heights.
    step = max(em / 8, (hi - lo) / 4000)
    if not (np.isfinite(step) and step > 0 and np.isfinite(hi - lo)):  # no width, no height, or no finite place
        return []
    n = int((hi - lo) / step) + 2
    # How many lines cover each bin: each line's words marked as bins [start, stop), overlapping words of one line
    # counted once. Truncation and negative stops as Python's int() and slicing have them.
    start = ((x0 - lo) / step).astype(np.int64)
    stop = ((x1 - lo) / step).astype(np.int64) + 1
    stop = np.where(stop < 0, np.maximum(stop + n, 0), stop)
    marks = stop > start
    start, stop, line_of = start[marks], stop[marks], line_of[marks]
    order = np.lexsort((start, line_of))
    start, stop, line_of = start[order], stop[order], line_of[order]
    # The furthest stop so far within each line (lines offset apart so that one line's stops never reach the next).
    offset = line_of * (n + 1)
    reach = np.maximum.accumulate(stop + offset) - offset
    opens = np.ones(start.size, dtype=bool)
    opens[1:] = (line_of[1:] != line_of[:-1]) | (start[1:] > reach[:-1])
    firsts = np.flatnonzero(opens)
    lasts = np.append(firsts[1:] - 1, start.size - 1)
    cover = np.cumsum(np.bincount(start[firsts], minlength=n + 1) - np.bincount(reach[lasts], minlength=n + 1))[:n]
    # A few lines may cross a gap (titles spanning columns); more than that and it is no gap.
    allowed = int(0.15 * len(lines))
    blank = cover <= allowed
    edges = np.flatnonzero(np.diff(np.concatenate(([0], blank.view(np.int8), [0]))))
    out: list[float] = []
    for i, j in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        width = (j - i) * step
        # Wider than a word space: monospaced tables separate columns by little more than that.
        if i > 0 and j < n and width >= 0.45 * font:
            # Where fewest lines cross, biased to the middle of the band.
            seg = cover[i:j]
            zero = np.flatnonzero(seg == seg.min())
            mid = (zero[0] + zero[-1]) / 2
            out.append(lo + (i + mid) * step)
    return out


def _continues(row: list[list[Word]], line: list[Word], cols: set[int], row_cols: set[int], em: float,
               in_header: bool, col_x: list[float]) -> bool:
    """True when `line` is a wrapped continuation of the row above it rather than a row of its own.

    `cols` and `row_cols` are the columns that the line's and the row's words fall in.
    """
    prev = row[-1]
    gap = min(w.bbox[1] for w in line) - max(w.bbox[3] for w in prev)
    if gap > 0.9 * em:
        return False
    if not cols <= row_cols:
        return False
    first = line[0].text
    # A single letter alone in its cell is a mark (a tick drawn from a symbol font), not the rest of a sentence.
    mark = len(first) == 1 and (len(line) == 1 or _column(line[1], col_x) != _column(line[0], col_x))
    if ((first[:1].islower() and not mark) or (first.startswith("(") and cols == {0})) and not _is_number(first):
        return True
    prev_last = prev[-1].text
    if prev_last.endswith(("-", ",")) or prev_last.lower() in {"and", "of", "or", "the", "in", "for", "to", "with"}:
        return True
    # Header cells wrap onto several lines; the stub column (labels) is empty on both.
    return in_header and 0 not in cols and 0 not in row_cols and not any(_is_number(w.text) for w in line)


def _column(word: Word, col_x: list[float]) -> int:
    """Index of the column holding the word's centre; `col_x` are the sorted column boundaries."""
    return bisect_left(col_x, (word.bbox[0] + word.bbox[2]) / 2)


def _cell_text(content: list[tuple[int, int, Word]]) -> str:
    """A cell's words as text: its own lines top down, each left to right.

    The lines are found again among the cell's words alone: a row's line can take in words of several heights
    (a header centred beside two stacked lines), which would otherwise put "enc-layers" before the "#" above it.
    """
    if not content:
        return ""
    if len(content) == 1:  # one word: what join_lines makes of it
        return content[0][2].text.strip()
    lines = _text_lines([w for _, _, w in content])
    return join_lines([" ".join(w.text for w in _reading_order(line)) for line in lines])


def _reading_order(words: list[Word]) -> list[Word]:
    """One cell line's words (left to right) as they read: right-to-left script reads from the right."""
    return logical_order(words) if any(w.rtl for w in words) else words


def _compact(cells: list[TableCell], occupied_rows: set[int], occupied_cols: set[int]) -> Table | None:
    """Drop rows and columns where no word lies (double rules leave such slivers), shrinking spans over them."""
    used_rows, used_cols = sorted(occupied_rows), sorted(occupied_cols)
    if len(used_rows) < 2 or len(used_cols) < 2:
        return None
    row_map = {r: i for i, r in enumerate(used_rows)}
    col_map = {c: i for i, c in enumerate(used_cols)}
    out: list[TableCell] = []
    seen: set[tuple[int, int]] = set()
    for cell in cells:
        if cell.row_span == 1 and cell.col_span == 1:  # most cells: no span to shrink, often not even moved
            row, col = row_map.get(cell.row), col_map.get(cell.col)
            if row is not None and col is not None and (row, col) not in seen:
                seen.add((row, col))
                out.append(cell if row == cell.row and col == cell.col else TableCell(row, col, 1, 1, cell.text,
                                                                                      cell.bbox))
            continue
        rows = [row_map[r] for r in range(cell.row, cell.row + cell.row_span) if r in row_map]
        cols = [col_map[c] for c in range(cell.col, cell.col + cell.col_span) if c in col_map]
        if not rows or not cols:
            continue
        key = (rows[0], cols[0])
        if key in seen:
            continue
        seen.add(key)
        out.append(TableCell(row=rows[0], col=cols[0], row_span=rows[-1] - rows[0] + 1, col_span=cols[-1] - cols[0] + 1,
                        text=cell.text, bbox=cell.bbox))
    out.sort(key=lambda c: (c.row, c.col))
    return Table(bbox=union_bbox([c.bbox for c in out]), n_rows=len(used_rows), n_cols=len(used_cols), cells=out)


def _header_rows(table: Table) -> int:
    """Leading rows that label the columns: the rows above the first one with numbers in its value columns."""
    by_row: list[list[TableCell]] = [[] for _ in range(table.n_rows)]
    for cell in table.cells:
        by_row[cell.row].append(cell)
    for r in range(min(table.n_rows - 1, 6)):
        if any(_is_number(c.text) and not _YEAR.match(c.text) for c in by_row[r] if c.col > 0 and c.text):
            return r
    # A table of words only: its first row is the best guess for a header.
    return 1


def _is_number(text: str) -> bool:
    return bool(_NUMBER.match(text.strip())) or text.strip() in {"-", "–", "—", "n/a", "n.a."}


def _inset(rule: Segment, vertical: list[Segment], tol: float, em: float,
           settings: GridStructure = STRUCTURE) -> bool:
    """A horizontal rule that stops short of the vertical borders on both sides, by about a cell's padding: the
    edge of shading inside a cell (often drawn one text line at a time), not a border between rows. A border
    between rows meets the vertical rules it runs between."""
    y, a, b = rule
    reach = settings.padding * em

    def border_beyond(x: float, side: int) -> bool:
        return any(tol < side * (v[0] - x) <= reach and v[1] - tol <= y <= v[2] + tol for v in vertical)

    return border_beyond(a, -1) and border_beyond(b, 1)


def _dedupe(values: list[float], gap: float) -> list[float]:
    out: list[float] = []
    for v in values:
        if not out or v - out[-1] > gap:
            out.append(v)
    return out


def _centre_in(box: BBox, region: BBox, tol: float) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return region[0] - tol <= cx <= region[2] + tol and region[1] - tol <= cy <= region[3] + tol
