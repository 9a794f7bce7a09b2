"""Rows: words or line segments that stand side by side on a page, grouped top down.

Two groupings serve different inputs:
- `rows_of` follows a row from neighbour to neighbour (a line joins the row whose horizontally nearest member sits
  level with it), so a skewed or curled row stays one row: for reading order and the rows of a table block.
- `bands` joins each item, taken by its centre top down, to the row above when it is level with that row as a
  whole (the row's extent grows as it takes items in): for a table's text lines and rows, and a receipt's rows.
  What "level" means is the caller's: `overlapping` (the vertical extents mostly overlap) or `centred` (the
  centres are close).
Both leave the items of a row in the order the caller wants them: `rows_of` left to right, `bands` top down.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable
from typing import Generic, Protocol, TypeVar

from mcp_docvl.documents.model import BBox


class Boxed(Protocol):
    """Anything with a box on the page: a word or a line segment."""

    @property
    def bbox(self) -> BBox: ...


B = TypeVar("B", bound=Boxed)

# Whether an item spanning (top, bottom) is level with a row spanning (row_top, row_bottom).
Level = Callable[[float, float, float, float], bool]


def overlapping(top: float, bottom: float, row_top: float, row_bottom: float) -> bool:
    """The vertical extents overlap by at least half the smaller height: text of one row, whatever its size."""
    overlap = (bottom if bottom < row_bottom else row_bottom) - (top if top > row_top else row_top)
    height, row_height = bottom - top, row_bottom - row_top
    return overlap >= 0.5 * (height if height < row_height else row_height)


def centred(top: float, bottom: float, row_top: float, row_bottom: float) -> bool:
    """The centres lie within half the smaller height of each other: a small label beside a tall value is level
    with it only when set on its middle, not at its top or its foot."""
    offset = abs((top + bottom) / 2 - (row_top + row_bottom) / 2)
    return offset < 0.5 * min(bottom - top, row_bottom - row_top)


def bands(items: Iterable[B], level: Level = overlapping) -> list[list[B]]:
    """`items` grouped into rows, top down: each, by its centre top down, joins the row above when `level` with
    its extent so far, else starts a row. Within a row the items keep their top-down order."""
    # min()/max() spelled out as comparisons (same results, ties included): this runs for every word of a table.
    rows: list[list[B]] = []
    row: list[B] = []
    row_top = row_bottom = 0.0
    for item in sorted(items, key=mid_y):
        _, top, _, bottom = item.bbox
        if row and level(top, bottom, row_top, row_bottom):
            row.append(item)
            if top < row_top:
                row_top = top
            if bottom > row_bottom:
                row_bottom = bottom
            continue
        row = [item]
        rows.append(row)
        row_top, row_bottom = top, bottom
    return rows


def rows_of(items: Iterable[B]) -> list[list[B]]:
    """`items` grouped into rows, rows top down, each row's items left to right.

    An item joins the row whose horizontally nearest member sits level with it, so a row follows its own slope
    from neighbour to neighbour: on a skewed or curled scan the far end of a row drifts by more than a line height
    from its start, yet each pair of neighbours stays level.
    """
    rows: list[_Row[B]] = []
    for item in sorted(items, key=mid_y):
        best: _Row[B] | None = None
        best_offset = 0.0
        # Only the last few rows can hold a neighbour: rows are opened top down.
        for row in rows[-_ROWS_LOOKBACK:]:
            offset = row.level_offset(item)
            if offset is not None and (best is None or offset < best_offset):
                best, best_offset = row, offset
        if best is None:
            best = _Row()
            rows.append(best)
        best.add(item)
    return [row.items for row in rows]


# How many of the latest rows an item may still join (a skewed row is passed by a few rows that start lower).
_ROWS_LOOKBACK = 6
# Neighbours are level when their centres differ by less than this share of the smaller height. Rows stacked
# above each other are at least one height apart, so this never merges them; the slack is for a skewed row's
# drift from one neighbour to the next, largest across the wide gap between a label and its value.
_LEVEL = 0.8


def mid_y(item: Boxed) -> float:
    """The height halfway down an item's box: what rows are sorted and compared by."""
    return (item.bbox[1] + item.bbox[3]) / 2


class _Row(Generic[B]):
    """Items side by side, left to right. They never overlap horizontally, so they are sorted by both edges and
    a newcomer's neighbours are found by bisection (a row of a dense table holds hundreds of segments)."""

    __slots__ = ("items", "lefts")

    def __init__(self) -> None:
        self.items: list[B] = []
        self.lefts: list[float] = []

    def level_offset(self, item: B) -> float | None:
        """How far `item` sits above or below its horizontally nearest member; None if it cannot join."""
        x0, x1 = item.bbox[0], item.bbox[2]
        at = bisect_left(self.lefts, x0)
        left = self.items[at - 1] if at > 0 else None
        right = self.items[at] if at < len(self.items) else None
        # One row never holds two items above each other.
        if (left is not None and left.bbox[2] > x0) or (right is not None and right.bbox[0] < x1):
            return None
        nearest = right if left is None or (right is not None and right.bbox[0] - x1 < x0 - left.bbox[2]) else left
        assert nearest is not None  # the row is never empty
        offset = abs(mid_y(nearest) - mid_y(item))
        height = min(item.bbox[3] - item.bbox[1], nearest.bbox[3] - nearest.bbox[1])
        return offset if offset <= _LEVEL * height else None

    def add(self, item: B) -> None:
        at = bisect_left(self.lefts, item.bbox[0])
        self.lefts.insert(at, item.bbox[0])
        self.items.insert(at, item)
