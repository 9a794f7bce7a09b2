"""The page model every stage shares: words, lines and blocks with boxes, in reading order.

Coordinates are page coordinates with the origin at the top-left and y growing downwards, as a reader sees
the page (rotation applied). The unit is PDF points (1/72 inch) for PDFs and pixels for images; `Page.unit`
says which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

BBox = tuple[float, float, float, float]  # x0, y0, x1, y1

Method = Literal["text_layer", "ocr", "vlm"]
BlockKind = Literal["heading", "paragraph", "list_item", "table", "figure", "furniture"]
# What a furniture block is (running heads, folios, footers, line numbers, text in the side margins) and text
# inside a figure: kept in the page model, left out of the reading text unless asked for.
BlockRole = Literal["running_head", "page_number", "footer", "line_number", "margin", "figure_text"]


def union_bbox(boxes: list[BBox]) -> BBox:
    x0, y0, x1, y1 = boxes[0]
    for a, b, c, d in boxes[1:]:  # one pass: this runs for every line of every page
        if a < x0:
            x0 = a
        if b < y0:
            y0 = b
        if c > x1:
            x1 = c
        if d > y1:
            y1 = d
    return (x0, y0, x1, y1)


@dataclass(slots=True)
class Word:
    text: str
    bbox: BBox
    # Font size in points for text layers; glyph height for recognised text.
    size: float
    # Set in a bold face (text layers: from the font's name, flags and weight; see documents/fonts.py).
    bold: bool = False
    confidence: float = 1.0
    # Set in an italic or oblique face.
    italic: bool = False
    # The font's PostScript name without its subset tag ("Arial-BoldMT"); "" when unknown (recognised text).
    font: str = ""
    # Holds right-to-left letters (Arabic, Hebrew): its text is in reading order, its neighbours read leftwards.
    rtl: bool = False


@dataclass(slots=True)
class Line:
    """Words on one baseline with no wide gap between them (a wide gap starts a new line segment)."""

    words: list[Word]
    bbox: BBox
    # Median font size and whether every word is bold: read many times by layout, so computed once.
    size: float = 0.0
    bold: bool = False
    # How many line segments share this line's row (1: the line stands alone, as headings do).
    row_segments: int = 1

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def confidence(self) -> float:
        return min(w.confidence for w in self.words)

    @classmethod
    def of(cls, words: list[Word]) -> Line:
        if len(words) == 1:  # a third of all lines (table cells, labels): skip the sorting and the unions
            word = words[0]
            return cls(words, word.bbox, word.size, bool(word.bold))
        sizes = sorted([w.size for w in words])
        return cls(words, union_bbox([w.bbox for w in words]), sizes[len(sizes) // 2], all([w.bold for w in words]))


@dataclass(slots=True)
class TableCell:
    """One cell of a table: its first row and column (0-based), how many rows and columns it covers, its text."""

    row: int
    col: int
    row_span: int
    col_span: int
    text: str
    bbox: BBox


@dataclass(slots=True)
class Table:
    """A table's grid: every slot of n_rows x n_cols is covered by exactly one cell (empty ones included)."""

    bbox: BBox
    n_rows: int
    n_cols: int
    cells: list[TableCell]
    # Leading rows that label the columns.
    header_rows: int = 0
    # The page words the table consumed, so running text can leave them out.
    words: list[Word] = field(default_factory=list)

    def grid(self) -> list[list[TableCell | None]]:
        """n_rows x n_cols slots, each pointing at the cell that covers it."""
        slots: list[list[TableCell | None]] = [[None] * self.n_cols for _ in range(self.n_rows)]
        for cell in self.cells:
            for r in range(cell.row, cell.row + cell.row_span):
                for c in range(cell.col, cell.col + cell.col_span):
                    slots[r][c] = cell
        return slots


@dataclass(slots=True)
class Block:
    """A unit of reading order: a heading, a paragraph, a list item, a table or a figure."""

    kind: BlockKind
    lines: list[Line]
    bbox: BBox
    # Heading level (1 = largest) for headings, 0 otherwise.
    level: int = 0
    # Markdown for blocks that are not plain text (tables); None means "render the lines".
    markdown: str | None = None
    # The structure behind a table block.
    table: Table | None = None
    # For furniture and figure blocks: what the text is (they are left out of the reading text by default).
    role: BlockRole | None = None

    @property
    def is_furniture(self) -> bool:
        """Page furniture or text inside a figure: not part of the reading text."""
        return self.kind == "furniture" or self.role is not None

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


@dataclass(slots=True)
class Page:
    number: int  # 1-based
    width: float
    height: float
    unit: Literal["pt", "px"]
    method: Method
    # 0..1: 1.0 for a clean text layer; the mean recognition score for OCR.
    confidence: float
    lines: list[Line] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def words(self) -> list[Word]:
        return [w for line in self.lines for w in line.words]
