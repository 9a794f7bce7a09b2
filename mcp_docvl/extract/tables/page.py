"""Tables of one page and the page's blocks around them: rules and words in, tables and blocks out.

The digital path gives `find_tables` the text layer's words and the document's vector rules; the scanned path
(`image_page_tables`) the recognised words and the rules seen in the page image.
"""

from __future__ import annotations

from PIL import Image

from mcp_docvl.documents.model import Block, Line, Table, Word
from mcp_docvl.documents.rulings import Rulings, rulings_from_image
from mcp_docvl.extract.furniture import split_furniture
from mcp_docvl.extract.layout import build_lines, make_blocks, reading_order, rows_of
from mcp_docvl.extract.tables.grid import find_tables
from mcp_docvl.extract.tables.render import form_fields, form_markdown, to_markdown


def page_blocks(words: list[Word], tables: list[Table], lines: list[Line], width: float, height: float) -> list[Block]:
    """Blocks in reading order: tables as table blocks, the words they hold left out of the running text, page
    furniture (running heads, page numbers, footers) as furniture blocks before and after the body.

    `lines` are the lines of all `words`; they are rebuilt only when tables took some words away.
    """
    if tables:
        lines = build_lines(words_outside(words, tables))
    body, above, below = split_furniture(reading_order(lines), width, height)
    text = make_blocks(body, tables=[t.bbox for t in tables])
    return above + (insert_tables(text, table_blocks(tables)) if tables else text) + below


def image_page_tables(image: Image.Image, words: list[Word], scale: tuple[float, float] = (1.0, 1.0)) -> list[Table]:
    """Tables from recognised words and the rules seen in `image`.

    `words` are in page units; `scale` converts image pixels to those units (x, y), so rules and words meet.
    """
    rulings: Rulings = rulings_from_image(image).scaled(*scale)
    return find_tables(words, rulings)


def table_blocks(tables: list[Table]) -> list[Block]:
    """One block per table: Markdown to show, and the table's own lines so search and plain text still see it.

    One line per row, its cells left to right, as the table is read (on a skewed scan too): a row's label and its
    values stay together in one passage for search. A form (labelled fields in two columns) shows as its fields."""
    return [Block(kind="table", lines=[Line.of([w for line in row for w in line.words])
                                       for row in rows_of(build_lines(t.words))],
                  bbox=t.bbox, markdown=_markdown(t), table=t) for t in tables]


def _markdown(table: Table) -> str:
    """The table in Markdown, or a form's fields as paragraphs (a form has no header row for a Markdown table)."""
    fields = form_fields(table)
    return form_markdown(fields) if fields is not None else to_markdown(table)


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
