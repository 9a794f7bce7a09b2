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
BlockKind = Literal["heading", "paragraph", "list_item", "table", "figure"]


def union_bbox(boxes: list[BBox]) -> BBox:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


@dataclass(slots=True)
class Word:
    text: str
    bbox: BBox
    # Font size in points for text layers; glyph height for recognised text.
    size: float
    bold: bool = False
    confidence: float = 1.0


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
        sizes = sorted(w.size for w in words)
        return cls(words=words, bbox=union_bbox([w.bbox for w in words]), size=sizes[len(sizes) // 2],
                   bold=all(w.bold for w in words))


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
