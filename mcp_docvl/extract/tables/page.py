"""Tables of one page: the digital path (text layer + vector rules) and the scanned path (OCR + image rules)."""

from __future__ import annotations

from PIL import Image

from mcp_docvl.documents.base import TextLayer
from mcp_docvl.documents.model import Block, Line, Table, Word
from mcp_docvl.documents.pdf import PdfDocument
from mcp_docvl.extract.layout import build_lines, rows_in_order
from mcp_docvl.extract.tables.grid import find_tables
from mcp_docvl.extract.tables.render import to_markdown
from mcp_docvl.extract.tables.rulings import Rulings, rulings_from_image, rulings_from_pdf_page


def digital_page_tables(doc: PdfDocument, index: int, layer: TextLayer, lines: list[Line] | None = None) -> list[Table]:
    """Tables from the embedded text and the page's drawn rules; boxes in the text layer's frame (points)."""
    rulings = doc.with_page(index, lambda page: rulings_from_pdf_page(page, layer.rotation))
    return find_tables(layer.words, rulings, lines)


def image_page_tables(image: Image.Image, words: list[Word], scale: tuple[float, float] = (1.0, 1.0)) -> list[Table]:
    """Tables from recognised words and the rules seen in `image`.

    `words` are in page units; `scale` converts image pixels to those units (x, y), so rules and words meet.
    """
    rulings: Rulings = rulings_from_image(image).scaled(*scale)
    return find_tables(words, rulings)


def table_blocks(tables: list[Table]) -> list[Block]:
    """One block per table: Markdown to show, and the table's own lines so search and plain text still see it.

    The lines go row by row, left to right, as the table is read (on a skewed scan too)."""
    return [Block(kind="table", lines=rows_in_order(build_lines(t.words)), bbox=t.bbox, markdown=to_markdown(t),
                  table=t) for t in tables]


def words_outside(words: list[Word], tables: list[Table]) -> list[Word]:
    """The page's words that no table consumed: what running text is made of."""
    taken = {id(w) for t in tables for w in t.words}
    return [w for w in words if id(w) not in taken]


def insert_tables(blocks: list[Block], tables: list[Block]) -> list[Block]:
    """Text blocks in reading order with each table placed before the first block below it in its column."""
    out = list(blocks)
    for table in sorted(tables, key=lambda b: (b.bbox[1], b.bbox[0])):
        x0, y0, x1, _ = table.bbox
        at = len(out)
        for i, block in enumerate(out):
            overlaps = min(block.bbox[2], x1) - max(block.bbox[0], x0) > 0
            if overlaps and block.bbox[1] >= y0:
                at = i
                break
        out.insert(at, table)
    return out
